"""Workload (d) on PySpark Streaming: updateStateByKey with many keys — the same records,
initial state and output lines as bench/spark/StateBench.java in mode "update" (PySpark has
no mapWithState). The RESULT line also gives the time from the process's start to the first
completed batch.

Usage: python state_bench.py <keys> <updates-per-batch> <batches> <threads> <checkpoint-dir>
"""
import sys

from common import Delays, await_batches, context, index_batches


def main():
    keys, updates, batches, threads, checkpoint = (
        int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    sc, ssc = context("StateBenchPy", threads, 1)
    ssc.checkpoint(checkpoint)
    rdds = index_batches(sc, batches, updates, threads)
    initial = sc.parallelize(range(keys), threads).map(lambda k: (k, 0))

    def update(values, state):
        return (state or 0) + sum(values)

    state = (ssc.queueStream(rdds, oneAtATime=True)
             .map(lambda i: ((i * 2654435761) % keys, 1))
             .updateStateByKey(update, numPartitions=threads, initialRDD=initial))
    results = []

    def output(rdd):
        n, total = rdd.map(lambda t: (1, t[1])).fold(
            (0, 0), lambda a, b: (a[0] + b[0], a[1] + b[1]))
        # No lock: the function is pickled into the checkpoint (list appends are atomic).
        results.append(f"STATE {len(results)} {n} {total}")

    state.foreachRDD(output)
    delays = Delays()
    ssc.addStreamingListener(delays)
    ssc.start()
    await_batches(ssc, delays, batches)
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    for r in results:
        print(r)
    d = sorted(v for _, v in sorted(delays.by_time.items())[1:])
    print(f"RESULT engine=pyspark mode=update median_batch_ms={d[len(d) // 2] if d else -1} "
          f"first_batch_ms={delays.first_batch_ms}")


if __name__ == "__main__":
    main()
