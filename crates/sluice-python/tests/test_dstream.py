"""DStream operations on a manual clock, with PySpark's per-batch results."""

import operator
import os

import pytest

from sluice import SluiceError
from sluice.streaming import StreamingContext, StreamingListener
from sluice.testing import run_batches


def collect(stream):
    """The collected RDD of every batch, in order."""
    out = []
    stream.foreachRDD(lambda rdd: out.append(rdd.collect()))
    return out


def run(msc, batches, build, n=None, interval=1):
    ssc = StreamingContext(msc, interval)
    stream = ssc.queueStream([msc.parallelize(b, 2) for b in batches])
    out = collect(build(stream))
    ssc.start()
    try:
        run_batches(ssc, n or len(batches))
    finally:
        ssc.stop(stopSparkContext=False)
    return out


def test_per_batch_transformations(msc):
    batches = [["a b", "b"], [], ["c"]]
    assert run(msc, batches, lambda s: s.flatMap(str.split)) == [["a", "b", "b"], [], ["c"]]
    assert run(msc, [[1, 2, 3]], lambda s: s.map(lambda x: x * 10)
               .filter(lambda x: x > 10)) == [[20, 30]]
    counts = run(msc, batches, lambda s: s.flatMap(str.split).countByValue())
    assert [sorted(b) for b in counts] == [[("a", 1), ("b", 2)], [], [("c", 1)]]
    # count on an empty batch is 0, as in PySpark.
    assert run(msc, [[1, 2], []], lambda s: s.count()) == [[2], [0]]
    assert run(msc, [[1, 2, 3], []], lambda s: s.reduce(operator.add)) == [[6], []]
    assert run(msc, [[1, 2, 3, 4]], lambda s: s.glom()) == [[[1, 2], [3, 4]]]


def test_pair_operations_and_joins(msc):
    ssc = StreamingContext(msc, 1)
    a = ssc.queueStream([[("k", 1), ("j", 2), ("k", 3)]])
    b = ssc.queueStream([[("k", "x")]])
    reduced = collect(a.reduceByKey(operator.add))
    joined = collect(a.join(b))
    left = collect(a.leftOuterJoin(b))
    grouped = collect(a.groupByKey().mapValues(sorted))
    unioned = collect(a.union(a))
    transformed = collect(a.transformWith(lambda x, y: x.union(y), b))
    ssc.start()
    run_batches(ssc, 1)
    ssc.stop(False)
    assert sorted(reduced[0]) == [("j", 2), ("k", 4)]
    assert sorted(joined[0]) == [("k", (1, "x")), ("k", (3, "x"))]
    assert sorted(left[0]) == [("j", (2, None)), ("k", (1, "x")), ("k", (3, "x"))]
    assert sorted(grouped[0]) == [("j", [2]), ("k", [1, 3])]
    assert len(unioned[0]) == 6
    assert len(transformed[0]) == 4


def test_transform_gets_the_batch_time(msc):
    seen = []

    def f(time, rdd):
        seen.append(time.timestamp())
        return rdd
    run(msc, [[1], [2]], lambda s: s.transform(f))
    assert seen == [1.0, 2.0]


def test_window_operations(msc):
    batches = [[1], [2], [3], [4]]
    assert run(msc, batches, lambda s: s.window(2, 1)) == [[1], [1, 2], [2, 3], [3, 4]]
    assert run(msc, batches, lambda s: s.countByWindow(2, 1)) == [[1], [2], [2], [2]]
    assert run(msc, batches, lambda s: s.reduceByWindow(operator.add, operator.sub, 3, 1)) \
        == [[1], [3], [6], [9]]
    words = [["a", "b"], ["a"], [], ["b"]]
    inv = run(msc, words, lambda s: s.map(lambda w: (w, 1)).reduceByKeyAndWindow(
        operator.add, operator.sub, 2, 1))
    # Keys whose counts fall to 0 stay, as Spark's inverse reduce leaves them.
    assert [sorted(b) for b in inv] == [[("a", 1), ("b", 1)], [("a", 2), ("b", 1)],
                                        [("a", 1), ("b", 0)], [("a", 0), ("b", 1)]]
    plain = run(msc, words, lambda s: s.map(lambda w: (w, 1)).reduceByKeyAndWindow(
        operator.add, None, 2, 1))
    assert [sorted(b) for b in plain] == [[("a", 1), ("b", 1)], [("a", 2), ("b", 1)],
                                          [("a", 1)], [("b", 1)]]
    by_value = run(msc, words, lambda s: s.countByValueAndWindow(2, 1))
    assert [sorted(b) for b in by_value] == [[("a", 1), ("b", 1)], [("a", 2), ("b", 1)],
                                             [("a", 1)], [("b", 1)]]
    grouped = run(msc, words, lambda s: s.map(lambda w: (w, 1))
                  .groupByKeyAndWindow(2, 1).mapValues(list))
    assert [sorted(b) for b in grouped] == [[("a", [1]), ("b", [1])],
                                            [("a", [1, 1]), ("b", [1])],
                                            [("a", [1])], [("b", [1])]]
    slid = run(msc, [[1], [2], [3], [4]], lambda s: s.window(2, 2))
    assert slid == [[1, 2], [3, 4]]


