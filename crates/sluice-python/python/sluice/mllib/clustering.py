"""``pyspark.mllib.clustering``'s streaming part: ``StreamingKMeansModel`` and
``StreamingKMeans``, updated in Rust with MLlib's rule."""
from math import exp, log
from typing import Any, List, Optional, Sequence

from sluice import _native

__all__ = ["KMeansModel", "StreamingKMeans", "StreamingKMeansModel"]


class KMeansModel:
    """Cluster centers; ``predict`` gives the index of the closest."""

    def __init__(self, centers: Sequence[Sequence[float]]) -> None:
        self.centers = [list(map(float, c)) for c in centers]

    @property
    def clusterCenters(self) -> List[List[float]]:
        return self.centers

    @property
    def k(self) -> int:
        return len(self.centers)

    def predict(self, x: Any) -> int:
        x = list(x)
        best, best_distance = 0, float("inf")
        for i, c in enumerate(self.centers):
            d = sum((a - b) * (a - b) for a, b in zip(x, c))
            if d < best_distance:
                best, best_distance = i, d
        return best


class StreamingKMeansModel(KMeansModel):
    """Centers with their weights (``clusterWeights``)."""

    def __init__(self, clusterCenters, clusterWeights) -> None:
        super().__init__(clusterCenters)
        self._clusterWeights = [float(w) for w in clusterWeights]

    @property
    def clusterWeights(self) -> List[float]:
        return self._clusterWeights


class StreamingKMeans:
    """k-means on a stream, as ``pyspark.mllib``'s: k = 2, decay factor 1, time unit
    "batches" by default."""

    def __init__(self, k: int = 2, decayFactor: float = 1.0, timeUnit: str = "batches") -> None:
        self._k = k
        self._decayFactor = decayFactor
        if timeUnit not in ["batches", "points"]:
            raise ValueError("timeUnit should be 'batches' or 'points', got %s." % timeUnit)
        self._timeUnit = timeUnit
        self._model: Optional[StreamingKMeansModel] = None
        self._native: Any = None

    def latestModel(self) -> Optional[StreamingKMeansModel]:
        """The model after the latest batch."""
        if self._native is not None:
            centers, weights = self._native.latest()
            self._model = StreamingKMeansModel(centers, weights)
        return self._model

    def _validate(self, dstream: Any) -> None:
        from sluice.streaming.dstream import DStream
        if self._model is None:
            raise ValueError(
                "Initial centers should be set either by setInitialCenters or setRandomCenters.")
        if not isinstance(dstream, DStream):
            raise TypeError("Expected dstream to be of type DStream, got type %s" % type(dstream))

    def setK(self, k: int) -> "StreamingKMeans":
        self._k = k
        return self

    def setDecayFactor(self, decayFactor: float) -> "StreamingKMeans":
        self._decayFactor = decayFactor
        return self

    def setHalfLife(self, halfLife: float, timeUnit: str) -> "StreamingKMeans":
        """The decay factor that halves a batch's (or point's) weight after ``halfLife``."""
        self._timeUnit = timeUnit
        self._decayFactor = exp(log(0.5) / halfLife)
        return self

    def setInitialCenters(self, centers, weights) -> "StreamingKMeans":
        self._model = StreamingKMeansModel(centers, weights)
        return self

    def setRandomCenters(self, dim: int, weight: float, seed: int) -> "StreamingKMeans":
        """Centers drawn as PySpark draws them (numpy's ``RandomState(seed).randn(k, dim)``),
        each with weight ``weight``."""
        centers = _native.numpy_randn(int(seed), int(self._k), int(dim))
        self._model = StreamingKMeansModel(centers, [float(weight)] * self._k)
        return self

    def trainOn(self, dstream) -> None:
        """Updates the model with every batch of a stream of vectors."""
        self._validate(dstream)
        self._native = _native.NativeKMeans(
            float(self._decayFactor), self._timeUnit == "points",
            [list(c) for c in self._model.centers], list(self._model.clusterWeights))
        self._native.train_on(dstream._native)

    def predictOn(self, dstream):
        """The closest center of every vector of the stream."""
        self._validate(dstream)
        return dstream.transform(lambda rdd: rdd.map(self.latestModel().predict))

    def predictOnValues(self, dstream):
        """The closest center of every ``(key, vector)``'s vector, keeping the key."""
        self._validate(dstream)
        return dstream.transform(lambda rdd: rdd.mapValues(self.latestModel().predict))

    def badRecords(self):
        """``(count, examples)`` of the vectors set aside (a Sluice addition)."""
        return self._native.bad_records() if self._native is not None else (0, [])
