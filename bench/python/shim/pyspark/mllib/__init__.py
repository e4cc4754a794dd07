"""``pyspark.mllib`` as Sluice's ``sluice.mllib`` (the import shim)."""
