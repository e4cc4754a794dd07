"""Workload (b) on PySpark Streaming: word count over a socket fed at a fixed rate, measuring
end-to-end latency — the same feeder, lines, job and output as bench/spark/SocketLatency.java.
A feeder thread in this process serves lines "<send time us> a b c d e f g h w<i>" on
127.0.0.1 at `rate` lines per second; the job reads them with socketTextStream (block
interval = half the batch interval), counts words per batch, and for every line records the
time from sending to the end of its batch's output. After one second of warm-up it measures
for `seconds` seconds and prints one line:

  LATENCY interval_ms=.. lines=.. p50_ms=.. p99_ms=.. sched_p99_ms=.. keeps_up=yes|no

"Keeps up": the scheduling delay of the last quarter of the batches is at most one batch
interval above that of the first quarter, and its p99 is at most one batch interval.

Usage: python socket_latency.py <interval-ms> <rate> <seconds> <threads>
"""
import socket
import sys
import threading
import time

from pyspark.streaming.listener import StreamingListener

from common import context


def now_us():
    return time.time_ns() // 1000


def pct(v, p):
    if not v:
        return float("nan")
    s = sorted(v)
    return s[round((len(s) - 1) * p)]


def feeder(server, rate, stop):
    try:
        conn, _ = server.accept()
    except OSError:
        return
    with conn:
        start = time.monotonic()
        sent = 0
        while not stop.is_set():
            due = int((time.monotonic() - start) * rate)
            if due <= sent:
                time.sleep(0.0002)
                continue
            buf = "".join(f"{now_us()} a b c d e f g h w{i % 100}\n" for i in range(sent, due))
            try:
                conn.sendall(buf.encode())
            except OSError:
                return
            sent = due


class Sched(StreamingListener):
    """Scheduling delays (ms) of the batches completed while measuring."""

    def __init__(self, measuring):
        self.measuring = measuring
        self.lock = threading.Lock()
        self.delays = []

    def onBatchCompleted(self, completed):
        if not self.measuring.is_set():
            return
        d = completed.batchInfo().schedulingDelay()
        if hasattr(d, "isDefined"):
            if not d.isDefined():
                return
            d = d.get()
        if d is None:
            return
        with self.lock:
            self.delays.append(float(d))


def main():
    interval_ms, rate, seconds, threads = (
        int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    stop = threading.Event()
    threading.Thread(target=feeder, args=(server, rate, stop), daemon=True).start()

    sc, ssc = context("SocketLatencyPy", threads, interval_ms / 1000.0,
                      [("spark.streaming.blockInterval", f"{max(interval_ms // 2, 1)}ms")])
    measuring = threading.Event()
    lock = threading.Lock()
    latencies = []
    sched = Sched(measuring)
    ssc.addStreamingListener(sched)

    def output(rdd):
        sent = rdd.map(lambda l: int(l.split(" ", 1)[0])).collect()
        (rdd.flatMap(lambda l: l.split(" ")[1:10])
         .map(lambda w: (w, 1))
         .reduceByKey(lambda a, b: a + b)
         .count())
        done = now_us()
        if measuring.is_set():
            with lock:
                latencies.extend((done - s) / 1000.0 for s in sent)

    ssc.socketTextStream("127.0.0.1", port).foreachRDD(output)
    ssc.start()
    time.sleep(1)
    measuring.set()
    time.sleep(seconds)
    measuring.clear()
    with lock:
        lat = list(latencies)
    with sched.lock:
        sch = list(sched.delays)
    stop.set()
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    server.close()
    q = max(1, len(sch) // 4)
    first = sum(sch[:q]) / q
    last = sum(sch[-q:]) / q if sch else 0.0
    sched_p99 = pct(sch, 0.99)
    keeps_up = bool(sch) and bool(lat) and last <= first + interval_ms and sched_p99 <= interval_ms
    def ms(v):
        return "-" if v != v else f"{v:.1f}"

    print(f"LATENCY interval_ms={interval_ms} lines={len(lat)} p50_ms={ms(pct(lat, 0.5))} "
          f"p99_ms={ms(pct(lat, 0.99))} sched_p99_ms={ms(sched_p99)} "
          f"keeps_up={'yes' if keeps_up else 'no'}")


if __name__ == "__main__":
    main()
