"""RDD operations, with PySpark's results."""

import operator
import os

import pytest

from sluice import SluiceError, SparkContext, StorageLevel


def test_parallelize_slices_as_spark(sc):
    assert sc.parallelize(range(10), 3).glom().collect() == [[0, 1, 2], [3, 4, 5],
                                                            [6, 7, 8, 9]]
    assert sc.parallelize([], 2).glom().collect() == [[], []]
    assert sc.range(1, 7, 2).collect() == [1, 3, 5]
    with pytest.raises(ValueError):
        sc.parallelize([1], 0)


def test_one_active_context(sc):
    with pytest.raises(ValueError, match="multiple SparkContexts"):
        SparkContext("local", "second")


def test_narrow_operations(sc):
    rdd = sc.parallelize([1, 2, 3, 4], 2)
    assert rdd.map(lambda x: x * 2).collect() == [2, 4, 6, 8]
    assert rdd.flatMap(lambda x: [x] * x).collect() == [1, 2, 2, 3, 3, 3, 4, 4, 4, 4]
    assert rdd.filter(lambda x: x % 2).collect() == [1, 3]
    assert rdd.mapPartitions(lambda it: [sum(it)]).collect() == [3, 7]
    assert rdd.mapPartitionsWithIndex(lambda i, it: [(i, list(it))]).collect() == \
        [(0, [1, 2]), (1, [3, 4])]
    pairs = sc.parallelize([("a", 1), ("b", 2)])
    assert pairs.mapValues(lambda v: v + 1).collect() == [("a", 2), ("b", 3)]
    assert pairs.flatMapValues(lambda v: range(v)).collect() == [("a", 0), ("b", 0),
                                                                 ("b", 1)]
    assert pairs.keys().collect() == ["a", "b"]
    assert pairs.values().collect() == [1, 2]
    assert rdd.keyBy(lambda x: x % 2).collect() == [(1, 1), (0, 2), (1, 3), (0, 4)]
    assert rdd.union(rdd).getNumPartitions() == 4


def test_fused_chain_is_one_partition_pass(sc):
    calls = sc.accumulator(0)

    def tally(x):
        calls.add(1)
        return x
    out = sc.parallelize(range(6), 2).map(tally).filter(lambda x: x > 2).map(tally)
    assert out.collect() == [3, 4, 5]
    assert calls.value == 9


def test_key_value_shuffles(sc):
    pairs = sc.parallelize([("a", 1), ("b", 1), ("a", 2), ("c", 5), ("b", 3)], 3)
    assert sorted(pairs.reduceByKey(operator.add).collect()) == [("a", 3), ("b", 4),
                                                                 ("c", 5)]
    assert sorted((k, sorted(v)) for k, v in pairs.groupByKey().collect()) == \
        [("a", [1, 2]), ("b", [1, 3]), ("c", [5])]
    assert sorted(pairs.foldByKey(0, operator.add).collect()) == [("a", 3), ("b", 4),
                                                                  ("c", 5)]
    assert sorted(pairs.aggregateByKey([], lambda acc, v: acc + [v],
                                       lambda a, b: a + b).mapValues(sorted).collect()) == \
        [("a", [1, 2]), ("b", [1, 3]), ("c", [5])]
    assert sorted(pairs.combineByKey(lambda v: (v, 1), lambda c, v: (c[0] + v, c[1] + 1),
                                     lambda a, b: (a[0] + b[0], a[1] + b[1])).collect()) == \
        [("a", (3, 2)), ("b", (4, 2)), ("c", (5, 1))]
    assert dict(pairs.countByKey()) == {"a": 2, "b": 2, "c": 1}
    assert dict(sc.parallelize([1, 2, 1]).countByValue()) == {1: 2, 2: 1}
    assert sorted(sc.parallelize([3, 1, 3, 2, 1]).distinct().collect()) == [1, 2, 3]


def test_partition_by_places_keys_by_portable_hash(sc):
    rdd = sc.parallelize([(i, i) for i in range(8)], 2).partitionBy(3)
    assert rdd.glom().map(lambda p: sorted(k for k, _ in p)).collect() == \
        [[0, 3, 6], [1, 4, 7], [2, 5]]
    # An RDD already laid out by the same partitioner is not shuffled again.
    assert rdd.partitionBy(3) is rdd
    custom = sc.parallelize([(i, i) for i in range(4)]).partitionBy(2, lambda k: 0)
    assert custom.glom().map(len).collect() == [4, 0]


def test_joins(sc):
    x = sc.parallelize([("a", 1), ("b", 4)])
    y = sc.parallelize([("a", 2), ("a", 3), ("c", 9)])
    assert sorted(x.join(y).collect()) == [("a", (1, 2)), ("a", (1, 3))]
    assert sorted(x.leftOuterJoin(y).collect()) == [("a", (1, 2)), ("a", (1, 3)),
                                                    ("b", (4, None))]
    assert sorted(x.rightOuterJoin(y).collect()) == [("a", (1, 2)), ("a", (1, 3)),
                                                     ("c", (None, 9))]
    assert sorted(x.fullOuterJoin(y).collect()) == [("a", (1, 2)), ("a", (1, 3)),
                                                    ("b", (4, None)), ("c", (None, 9))]
    grouped = sorted((k, (sorted(a), sorted(b))) for k, (a, b) in x.cogroup(y).collect())
    assert grouped == [("a", ([1], [2, 3])), ("b", ([4], [])), ("c", ([], [9]))]


