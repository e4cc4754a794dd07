"""The lag model and the anomaly detectors from Python, against the offline fit recorded by
numpy (crates/sluice-analytics/tests/golden/lag_model/) and series with known anomalies."""

import json
import math
import os

from sluice.analytics import EwmaChart, LagModel, RollingZScore, residualAlerts
from sluice.streaming import StreamingContext
from sluice.testing import run_batches

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "sluice-analytics", "tests",
                      "golden", "lag_model")


def test_lag_model_coefficients_equal_numpys_lstsq(msc):
    with open(os.path.join(GOLDEN, "distributed_lag.json")) as f:
        doc = json.load(f)
    records = [(k, (t, x, y, exog)) for k, t, x, y, exog in doc["records"]]
    batches = [records[i:i + 200] for i in range(0, len(records), 200)]
    ssc = StreamingContext(msc, 1)
    model = LagModel.regression(doc["lags"], exogenous=doc["exogenous"],
                                forgetting=doc["forgetting"])
    last = {}
    model.fitOn(ssc.queueStream(batches)).foreachRDD(
        lambda rdd: last.update({k: p for k, p in sorted(rdd.collect(), key=lambda kv: kv[1].t)}))
    ssc.start()
    run_batches(ssc, len(batches))
    ssc.stop(False)
    for key, want in doc["fits"].items():
        p = last[key]
        assert p.status == "fitted"
        for a, b in zip(p.coefficients, want):
            assert abs(a - b) <= 1e-6 * max(abs(b), 1e-3), (key, a, b)


def test_bad_values_are_refused_and_the_series_form_forecasts(msc):
    series = [("s", (t, float(t % 5) + 0.1 * (t % 3))) for t in range(40)]
    series[20] = ("s", (20, float("nan")))
    series[21] = ("s", (21, "not a number"))
    ssc = StreamingContext(msc, 1)
    points = []
    out = LagModel.series(1).fitOn(ssc.queueStream([series]))
    out.foreachRDD(lambda rdd: points.extend(p for _, p in rdd.collect()))
    ssc.start()
    run_batches(ssc, 1)
    ssc.stop(False)
    statuses = [p.status for p in points]
    assert statuses[20] == statuses[21] == "rejected: NonFinite"
    assert statuses[-1] == "fitted"
    assert all(p.forecast is None or math.isfinite(p.forecast) for p in points)


def test_detectors_find_known_anomalies(msc):
    values = [10.0 + 0.3 * math.sin(t) for t in range(120)]
    for t in (50, 90):
        values[t] += 8.0
    drift = [5.0 + 0.1 * math.sin(3 * t) + (0.05 * (t - 80) if t >= 80 else 0.0)
             for t in range(120)]
    ssc = StreamingContext(msc, 1)
    spikes = ssc.queueStream([[("a", (t, v)) for t, v in enumerate(values)]])
    drifting = ssc.queueStream([[("d", (t, v)) for t, v in enumerate(drift)]])
    z, e = [], []
    RollingZScore(30, 5.0, minPoints=10).detect(spikes).foreachRDD(
        lambda rdd: z.extend(rdd.collect()))
    EwmaChart(0.2, 4.0, warmup=40, side="above").detect(drifting).foreachRDD(
        lambda rdd: e.extend(rdd.collect()))
    ssc.start()
    run_batches(ssc, 1)
    ssc.stop(False)
    assert [a.t for _, a in z] == [50, 90]
    assert all(a.kind == "ZScore" and a.score > 5 for _, a in z)
    assert e and all(a.t >= 80 for _, a in e), e


def test_residual_alerts_on_the_models_output(msc):
    # A sinusoid alone is exactly a lag-2 recursion (a singular design); a little
    # deterministic noise makes every coefficient determined.
    xs = [5.0 + 2.0 * math.sin(0.7 * t) + 0.05 * math.sin(t * t * 0.37) for t in range(150)]
    xs[120] += 6.0
    ssc = StreamingContext(msc, 1)
    alerts = []
    points = LagModel.series(2).fitOn(ssc.queueStream([[("k", (t, x)) for t, x in enumerate(xs)]]))
    residualAlerts(points, 6.0).foreachRDD(lambda rdd: alerts.extend(rdd.collect()))
    ssc.start()
    run_batches(ssc, 1)
    ssc.stop(False)
    assert [a.t for _, a in alerts] == [120]
