"""MQTT from Python: PySpark 1.x's ``pyspark.streaming.mqtt`` API (``MQTTUtils``) over
Sluice's MQTT receiver.

::

    from sluice.streaming.mqtt import MQTTUtils         # was: from pyspark.streaming.mqtt ...
    readings = MQTTUtils.createStream(ssc, "tcp://127.0.0.1:1883", "grid/+/voltage")

Each message's payload arrives as a ``str`` (a payload that is not UTF-8 is counted as a bad
record, never a failure). A message is acknowledged once stored: with the receiver
write-ahead log on (``sluice.streaming.receiver.writeAheadLog.enable``) and a fixed
``clientId`` (a session the broker keeps), nothing acknowledged is lost in a crash
(at-least-once at QoS 1).

Available only when the package was built with the ``mqtt`` feature (the default wheel is).
"""

from typing import List, Optional, Union
from urllib.parse import urlparse

from sluice import _native
from sluice.streaming.dstream import DStream


class MQTTUtils:
    """PySpark's ``MQTTUtils``."""

    @staticmethod
    def createStream(ssc, brokerUrl: str, topic: Union[str, List[str]], storageLevel=None,
                     qos: int = 1, clientId: Optional[str] = None) -> DStream:
        """A stream of the payloads published to ``topic`` (a filter, ``+`` and ``#``
        allowed, or a list of them) on the broker at ``brokerUrl`` (``tcp://host:port``).
        ``storageLevel`` is accepted for PySpark's signature (Sluice's receivers keep records
        in memory, bounded). Sluice additions: ``qos`` (0 or 1, default 1) and ``clientId``
        (a persistent session)."""
        url = urlparse(brokerUrl if "://" in brokerUrl else "tcp://" + brokerUrl)
        if url.scheme not in ("tcp", "mqtt"):
            raise ValueError("brokerUrl must be tcp://host:port, got %r" % (brokerUrl,))
        if not url.hostname:
            raise ValueError("brokerUrl has no host: %r" % (brokerUrl,))
        topics = [topic] if isinstance(topic, str) else list(topic)
        native = _native.mqtt_text_stream(ssc._native, url.hostname, url.port or 1883,
                                          topics, int(qos), clientId)
        return DStream(native, ssc, ssc._sc)


__all__ = ["MQTTUtils"]
