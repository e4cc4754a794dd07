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
