"""``SparkContext``: the entry point of a Sluice application from Python."""

import threading
from typing import Any, Iterable, List, Optional

from sluice import _native
from sluice.conf import SparkConf
from sluice.rdd import RDD
from sluice.shared import Accumulator, AccumulatorParam, Broadcast, _AddParam

_lock = threading.RLock()
_active: Optional["SparkContext"] = None


class SparkContext:
    """One application's engine: worker threads, block store, shuffles.

    Like PySpark, one context may be active per process (``SparkContext.getOrCreate``
    returns it).
    """

    def __init__(self, master: Optional[str] = None, appName: Optional[str] = None,
                 sparkHome: Optional[str] = None, pyFiles=None, environment=None,
                 batchSize: int = 0, serializer=None, conf: Optional[SparkConf] = None,
                 gateway=None, jsc=None, profiler_cls=None) -> None:
        global _active
        with _lock:
            if _active is not None:
                raise ValueError(
                    "Cannot run multiple SparkContexts at once; existing SparkContext(app=%s, "
                    "master=%s)" % (_active.appName, _active.master))
            self._conf = conf if conf is not None else SparkConf()
            if master:
                self._conf.setMaster(master)
            if appName:
                self._conf.setAppName(appName)
            self.master = self._conf.get("spark.master", "local[*]")
            self.appName = self._conf.get("spark.app.name", "sluice")
            settings = [(k, v) for k, v in self._conf.getAll()
                        if k not in ("spark.master", "spark.app.name")]
            self._native = _native.NativeContext(self.master, self.appName, settings)
            self._next_accumulator = 0
            self._stopped = False
            _active = self

    @classmethod
    def getOrCreate(cls, conf: Optional[SparkConf] = None) -> "SparkContext":
        """The active context, or a new one from ``conf``."""
        with _lock:
            if _active is None:
                SparkContext(conf=conf or SparkConf())
            return _active  # type: ignore[return-value]

    @property
    def defaultParallelism(self) -> int:
        """Partitions used when none is given."""
        return self._native.default_parallelism()

    @property
    def defaultMinPartitions(self) -> int:
        """The default minimum partitions of ``textFile``."""
        return min(self.defaultParallelism, 2)

    @property
    def version(self) -> str:
        """Sluice's version."""
        return "0.1.0"

    def getConf(self) -> SparkConf:
        """A copy of the settings."""
        return SparkConf().setAll(self._conf.getAll())

    def setLogLevel(self, logLevel: str) -> None:
        """Accepted for compatibility; Sluice reports through listeners and errors."""

    def parallelize(self, c: Iterable[Any], numSlices: Optional[int] = None) -> RDD:
        """An RDD of the records of ``c`` in ``numSlices`` partitions (Spark's slicing)."""
        n = int(numSlices) if numSlices is not None else self.defaultParallelism
        if n < 1:
            raise ValueError("numSlices must be at least 1, got %d" % n)
        data = list(c)
        size = len(data)
        parts = [data[(i * size) // n:((i + 1) * size) // n] for i in range(n)]
        return RDD(self._native.parallelize(parts), self)

    def range(self, start: int, end: Optional[int] = None, step: int = 1,
              numSlices: Optional[int] = None) -> RDD:
        """The integers of ``range(start, end, step)``."""
        if end is None:
            start, end = 0, start
        return self.parallelize(range(start, end, step), numSlices)

    def emptyRDD(self) -> RDD:
        """An RDD with no partitions."""
        return RDD(self._native.empty(), self)

    def textFile(self, name: str, minPartitions: Optional[int] = None,
                 use_unicode: bool = True) -> RDD:
        """The lines of a file, a directory's files, or a glob's."""
        n = minPartitions if minPartitions is not None else self.defaultMinPartitions
        return RDD(self._native.text_file(name, n), self)

    def union(self, rdds: List[RDD]) -> RDD:
        """The records of all ``rdds``."""
        if not rdds:
            raise ValueError("union needs at least one RDD")
        return RDD(self._native.union([r._native for r in rdds]), self)

    def broadcast(self, value: Any) -> Broadcast:
        """A value shared with every task."""
        return Broadcast(value)

    def accumulator(self, value: Any, accum_param: Optional[AccumulatorParam] = None
                    ) -> Accumulator:
        """A value tasks add to; numbers add by ``+`` unless ``accum_param`` says otherwise."""
        self._next_accumulator += 1
        return Accumulator(self._next_accumulator, value, accum_param or _AddParam())

    def stop(self) -> None:
        """Stops the context; a new one may be created afterwards."""
        global _active
        with _lock:
            self._stopped = True
            if _active is self:
                _active = None

    def __enter__(self) -> "SparkContext":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
