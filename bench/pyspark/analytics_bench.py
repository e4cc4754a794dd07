"""Section (h) on PySpark Streaming: the same records as `sluice-bench analytics`.

- lag: the lag model with n = 8 per key, as a PySpark user writes it — updateStateByKey
  (PySpark has no mapWithState) with a recursive least-squares update per key in numpy (the
  inverse-covariance form, P₀ = 10⁸·I), from the same warm state (every key's model has seen
  the first WARM points of its series).
- kmeans: pyspark.mllib's StreamingKMeans (k = 10, 10 dimensions) from the same initial
  centers, over a queueStream of the same points.

Prints per-batch processing time (median, first batch left out) and a check the harness
compares with Sluice's: the sum of the last batch's forecasts (lag), the final centers
(kmeans).

Usage: python analytics_bench.py lag <keys> <points> <batches> <threads> <checkpoint-dir>
       python analytics_bench.py kmeans <points> <batches> <threads>
"""
import math
import os
import sys

try:
    import numpy as np
except ImportError:  # kmeans needs no numpy (Sluice from Python runs it without)
    np = None

from common import Delays, await_batches, context

N = 8
WARM = 40
DIM = N + 2


def series_value(k, t):
    noise = ((k * 7919 + t * 104729) % 1000) / 1000.0 - 0.5
    return math.sin(0.3 * t + k) + 0.5 * math.sin(0.05 * t * (1 + k % 7)) + 0.1 * noise


def kmeans_point(i):
    c = (i * 7) % 10
    return [((c * 37 + j * 11) % 20) - 10.0 + ((i * 31 + j * 17) % 1000) / 1000.0 - 0.5
            for j in range(10)]


def kmeans_initial():
    return [[((c * 13 + j * 7) % 9) - 4.0 for j in range(10)] for c in range(10)]


def rls_step(state, x):
    """One point of a key: learn the pending regressors' target x, forecast the next."""
    lags, theta, p, pending = state
    forecast = None
    if len(lags) == N + 1:
        phi = np.array(lags + [1.0])
        err = x - phi @ theta
        pphi = p @ phi
        gain = pphi / (1.0 + phi @ pphi)
        theta = theta + gain * err
        p = p - np.outer(gain, pphi)
    lags = ([x] + lags)[: N + 1]
    if len(lags) == N + 1:
        forecast = float(np.array(lags + [1.0]) @ theta)
    return (lags, theta, p, forecast)


def warm_state(k):
    state = ([], np.zeros(DIM), np.eye(DIM) * 1e8, None)
    for t in range(WARM):
        state = rls_step(state, series_value(k, t))
    return state


def run(ssc, batches):
    """Runs the batches; the listener and the median processing time (the first batch left
    out; -1 without batches)."""
    delays = Delays()
    ssc.addStreamingListener(delays)
    ssc.start()
    await_batches(ssc, delays, batches)
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    d = sorted(v for _, v in sorted(delays.by_time.items())[1:])
    return delays, (d[len(d) // 2] if d else -1)


def lag(keys, points, batches, threads, checkpoint):
    sc, ssc = context("AnalyticsLagPy", threads, 1)
    ssc.checkpoint(checkpoint)

    def batch(b):
        lo = b * points
        return sc.parallelize(range(lo, lo + points), threads).map(
            lambda i: (i % keys, (WARM + i // keys, series_value(i % keys, WARM + i // keys))))

    rdds = [batch(b) for b in range(batches)]
    initial = sc.parallelize(range(keys), threads).map(lambda k: (k, warm_state(k)))

    def update(values, state):
        for _, x in sorted(values):
            state = rls_step(state, x)
        # The forecast is kept only for keys that had data in this batch.
        return state[:3] + ((state[3] if values else None),)

    state = (ssc.queueStream(rdds, oneAtATime=True)
             .updateStateByKey(update, numPartitions=threads, initialRDD=initial))
    sums = []

    def output(rdd):
        n, total = rdd.map(lambda kv: kv[1][3]).filter(lambda f: f is not None).map(
            lambda f: (1, f)).fold((0, 0.0), lambda a, b: (a[0] + b[0], a[1] + b[1]))
        sums.append((n, total))

    state.foreachRDD(output)
    delays, med = run(ssc, batches)
    n, total = sums[batches - 1] if len(sums) >= batches else (0, 0.0)
    print(f"RESULT engine=pyspark workload=lag keys={keys} points={points} median_batch_ms={med} "
          f"points_per_s={points * 1000 / med if med > 0 else -1:.0f} last_forecasts={n} "
          f"forecast_sum={total:.6f} first_batch_ms={delays.first_batch_ms}")


def kmeans(points, batches, threads):
    from pyspark.mllib.clustering import StreamingKMeans

    sc, ssc = context("AnalyticsKMeansPy", threads, 1)
    rdds = [sc.parallelize([kmeans_point(i) for i in range(b * points, (b + 1) * points)], threads)
            for b in range(batches)]
    km = StreamingKMeans(k=10, decayFactor=1.0).setInitialCenters(kmeans_initial(), [1.0] * 10)
    km.trainOn(ssc.queueStream(rdds, oneAtATime=True))
    delays, med = run(ssc, batches)
    centers = ";".join(",".join(f"{v:.9f}" for v in c) for c in km.latestModel().centers)
    print(f"RESULT engine=pyspark workload=kmeans points={points} median_batch_ms={med} "
          f"points_per_s={points * 1000 / med if med > 0 else -1:.0f} centers={centers} "
          f"first_batch_ms={delays.first_batch_ms}")


def main():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if sys.argv[1] == "lag":
        lag(*(int(a) for a in sys.argv[2:6]), sys.argv[6])
    else:
        kmeans(*(int(a) for a in sys.argv[2:5]))


if __name__ == "__main__":
    main()