def test_window_not_a_multiple_of_the_interval_is_a_value_error(msc):
    ssc = StreamingContext(msc, 2)
    s = ssc.queueStream([[1]])
    with pytest.raises(ValueError, match="multiple"):
        s.window(3, 2)
    with pytest.raises(ValueError, match="multiple"):
        s.reduceByKeyAndWindow(operator.add, operator.sub, 4, 3)


def test_update_state_by_key(msc):
    def update(new, last):
        total = (last or 0) + sum(new)
        return None if total >= 10 else total
    batches = [[("a", 1), ("b", 2)], [("a", 3)], [], [("b", 8)]]
    out = run(msc, batches, lambda s: s.updateStateByKey(update))
    assert [sorted(b) for b in out] == [[("a", 1), ("b", 2)], [("a", 4), ("b", 2)],
                                        [("a", 4), ("b", 2)], [("a", 4)]]
    initial = run(msc, [[("a", 1)]], lambda s: s.updateStateByKey(
        update, initialRDD=msc.parallelize([("a", 5), ("z", 1)])))
    assert sorted(initial[0]) == [("a", 6), ("z", 1)]


def test_pprint_prints_as_pyspark(msc, capsys):
    ssc = StreamingContext(msc, 1)
    ssc.queueStream([[("a", 1)] + [i for i in range(11)]], default=None).pprint()
    ssc.start()
    run_batches(ssc, 2)
    ssc.stop(False)
    out = capsys.readouterr().out
    expected_first = ("-------------------------------------------\n"
                      "Time: 1970-01-01 00:00:01\n"
                      "-------------------------------------------\n"
                      "('a', 1)\n0\n1\n2\n3\n4\n5\n6\n7\n8\n...\n\n")
    assert out.startswith(expected_first)
    assert out[len(expected_first):] == ("-------------------------------------------\n"
                                         "Time: 1970-01-01 00:00:02\n"
                                         "-------------------------------------------\n\n")


def test_exception_in_a_batch_reaches_await_termination(msc):
    ssc = StreamingContext(msc, 1)
    ssc.queueStream([[1]]).map(lambda x: x / 0).pprint()
    ssc.start()
    run_batches(ssc, 1)
    with pytest.raises(SluiceError, match="ZeroDivisionError"):
        ssc.awaitTerminationOrTimeout(5)
    ssc.stop(False)


def test_save_as_text_files(msc, tmp_path):
    ssc = StreamingContext(msc, 1)
    ssc.queueStream([["x", "y"]]).saveAsTextFiles(str(tmp_path / "out"), "txt")
    ssc.start()
    run_batches(ssc, 1)
    ssc.stop(False)
    d = tmp_path / "out-1000.txt"
    text = "".join(p.read_text() for p in sorted(d.iterdir()) if p.name.startswith("part-"))
    assert text == "x\ny\n"


def test_listener_gets_batches(msc):
    class Listener(StreamingListener):
        def __init__(self):
            self.completed = []

        def onBatchCompleted(self, batchCompleted):
            info = batchCompleted.batchInfo()
            self.completed.append((info.batchTime().milliseconds(), info.processingDelay() >= 0))
    listener = Listener()
    ssc = StreamingContext(msc, 1)
    ssc.addStreamingListener(listener)
    ssc.queueStream([[1], [2]]).pprint()
    ssc.start()
    run_batches(ssc, 2)
    ssc.stop(False)  # delivers every pending event
    assert listener.completed == [(1000, True), (2000, True)]


def test_text_file_stream(msc, tmp_path):
    ssc = StreamingContext(msc, 1)
    out = collect(ssc.textFileStream(str(tmp_path)))
    ssc.start()
    run_batches(ssc, 1)
    f = tmp_path / "f.txt"
    f.write_text("one\ntwo\n")
    # On the manual clock it is 1970: the file was modified during the second batch.
    os.utime(f, (1.5, 1.5))
    run_batches(ssc, 1)
    ssc.stop(False)
    assert sum(out, []) == ["one", "two"]
