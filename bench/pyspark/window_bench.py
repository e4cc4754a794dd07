"""Workload (c) on PySpark Streaming: reduceByKeyAndWindow with an inverse function, window
10 s, slide 2 s, over 1 s batches — the same records and output lines as
bench/spark/WindowBench.java. The RESULT line also gives the summed processing time of all the
batches and the time from the process's start to the first completed batch.

Usage: python window_bench.py <keys> <records-per-batch> <batches> <threads> <checkpoint-dir>
"""
import sys

from common import Delays, await_batches, context, index_batches


def main():
    keys, per_batch, batches, threads, checkpoint = (
        int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    sc, ssc = context("WindowBenchPy", threads, 1)
    ssc.checkpoint(checkpoint)
    rdds = index_batches(sc, batches, per_batch, threads)
    windows = (ssc.queueStream(rdds, oneAtATime=True)
               .map(lambda i: ((i * 2654435761) % keys, 1))
               .reduceByKeyAndWindow(lambda a, b: a + b, lambda a, b: a - b, 10, 2))
    results, window_times = [], []

    def output(time, rdd):
        nonzero, total = rdd.map(lambda t: (1 if t[1] != 0 else 0, t[1])).fold(
            (0, 0), lambda a, b: (a[0] + b[0], a[1] + b[1]))
        # No lock: the function is pickled into the checkpoint (list appends are atomic).
        window_times.append(int(time.timestamp() * 1000))
        results.append(f"WINDOW {len(results)} {nonzero} {total}")

    windows.foreachRDD(output)
    delays = Delays()
    ssc.addStreamingListener(delays)
    ssc.start()
    await_batches(ssc, delays, batches)
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    for r in results:
        print(r)
    # The workload's batches: the first `batches` batch times (empty ones may follow).
    workload = sorted(delays.by_time.items())[:batches]
    last = workload[-1][0] if workload else 0
    d = sorted(delays.by_time[t] for t in window_times if t in delays.by_time and t <= last)
    processing = sum(v for _, v in workload)
    print(f"RESULT engine=pyspark median_window_batch_ms={d[len(d) // 2] if d else -1} "
          f"batches={batches} processing_ms={processing} first_batch_ms={delays.first_batch_ms}")


if __name__ == "__main__":
    main()
