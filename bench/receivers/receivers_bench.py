"""Receivers' throughput beside their peers' own raw rates (one run, this machine).

    python bench/receivers/receivers_bench.py [--messages 100000]

Run with the test command's virtual environment (``~/.cache/sluice/python-venv``: Sluice's
package, pyzmq and fastavro) and ``SLUICE_MOSQUITTO`` naming the broker binary
(``scripts/install-mosquitto.sh`` prints it). For each source, the same peer sends the same
messages twice: into a plain client of its own kind (the raw rate) and into a Sluice stream
counted every batch (100 ms batches; from the first message sent to the count reaching all of
them):

- MQTT, QoS 1: ``mosquitto_pub -l`` into ``mosquitto_sub``, then into ``MQTTUtils``;
- ZeroMQ: a pyzmq PUSH into a pyzmq PULL, then into ``ZeroMQUtils.createPullStream``;
- Flume: the sink's side of Flume's Avro RPC (fastavro, ``appendBatch`` of 100 events, each
  call waiting for its answer) alone (encoding and framing only), then into ``FlumeUtils``.
"""

import argparse
import io
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from sluice import SparkConf, SparkContext
from sluice.streaming import StreamingContext


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Counter:
    """A Sluice stream's record count, updated every batch."""

    def __init__(self, stream):
        self.n = 0
        self.lock = threading.Lock()
        stream.foreachRDD(self.add)

    def add(self, rdd):
        c = rdd.count()
        with self.lock:
            self.n += c

    def wait(self, n, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.n >= n:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("only %d of %d" % (self.n, n))
            time.sleep(0.005)


def mqtt(sc, n):
    port = free_port()
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
               "max_queued_messages 0\nmax_inflight_messages 0\n" % port)
    conf.close()
    broker = subprocess.Popen([os.environ["SLUICE_MOSQUITTO"], "-c", conf.name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = "".join("m%d\n" % i for i in range(n))

    def publish(topic):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic,
                        "-q", "1", "-l"], input=lines, text=True, check=True)
    try:
        wait_port(port)
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t",
                                "raw", "-q", "1", "-C", str(n)], stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # the subscription in place before the timed publish
        t = time.perf_counter()
        publish("raw")
        sub.wait(timeout=300)
        raw = n / (time.perf_counter() - t)

        from sluice.streaming.mqtt import MQTTUtils
        ssc = StreamingContext(sc, 0.1)
        counter = Counter(MQTTUtils.createStream(ssc, "tcp://127.0.0.1:%d" % port, "sluice"))
        ssc.start()
        probes = 0
        while counter.n == 0:
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t",
                            "sluice", "-q", "1", "-m", "probe"], check=True)
            probes += 1
            time.sleep(0.2)
        time.sleep(0.3)
        base = counter.n
        t = time.perf_counter()
        publish("sluice")
        counter.wait(base + n)
        ours = n / (time.perf_counter() - t)
        ssc.stop(stopSparkContext=False)
        return raw, ours
    finally:
        broker.kill()
        broker.wait()
        os.unlink(conf.name)


def zeromq(sc, n):
    import zmq
    ctx = zmq.Context()
    payloads = [b"m%d" % i for i in range(n)]

    port = free_port()
    push = ctx.socket(zmq.PUSH)
    push.bind("tcp://127.0.0.1:%d" % port)
    pull = ctx.socket(zmq.PULL)
    pull.connect("tcp://127.0.0.1:%d" % port)
    got = [0]

    def drain():
        while got[0] < n:
            pull.recv()
            got[0] += 1
    reader = threading.Thread(target=drain)
    reader.start()
    t = time.perf_counter()
    for p in payloads:
        push.send(p)
    reader.join()
    raw = n / (time.perf_counter() - t)
    pull.close()
    push.close()

    from sluice.streaming.zeromq import ZeroMQUtils
    port = free_port()
    push = ctx.socket(zmq.PUSH)
    push.bind("tcp://127.0.0.1:%d" % port)
    ssc = StreamingContext(sc, 0.1)
    counter = Counter(ZeroMQUtils.createPullStream(ssc, "tcp://127.0.0.1:%d" % port))
    ssc.start()
    t = time.perf_counter()
    for p in payloads:
        push.send(p)
    counter.wait(n)
    ours = n / (time.perf_counter() - t)
    ssc.stop(stopSparkContext=False)
    push.close()
    ctx.term()
    return raw, ours


