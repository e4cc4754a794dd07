"""``RDD``: PySpark's resilient distributed dataset over Sluice's engine.

Every operation is built on a few native ones (a partition function, two shuffles, union,
coalesce, persistence, collection), as PySpark builds its own on ``mapPartitionsWithIndex``
and the JVM. Consecutive narrow operations are fused into one partition function, so a
chain such as ``flatMap(...).map(...)`` walks each partition once with the interpreter lock
taken once.
"""

import bisect
import copy
import heapq
import itertools
import operator
import random
from collections import defaultdict
from functools import reduce as _reduce
from typing import Any, Callable, Dict, Iterable, List, Optional

from sluice import _native
from sluice.resultiterable import ResultIterable
from sluice.storagelevel import StorageLevel

#: The stable hash keys are partitioned by: the same in every process and run (``None`` is 0,
#: ``str`` and ``bytes`` as CPython hashes them with ``PYTHONHASHSEED=0``, tuples by items).
portable_hash = _native.portable_hash_of


class Partitioner:
    """How a pair RDD's keys are laid out: ``numPartitions`` and ``partitionFunc``."""

    def __init__(self, numPartitions: int, partitionFunc: Callable[[Any], int]) -> None:
        self.numPartitions = numPartitions
        self.partitionFunc = partitionFunc

    def __eq__(self, other) -> bool:
        return (isinstance(other, Partitioner) and self.numPartitions == other.numPartitions
                and self.partitionFunc == other.partitionFunc)

    def __call__(self, k: Any) -> int:
        return self.partitionFunc(k) % self.numPartitions


