"""Streaming analytics on Sluice (no PySpark counterpart): the article's time-series model
fitted per key online (``LagModel``), and per-key anomaly detectors (``RollingZScore``,
``EwmaChart``, ``residualAlerts``). They run in Rust, in the engine's keyed state: with
``ssc.checkpoint(dir)`` their state is checkpointed and restored by ``getOrCreate``.

A model's input is a stream of ``(key, (t, x))`` records (``(key, (t, x, y))`` for the
regression form, ``(key, (t, x, y, [e1, e2, ...]))`` with exogenous inputs); a key's records
must come in time order. Its output is a stream of ``(key, ModelPoint)``. A detector's input
is a stream of ``(key, (t, value))``; its output, ``(key, Alert)`` for the flagged points.
Values that are not finite numbers are refused and counted, never folded in.
"""
from collections import namedtuple

from sluice import _native

__all__ = ["Alert", "EwmaChart", "LagModel", "ModelPoint", "RollingZScore", "residualAlerts"]

ModelPoint = namedtuple(
    "ModelPoint", "t actual predicted residual forecast coefficients sigma status")
ModelPoint.__doc__ = """What the model made of a record: the value it predicts (``actual``),
its prediction made before the value arrived, the residual, the forecast of the next value
(series form), the coefficients ``[a_0, ..., a_n, c_1, ..., c_m, b]`` after the record, the
standard deviation of the key's recent residuals, and a status (``"fitted"``,
``"warming"``, ``"singular"`` or ``"rejected: <why>"``)."""

Alert = namedtuple("Alert", "t value score kind reason")
Alert.__doc__ = """A flagged point: its time, its value, the detector's score (standard
deviations from what was expected), the detector (``"ZScore"``, ``"Ewma"``, ``"Residual"``)
and the reason in words."""


def _stream(dstream, native):
    from sluice.streaming.dstream import DStream
    return DStream(native, dstream._ssc, dstream._sc)


class LagModel:
    """``y_t = Σ_{i=0..n} a_i x_{t−i} + Σ_j c_j e_{t,j} + b`` per key, fitted by recursive
    least squares (its coefficients equal an offline least-squares fit on the same points).

    ``LagModel.series(n)``: one-step-ahead forecasting of each key's series from its last
    ``n + 1`` values. ``LagModel.regression(n)``: each record carries its target ``y_t``.
    """

    def __init__(self, n: int, regression: bool = False, exogenous: int = 0,
                 forgetting: float = 1.0, step: int = 1, sigmaWindow: int = 50) -> None:
        self.n = int(n)
        self.regression_form = bool(regression)
        self.exogenous = int(exogenous)
        self.forgetting = float(forgetting)
        self.step = int(step)
        self.sigmaWindow = int(sigmaWindow)

    @staticmethod
    def series(n: int, **settings) -> "LagModel":
        return LagModel(n, regression=False, **settings)

    @staticmethod
    def regression(n: int, **settings) -> "LagModel":
        return LagModel(n, regression=True, **settings)

    def fitOn(self, dstream):
        """The model's ``(key, ModelPoint)`` for every record of ``dstream``."""
        name = dstream._ssc._stateful_name("lagModel")
        native = _native.lag_model(dstream._native, self.n, self.regression_form,
                                   self.exogenous, self.forgetting, self.step,
                                   self.sigmaWindow, name)
        return _stream(dstream, native).map(lambda kv: (kv[0], ModelPoint(*kv[1])))


class RollingZScore:
    """Flags values more than ``threshold`` standard deviations from the mean of the key's
    previous ``window`` values (``side``: ``"both"``, ``"above"`` or ``"below"``)."""

    def __init__(self, window: int, threshold: float, minPoints: int = None,
                 side: str = "both", excludeFlagged: bool = False) -> None:
        self.window = int(window)
        self.threshold = float(threshold)
        self.minPoints = int(minPoints) if minPoints is not None else min(5, self.window)
        self.side = side
        self.excludeFlagged = bool(excludeFlagged)

    def detect(self, dstream):
        """The ``(key, Alert)``s of a stream of ``(key, (t, value))``."""
        name = dstream._ssc._stateful_name("rollingZScore")
        native = _native.rolling_z_score(dstream._native, self.window, self.threshold,
                                         self.minPoints, self.side, self.excludeFlagged, name)
        return _stream(dstream, native).map(lambda kv: (kv[0], Alert(*kv[1])))


class EwmaChart:
    """An EWMA control chart per key: flags the key while its moving average (weight ``lam``
    on the newest value) is outside ``limit`` standard deviations of a baseline learned from
    its first ``warmup`` values."""

    def __init__(self, lam: float, limit: float, warmup: int = 20, side: str = "both") -> None:
        self.lam = float(lam)
        self.limit = float(limit)
        self.warmup = int(warmup)
        self.side = side

    def detect(self, dstream):
        """The ``(key, Alert)``s of a stream of ``(key, (t, value))``."""
        name = dstream._ssc._stateful_name("ewmaChart")
        native = _native.ewma_chart(dstream._native, self.lam, self.limit, self.warmup,
                                    self.side, name)
        return _stream(dstream, native).map(lambda kv: (kv[0], Alert(*kv[1])))


def residualAlerts(points, k: float):
    """The ``(key, Alert)``s of a ``LagModel``'s output whose residual is beyond ``k`` times
    the key's recent residual standard deviation."""
    def alert(kv):
        key, p = kv
        if p.residual is None or p.sigma is None:
            return []
        sigma = max(p.sigma, 1e-9 * max(abs(p.actual), 1.0))
        score = p.residual / sigma
        if abs(score) <= k:
            return []
        side = "above" if score > 0 else "below"
        return [(key, Alert(p.t, p.actual, score, "Residual",
                            "%.4f is %.1f σ %s the model's prediction %.4f"
                            % (p.actual, abs(score), side, p.predicted)))]
    return points.flatMap(alert)
