"""Word count from Python: Sluice's Python package against a plain Python loop on the same
batches (and PySpark, when it is installed in the running interpreter).

    python bench/python/wordcount_bench.py [--words-per-batch 1000000] [--batches 5]

Prints the median seconds per batch and words/s of each engine, and their ratios. The corpus
is generated from a fixed seed (10 words per line over a 50 000-word vocabulary with a
Zipf-like skew), so every engine counts the same words.
"""

import argparse
import random
import statistics
import time
from collections import Counter


def corpus(words_per_batch, batches, seed=7):
    rng = random.Random(seed)
    vocab = ["w%d" % i for i in range(50_000)]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    lines_per_batch = words_per_batch // 10
    out = []
    for _ in range(batches):
        words = rng.choices(vocab, weights, k=lines_per_batch * 10)
        out.append([" ".join(words[i:i + 10]) for i in range(0, len(words), 10)])
    return out


def plain(lines):
    c = Counter()
    for line in lines:
        c.update(line.split(" "))
    return len(c)


def sluice_run(sc, lines, threads):
    return (sc.parallelize(lines, threads).flatMap(lambda l: l.split(" "))
            .map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b).count())


def timed(f, batches):
    times, result = [], None
    for b in batches:
        t = time.perf_counter()
        result = f(b)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--words-per-batch", type=int, default=1_000_000)
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    data = corpus(a.words_per_batch, a.batches)
    rows = []
    t_plain, n_plain = timed(plain, data)
    rows.append(("plain Python loop (1 thread)", t_plain))
    from sluice import SparkContext
    sc = SparkContext("local[%d]" % a.threads, "bench")
    sluice_run(sc, data[0], a.threads)  # warm-up
    t_sluice, n_sluice = timed(lambda b: sluice_run(sc, b, a.threads), data)
    assert n_sluice == n_plain, (n_sluice, n_plain)
    rows.append(("sluice (Python, local[%d])" % a.threads, t_sluice))
    sc.stop()
    try:
        import pyspark
    except ImportError:
        pyspark = None
    if pyspark is not None:
        ps = pyspark.SparkContext("local[%d]" % a.threads, "bench")
        sluice_run(ps, data[0], a.threads)
        t_ps, n_ps = timed(lambda b: sluice_run(ps, b, a.threads), data)
        assert n_ps == n_plain
        rows.append(("pyspark (local[%d])" % a.threads, t_ps))
        ps.stop()
    print("%d words per batch, median of %d batches" % (a.words_per_batch, a.batches))
    for name, t in rows:
        print("  %-32s %8.3f s/batch  %12.0f words/s  %.2fx the plain loop"
              % (name, t, a.words_per_batch / t, t_plain / t))


if __name__ == "__main__":
    main()
