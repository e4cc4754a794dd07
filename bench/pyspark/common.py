"""Shared set-up of the PySpark benchmark programs: a local streaming context bound to the
loopback address, without the web UI, with quiet logs; and a listener of processing delays."""
import threading

from pyspark import SparkConf, SparkContext
from pyspark.streaming import StreamingContext
from pyspark.streaming.listener import StreamingListener


def context(app, threads, interval_s):
    conf = (SparkConf().setMaster(f"local[{threads}]").setAppName(app)
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.default.parallelism", str(threads)))
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    return sc, StreamingContext(sc, interval_s)


class Delays(StreamingListener):
    """Processing delay (ms) of every completed batch, by batch time (ms)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_time = {}

    def onBatchCompleted(self, completed):
        info = completed.batchInfo()
        delay = info.processingDelay()
        delay = delay.get() if hasattr(delay, "get") else delay
        with self.lock:
            self.by_time[info.batchTime().milliseconds()] = int(delay)

    def count(self):
        with self.lock:
            return len(self.by_time)


def await_batches(ssc, delays, batches, timeout_s=600):
    import time
    deadline = time.time() + timeout_s
    while delays.count() < batches and time.time() < deadline:
        ssc.awaitTerminationOrTimeout(0.05)
