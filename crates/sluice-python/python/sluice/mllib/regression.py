"""``pyspark.mllib.regression``'s streaming part: ``LabeledPoint``, ``LinearRegressionModel``
and ``StreamingLinearRegressionWithSGD``, trained in Rust."""
from typing import Any, Optional, Sequence

from sluice import _native
from sluice.mllib.linalg import DenseVector

__all__ = ["LabeledPoint", "LinearModel", "LinearRegressionModel",
           "StreamingLinearAlgorithm", "StreamingLinearRegressionWithSGD"]


class LabeledPoint:
    """A label and its features."""

    def __init__(self, label: float, features: Sequence[float]) -> None:
        self.label = float(label)
        self.features = features if isinstance(features, DenseVector) else DenseVector(features)

    def __repr__(self) -> str:
        return "LabeledPoint(%s, %s)" % (self.label, self.features.array)

    def __reduce__(self):
        return (LabeledPoint, (self.label, self.features.array))


class LinearModel:
    """Weights and an intercept."""

    def __init__(self, weights: Sequence[float], intercept: float) -> None:
        self._coeff = DenseVector(weights)
        self._intercept = float(intercept)

    @property
    def weights(self) -> DenseVector:
        return self._coeff

    @property
    def intercept(self) -> float:
        return self._intercept

    def __repr__(self) -> str:
        return "(weights=%s, intercept=%r)" % (self._coeff.array, self._intercept)


class LinearRegressionModel(LinearModel):
    """A linear regression model: ``predict(x) = weights · x + intercept``."""

    def predict(self, x: Any) -> float:
        return self.weights.dot(list(x)) + self.intercept


class StreamingLinearAlgorithm:
    """What the streaming linear learners share: ``latestModel``, ``predictOn`` and
    ``predictOnValues`` (the model of a batch's predictions is the latest when the batch's
    RDD is made, as in PySpark)."""

    def __init__(self, model: Optional[LinearModel]) -> None:
        self._model = model
        self._native: Any = None

    def _make_model(self, weights, intercept) -> LinearModel:
        raise NotImplementedError

    def latestModel(self) -> Optional[LinearModel]:
        """The model after the latest trained batch."""
        if self._native is not None:
            weights, intercept = self._native.latest()
            self._model = self._make_model(weights, intercept)
        return self._model

    def _validate(self, dstream: Any) -> None:
        from sluice.streaming.dstream import DStream
        if not isinstance(dstream, DStream):
            raise TypeError("dstream should be a DStream object, got %s" % type(dstream))
        if not self._model:
            raise ValueError("Model must be initialized using setInitialWeights")

    def predictOn(self, dstream):
        """The prediction of every vector of the stream."""
        self._validate(dstream)
        return dstream.transform(lambda rdd: _with_model(rdd, self.latestModel(), False))

    def predictOnValues(self, dstream):
        """The prediction of every ``(key, vector)``'s vector, keeping the key."""
        self._validate(dstream)
        return dstream.transform(lambda rdd: _with_model(rdd, self.latestModel(), True))

    def badRecords(self):
        """``(count, examples)`` of the points set aside (a Sluice addition)."""
        return self._native.bad_records() if self._native is not None else (0, [])


def _with_model(rdd, model, keyed):
    if keyed:
        return rdd.mapValues(model.predict)
    return rdd.map(model.predict)


class StreamingLinearRegressionWithSGD(StreamingLinearAlgorithm):
    """Linear regression trained on each batch by mini-batch SGD, as ``pyspark.mllib``'s."""

    def __init__(self, stepSize: float = 0.1, numIterations: int = 50,
                 miniBatchFraction: float = 1.0, convergenceTol: float = 0.001) -> None:
        self.stepSize = stepSize
        self.numIterations = numIterations
        self.miniBatchFraction = miniBatchFraction
        self.convergenceTol = convergenceTol
        super().__init__(None)

    def _make_model(self, weights, intercept) -> LinearModel:
        return LinearRegressionModel(weights, intercept)

    def setInitialWeights(self, initialWeights) -> "StreamingLinearRegressionWithSGD":
        """Sets the weights to start from."""
        self._model = LinearRegressionModel(list(initialWeights), 0.0)
        return self

    def trainOn(self, dstream) -> None:
        """Trains the model on every batch of a stream of ``LabeledPoint``s."""
        self._validate(dstream)
        self._native = _native.NativeLinearLearner(
            False, float(self.stepSize), int(self.numIterations),
            float(self.miniBatchFraction), float(self.convergenceTol), 0.0,
            list(self._model.weights))
        self._native.train_on(dstream._native)
