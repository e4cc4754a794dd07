"""``updateStateByKey`` on the engine's keyed state: Python's key equality, errors, and a
restart from the checkpoint in the same process (manual clock)."""

import os

import pytest

from sluice import SluiceError
from sluice.streaming import StreamingContext
from sluice.testing import run_batches
from test_dstream import run


def _count(new, total):
    return (total or 0) + sum(new)


class Point:
    """A key type without a canonical form: Python's ``==`` and ``__hash__`` decide."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))

    def __repr__(self):
        return "Point(%d, %d)" % (self.x, self.y)


def test_keys_are_one_when_python_finds_them_equal(msc):
    batches = [
        [(1, 1), (1.0, 1), (True, 1), ("1", 1), (b"1", 1)],
        [(("a", 1), 1), (("a", 1.0), 1), (2 ** 70, 1), (float(2 ** 70), 1), (0.5, 1)],
        [("é", 1), ("é", 1), ("𝄞", 1), (None, 1), (None, 1), (Point(1, 2), 1),
         (Point(1, 2), 1), (Point(2, 1), 1)],
    ]
    out = run(msc, batches, lambda s: s.updateStateByKey(_count))
    last = dict(out[-1])
    assert last[1] == 3  # 1, 1.0 and True
    assert last["1"] == 1 and last[b"1"] == 1
    assert last[("a", 1)] == 2
    assert last[2 ** 70] == 2
    assert last[0.5] == 1
    assert last["é"] == 2 and last["𝄞"] == 1 and last[None] == 2
    assert last[Point(1, 2)] == 2 and last[Point(2, 1)] == 1
    assert len(out[-1]) == 11  # one record per key


def test_every_key_is_updated_every_batch_and_none_removes_it(msc):
    seen = []

    def update(new, last):
        seen.append((tuple(new), last))
        total = (last or 0) + sum(new)
        return None if total > 5 else total

    out = run(msc, [[("a", 1), ("a", 2)], [], [("a", 3)], []],
               lambda s: s.updateStateByKey(update, numPartitions=3))
    assert out == [[("a", 3)], [("a", 3)], [], []]
    # New values as a list in arrival order; no values is an empty list; a new key's state is
    # None; a removed key is not called again.
    assert seen == [((1, 2), None), ((), 3), ((3,), 3)]


def test_an_exception_in_the_update_function_fails_the_batch(msc):
    ssc = StreamingContext(msc, 1)
    ssc.queueStream([[("a", 1)]]).updateStateByKey(lambda new, s: 1 / 0).pprint()
    ssc.start()
    run_batches(ssc, 1)
    with pytest.raises(SluiceError, match="ZeroDivisionError"):
        ssc.awaitTerminationOrTimeout(5)
    ssc.stop(False)


def test_records_that_are_not_pairs_fail_the_batch(msc):
    ssc = StreamingContext(msc, 1)
    ssc.queueStream([["not a pair of length two"]]).updateStateByKey(_count).pprint()
    ssc.start()
    run_batches(ssc, 1)
    with pytest.raises(SluiceError, match="needs \\(key, value\\) pairs"):
        ssc.awaitTerminationOrTimeout(5)
    ssc.stop(False)
    with pytest.raises(TypeError):
        StreamingContext(msc, 1).queueStream([[]]).updateStateByKey("not callable")


def _write_inputs(directory, batches):
    """File k (1-based) holds batch k's words and is modified at k - 0.5 s, so the directory
    stream's batch at k s reads it (on the manual clock, which starts at 0)."""
    os.makedirs(directory)
    for k, words in enumerate(batches, start=1):
        path = os.path.join(directory, "part-%03d.txt" % k)
        with open(path, "w") as f:
            f.write(" ".join(words) + "\n")
        os.utime(path, (k - 0.5, k - 0.5))


def _job(msc, input_dir, out):
    def setup():
        ssc = StreamingContext(msc, 1)
        totals = (ssc.textFileStream(input_dir).flatMap(str.split)
                  .map(lambda w: (w, 1)).updateStateByKey(_count))
        totals.checkpoint(2)
        totals.foreachRDD(lambda t, rdd: out.append((t, sorted(rdd.collect()))))
        return ssc
    return setup


