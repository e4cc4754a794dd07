"""MQTT from Python against a real Mosquitto (``SLUICE_MOSQUITTO``, installed by the test
command), with Mosquitto's own ``mosquitto_pub`` as the publisher."""

import os
import socket
import subprocess
import time

import pytest

from sluice.streaming import StreamingContext
from sluice.testing import run_batches

MOSQUITTO = os.environ.get("SLUICE_MOSQUITTO")
pytestmark = pytest.mark.skipif(
    not MOSQUITTO, reason="needs Mosquitto: set SLUICE_MOSQUITTO (the test command does)")


@pytest.fixture
def broker(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.02)
    yield port
    proc.kill()
    proc.wait()


def _publish(port, topic, payloads):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1",
                    "-l"], input="".join(p + "\n" for p in payloads), text=True, check=True,
                   timeout=60)


def test_payloads_arrive_as_strings_in_order(msc, broker):
    from sluice.streaming.mqtt import MQTTUtils
    ssc = StreamingContext(msc, 1)
    stream = MQTTUtils.createStream(ssc, "tcp://127.0.0.1:%d" % broker, "grid/+/voltage")
    got = []
    stream.foreachRDD(lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        # Probes until the subscription is in place.
        deadline = time.monotonic() + 30
        while not got:
            assert time.monotonic() < deadline, "never subscribed"
            _publish(broker, "grid/probe/voltage", ["probe"])
            run_batches(ssc, 1)
        readings = ["s%d %.1f" % (i % 3, 229 + i / 10) for i in range(300)]
        _publish(broker, "grid/s1/voltage", readings)
        _publish(broker, "grid/s1/current", ["not subscribed"])
        deadline = time.monotonic() + 60
        while sum(1 for g in got if g != "probe") < len(readings):
            assert time.monotonic() < deadline, "only %d readings" % len(got)
            run_batches(ssc, 1)
    finally:
        ssc.stop(stopSparkContext=False)
    assert [g for g in got if g != "probe"] == readings


def test_bad_broker_urls_are_refused(msc):
    from sluice.streaming.mqtt import MQTTUtils
    ssc = StreamingContext(msc, 1)
    with pytest.raises(ValueError, match="tcp://"):
        MQTTUtils.createStream(ssc, "http://example:80", "t")
    with pytest.raises(ValueError, match="QoS"):
        MQTTUtils.createStream(ssc, "tcp://127.0.0.1:1883", "t", qos=2)
    with pytest.raises(ValueError, match="topic filter"):
        MQTTUtils.createStream(ssc, "tcp://127.0.0.1:1883", "a/#/b")


JOB = r'''
import sys
from sluice import SparkConf, SparkContext
from sluice.streaming import StreamingContext
from sluice.streaming.mqtt import MQTTUtils

port, checkpoint, out = sys.argv[1], sys.argv[2], sys.argv[3]
conf = (SparkConf().setMaster("local[2]").setAppName("mqtt-wal")
        .set("sluice.streaming.receiver.writeAheadLog.enable", "true"))
sc = SparkContext(conf=conf)


def setup():
    ssc = StreamingContext(sc, 0.2)
    MQTTUtils.createStream(ssc, "tcp://127.0.0.1:" + port, "wal/#",
                           clientId="sluice-wal-test").saveAsTextFiles(out)
    return ssc


ssc = StreamingContext.getOrCreate(checkpoint, setup)
ssc.start()
ssc.awaitTermination()
'''


def _lines(out_dir):
    found = []
    for part in out_dir.glob("counts-*/part-*"):
        found.extend(part.read_text().splitlines())
    return found


def test_with_the_write_ahead_log_and_a_kept_session_a_killed_job_loses_nothing(tmp_path):
    """QoS 1, the receiver write-ahead log and a persistent session: messages are
    acknowledged only once durable, so killing the job (SIGKILL) at random moments while
    messages are published loses none; the broker redelivers what was not acknowledged, so
    some may arrive twice (at-least-once)."""
    import random
    import signal
    import sys
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\n" % port)
    broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    job_file = tmp_path / "job.py"
    job_file.write_text(JOB)
    out = tmp_path / "out"
    out.mkdir()
    args = [sys.executable, str(job_file), str(port), str(tmp_path / "ckpt"),
            str(out / "counts")]
    rng = random.Random(int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 2 ** 32)))
    job = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.02)
        job = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # The session exists once the job has received something.
        deadline = time.monotonic() + 60
        while "probe" not in _lines(out):
            assert time.monotonic() < deadline, "the job never received anything"
            _publish(port, "wal/probe", ["probe"])
            time.sleep(0.1)
        messages = ["m%d" % i for i in range(3000)]
        publisher = threading.Thread(target=lambda: [
            _publish(port, "wal/data", messages[i:i + 100]) for i in range(0, 3000, 100)])
        publisher.start()
        for _ in range(3):
            time.sleep(rng.uniform(0.05, 0.4))
            job.send_signal(signal.SIGKILL)
            job.wait(timeout=30)
            job = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        publisher.join(timeout=120)
        deadline = time.monotonic() + 60
        while not set(messages) <= set(_lines(out)):
            assert job.poll() is None, job.stderr.read().decode()
            missing = len(set(messages) - set(_lines(out)))
            assert time.monotonic() < deadline, "%d messages lost" % missing
            time.sleep(0.1)
        got = [l for l in _lines(out) if l.startswith("m")]
        # At least once: nothing lost; redelivered messages may appear twice.
        assert set(got) == set(messages)
    finally:
        if job is not None and job.poll() is None:
            job.kill()
            job.wait()
        broker.kill()
        broker.wait()
