"""``DStream``: PySpark's discretized stream over Sluice's engine.

Per-batch operations are ``transform``s whose function builds each batch's RDD with the
Python ``RDD`` API (consecutive ones are fused into one function, as the RDD's narrow
operations are); windows, unions, slices and output operations are the engine's own. Batch
times reach user functions as ``datetime``s, as in PySpark.
"""

import functools
import operator
from datetime import datetime
from typing import Any, Callable, List, Optional

from sluice.rdd import RDD, portable_hash
from sluice.storagelevel import StorageLevel


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0)


def _wants_time(func: Callable) -> bool:
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    n = code.co_argcount - (1 if hasattr(func, "__self__") else 0)
    return n >= 2


def _first(pair):
    return pair[0]


def _ms(t: datetime) -> int:
    return int(round(t.timestamp() * 1000))


def _seconds(d: float, what: str) -> int:
    ms = int(round(float(d) * 1000))
    if ms <= 0:
        raise ValueError("%s must be positive, got %r" % (what, d))
    return ms


class DStream:
    """A stream of RDDs, one per batch."""

    def __init__(self, native, ssc, sc) -> None:
        self._native_stream = native
        self._ssc = ssc
        self._sc = sc
        self.is_cached = False
        self.is_checkpointed = False

    @property
    def _native(self):
        return self._native_stream

    def _rdd(self, native_rdd) -> RDD:
        return RDD(native_rdd, self._sc)

    def context(self):
        """The ``StreamingContext``."""
        return self._ssc

    # -- per-batch transformations ------------------------------------------------------

    def transform(self, func: Callable[..., RDD]) -> "DStream":
        """A stream whose RDD each batch is ``func(rdd)`` or ``func(time, rdd)``."""
        if _wants_time(func):
            return TransformedDStream(self, func)
        return TransformedDStream(self, lambda t, rdd: func(rdd))

    def transformWith(self, func: Callable[..., RDD], other: "DStream",
                      keepSerializer: bool = False) -> "DStream":
        """A stream whose RDD each batch is ``func(rdd, other_rdd)`` (or with the time
        first)."""
        if getattr(getattr(func, "__code__", None), "co_argcount", 2) != 3:
            inner = func

            def func(t, a, b):  # noqa: F811 (PySpark's two forms)
                return inner(a, b)
        sc = self._sc

        def native(t_ms, a, b):
            out = func(_time(t_ms), RDD(a, sc), RDD(b, sc))
            return None if out is None else out._native
        return DStream(self._native.transform_with(other._native, native), self._ssc, sc)

    def mapPartitionsWithIndex(self, f, preservesPartitioning: bool = False) -> "DStream":
        """``f(index, iterator)`` over every partition of every batch."""
        return self.transform(lambda rdd: rdd.mapPartitionsWithIndex(f, preservesPartitioning))

    def mapPartitions(self, f, preservesPartitioning: bool = False) -> "DStream":
        """``f(iterator)`` over every partition of every batch."""
        return self.transform(lambda rdd: rdd.mapPartitions(f, preservesPartitioning))

    def map(self, f, preservesPartitioning: bool = False) -> "DStream":
        """``f`` of every record."""
        return self.transform(lambda rdd: rdd.map(f, preservesPartitioning))

    def flatMap(self, f, preservesPartitioning: bool = False) -> "DStream":
        """The records of ``f`` of every record."""
        return self.transform(lambda rdd: rdd.flatMap(f, preservesPartitioning))

    def filter(self, f) -> "DStream":
        """The records for which ``f`` is true."""
        return self.transform(lambda rdd: rdd.filter(f))

    def glom(self) -> "DStream":
        """Each partition as one list."""
        return self.transform(lambda rdd: rdd.glom())

    def mapValues(self, f) -> "DStream":
        """``(k, f(v))`` for every pair."""
        return self.transform(lambda rdd: rdd.mapValues(f))

    def flatMapValues(self, f) -> "DStream":
        """``(k, x)`` for every ``x`` of ``f(v)``."""
        return self.transform(lambda rdd: rdd.flatMapValues(f))

    def repartition(self, numPartitions: int) -> "DStream":
        """Every batch in ``numPartitions`` partitions."""
        return self.transform(lambda rdd: rdd.repartition(numPartitions))

    def partitionBy(self, numPartitions: int, partitionFunc=portable_hash) -> "DStream":
        """Every batch's pairs laid out by ``partitionFunc(key)``."""
        return self.transform(lambda rdd: rdd.partitionBy(numPartitions, partitionFunc))

    def count(self) -> "DStream":
        """One record per batch: its number of records."""
        return self.mapPartitions(lambda it: [sum(1 for _ in it)]).reduce(operator.add)

    def reduce(self, func) -> "DStream":
        """One record per non-empty batch: its records reduced by ``func``."""
        return self.map(lambda x: (None, x)).reduceByKey(func, 1).map(lambda kv: kv[1])

    def countByValue(self) -> "DStream":
        """``(record, count)`` per distinct record of each batch."""
        return self.map(lambda x: (x, 1)).reduceByKey(operator.add)

    def reduceByKey(self, func, numPartitions: Optional[int] = None) -> "DStream":
        """Per key, each batch's values reduced by ``func``."""
        if numPartitions is None:
            numPartitions = self._sc.defaultParallelism
        return self.combineByKey(lambda x: x, func, func, numPartitions)

    def combineByKey(self, createCombiner, mergeValue, mergeCombiners,
                     numPartitions: Optional[int] = None) -> "DStream":
        """Per key, each batch's values combined."""
        if numPartitions is None:
            numPartitions = self._sc.defaultParallelism
        return self.transform(lambda rdd: rdd.combineByKey(
            createCombiner, mergeValue, mergeCombiners, numPartitions))

    def groupByKey(self, numPartitions: Optional[int] = None) -> "DStream":
        """Per key, each batch's values."""
        if numPartitions is None:
            numPartitions = self._sc.defaultParallelism
        return self.transform(lambda rdd: rdd.groupByKey(numPartitions))

    def _join(self, other: "DStream", how: str, numPartitions) -> "DStream":
        if numPartitions is None:
            numPartitions = self._sc.defaultParallelism
        return self.transformWith(
            lambda a, b: getattr(a, how)(b, numPartitions), other)

    def cogroup(self, other: "DStream", numPartitions: Optional[int] = None) -> "DStream":
        """Per key, both streams' values of the batch."""
        return self._join(other, "cogroup", numPartitions)

    def join(self, other: "DStream", numPartitions: Optional[int] = None) -> "DStream":
        """The batch's inner join with ``other``'s."""
        return self._join(other, "join", numPartitions)

    def leftOuterJoin(self, other: "DStream", numPartitions: Optional[int] = None
                      ) -> "DStream":
        """The batch's left outer join."""
        return self._join(other, "leftOuterJoin", numPartitions)

    def rightOuterJoin(self, other: "DStream", numPartitions: Optional[int] = None
                       ) -> "DStream":
        """The batch's right outer join."""
        return self._join(other, "rightOuterJoin", numPartitions)

    def fullOuterJoin(self, other: "DStream", numPartitions: Optional[int] = None
                      ) -> "DStream":
        """The batch's full outer join."""
        return self._join(other, "fullOuterJoin", numPartitions)

    def union(self, other: "DStream") -> "DStream":
        """Both streams' records, batch by batch (the slides must be equal)."""
        if self._slide_ms() != other._slide_ms():
            raise ValueError("the two DStreams must have the same slide duration")
        return DStream(self._native.union(other._native), self._ssc, self._sc)

    def cache(self) -> "DStream":
        """Keeps every batch's RDD in memory."""
        return self.persist(StorageLevel.MEMORY_ONLY)

    def persist(self, storageLevel: StorageLevel) -> "DStream":
        """Keeps every batch's RDD at ``storageLevel``."""
        out = self.transform(lambda rdd: rdd.persist(storageLevel))
        out.is_cached = True
        return out

    def checkpoint(self, interval: float) -> "DStream":
        """Checkpoints the stream every ``interval`` seconds."""
        self.is_checkpointed = True
        self._native.checkpoint(_seconds(interval, "interval"))
        return self

    # -- windows ------------------------------------------------------------------------

    def _slide_ms(self) -> int:
        return self._native.slide_ms()

    def window(self, windowDuration: float, slideDuration: Optional[float] = None
               ) -> "DStream":
        """The union of the RDDs of the last ``windowDuration`` seconds, every
        ``slideDuration`` (default: the batch interval)."""
        w = _seconds(windowDuration, "windowDuration")
        s = self._slide_ms() if slideDuration is None else _seconds(slideDuration,
                                                                    "slideDuration")
        return DStream(self._native.window(w, s), self._ssc, self._sc)

    def reduceByWindow(self, reduceFunc, invReduceFunc, windowDuration: float,
                       slideDuration: float) -> "DStream":
        """One record per window: its records reduced."""
        keyed = self.map(lambda x: (1, x))
        reduced = keyed.reduceByKeyAndWindow(reduceFunc, invReduceFunc, windowDuration,
                                             slideDuration, 1)
        return reduced.map(lambda kv: kv[1])

    def countByWindow(self, windowDuration: float, slideDuration: float) -> "DStream":
        """One record per window: its number of records."""
        return self.map(lambda x: 1).reduceByWindow(operator.add, operator.sub,
                                                    windowDuration, slideDuration)

    def countByValueAndWindow(self, windowDuration: float, slideDuration: float,
                              numPartitions: Optional[int] = None) -> "DStream":
        """``(record, count)`` per distinct record of each window."""
        keyed = self.map(lambda x: (x, 1))
        counted = keyed.reduceByKeyAndWindow(operator.add, operator.sub, windowDuration,
                                             slideDuration, numPartitions)
        return counted.filter(lambda kv: kv[1] > 0)

    def groupByKeyAndWindow(self, windowDuration: float, slideDuration: float,
                            numPartitions: Optional[int] = None) -> "DStream":
        """Per key, its values in each window."""
        return (self.window(windowDuration, slideDuration)
                .groupByKey(numPartitions))

    def reduceByKeyAndWindow(self, func, invFunc, windowDuration: float,
                             slideDuration: Optional[float] = None,
                             numPartitions: Optional[int] = None,
                             filterFunc=None) -> "DStream":
        """Per key, the values of each window reduced by ``func``.

        With ``invFunc`` each window is computed from the previous one, as in Spark: the
        batches that left the window are taken out with ``invFunc`` and the batches that
        entered it added with ``func``; keys whose values cancel out stay (a count of 0)
        unless ``filterFunc`` drops them. The window is the engine's keyed state (each key's
        value and its reduced values per batch still in the window), so with
        ``ssc.checkpoint(dir)`` it is checkpointed and restored after a crash like
        ``updateStateByKey``'s; a slide costs one call per key."""
        if numPartitions is None:
            numPartitions = self._sc.defaultParallelism
        w = _seconds(windowDuration, "windowDuration")
        s = self._slide_ms() if slideDuration is None else _seconds(slideDuration,
                                                                    "slideDuration")
        reduced = self.reduceByKey(func, numPartitions)
        if invFunc is None:
            # The engine's window checks the durations and keeps the parent's RDDs.
            windowed = DStream(reduced._native.window(w, s), self._ssc, self._sc)
            out = windowed.reduceByKey(func, numPartitions)
            return out.filter(filterFunc) if filterFunc else out
        if w % reduced._slide_ms() != 0:
            raise ValueError("windowDuration (%d ms) must be a multiple of the parent's slide "
                             "duration (%d ms)" % (w, reduced._slide_ms()))
        # Each batch's reduced values, tagged with the batch's time; a window of one slide
        # brings every slide the batches that entered the window.
        tagged = reduced.transform(
            lambda t, rdd: rdd.map(lambda kv, b=_ms(t): (kv[0], (b, kv[1]))))
        entering = DStream(tagged._native.window(s, s), self._ssc, self._sc)

        reduce = functools.reduce

        def slide(t_ms, key, new, state):
            # state: (window value, ((batch time, reduced value), ...) in batch order).
            cutoff = t_ms - w
            if state is None:
                if not new:
                    return None
                value, kept = None, ()
            else:
                value, kept = state
                if not new and (not kept or kept[0][0] > cutoff):
                    return state  # nothing left the window, nothing entered it
            if len(new) > 1:
                new.sort(key=_first)
            if kept and kept[0][0] <= cutoff:
                i = 1
                while i < len(kept) and kept[i][0] <= cutoff:
                    i += 1
                gone, kept = kept[:i], kept[i:]
            else:
                gone = ()
            if value is None:
                value = reduce(func, [v for _, v in new])
            else:
                if gone:
                    value = invFunc(value, reduce(func, [v for _, v in gone]))
                if new:
                    value = func(value, reduce(func, [v for _, v in new]))
            if filterFunc is not None and not filterFunc((key, value)):
                return None
            return (value, kept + tuple(new))

        name = self._ssc._stateful_name("reduceByKeyAndWindow")
        native = entering._native.update_state_by_key(slide, name, int(numPartitions), None,
                                                      True)
        return DStream(native, self._ssc, self._sc).mapValues(lambda vs: vs[0])

    def updateStateByKey(self, updateFunc, numPartitions: Optional[int] = None,
                         initialRDD: Optional[Any] = None) -> "DStream":
        """Per key, a state kept across batches: ``updateFunc(new_values, last_state)``
        every batch for every key with a state or new values (``new_values`` a list, empty
        when the key had none; ``last_state`` ``None`` for a new key); ``None`` removes the
        key.

        The state lives in the engine's keyed state: a batch costs what its keys cost, and
        with ``ssc.checkpoint(dir)`` it is checkpointed (pickled) and restored by
        ``StreamingContext.getOrCreate`` after a crash. Checkpointed state is matched to the
        job's stateful operators in the order the program creates them
        (``updateStateByKey-1``, ``-2``, ...)."""
        if numPartitions is None:
            numPartitions = self._sc.defaultParallelism
        if not callable(updateFunc):
            raise TypeError("updateFunc must be callable, got %r" % (updateFunc,))
        if initialRDD is not None and not isinstance(initialRDD, RDD):
            initialRDD = self._sc.parallelize(initialRDD)
        name = self._ssc._stateful_name("updateStateByKey")
        native = self._native.update_state_by_key(
            updateFunc, name, int(numPartitions),
            initialRDD._native if initialRDD is not None else None)
        return DStream(native, self._ssc, self._sc)

    def slice(self, begin: Any, end: Any) -> List[RDD]:
        """The RDDs of the batches from ``begin`` to ``end`` (``datetime``s or seconds)."""
        def ms(x):
            if isinstance(x, datetime):
                return int(round(x.timestamp() * 1000))
            return int(round(float(x) * 1000))
        return [self._rdd(r) for r in self._native.slice(ms(begin), ms(end))]

    # -- output operations --------------------------------------------------------------

    def foreachRDD(self, func: Callable[..., None]) -> None:
        """Runs ``func(rdd)`` or ``func(time, rdd)`` on the driver every batch."""
        if _wants_time(func):
            f = func
        else:
            def f(t, rdd):
                return func(rdd)
        sc = self._sc
        self._native.foreach_rdd(lambda t_ms, rdd: f(_time(t_ms), RDD(rdd, sc)))

    def pprint(self, num: int = 10) -> None:
        """Prints the first ``num`` records of every batch, as PySpark does."""
        def take_and_print(time, rdd):
            taken = rdd.take(num + 1)
            print("-------------------------------------------")
            print("Time: %s" % time)
            print("-------------------------------------------")
            for record in taken[:num]:
                print(record)
            if len(taken) > num:
                print("...")
            print("", flush=True)
        self.foreachRDD(take_and_print)

    def saveAsTextFiles(self, prefix: str, suffix: Optional[str] = None) -> None:
        """Writes every batch to the directory ``prefix-TIME_IN_MS[.suffix]``."""
        self._native.save_as_text_files(prefix, suffix or "")


class TransformedDStream(DStream):
    """A per-batch transformation, fused with the transformations before it."""

    def __init__(self, prev: DStream, func: Callable[[datetime, RDD], RDD]) -> None:
        super().__init__(None, prev._ssc, prev._sc)
        if (isinstance(prev, TransformedDStream) and prev._built is None
                and not prev.is_cached and not prev.is_checkpointed):
            prev_func = prev._func

            def pipeline(t, rdd):
                return func(t, prev_func(t, rdd))
            self._func = pipeline
            self._source = prev._source
        else:
            self._func = func
            self._source = prev
        self._built = None

    @property
    def _native(self):
        if self._built is None:
            sc, func = self._sc, self._func

            def native(t_ms, rdd):
                out = func(_time(t_ms), RDD(rdd, sc))
                return None if out is None else out._native
            self._built = self._source._native.transform(native)
        return self._built
