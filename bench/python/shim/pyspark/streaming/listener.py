"""``pyspark.streaming.listener`` of the import shim: Sluice's ``StreamingListener``."""

from sluice.streaming.listener import StreamingListener  # noqa: F401

__all__ = ["StreamingListener"]
