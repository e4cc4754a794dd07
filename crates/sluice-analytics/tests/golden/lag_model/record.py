"""Records the golden files of the lag model: series and their offline least-squares fits by
numpy's lstsq, which the online fit must equal to a relative 1e-6.

    python record.py [OUT_DIR]      # needs numpy

For each case it writes the records (key, t, x, y, exog), the model's settings, and for
every key the coefficients [a_0..a_n, c_1..c_m, b] of the offline fit over all the key's
regression rows and over its first half.
"""
import json
import os
import sys

import numpy as np


def rows_series(xs, exog, n):
    """Regressors [x_t..x_{t-n}, e_t, 1] with target x_{t+1}, for a consecutive series."""
    X, y = [], []
    for t in range(n, len(xs) - 1):
        X.append([xs[t - i] for i in range(n + 1)] + list(exog[t]) + [1.0])
        y.append(xs[t + 1])
    return np.array(X), np.array(y)


def rows_regression(xs, ys, exog, n):
    X, y = [], []
    for t in range(n, len(xs)):
        X.append([xs[t - i] for i in range(n + 1)] + list(exog[t]) + [1.0])
        y.append(ys[t])
    return np.array(X), np.array(y)


def fit(X, y, forgetting):
    w = np.sqrt(forgetting ** np.arange(len(y) - 1, -1, -1, dtype=float))
    beta, *_ = np.linalg.lstsq(X * w[:, None], y * w, rcond=None)
    return [float(b) for b in beta]


def series_case(name, seed, keys, length, lags, forgetting, exog_dim, regression):
    rng = np.random.default_rng(seed)
    records, fits, half_fits = [], {}, {}
    for k in range(keys):
        key = f"{name}-{k}"
        a = rng.uniform(-0.3, 0.3, size=lags + 1)
        c = rng.uniform(-2, 2, size=exog_dim)
        b = rng.uniform(-5, 5)
        exog = rng.normal(size=(length, exog_dim))
        xs = list(rng.normal(size=lags + 1) * 3)
        ys = []
        if regression:
            xs = list(rng.normal(size=length) * 2 + 10)
            for t in range(length):
                lagged = [xs[t - i] if t - i >= 0 else 0.0 for i in range(lags + 1)]
                ys.append(float(np.dot(a, lagged) + np.dot(c, exog[t]) + b + rng.normal()))
        else:
            while len(xs) < length:
                t = len(xs) - 1
                lagged = [xs[t - i] for i in range(lags + 1)]
                xs.append(float(np.dot(a, lagged) + np.dot(c, exog[t]) + b + rng.normal()))
        t0 = int(rng.integers(0, 1000))
        for t in range(length):
            records.append([key, t0 + t, float(xs[t]), ys[t] if regression else None,
                            [float(e) for e in exog[t]]])
        X, y = (rows_regression(xs, ys, exog, lags) if regression
                else rows_series(xs, exog, lags))
        fits[key] = fit(X, y, forgetting)
        half = len(y) // 2
        half_fits[key] = fit(X[:half], y[:half], forgetting)
        half_fits[key + "#rows"] = half
    # Interleave the keys' records, keeping each key's order.
    records.sort(key=lambda r: (r[1], r[0]))
    return dict(name=name, lags=lags, exogenous=exog_dim, forgetting=forgetting,
                regression=regression, records=records, fits=fits, half_fits=half_fits)


CASES = [
    series_case("ar3", 11, 3, 400, 3, 1.0, 0, False),
    series_case("ar8_forgetting", 12, 2, 600, 8, 0.99, 0, False),
    series_case("distributed_lag", 13, 3, 300, 2, 1.0, 1, True),
    series_case("exogenous_series", 14, 2, 300, 1, 0.995, 2, False),
]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for case in CASES:
        with open(os.path.join(out_dir, case["name"] + ".json"), "w") as f:
            json.dump(case, f)
            f.write("\n")
    print("recorded", len(CASES), "cases into", out_dir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
