"""Workload (a) on PySpark Streaming (DStreams): word count over a queue of pre-made batches
read from the shared corpus file. Prints the same BATCH and RESULT lines as the other engines.

Usage: python queue_wordcount.py <corpus-file> <batches> <lines-per-batch> <threads> <interval-ms>
"""
import sys
import threading
import time

from pyspark import SparkConf, SparkContext
from pyspark.streaming import StreamingContext
from pyspark.streaming.listener import StreamingListener

from common import START


def main():
    path, batches, per_batch, threads, interval_ms = (
        sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    with open(path) as f:
        lines = f.read().splitlines()
    conf = (SparkConf().setMaster(f"local[{threads}]").setAppName("QueueWordCountPy")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.default.parallelism", str(threads)))
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    ssc = StreamingContext(sc, interval_ms / 1000.0)
    rdds = []
    for b in range(batches):
        start = (b * per_batch) % (len(lines) - per_batch + 1)
        rdds.append(sc.parallelize(lines[start:start + per_batch], threads))

    lock = threading.Lock()
    state = {"processing_ms": 0, "completed": 0, "first_batch_ms": -1, "words": 0}
    results = []

    class Listener(StreamingListener):
        def onBatchCompleted(self, completed):
            delay = completed.batchInfo().processingDelay()
            delay = delay.get() if hasattr(delay, "get") else delay
            with lock:
                # Only the workload's batches (an empty one may follow before the stop).
                if state["completed"] < batches:
                    state["processing_ms"] += int(delay)
                state["completed"] += 1
                if state["first_batch_ms"] < 0:
                    state["first_batch_ms"] = int((time.time() - START) * 1000)

    ssc.addStreamingListener(Listener())
    counts = (ssc.queueStream(rdds, oneAtATime=True)
              .flatMap(lambda l: l.split(" "))
              .map(lambda w: (w, 1))
              .reduceByKey(lambda a, b: a + b))

    def output(rdd):
        distinct, total = rdd.map(lambda t: (1, t[1])).fold(
            (0, 0), lambda a, b: (a[0] + b[0], a[1] + b[1]))
        with lock:
            if len(results) < batches:
                results.append(f"BATCH {len(results)} {distinct} {total}")
                state["words"] += total

    counts.foreachRDD(output)
    t0 = time.time()
    ssc.start()
    deadline = time.time() + 600
    while True:
        with lock:
            if state["completed"] >= batches:
                break
        if time.time() > deadline:
            break
        ssc.awaitTerminationOrTimeout(0.02)
    wall_ms = int((time.time() - t0) * 1000)
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    for r in results:
        print(r)
    print(f"RESULT engine=pyspark batches={batches} words={state['words']} "
          f"processing_ms={state['processing_ms']} wall_ms={wall_ms} "
          f"first_batch_ms={state['first_batch_ms']}")


if __name__ == "__main__":
    main()
