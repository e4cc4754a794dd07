"""MLlib's streaming learners from Python: the same batches, in the same two partitions, give
the models pyspark.mllib's learners had after every batch (golden files recorded from PySpark
by crates/sluice-analytics/tests/golden/mllib/record.py), to 1e-9."""

import glob
import json
import os

import pytest

from sluice.mllib.classification import StreamingLogisticRegressionWithSGD
from sluice.mllib.clustering import StreamingKMeans
from sluice.mllib.linalg import Vectors
from sluice.mllib.regression import LabeledPoint, StreamingLinearRegressionWithSGD
from sluice.streaming import StreamingContext
from sluice.testing import run_batches

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "sluice-analytics", "tests",
                      "golden", "mllib")
CASES = sorted(glob.glob(os.path.join(GOLDEN, "*.json")))


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(b), 1.0)


def learner_for(doc):
    p = doc["params"]
    if doc["kind"] == "linear":
        return StreamingLinearRegressionWithSGD(
            stepSize=p["stepSize"], numIterations=p["numIterations"],
            miniBatchFraction=p["miniBatchFraction"],
            convergenceTol=p["convergenceTol"]).setInitialWeights(doc["initial"])
    if doc["kind"] == "logistic":
        return StreamingLogisticRegressionWithSGD(
            stepSize=p["stepSize"], numIterations=p["numIterations"],
            miniBatchFraction=p["miniBatchFraction"], regParam=p["regParam"],
            convergenceTol=p["convergenceTol"]).setInitialWeights(doc["initial"])
    km = StreamingKMeans(k=p["k"], decayFactor=p.get("decayFactor", 1.0), timeUnit=p["timeUnit"])
    if "halfLife" in p:
        km.setHalfLife(p["halfLife"], p["timeUnit"])
    init = doc["initial"]
    if "random" in init:
        r = init["random"]
        km.setRandomCenters(r["dim"], r["weight"], r["seed"])
    else:
        km.setInitialCenters(init["centers"], init["weights"])
    return km


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(c)[:-5] for c in CASES])
def test_models_equal_pyspark_mllib_after_every_batch(msc, path):
    with open(path) as f:
        doc = json.load(f)
    learner = learner_for(doc)
    if "initial_model" in doc:
        for got, want in zip(learner.latestModel().centers, doc["initial_model"]["centers"]):
            assert all(close(a, b) for a, b in zip(got, want)), (got, want)
    if doc["kind"] == "kmeans":
        rdds = [msc.parallelize([Vectors.dense(v) for v in b], 2) for b in doc["batches"]]
    else:
        rdds = [msc.parallelize([LabeledPoint(lab, feat) for lab, feat in b], 2)
                for b in doc["batches"]]
    ssc = StreamingContext(msc, 1)
    stream = ssc.queueStream(rdds, oneAtATime=True)
    learner.trainOn(stream)
    models = []
    stream.foreachRDD(lambda rdd: models.append(learner.latestModel()))
    ssc.start()
    run_batches(ssc, len(rdds))
    ssc.stop(False)
    assert len(models) == len(doc["models"])
    for b, (got, want) in enumerate(zip(models, doc["models"])):
        if doc["kind"] == "kmeans":
            assert all(close(a, w) for a, w in zip(got.clusterWeights, want["weights"])), b
            for c, (gc, wc) in enumerate(zip(got.centers, want["centers"])):
                assert all(close(a, w) for a, w in zip(gc, wc)), (b, c, gc, wc)
        else:
            assert all(close(a, w) for a, w in zip(got.weights, want["weights"])), (b, got)
            assert close(got.intercept, want["intercept"])


def test_predictions_and_unusable_points(msc):
    ssc = StreamingContext(msc, 1)
    train = [[LabeledPoint(2.0 * x, [x]) for x in (1.0, 2.0, 3.0, 4.0)] * 5,
             [LabeledPoint(1.0, [1.0, 2.0]), LabeledPoint(float("nan"), [1.0]), "junk"]]
    model = StreamingLinearRegressionWithSGD(stepSize=0.5, numIterations=100) \
        .setInitialWeights([0.0])
    stream = ssc.queueStream(train, oneAtATime=True)
    model.trainOn(stream)
    predictions = []
    model.predictOnValues(ssc.queueStream([[("a", [10.0])], [("b", [1.0])]])) \
        .foreachRDD(lambda rdd: predictions.extend(rdd.collect()))
    ssc.start()
    run_batches(ssc, 2)
    ssc.stop(False)
    w = model.latestModel().weights[0]
    assert abs(w - 2.0) < 1e-3
    # The first batch's prediction used the initial model (as in PySpark); the second the
    # trained one.
    assert predictions[0] == ("a", 0.0)
    assert predictions[1][0] == "b" and abs(predictions[1][1] - w) < 1e-12
    count, examples = model.badRecords()
    assert count == 3, examples
    with pytest.raises(ValueError):
        StreamingLinearRegressionWithSGD().trainOn(stream)


def test_logistic_labels_other_than_zero_or_one_are_set_aside(msc):
    ssc = StreamingContext(msc, 1)
    points = [LabeledPoint(1.0, [2.0]), LabeledPoint(0.0, [-2.0]), LabeledPoint(3.0, [1.0])]
    model = StreamingLogisticRegressionWithSGD(stepSize=1.0).setInitialWeights([0.0])
    model.trainOn(ssc.queueStream([points]))
    ssc.start()
    run_batches(ssc, 1)
    ssc.stop(False)
    assert model.badRecords()[0] == 1
    assert model.latestModel().weights[0] > 0
    assert model.latestModel().predict([1.0]) == 1
