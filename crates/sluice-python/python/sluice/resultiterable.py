"""``ResultIterable``: the values of one key after a grouping."""

from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


class ResultIterable(Iterable[T]):
    """The grouped values of a key: iterable, with a length."""

    def __init__(self, data) -> None:
        self.data = data
        self.maxindex = len(data)

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return "ResultIterable(%r)" % (list(self.data),)
