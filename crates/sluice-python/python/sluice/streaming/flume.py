"""Flume from Python: PySpark's ``pyspark.streaming.flume`` push API (``FlumeUtils``) over
Sluice's Flume receiver, which speaks Flume's Avro RPC.

::

    from sluice.streaming.flume import FlumeUtils       # was: from pyspark.streaming.flume ...
    events = FlumeUtils.createStream(ssc, "127.0.0.1", 41414)   # (headers, body) pairs

Flume's Avro sink (``type = avro``, ``hostname``, ``port``) pushes to the address; a batch of
events is acknowledged once stored (with the receiver write-ahead log on, once durable), so
the sink, which resends what was not acknowledged, loses nothing.

Available only when the package was built with the ``flume`` feature (the default wheel is).
"""

from sluice import _native
from sluice.streaming.dstream import DStream


class FlumeUtils:
    """PySpark's ``FlumeUtils`` (the push model)."""

    @staticmethod
    def createStream(ssc, hostname: str, port: int, storageLevel=None,
                     enableDecompression: bool = False) -> DStream:
        """A stream of ``(headers, body)`` for the events pushed to ``hostname:port``:
        ``headers`` a dict, ``body`` the body as text. ``storageLevel`` is accepted for
        PySpark's signature; compression (``enableDecompression``) is not supported."""
        if enableDecompression:
            raise ValueError("compressed Flume RPC (enableDecompression) is not supported")
        if not 0 < int(port) < 65536:
            raise ValueError("port must be in 1..65535, got %r" % (port,))
        native = _native.flume_text_stream(ssc._native, hostname, int(port))
        return DStream(native, ssc, ssc._sc)


__all__ = ["FlumeUtils"]
