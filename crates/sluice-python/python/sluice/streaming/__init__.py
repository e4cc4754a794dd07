"""Sluice's streaming API from Python, with PySpark's names: ``StreamingContext``,
``DStream`` and ``StreamingListener``."""

from sluice.streaming.context import StreamingContext
from sluice.streaming.dstream import DStream
from sluice.streaming.listener import StreamingListener

__all__ = ["DStream", "StreamingContext", "StreamingListener"]