def test_sorting(sc):
    data = [(5, "e"), (1, "a"), (4, "d"), (2, "b"), (3, "c")] * 20
    rdd = sc.parallelize(data, 3)
    assert rdd.sortByKey().collect() == sorted(data, key=lambda kv: kv[0])
    assert rdd.sortByKey(False, 2).keys().collect() == sorted((k for k, _ in data),
                                                             reverse=True)
    assert sc.parallelize([3, 1, 2], 2).sortBy(lambda x: -x).collect() == [3, 2, 1]


def test_repartition_and_coalesce(sc):
    rdd = sc.parallelize(range(100), 2)
    four = rdd.repartition(4)
    assert four.getNumPartitions() == 4
    assert sorted(four.collect()) == list(range(100))
    assert all(len(p) > 0 for p in four.glom().collect())
    assert rdd.coalesce(1).glom().collect() == [list(range(100))]


def test_actions(sc):
    rdd = sc.parallelize([5, 3, 9, 1], 2)
    assert rdd.count() == 4
    assert rdd.first() == 5
    assert rdd.take(3) == [5, 3, 9]
    assert rdd.take(10) == [5, 3, 9, 1]
    assert rdd.top(2) == [9, 5]
    assert rdd.takeOrdered(2) == [1, 3]
    assert rdd.takeOrdered(2, key=lambda x: -x) == [9, 5]
    assert rdd.reduce(operator.add) == 18
    assert rdd.fold(0, operator.add) == 18
    assert rdd.aggregate((0, 0), lambda a, x: (a[0] + x, a[1] + 1),
                         lambda a, b: (a[0] + b[0], a[1] + b[1])) == (18, 4)
    assert (rdd.sum(), rdd.max(), rdd.min(), rdd.mean()) == (18, 9, 1, 4.5)
    assert sc.parallelize([("a", 1), ("b", 2)]).collectAsMap() == {"a": 1, "b": 2}
    assert sc.parallelize([("a", 1), ("b", 2), ("a", 3)]).lookup("a") == [1, 3]
    with pytest.raises(ValueError, match="empty"):
        sc.parallelize([]).reduce(operator.add)
    with pytest.raises(ValueError, match="empty"):
        sc.parallelize([]).first()
    assert sc.parallelize([], 2).isEmpty()


def test_foreach_and_accumulators(sc):
    acc = sc.accumulator(0)
    sc.parallelize(range(5)).foreach(lambda x: acc.add(x))
    assert acc.value == 10
    sizes = sc.accumulator(0)
    sc.parallelize(range(6), 3).foreachPartition(lambda it: sizes.add(len(list(it))))
    assert sizes.value == 6


def test_broadcast(sc):
    b = sc.broadcast({"a": 1})
    assert sc.parallelize(["a", "a"]).map(lambda k: b.value[k]).collect() == [1, 1]
    b.destroy()
    with pytest.raises(ValueError):
        b.value


def test_persistence(sc, tmp_path):
    runs = sc.accumulator(0)

    def count(x):
        runs.add(1)
        return x
    rdd = sc.parallelize(range(4), 2).map(count).cache()
    assert rdd.collect() == [0, 1, 2, 3]
    assert rdd.collect() == [0, 1, 2, 3]
    assert runs.value == 4
    assert rdd.getStorageLevel() == StorageLevel.MEMORY_ONLY
    disk = sc.parallelize([{"a": (1, None)}, b"x"]).persist(StorageLevel.DISK_ONLY)
    assert disk.collect() == [{"a": (1, None)}, b"x"]
    assert disk.collect() == [{"a": (1, None)}, b"x"]
    rdd.unpersist()


def test_text_files(sc, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b\nc\n")
    assert sc.textFile(str(src)).collect() == ["a b", "c"]
    out = tmp_path / "out"
    sc.parallelize([("a", 1), "x", 3], 2).saveAsTextFile(str(out))
    lines = []
    for name in sorted(os.listdir(out)):
        if name.startswith("part-"):
            lines += (out / name).read_text().splitlines()
    assert lines == ["('a', 1)", "x", "3"]
    with pytest.raises(Exception, match="already exists"):
        sc.parallelize([1]).saveAsTextFile(str(out))
    with pytest.raises(Exception, match="does not exist"):
        sc.textFile(str(tmp_path / "missing")).collect()


def test_exception_in_user_function_fails_the_job_with_traceback(sc):
    def boom(x):
        raise KeyError("no such key %d" % x)
    with pytest.raises(SluiceError) as err:
        sc.parallelize([1, 2], 2).map(boom).collect()
    text = str(err.value)
    assert "Traceback (most recent call last)" in text
    assert "KeyError: 'no such key" in text
    assert "in boom" in text
    # The process and the context are fine afterwards.
    assert sc.parallelize([1, 2]).count() == 2


def test_non_pair_record_in_key_operation_is_an_error(sc):
    with pytest.raises(SluiceError, match="TypeError: cannot unpack"):
        sc.parallelize([1, 2]).reduceByKey(operator.add).collect()


def test_sluice_submit_passes_master_and_conf(tmp_path):
    import subprocess
    import sys
    job = tmp_path / "job.py"
    job.write_text(
        "import sys\n"
        "from sluice import SparkConf, SparkContext\n"
        "sc = SparkContext(conf=SparkConf().setAppName('mine'))\n"
        "print(sc.master, sc.appName, sc.defaultParallelism, sys.argv[1:],\n"
        "      sc.parallelize(range(4)).sum())\n")
    out = subprocess.run([sys.executable, "-m", "sluice.submit", "--master", "local[3]",
                          "--name", "given", "--conf", "spark.default.parallelism=5", str(job), "a", "b"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "local[3] mine 5 ['a', 'b'] 6"
