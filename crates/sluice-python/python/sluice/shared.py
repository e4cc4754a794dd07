"""Broadcast variables and accumulators. Tasks run in this process, so a broadcast value is
shared, not copied, and an accumulator is added to under a lock."""

import threading
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Broadcast(Generic[T]):
    """A read-only value shared with every task."""

    def __init__(self, value: T) -> None:
        self._value = value
        self._destroyed = False

    @property
    def value(self) -> T:
        """The value (an error once destroyed)."""
        if self._destroyed:
            raise ValueError("Attempted to use a broadcast variable after it was destroyed")
        return self._value

    def unpersist(self, blocking: bool = False) -> None:
        """Nothing to release: the value lives in this process."""

    def destroy(self, blocking: bool = False) -> None:
        """Releases the value; later use raises."""
        self._destroyed = True
        self._value = None


class AccumulatorParam(Generic[T]):
    """How to add to an accumulator: ``zero(value)`` and ``addInPlace(a, b)``."""

    def zero(self, value: T) -> T:
        raise NotImplementedError

    def addInPlace(self, value1: T, value2: T) -> T:
        raise NotImplementedError


class _AddParam(AccumulatorParam):
    def zero(self, value):
        return type(value)()

    def addInPlace(self, value1, value2):
        value1 += value2
        return value1


class Accumulator(Generic[T]):
    """A value tasks add to and the driver reads (``acc += x``, ``acc.add(x)``, ``acc.value``)."""

    def __init__(self, aid: int, value: T, accum_param: AccumulatorParam) -> None:
        self.aid = aid
        self.accum_param = accum_param
        self._value = value
        self._lock = threading.Lock()

    def add(self, term: Any) -> None:
        """Adds ``term``."""
        with self._lock:
            self._value = self.accum_param.addInPlace(self._value, term)

    def __iadd__(self, term: Any) -> "Accumulator[T]":
        self.add(term)
        return self

    @property
    def value(self) -> T:
        """The accumulated value."""
        return self._value

    @value.setter
    def value(self, value: T) -> None:
        self._value = value

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return "Accumulator<id=%i, value=%s>" % (self.aid, self._value)