def flume(sc, n):
    import fastavro
    event = fastavro.parse_schema({
        "type": "record", "name": "AvroFlumeEvent",
        "fields": [{"name": "headers", "type": {"type": "map", "values": "string"}},
                   {"name": "body", "type": "bytes"}]})
    handshake = fastavro.parse_schema({
        "type": "record", "name": "HandshakeRequest", "namespace": "org.apache.avro.ipc",
        "fields": [{"name": "clientHash",
                    "type": {"type": "fixed", "name": "MD5", "size": 16}},
                   {"name": "clientProtocol", "type": ["null", "string"]},
                   {"name": "serverHash", "type": "org.apache.avro.ipc.MD5"},
                   {"name": "meta", "type": ["null", {"type": "map", "values": "bytes"}]}]})

    def calls():
        """The frames of the run: appendBatch calls of 100 events (the first with the
        handshake)."""
        for serial, start in enumerate(range(0, n, 100), start=1):
            out = io.BytesIO()
            if serial == 1:
                fastavro.schemaless_writer(out, handshake, {
                    "clientHash": bytes(16), "clientProtocol": "{}", "serverHash": bytes(16),
                    "meta": None})
            out.write(b"\x00\x16appendBatch")
            batch = [{"headers": {"host": "h"}, "body": b"m%d" % i}
                     for i in range(start, min(n, start + 100))]
            out.write(bytes([len(batch) * 2]) if len(batch) < 64 else
                      _long(len(batch)))
            for e in batch:
                fastavro.schemaless_writer(out, event, e)
            out.write(b"\x00")
            payload = out.getvalue()
            yield struct.pack(">III", serial, 1, len(payload)) + payload

    t = time.perf_counter()
    for _ in calls():
        pass
    raw = n / (time.perf_counter() - t)

    from sluice.streaming.flume import FlumeUtils
    port = free_port()
    ssc = StreamingContext(sc, 0.1)
    counter = Counter(FlumeUtils.createStream(ssc, "127.0.0.1", port))
    ssc.start()
    wait_port(port)
    sock = socket.create_connection(("127.0.0.1", port))
    t = time.perf_counter()
    for f in calls():
        sock.sendall(f)
        _answer(sock)
    counter.wait(n)
    ours = n / (time.perf_counter() - t)
    sock.close()
    ssc.stop(stopSparkContext=False)
    return raw, ours


def _long(v):
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7f) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _answer(sock):
    def exactly(k):
        data = b""
        while len(data) < k:
            more = sock.recv(k - len(data))
            if not more:
                raise ConnectionError("the receiver closed the connection")
            data += more
        return data
    _, count = struct.unpack(">II", exactly(8))
    for _ in range(count):
        exactly(struct.unpack(">I", exactly(4))[0])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=100_000)
    args = p.parse_args()
    sc = SparkContext(conf=SparkConf().setMaster("local[2]").setAppName("receivers"))
    print("| source | messages | peer's raw rate | Sluice | Sluice / raw |", flush=True)
    print("|---|---:|---:|---:|---:|")
    for name, run in (("MQTT QoS 1 (mosquitto)", mqtt), ("ZeroMQ PUSH/PULL (pyzmq)", zeromq),
                      ("Flume appendBatch of 100 (fastavro sink side)", flume)):
        raw, ours = run(sc, args.messages)
        print("| %s | %d | %.0f msg/s | %.0f msg/s | %.2f |"
              % (name, args.messages, raw, ours, ours / raw), flush=True)
    sc.stop()


if __name__ == "__main__":
    sys.exit(main())
