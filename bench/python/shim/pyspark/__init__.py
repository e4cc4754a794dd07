"""An import shim: ``pyspark`` as Sluice's Python package, so that the PySpark benchmark
programs (``bench/pyspark/*.py``) run unchanged on Sluice.

    PYTHONPATH=bench/python/shim ~/.cache/sluice/python-venv/bin/python bench/pyspark/state_bench.py ...

Only what the benchmark programs import is re-exported; an import of anything else fails
(rather than running PySpark's own code). This is not PySpark.
"""

from sluice import (  # noqa: F401
    RDD,
    Accumulator,
    AccumulatorParam,
    Broadcast,
    Partitioner,
    SparkConf,
    SparkContext,
    StorageLevel,
)

__all__ = [
    "Accumulator",
    "AccumulatorParam",
    "Broadcast",
    "Partitioner",
    "RDD",
    "SparkConf",
    "SparkContext",
    "StorageLevel",
]
