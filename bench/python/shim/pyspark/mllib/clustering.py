"""``pyspark.mllib.clustering`` as ``sluice.mllib.clustering`` (the import shim)."""
from sluice.mllib.clustering import KMeansModel, StreamingKMeans, StreamingKMeansModel  # noqa: F401
