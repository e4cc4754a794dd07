"""Records the golden files of Sluice's MLlib streaming learners from pyspark.mllib.

Each case is a stream of batches fed to PySpark's own streaming learner
(StreamingLinearRegressionWithSGD, StreamingLogisticRegressionWithSGD, StreamingKMeans) through
a queueStream of two partitions per batch; after every batch the learner's latest model is
recorded. The batches themselves are written too, so the Rust tests feed exactly the same
records, in the same partitions.

    python record.py OUT_DIR        # needs pyspark and numpy

Run by hand (or by the ignored test `mllib_parity_against_live_pyspark`); the outputs are
checked in beside this script.
"""
import json
import os
import sys
import time

import numpy as np
from pyspark import SparkConf, SparkContext
from pyspark.mllib.clustering import StreamingKMeans
from pyspark.mllib.classification import StreamingLogisticRegressionWithSGD
from pyspark.mllib.linalg import Vectors
from pyspark.mllib.regression import LabeledPoint, StreamingLinearRegressionWithSGD
from pyspark.streaming import StreamingContext

BATCHES = 8


def regression_batches(seed, dim, per_batch):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    out = []
    for _ in range(BATCHES):
        x = rng.normal(size=(per_batch, dim))
        y = x @ w + 0.1 * rng.normal(size=per_batch)
        out.append([[float(yi), [float(v) for v in xi]] for xi, yi in zip(x, y)])
    return out


def classification_batches(seed, dim, per_batch):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim) * 2.0
    out = []
    for _ in range(BATCHES):
        x = rng.normal(size=(per_batch, dim))
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        y = (rng.uniform(size=per_batch) < p).astype(float)
        out.append([[float(yi), [float(v) for v in xi]] for xi, yi in zip(x, y)])
    return out


def cluster_batches(seed, dim, k, per_batch, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim)) * 5.0
    out = []
    for _ in range(BATCHES):
        idx = rng.integers(0, k, size=per_batch)
        x = centers[idx] + spread * rng.normal(size=(per_batch, dim))
        out.append([[float(v) for v in xi] for xi in x])
    return out


CASES = [
    dict(name="linear_full", kind="linear", data=regression_batches(1, 3, 40),
         params=dict(stepSize=0.1, numIterations=50, miniBatchFraction=1.0,
                     convergenceTol=0.001), initial=[0.0, 0.0, 0.0]),
    dict(name="linear_bernoulli", kind="linear", data=regression_batches(2, 4, 60),
         params=dict(stepSize=0.5, numIterations=20, miniBatchFraction=0.6,
                     convergenceTol=0.0), initial=[0.5, -0.5, 0.0, 1.0]),
    dict(name="linear_gap_sampling", kind="linear", data=regression_batches(3, 2, 80),
         params=dict(stepSize=0.3, numIterations=15, miniBatchFraction=0.25,
                     convergenceTol=0.0), initial=[0.0, 0.0]),
    dict(name="logistic_full", kind="logistic", data=classification_batches(4, 3, 50),
         params=dict(stepSize=0.5, numIterations=30, miniBatchFraction=1.0, regParam=0.0,
                     convergenceTol=0.001), initial=[0.0, 0.0, 0.0]),
    dict(name="logistic_l2_sampled", kind="logistic", data=classification_batches(5, 2, 60),
         params=dict(stepSize=1.0, numIterations=25, miniBatchFraction=0.5, regParam=0.1,
                     convergenceTol=0.0), initial=[0.1, -0.1]),
    dict(name="kmeans_batches", kind="kmeans", data=cluster_batches(6, 2, 3, 40),
         params=dict(k=3, decayFactor=0.8, timeUnit="batches"),
         initial=dict(centers=[[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]], weights=[1.0, 2.0, 3.0])),
    dict(name="kmeans_random_centers", kind="kmeans", data=cluster_batches(7, 10, 10, 100),
         params=dict(k=10, decayFactor=1.0, timeUnit="batches"),
         initial=dict(random=dict(dim=10, weight=1.0, seed=42))),
    dict(name="kmeans_half_life_points", kind="kmeans", data=cluster_batches(8, 3, 4, 50),
         params=dict(k=4, halfLife=60.0, timeUnit="points"),
         initial=dict(random=dict(dim=3, weight=0.5, seed=7))),
    # A center far from every point with no weight: it dies and the largest cluster splits.
    dict(name="kmeans_dying_cluster", kind="kmeans", data=cluster_batches(9, 2, 2, 30, 0.5),
         params=dict(k=3, decayFactor=0.5, timeUnit="batches"),
         initial=dict(centers=[[0.0, 0.0], [0.5, 0.5], [1000.0, 1000.0]],
                      weights=[1.0, 1.0, 0.0])),
]