class RDD:
    """A partitioned collection of Python records, computed lazily from its lineage."""

    def __init__(self, native, ctx, partitioner: Optional[Partitioner] = None) -> None:
        self._native_rdd = native
        self.ctx = ctx
        self.partitioner = partitioner
        self.is_cached = False

    @property
    def _native(self):
        return self._native_rdd

    @property
    def context(self):
        """The ``SparkContext`` of this RDD."""
        return self.ctx

    def __repr__(self) -> str:
        return "%s[%d]" % (self.name() or type(self).__name__, self.id())

    def id(self) -> int:
        """The RDD's id within its context."""
        return self._native.id()

    def name(self) -> Optional[str]:
        """The RDD's name."""
        return self._native.name()

    def setName(self, name: str) -> "RDD":
        """Names the RDD."""
        self._native.set_name(name)
        return self

    def toDebugString(self) -> bytes:
        """The lineage."""
        return self._native.debug_string().encode("utf-8")

    def getNumPartitions(self) -> int:
        """The number of partitions."""
        return self._native.num_partitions()

    # -- persistence --------------------------------------------------------------------

    def cache(self) -> "RDD":
        """Keeps computed partitions in memory."""
        return self.persist(StorageLevel.MEMORY_ONLY)

    def persist(self, storageLevel: StorageLevel = StorageLevel.MEMORY_ONLY) -> "RDD":
        """Keeps computed partitions at ``storageLevel``."""
        self.is_cached = True
        self._native.persist(storageLevel._native_name())
        return self

    def unpersist(self, blocking: bool = False) -> "RDD":
        """Drops the kept partitions."""
        self.is_cached = False
        self._native.unpersist()
        return self

    def getStorageLevel(self) -> StorageLevel:
        """The storage level (``StorageLevel(False, False, ...)`` when not persisted)."""
        level = self._native.storage_level()
        if level is None:
            return StorageLevel(False, False, False, False, 1)
        return {"MEMORY_ONLY": StorageLevel.MEMORY_ONLY,
                "MEMORY_AND_DISK": StorageLevel.MEMORY_AND_DISK,
                "DISK_ONLY": StorageLevel.DISK_ONLY}[level]

    # -- narrow transformations ---------------------------------------------------------

    def mapPartitionsWithIndex(self, f: Callable[[int, Iterable[Any]], Iterable[Any]],
                               preservesPartitioning: bool = False) -> "RDD":
        """``f(index, iterator)`` over every partition."""
        return PipelinedRDD(self, f, preservesPartitioning)

    def mapPartitions(self, f: Callable[[Iterable[Any]], Iterable[Any]],
                      preservesPartitioning: bool = False) -> "RDD":
        """``f(iterator)`` over every partition."""
        return self.mapPartitionsWithIndex(lambda _, it: f(it), preservesPartitioning)

    def map(self, f: Callable[[Any], Any], preservesPartitioning: bool = False) -> "RDD":
        """``f`` of every record."""
        return self.mapPartitionsWithIndex(lambda _, it: map(f, it), preservesPartitioning)

    def flatMap(self, f: Callable[[Any], Iterable[Any]],
                preservesPartitioning: bool = False) -> "RDD":
        """The records of ``f`` of every record."""
        return self.mapPartitionsWithIndex(
            lambda _, it: itertools.chain.from_iterable(map(f, it)), preservesPartitioning)

    def filter(self, f: Callable[[Any], bool]) -> "RDD":
        """The records for which ``f`` is true."""
        return self.mapPartitionsWithIndex(lambda _, it: filter(f, it), True)

    def glom(self) -> "RDD":
        """Each partition as one list."""
        return self.mapPartitionsWithIndex(lambda _, it: [list(it)])

    def mapValues(self, f: Callable[[Any], Any]) -> "RDD":
        """``(k, f(v))`` for every pair; keeps the partitioning."""
        return self.mapPartitionsWithIndex(lambda _, it: ((k, f(v)) for k, v in it), True)

    def flatMapValues(self, f: Callable[[Any], Iterable[Any]]) -> "RDD":
        """``(k, x)`` for every ``x`` of ``f(v)``; keeps the partitioning."""
        return self.mapPartitionsWithIndex(
            lambda _, it: ((k, x) for k, v in it for x in f(v)), True)

    def keys(self) -> "RDD":
        """The keys of the pairs."""
        return self.map(lambda kv: kv[0])

    def values(self) -> "RDD":
        """The values of the pairs."""
        return self.map(lambda kv: kv[1])

    def keyBy(self, f: Callable[[Any], Any]) -> "RDD":
        """``(f(x), x)`` for every record."""
        return self.map(lambda x: (f(x), x))

    def union(self, other: "RDD") -> "RDD":
        """The records of both RDDs."""
        # The partitions are concatenated, so no key layout survives.
        return RDD(self._native.union(other._native), self.ctx)

    def __add__(self, other: "RDD") -> "RDD":
        return self.union(other)

    def coalesce(self, numPartitions: int, shuffle: bool = False) -> "RDD":
        """Fewer partitions without a shuffle, or any number with one."""
        if shuffle:
            n = numPartitions

            def spread(index, it):
                start = random.Random(index).randrange(n)
                return (((start + i) % n, x) for i, x in enumerate(it))
            tagged = self.mapPartitionsWithIndex(spread)
            return RDD(tagged._native.partition_by_index(n), self.ctx)
        return RDD(self._native.coalesce(numPartitions), self.ctx)

    def repartition(self, numPartitions: int) -> "RDD":
        """``numPartitions`` partitions, records spread by a shuffle."""
        return self.coalesce(numPartitions, shuffle=True)

    # -- shuffles -----------------------------------------------------------------------

    def _defaultReducePartitions(self) -> int:
        if self.ctx._conf.contains("spark.default.parallelism"):
            return self.ctx.defaultParallelism
        return self.getNumPartitions()

    def partitionBy(self, numPartitions: Optional[int],
                    partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """The pairs laid out in ``numPartitions`` partitions by ``partitionFunc(key)``."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        partitioner = Partitioner(numPartitions, partitionFunc)
        if self.partitioner == partitioner:
            return self
        if partitionFunc is portable_hash:
            native = self._native.partition_by_hash(numPartitions)
        else:
            tagged = self.mapPartitionsWithIndex(
                lambda _, it: ((partitionFunc(kv[0]), kv) for kv in it))
            native = tagged._native.partition_by_index(numPartitions)
        return RDD(native, self.ctx, partitioner)

    def combineByKey(self, createCombiner: Callable[[Any], Any],
                     mergeValue: Callable[[Any, Any], Any],
                     mergeCombiners: Callable[[Any, Any], Any],
                     numPartitions: Optional[int] = None,
                     partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """Per key, values combined into combiners on each side of a shuffle."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()

        def combine_locally(it):
            d: Dict[Any, Any] = {}
            for k, v in it:
                if k in d:
                    d[k] = mergeValue(d[k], v)
                else:
                    d[k] = createCombiner(v)
            return list(d.items())

        def merge(it):
            d: Dict[Any, Any] = {}
            for k, c in it:
                if k in d:
                    d[k] = mergeCombiners(d[k], c)
                else:
                    d[k] = c
            return list(d.items())
        partitioner = Partitioner(numPartitions, partitionFunc)
        if self.partitioner == partitioner:
            return self.mapPartitions(combine_locally, True)
        locally = self.mapPartitions(combine_locally, True)
        return locally.partitionBy(numPartitions, partitionFunc).mapPartitions(merge, True)

    def reduceByKey(self, func: Callable[[Any, Any], Any],
                    numPartitions: Optional[int] = None,
                    partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """Per key, the values reduced by ``func``."""
        return self.combineByKey(lambda x: x, func, func, numPartitions, partitionFunc)

    def reduceByKeyLocally(self, func: Callable[[Any, Any], Any]) -> Dict[Any, Any]:
        """Per key, the values reduced, as a dict on the driver."""
        return dict(self.reduceByKey(func).collect())

    def aggregateByKey(self, zeroValue: Any, seqFunc, combFunc,
                       numPartitions: Optional[int] = None,
                       partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """Per key, values folded into a copy of ``zeroValue`` and the results combined."""
        return self.combineByKey(lambda v: seqFunc(copy.deepcopy(zeroValue), v), seqFunc,
                                 combFunc, numPartitions, partitionFunc)

    def foldByKey(self, zeroValue: Any, func, numPartitions: Optional[int] = None,
                  partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """Per key, values folded by ``func`` from ``zeroValue``."""
        return self.combineByKey(lambda v: func(copy.deepcopy(zeroValue), v), func, func,
                                 numPartitions, partitionFunc)

    def groupByKey(self, numPartitions: Optional[int] = None,
                   partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """Per key, its values (a ``ResultIterable``)."""
        def create(v):
            return [v]

        def append(xs, v):
            xs.append(v)
            return xs

        def extend(a, b):
            a.extend(b)
            return a
        return self.combineByKey(create, append, extend, numPartitions,
                                 partitionFunc).mapValues(ResultIterable)

    def groupBy(self, f: Callable[[Any], Any], numPartitions: Optional[int] = None,
                partitionFunc: Callable[[Any], int] = portable_hash) -> "RDD":
        """Records grouped by ``f(record)``."""
        return self.map(lambda x: (f(x), x)).groupByKey(numPartitions, partitionFunc)

    def cogroup(self, other: "RDD", numPartitions: Optional[int] = None) -> "RDD":
        """Per key, the values of both RDDs: ``(k, (values, other_values))``."""
        return self.groupWith(other, numPartitions=numPartitions)

    def groupWith(self, other: "RDD", *others: "RDD", numPartitions: Optional[int] = None
                  ) -> "RDD":
        """Per key, a tuple of the values of each RDD."""
        rdds = (self, other) + others
        n = len(rdds)
        tagged = [r.mapValues(lambda v, i=i: (i, v)) for i, r in enumerate(rdds)]
        union = _reduce(lambda a, b: a.union(b), tagged)
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()

        def split(values):
            groups: List[list] = [[] for _ in range(n)]
            for i, v in values:
                groups[i].append(v)
            return tuple(ResultIterable(g) for g in groups)
        return union.groupByKey(numPartitions).mapValues(split)

    def _join(self, other: "RDD", numPartitions, left_outer: bool, right_outer: bool
              ) -> "RDD":
        def pairs(groups):
            vs, ws = list(groups[0]), list(groups[1])
            if left_outer and not ws:
                ws = [None]
            if right_outer and not vs:
                vs = [None]
            return [(v, w) for v in vs for w in ws]
        return self.cogroup(other, numPartitions).flatMapValues(pairs)

    def join(self, other: "RDD", numPartitions: Optional[int] = None) -> "RDD":
        """``(k, (v, w))`` for every pair of values of a key in both RDDs."""
        return self._join(other, numPartitions, False, False)

    def leftOuterJoin(self, other: "RDD", numPartitions: Optional[int] = None) -> "RDD":
        """The join, keeping this RDD's keys missing in ``other`` with ``None``."""
        return self._join(other, numPartitions, True, False)

    def rightOuterJoin(self, other: "RDD", numPartitions: Optional[int] = None) -> "RDD":
        """The join, keeping ``other``'s keys missing here with ``None``."""
        return self._join(other, numPartitions, False, True)

    def fullOuterJoin(self, other: "RDD", numPartitions: Optional[int] = None) -> "RDD":
        """The join, keeping every key of either RDD."""
        return self._join(other, numPartitions, True, True)

    def distinct(self, numPartitions: Optional[int] = None) -> "RDD":
        """Each record once."""
        return (self.map(lambda x: (x, None))
                .reduceByKey(lambda x, _: x, numPartitions).map(lambda kv: kv[0]))

    def subtractByKey(self, other: "RDD", numPartitions: Optional[int] = None) -> "RDD":
        """The pairs whose key is not in ``other``."""
        return self.cogroup(other, numPartitions).flatMap(
            lambda kv: [(kv[0], v) for v in kv[1][0]] if not len(kv[1][1]) else [])

    def sample(self, withReplacement: bool, fraction: float, seed: Optional[int] = None
               ) -> "RDD":
        """A random sample of about ``fraction`` of the records."""
        if fraction < 0:
            raise ValueError("fraction must be non-negative")
        base = seed if seed is not None else random.randrange(1 << 31)

        def pick(index, it):
            rng = random.Random(base ^ index)
            for x in it:
                if withReplacement:
                    # A Poisson draw by inversion: how many times x is picked.
                    count, p, u = 0, pow(2.718281828459045, -fraction), rng.random()
                    cdf = p
                    while u > cdf:
                        count += 1
                        p *= fraction / count
                        cdf += p
                    for _ in range(count):
                        yield x
                elif rng.random() < fraction:
                    yield x
        return self.mapPartitionsWithIndex(pick, True)

    def sortByKey(self, ascending: bool = True, numPartitions: Optional[int] = None,
                  keyfunc: Callable[[Any], Any] = lambda x: x) -> "RDD":
        """The pairs sorted by key, partition after partition."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()

        def sort_partition(it):
            return sorted(it, key=lambda kv: keyfunc(kv[0]), reverse=not ascending)
        if numPartitions == 1:
            if self.getNumPartitions() > 1:
                return self.coalesce(1).mapPartitions(sort_partition, True)
            return self.mapPartitions(sort_partition, True)
        size = self.count()
        if not size:
            return self
        fraction = min(numPartitions * 20.0 / max(size, 1), 1.0)
        samples = sorted(self.sample(False, fraction, 1).map(lambda kv: kv[0]).collect(),
                         key=keyfunc)
        bounds = [keyfunc(samples[int(len(samples) * (i + 1) / numPartitions)])
                  for i in range(numPartitions - 1)] if samples else []

        def range_partition(k):
            p = bisect.bisect_left(bounds, keyfunc(k))
            return p if ascending else numPartitions - 1 - p
        return self.partitionBy(numPartitions, range_partition).mapPartitions(
            sort_partition, True)

    def sortBy(self, keyfunc: Callable[[Any], Any], ascending: bool = True,
               numPartitions: Optional[int] = None) -> "RDD":
        """The records sorted by ``keyfunc``."""
        return self.keyBy(keyfunc).sortByKey(ascending, numPartitions).values()

    # -- actions ------------------------------------------------------------------------

    def collect(self) -> List[Any]:
        """Every record, in partition order."""
        return self._native.collect()

    def collectAsMap(self) -> Dict[Any, Any]:
        """The pairs as a dict."""
        return dict(self.collect())

    def count(self) -> int:
        """The number of records."""
        return self._native.count()

    def isEmpty(self) -> bool:
        """Whether there are no records."""
        return self.getNumPartitions() == 0 or len(self.take(1)) == 0

    def take(self, num: int) -> List[Any]:
        """The first ``num`` records, scanning as few partitions as it can."""
        items: List[Any] = []
        total = self.getNumPartitions()
        scanned = 0
        while len(items) < num and scanned < total:
            # One partition first, then 4 times as many while nothing was found, else double.
            step = 1 if scanned == 0 else scanned * (4 if not items else 1)
            parts = list(range(scanned, min(scanned + step, total)))
            left = num - len(items)
            limited = self.mapPartitions(lambda it: itertools.islice(it, left))
            for part in limited._native.collect_partitions(parts):
                items.extend(part)
            scanned += len(parts)
        return items[:num]

    def first(self) -> Any:
        """The first record (``ValueError`` when empty)."""
        rs = self.take(1)
        if rs:
            return rs[0]
        raise ValueError("RDD is empty")

    def reduce(self, f: Callable[[Any, Any], Any]) -> Any:
        """The records reduced by ``f`` (``ValueError`` when empty)."""
        def part(it):
            it = iter(it)
            try:
                first = next(it)
            except StopIteration:
                return []
            return [_reduce(f, it, first)]
        vals = self.mapPartitions(part).collect()
        if vals:
            return _reduce(f, vals)
        raise ValueError("Can not reduce() empty RDD")

    def fold(self, zeroValue: Any, op: Callable[[Any, Any], Any]) -> Any:
        """Each partition folded from a copy of ``zeroValue``, then the results."""
        vals = self.mapPartitions(
            lambda it: [_reduce(op, it, copy.deepcopy(zeroValue))]).collect()
        return _reduce(op, vals, zeroValue)

    def aggregate(self, zeroValue: Any, seqOp, combOp) -> Any:
        """Each partition folded by ``seqOp``, the results combined by ``combOp``."""
        vals = self.mapPartitions(
            lambda it: [_reduce(seqOp, it, copy.deepcopy(zeroValue))]).collect()
        return _reduce(combOp, vals, zeroValue)

    def sum(self) -> Any:
        """The sum of the records."""
        return self.mapPartitions(lambda it: [sum(it)]).fold(0, operator.add)

    def max(self, key: Optional[Callable[[Any], Any]] = None) -> Any:
        """The largest record."""
        return self.reduce(lambda a, b: max(a, b, key=key) if key else max(a, b))

    def min(self, key: Optional[Callable[[Any], Any]] = None) -> Any:
        """The smallest record."""
        return self.reduce(lambda a, b: min(a, b, key=key) if key else min(a, b))

    def mean(self) -> float:
        """The mean of the records."""
        s, n = self.mapPartitions(lambda it: [_sum_count(it)]).reduce(
            lambda a, b: (a[0] + b[0], a[1] + b[1]))
        return s / n

    def countByValue(self) -> Dict[Any, int]:
        """How often each record occurs, as a dict."""
        def part(it):
            d: Dict[Any, int] = defaultdict(int)
            for x in it:
                d[x] += 1
            return [d]

        def merge(a, b):
            for k, v in b.items():
                a[k] += v
            return a
        parts = self.mapPartitions(part).collect()
        return _reduce(merge, parts, defaultdict(int))

    def countByKey(self) -> Dict[Any, int]:
        """How many pairs each key has, as a dict."""
        return self.map(lambda kv: kv[0]).countByValue()

    def lookup(self, key: Any) -> List[Any]:
        """The values of ``key``."""
        return self.filter(lambda kv: kv[0] == key).values().collect()

    def top(self, num: int, key: Optional[Callable[[Any], Any]] = None) -> List[Any]:
        """The ``num`` largest records, largest first."""
        parts = self.mapPartitions(lambda it: [heapq.nlargest(num, it, key=key)]).collect()
        return heapq.nlargest(num, itertools.chain.from_iterable(parts), key=key)

    def takeOrdered(self, num: int, key: Optional[Callable[[Any], Any]] = None
                    ) -> List[Any]:
        """The ``num`` smallest records, smallest first."""
        parts = self.mapPartitions(lambda it: [heapq.nsmallest(num, it, key=key)]).collect()
        return heapq.nsmallest(num, itertools.chain.from_iterable(parts), key=key)

    def foreach(self, f: Callable[[Any], None]) -> None:
        """Runs ``f`` on every record."""
        def part(it):
            for x in it:
                f(x)
            return []
        self.mapPartitions(part).count()

    def foreachPartition(self, f: Callable[[Iterable[Any]], None]) -> None:
        """Runs ``f`` on every partition's iterator."""
        def part(it):
            f(it)
            return []
        self.mapPartitions(part).count()

    def saveAsTextFile(self, path: str, compressionCodecClass: Optional[str] = None) -> None:
        """Writes ``str(record)`` lines as part files into the new directory ``path``."""
        if compressionCodecClass is not None:
            raise ValueError("compressed text output is not supported")
        self._native.save_as_text_file(path)


def _sum_count(it):
    s, n = 0, 0
    for x in it:
        s += x
        n += 1
    return (s, n)


class PipelinedRDD(RDD):
    """A narrow Python operation, fused with the narrow operations before it."""

    def __init__(self, prev: RDD, func, preservesPartitioning: bool = False) -> None:
        if isinstance(prev, PipelinedRDD) and prev._built is None and not prev.is_cached:
            prev_func = prev._func

            def pipeline(split, it):
                return func(split, prev_func(split, it))
            self._func = pipeline
            self._source = prev._source
        else:
            self._func = func
            self._source = prev
        self._preserves = preservesPartitioning
        self._built = None
        super().__init__(None, prev.ctx,
                         prev.partitioner if preservesPartitioning else None)

    @property
    def _native(self):
        if self._built is None:
            self._built = self._source._native.map_partitions(self._func, self._preserves)
        return self._built
