"""Sluice from Python: PySpark's ``SparkConf``, ``SparkContext`` and ``RDD`` (and, in
``sluice.streaming``, ``StreamingContext`` and ``DStream``) over Sluice's engine.

A PySpark program runs with its imports changed::

    from sluice import SparkConf, SparkContext
    from sluice.streaming import StreamingContext
"""

from sluice._native import SluiceError
from sluice.conf import SparkConf
from sluice.context import SparkContext
from sluice.rdd import RDD, Partitioner, portable_hash
from sluice.shared import Accumulator, AccumulatorParam, Broadcast
from sluice.storagelevel import StorageLevel

__all__ = [
    "Accumulator",
    "AccumulatorParam",
    "Broadcast",
    "Partitioner",
    "RDD",
    "SluiceError",
    "SparkConf",
    "SparkContext",
    "StorageLevel",
    "portable_hash",
]
