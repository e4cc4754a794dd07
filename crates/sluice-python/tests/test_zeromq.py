"""ZeroMQ from Python against pyzmq (libzmq's binding, from PyPI) as the publisher and
pusher, in this very process."""

import socket
import time

import pytest

from sluice.streaming import StreamingContext
from sluice.testing import run_batches

zmq = pytest.importorskip("zmq", reason="needs pyzmq (the test command installs it)")


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def zctx():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def test_sub_gets_its_topic_in_order(msc, zctx):
    from sluice.streaming.zeromq import ZeroMQUtils
    port = _port()
    pub = zctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind("tcp://127.0.0.1:%d" % port)
    ssc = StreamingContext(msc, 1)
    lines = ZeroMQUtils.createTextStream(ssc, "tcp://127.0.0.1:%d" % port, "traffic")
    got = []
    lines.foreachRDD(lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        # A subscriber misses what is published before its subscription arrives: probe.
        deadline = time.monotonic() + 30
        while "probe" not in got:
            assert time.monotonic() < deadline, "nothing arrived"
            pub.send_multipart([b"traffic", b"probe"])
            run_batches(ssc, 1)
        for i in range(300):
            pub.send_multipart([b"traffic", ("segment-%d 42.5\nsegment-%d 40.0" % (i, i)).encode()])
        pub.send_multipart([b"weather", b"not subscribed"])
        pub.send_multipart([b"traffic", b"last"])
        deadline = time.monotonic() + 60
        while "last" not in got:
            assert time.monotonic() < deadline, "only %d lines" % len(got)
            run_batches(ssc, 1)
    finally:
        ssc.stop(stopSparkContext=False)
    body = [g for g in got if g.startswith("segment")]
    assert body == [l for i in range(300) for l in ("segment-%d 42.5" % i, "segment-%d 40.0" % i)]
    assert "not subscribed" not in got


def test_pull_gets_every_pushed_message(msc, zctx):
    from sluice.streaming.zeromq import ZeroMQUtils
    port = _port()
    push = zctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDTIMEO, 30000)
    push.bind("tcp://127.0.0.1:%d" % port)
    ssc = StreamingContext(msc, 1)
    lines = ZeroMQUtils.createPullStream(ssc, "tcp://127.0.0.1:%d" % port)
    got = []
    lines.foreachRDD(lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        for i in range(500):
            push.send(b"m%d" % i)
        push.send(b"\xff not text")
        deadline = time.monotonic() + 60
        while len(got) < 500:
            assert time.monotonic() < deadline, "only %d messages" % len(got)
            run_batches(ssc, 1)
        run_batches(ssc, 1)
    finally:
        ssc.stop(stopSparkContext=False)
    assert got == ["m%d" % i for i in range(500)]


def test_bad_endpoints_are_refused(msc):
    from sluice.streaming.zeromq import ZeroMQUtils
    ssc = StreamingContext(msc, 1)
    with pytest.raises(ValueError, match="tcp://host:port"):
        ZeroMQUtils.createPullStream(ssc, "ipc:///tmp/x")


def test_a_slow_job_bounds_what_the_pull_receiver_holds(zctx):
    from sluice import SparkConf, SparkContext
    from sluice.streaming.zeromq import ZeroMQUtils
    from sluice.testing import manual_clock_conf
    conf = manual_clock_conf(SparkConf().set("sluice.streaming.receiver.maxBufferedRecords",
                                             "100"))
    sc = SparkContext("local[2]", "zmq-backpressure", conf=conf)
    port = _port()
    push = zctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, 10)
    push.setsockopt(zmq.SNDTIMEO, 200)
    push.bind("tcp://127.0.0.1:%d" % port)
    ssc = StreamingContext(sc, 1)
    got = []
    ZeroMQUtils.createPullStream(ssc, "tcp://127.0.0.1:%d" % port).foreachRDD(
        lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        # No batch runs: the receiver fills its buffer and stops reading; the kernel's socket
        # buffers fill (messages of 16 KiB, so that takes a few hundred), and the pusher
        # blocks (its sends time out), while the receiver holds at most its buffer and one
        # group.
        pad = b"." * 16384
        sent = 0
        deadline = time.monotonic() + 30
        while True:
            try:
                push.send(b"m%d %s" % (sent, pad))
                sent += 1
            except zmq.Again:
                break
            assert time.monotonic() < deadline and sent < 20000, "the pusher never blocked"
        held = ssc._native.receivers_records_stored()
        assert held <= 100 + 512, held
        # Batches drain it, and everything sent arrives, in order.
        deadline = time.monotonic() + 60
        while len(got) < sent:
            assert time.monotonic() < deadline, "only %d of %d" % (len(got), sent)
            run_batches(ssc, 1)
        assert [g.split(" ")[0] for g in got] == ["m%d" % i for i in range(sent)]
    finally:
        ssc.stop(stopSparkContext=True)
