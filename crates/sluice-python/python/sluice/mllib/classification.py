"""``pyspark.mllib.classification``'s streaming part: ``LogisticRegressionModel`` and
``StreamingLogisticRegressionWithSGD``, trained in Rust."""
import math
from typing import Any, Optional

from sluice import _native
from sluice.mllib.regression import LinearModel, StreamingLinearAlgorithm

__all__ = ["LogisticRegressionModel", "StreamingLogisticRegressionWithSGD"]


class LogisticRegressionModel(LinearModel):
    """A binary logistic model: ``predict`` gives the class (1 when the probability is above
    the threshold, 0.5 by default) or, after ``clearThreshold()``, the probability."""

    def __init__(self, weights, intercept: float, numFeatures: Optional[int] = None,
                 numClasses: int = 2) -> None:
        super().__init__(weights, intercept)
        self._threshold: Optional[float] = 0.5
        self.numFeatures = numFeatures if numFeatures is not None else len(self.weights)
        self.numClasses = numClasses

    @property
    def threshold(self) -> Optional[float]:
        return self._threshold

    def setThreshold(self, value: float) -> None:
        self._threshold = value

    def clearThreshold(self) -> None:
        self._threshold = None

    def predict(self, x: Any):
        margin = self.weights.dot(list(x)) + self.intercept
        if margin > 0:
            prob = 1 / (1 + math.exp(-margin))
        else:
            exp_margin = math.exp(margin)
            prob = exp_margin / (1 + exp_margin)
        if self._threshold is None:
            return prob
        return 1 if prob > self._threshold else 0


class StreamingLogisticRegressionWithSGD(StreamingLinearAlgorithm):
    """Binary logistic regression trained on each batch by mini-batch SGD with the L2 updater,
    as ``pyspark.mllib``'s."""

    def __init__(self, stepSize: float = 0.1, numIterations: int = 50,
                 miniBatchFraction: float = 1.0, regParam: float = 0.0,
                 convergenceTol: float = 0.001) -> None:
        self.stepSize = stepSize
        self.numIterations = numIterations
        self.regParam = regParam
        self.miniBatchFraction = miniBatchFraction
        self.convergenceTol = convergenceTol
        super().__init__(None)

    def _make_model(self, weights, intercept) -> LinearModel:
        return LogisticRegressionModel(weights, intercept, len(weights), 2)

    def setInitialWeights(self, initialWeights) -> "StreamingLogisticRegressionWithSGD":
        """Sets the weights to start from."""
        w = list(initialWeights)
        self._model = LogisticRegressionModel(w, 0.0, len(w), 2)
        return self

    def trainOn(self, dstream) -> None:
        """Trains the model on every batch of a stream of ``LabeledPoint``s (labels 0 or 1)."""
        self._validate(dstream)
        self._native = _native.NativeLinearLearner(
            True, float(self.stepSize), int(self.numIterations),
            float(self.miniBatchFraction), float(self.convergenceTol), float(self.regParam),
            list(self._model.weights))
        self._native.train_on(dstream._native)
