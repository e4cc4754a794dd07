"""ZeroMQ from Python: ``ZeroMQUtils`` (after Spark's ZeroMQ connector) over Sluice's ZeroMQ
receiver.

::

    from sluice.streaming.zeromq import ZeroMQUtils
    lines = ZeroMQUtils.createTextStream(ssc, "tcp://127.0.0.1:5556", ["traffic"])
    lines = ZeroMQUtils.createPullStream(ssc, ["tcp://127.0.0.1:5557"])

A message's payload frames arrive as their text lines (for SUB, a message of several frames
has its topic in the first frame); a frame that is not UTF-8 is counted as a bad record, not
a failure. SUB is at-most-once (a publisher drops what a slow or absent subscriber misses);
PULL applies backpressure to its PUSH peers.

Available only when the package was built with the ``zeromq`` feature (the default wheel
is).
"""

from typing import List, Union

from sluice import _native
from sluice.streaming.dstream import DStream


def _endpoints(urls: Union[str, List[str]]) -> List[str]:
    return [urls] if isinstance(urls, str) else list(urls)


class ZeroMQUtils:
    """ZeroMQ streams."""

    @staticmethod
    def createTextStream(ssc, publisherUrl: Union[str, List[str]],
                         subscribe: Union[str, List[str]] = "", storageLevel=None) -> DStream:
        """The text lines of the messages published at ``publisherUrl`` (``tcp://host:port``,
        or a list) whose topic starts with ``subscribe`` (a prefix or a list; ``""`` takes
        everything). ``storageLevel`` is accepted for Spark's signature."""
        topics = [subscribe] if isinstance(subscribe, str) else list(subscribe)
        native = _native.zeromq_text_stream(ssc._native, _endpoints(publisherUrl), topics)
        return DStream(native, ssc, ssc._sc)

    @staticmethod
    def createPullStream(ssc, endpoints: Union[str, List[str]]) -> DStream:
        """The text lines of the messages pushed by PUSH sockets at ``endpoints``."""
        native = _native.zeromq_text_stream(ssc._native, _endpoints(endpoints), None)
        return DStream(native, ssc, ssc._sc)


__all__ = ["ZeroMQUtils"]
