"""Dense vectors, as much of ``pyspark.mllib.linalg`` as the streaming learners need."""
from typing import Iterable, List, Sequence

__all__ = ["DenseVector", "Vectors", "Vector"]


class DenseVector:
    """A dense vector of floats."""

    def __init__(self, values: Iterable[float]) -> None:
        self.array: List[float] = [float(v) for v in values]

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self):
        return iter(self.array)

    def __getitem__(self, i):
        return self.array[i]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return "DenseVector(%r)" % (self.array,)

    def dot(self, other: Sequence[float]) -> float:
        return sum(a * b for a, b in zip(self.array, other))

    def squared_distance(self, other: Sequence[float]) -> float:
        return sum((a - b) * (a - b) for a, b in zip(self.array, other))

    def toArray(self) -> List[float]:
        return list(self.array)


Vector = DenseVector


class Vectors:
    """Factory of vectors (``Vectors.dense``)."""

    @staticmethod
    def dense(*values) -> DenseVector:
        if len(values) == 1 and not isinstance(values[0], (int, float)):
            return DenseVector(values[0])
        return DenseVector(values)
