"""``pyspark.mllib``'s streaming learners on Sluice: ``StreamingLinearRegressionWithSGD``,
``StreamingLogisticRegressionWithSGD`` (``sluice.mllib.regression``,
``sluice.mllib.classification``) and ``StreamingKMeans`` (``sluice.mllib.clustering``).

They train in Rust with the update rules of ``pyspark.mllib`` — fed the same batches, in the
same partitions, their models after every batch equal PySpark's. Points a learner cannot use
(a label other than 0 or 1 for the logistic learner, a vector of the wrong length, a NaN,
something that is not numbers) are set aside and counted (``badRecords()``), where PySpark
would fail the batch or fold the NaN into the model.
"""