def test_state_is_restored_from_the_checkpoint_by_get_or_create(msc, tmp_path):
    words = [["a", "b"], ["a"], ["c", "a"], ["b"], [], ["a", "d"], ["d"], ["e"]]
    input_dir = str(tmp_path / "in")
    _write_inputs(input_dir, words)

    reference = []
    ssc = StreamingContext.getOrCreate(str(tmp_path / "ref"), _job(msc, input_dir, reference))
    ssc.start()
    run_batches(ssc, len(words))
    ssc.stop(stopSparkContext=False)
    assert reference[-1][1] == [("a", 4), ("b", 2), ("c", 1), ("d", 2), ("e", 1)]

    ckpt = str(tmp_path / "ckpt")
    first = []
    ssc = StreamingContext.getOrCreate(ckpt, _job(msc, input_dir, first))
    assert ssc.recoveredFrom() is None
    ssc.start()
    run_batches(ssc, 5)  # checkpoints at 2 s and 4 s
    ssc.stop(stopSparkContext=False)
    assert first == reference[:5]

    again = []
    ssc = StreamingContext.getOrCreate(ckpt, _job(msc, input_dir, again))
    assert ssc.recoveredFrom() is not None
    recovered = ssc._native.recovered_from()
    assert recovered >= 4000
    ssc.start()
    run_batches(ssc, len(words) - recovered // 1000)
    ssc.stop(stopSparkContext=False)
    # The restarted job continues from its checkpoint: every later batch is as without the
    # restart.
    assert again == reference[recovered // 1000:]


def _window_job(msc, input_dir, out, window=3, slide=1):
    def setup():
        ssc = StreamingContext(msc, 1)
        counts = (ssc.textFileStream(input_dir).flatMap(str.split).map(lambda w: (w, 1))
                  .reduceByKeyAndWindow(lambda a, b: a + b, lambda a, b: a - b, window, slide))
        counts.checkpoint(2)
        counts.foreachRDD(lambda t, rdd: out.append((t, sorted(rdd.collect()))))
        return ssc
    return setup


def test_inverse_windows_are_restored_from_the_checkpoint(msc, tmp_path):
    words = [["a", "b"], ["a"], ["c", "a"], ["b"], [], ["a", "d"], ["d"], ["e"], [], ["a"]]
    input_dir = str(tmp_path / "in")
    _write_inputs(input_dir, words)
    reference = []
    ssc = StreamingContext.getOrCreate(str(tmp_path / "ref"),
                                       _window_job(msc, input_dir, reference))
    ssc.start()
    run_batches(ssc, len(words))
    ssc.stop(stopSparkContext=False)
    # Windows of 3 batches; keys whose counts fall to 0 stay, as in Spark.
    assert reference[3][1] == [("a", 2), ("b", 1), ("c", 1)]
    assert reference[5][1] == [("a", 1), ("b", 1), ("c", 0), ("d", 1)]

    ckpt = str(tmp_path / "ckpt")
    first = []
    ssc = StreamingContext.getOrCreate(ckpt, _window_job(msc, input_dir, first))
    ssc.start()
    run_batches(ssc, 5)
    ssc.stop(stopSparkContext=False)
    again = []
    ssc = StreamingContext.getOrCreate(ckpt, _window_job(msc, input_dir, again))
    recovered = ssc._native.recovered_from()
    assert recovered is not None and recovered >= 4000
    ssc.start()
    run_batches(ssc, len(words) - recovered // 1000)
    ssc.stop(stopSparkContext=False)
    # After the restart every window is as without it, including the batches before the
    # checkpoint that are still in the window.
    assert again == reference[recovered // 1000:]


@pytest.mark.parametrize("seed", range(6))
def test_inverse_windows_match_windows_computed_whole(msc, seed):
    import random
    rng = random.Random(seed)
    batches = [[rng.choice("abcd") for _ in range(rng.randint(0, 5))] for _ in range(8)]
    window = rng.randint(1, 4)
    slide = rng.choice([s for s in (1, 2) if s <= window])

    def add(a, b):
        return a + b

    def sub(a, b):
        return a - b

    def pairs(s):
        return s.map(lambda w: (w, 1))
    incremental = run(msc, batches, lambda s: pairs(s).reduceByKeyAndWindow(
        add, sub, window, slide), n=len(batches))
    filtered = run(msc, batches, lambda s: pairs(s).reduceByKeyAndWindow(
        add, sub, window, slide, filterFunc=lambda kv: kv[1] > 0), n=len(batches))
    whole = run(msc, batches, lambda s: pairs(s).reduceByKeyAndWindow(
        add, None, window, slide), n=len(batches))
    # A plain model: window k (at slide time t = k * slide) counts batches (t - window, t];
    # keys seen up to t stay, at 0 when they have left the window.
    expected, seen = [], set()
    for t in range(slide, len(batches) + 1, slide):
        in_window = [w for b in range(max(1, t - window + 1), t + 1) for w in batches[b - 1]]
        seen |= {w for b in range(1, t + 1) for w in batches[b - 1]}
        counts = {k: in_window.count(k) for k in seen}
        expected.append(sorted(counts.items()))
    assert [sorted(b) for b in incremental] == expected, (batches, window, slide)
    positive = [[kv for kv in b if kv[1] > 0] for b in expected]
    assert [sorted(b) for b in filtered] == positive
    assert [sorted(b) for b in whole] == positive


def test_a_state_that_cannot_be_pickled_fails_the_checkpoint_with_a_clear_error(msc, tmp_path):
    words = [["a"], ["b"], ["a"]]
    input_dir = str(tmp_path / "in")
    _write_inputs(input_dir, words)
    ssc = StreamingContext(msc, 1)
    ssc.checkpoint(str(tmp_path / "ckpt"))
    states = (ssc.textFileStream(input_dir).map(lambda w: (w, 1))
              .updateStateByKey(lambda new, old: (lambda: len(new))))
    states.checkpoint(2)
    states.foreachRDD(lambda rdd: None)
    ssc.start()
    with pytest.raises(SluiceError, match="pickling a state value failed"):
        run_batches(ssc, 3, timeout=10)
        ssc.awaitTerminationOrTimeout(5)
    ssc.stop(stopSparkContext=False)


def test_the_disk_backed_store_is_refused_with_a_clear_error():
    from sluice import SparkConf, SparkContext

    conf = SparkConf().set("sluice.streaming.stateStore.kind", "disk")
    ctx = SparkContext("local[2]", "test", conf=conf)
    try:
        with pytest.raises(ValueError, match="disk-backed state store"):
            StreamingContext(ctx, 1)
    finally:
        ctx.stop()