def learner_for(case):
    p = case["params"]
    if case["kind"] == "linear":
        m = StreamingLinearRegressionWithSGD(
            stepSize=p["stepSize"], numIterations=p["numIterations"],
            miniBatchFraction=p["miniBatchFraction"], convergenceTol=p["convergenceTol"])
        return m.setInitialWeights(case["initial"])
    if case["kind"] == "logistic":
        m = StreamingLogisticRegressionWithSGD(
            stepSize=p["stepSize"], numIterations=p["numIterations"],
            miniBatchFraction=p["miniBatchFraction"], regParam=p["regParam"],
            convergenceTol=p["convergenceTol"])
        return m.setInitialWeights(case["initial"])
    m = StreamingKMeans(k=p["k"], decayFactor=p.get("decayFactor", 1.0), timeUnit=p["timeUnit"])
    if "halfLife" in p:
        m.setHalfLife(p["halfLife"], p["timeUnit"])
    init = case["initial"]
    if "random" in init:
        r = init["random"]
        m.setRandomCenters(r["dim"], r["weight"], r["seed"])
    else:
        m.setInitialCenters(init["centers"], init["weights"])
    return m


def model_of(case, learner):
    m = learner.latestModel()
    if case["kind"] == "kmeans":
        return dict(centers=[[float(v) for v in c] for c in m.centers],
                    weights=[float(w) for w in m.clusterWeights])
    return dict(weights=[float(v) for v in m.weights], intercept=float(m.intercept))


def capture_into(case, learner, models):
    def capture(rdd):
        if not rdd.isEmpty():
            models.append(model_of(case, learner))

    return capture


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    # The workers must run the same interpreter, with numpy.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    sc = SparkContext(conf=SparkConf().setMaster("local[2]").setAppName("mllib-golden"))
    sc.setLogLevel("ERROR")
    ssc = StreamingContext(sc, 1)
    recorded = {}
    for case in CASES:
        learner = learner_for(case)
        models = []
        recorded[case["name"]] = (case, learner, models)
        if case["kind"] == "kmeans":
            rdds = [sc.parallelize([Vectors.dense(v) for v in b], 2) for b in case["data"]]
            case["initial_model"] = model_of(case, learner)
        else:
            rdds = [sc.parallelize([LabeledPoint(l, Vectors.dense(f)) for l, f in b], 2)
                    for b in case["data"]]
        stream = ssc.queueStream(rdds, oneAtATime=True)
        learner.trainOn(stream)

        stream.foreachRDD(capture_into(case, learner, models))
    ssc.start()
    deadline = time.time() + 300
    while any(len(m) < BATCHES for (_, _, m) in recorded.values()):
        if time.time() > deadline:
            raise SystemExit("timed out waiting for the batches")
        time.sleep(0.2)
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    for name, (case, _, models) in recorded.items():
        doc = dict(name=name, kind=case["kind"], params=case["params"],
                   initial=case["initial"], batches=case["data"], models=models[:BATCHES])
        if "initial_model" in case:
            doc["initial_model"] = case["initial_model"]
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(doc, f)
            f.write("\n")
    print("recorded", len(recorded), "cases into", out_dir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
