"""Shared set-up of the PySpark benchmark programs: a local streaming context bound to the
loopback address, without the web UI, with quiet logs; a listener of processing delays; and
the wall-clock time at which this process started."""
import os
import threading
import time

from pyspark import SparkConf, SparkContext
from pyspark.streaming import StreamingContext
from pyspark.streaming.listener import StreamingListener


def process_start():
    """Wall-clock time (s) at which this process started, from /proc (clock ticks since boot);
    the time of this module's import where /proc is not available."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        started_after_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_after_boot
        return time.time() - max(age, 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time()


START = process_start()


def context(app, threads, interval_s, extra=()):
    """A context; `extra` holds further settings as (key, value) pairs."""
    conf = (SparkConf().setMaster(f"local[{threads}]").setAppName(app)
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.default.parallelism", str(threads)))
    for k, v in extra:
        conf = conf.set(k, v)
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    return sc, StreamingContext(sc, interval_s)


class Delays(StreamingListener):
    """Processing delay (ms) of every completed batch, by batch time (ms), and the time from
    the process's start to the first completed batch (ms, -1 before)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_time = {}
        self.first_batch_ms = -1

    def onBatchCompleted(self, completed):
        info = completed.batchInfo()
        delay = info.processingDelay()
        delay = delay.get() if hasattr(delay, "get") else delay
        with self.lock:
            self.by_time[info.batchTime().milliseconds()] = int(delay)
            if self.first_batch_ms < 0:
                self.first_batch_ms = int((time.time() - START) * 1000)

    def count(self):
        with self.lock:
            return len(self.by_time)


def index_batches(sc, batches, per_batch, threads):
    """The generated workloads' input: batch b holds the indices [b * per_batch, (b + 1) *
    per_batch), in `threads` partitions."""
    return [sc.parallelize(range(b * per_batch, (b + 1) * per_batch), threads)
            for b in range(batches)]


def await_batches(ssc, delays, batches, timeout_s=600):
    deadline = time.time() + timeout_s
    while delays.count() < batches and time.time() < deadline:
        ssc.awaitTerminationOrTimeout(0.05)
