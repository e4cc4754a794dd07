"""Flume from Python: the receiver against Flume's wire protocol built by an independent Avro
encoder. No Flume Avro-sink client for Python exists on PyPI (Flume's sink is Java, and
Avro's Python IPC speaks HTTP, not the Netty framing Flume uses), so this test plays the
sink: fastavro (PyPI) encodes the handshake, the events and the calls from the schemas of
Avro IPC and of Flume's AvroSourceProtocol, written out here from their published
definitions, and decodes the answers; the Netty framing is four-byte big-endian integers."""

import io
import os
import socket
import struct
import time

import pytest

from sluice.streaming import StreamingContext
from sluice.testing import run_batches

fastavro = pytest.importorskip("fastavro", reason="needs fastavro (the test command installs it)")

MD5 = {"type": "fixed", "name": "MD5", "namespace": "org.apache.avro.ipc", "size": 16}
HANDSHAKE_REQUEST = {
    "type": "record", "name": "HandshakeRequest", "namespace": "org.apache.avro.ipc",
    "fields": [{"name": "clientHash", "type": MD5},
               {"name": "clientProtocol", "type": ["null", "string"]},
               {"name": "serverHash", "type": "org.apache.avro.ipc.MD5"},
               {"name": "meta", "type": ["null", {"type": "map", "values": "bytes"}]}]}
HANDSHAKE_RESPONSE = {
    "type": "record", "name": "HandshakeResponse", "namespace": "org.apache.avro.ipc",
    "fields": [{"name": "match", "type": {"type": "enum", "name": "HandshakeMatch",
                                          "symbols": ["BOTH", "CLIENT", "NONE"]}},
               {"name": "serverProtocol", "type": ["null", "string"]},
               {"name": "serverHash", "type": ["null", MD5]},
               {"name": "meta", "type": ["null", {"type": "map", "values": "bytes"}]}]}
EVENT = {"type": "record", "name": "AvroFlumeEvent",
         "fields": [{"name": "headers", "type": {"type": "map", "values": "string"}},
                    {"name": "body", "type": "bytes"}]}
STATUS = {"type": "enum", "name": "Status", "symbols": ["OK", "FAILED", "UNKNOWN"]}
META = {"type": "map", "values": "bytes"}
CLIENT_PROTOCOL = ('{"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro",'
                   '"messages":{}}')


def enc(schema, value):
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


def frame(serial, payload):
    return struct.pack(">II", serial, 1) + struct.pack(">I", len(payload)) + payload


def read_frame(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            more = sock.recv(n - len(data))
            assert more, "the receiver closed the connection"
            data += more
        return data
    serial, count = struct.unpack(">II", exactly(8))
    payload = b"".join(exactly(struct.unpack(">I", exactly(4))[0]) for _ in range(count))
    return serial, io.BytesIO(payload)


def dec(schema, buf):
    return fastavro.schemaless_reader(buf, fastavro.parse_schema(schema))


class Sink:
    """Flume's Avro sink, as far as the wire goes."""

    def __init__(self, port):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "the receiver never listened"
                time.sleep(0.05)
        self.serial = 0
        self.shaken = False

    def call(self, name, params):
        payload = b""
        if not self.shaken:
            payload += enc(HANDSHAKE_REQUEST, {"clientHash": os.urandom(16),
                                               "clientProtocol": CLIENT_PROTOCOL,
                                               "serverHash": os.urandom(16), "meta": None})
        payload += enc(META, {}) + enc("string", name) + params
        self.serial += 1
        self.sock.sendall(frame(self.serial, payload))
        serial, buf = read_frame(self.sock)
        assert serial == self.serial
        handshake = None
        if not self.shaken:
            handshake = dec(HANDSHAKE_RESPONSE, buf)
            self.shaken = True
        dec(META, buf)
        error = dec("boolean", buf)
        answer = dec(["string"], buf) if error else dec(STATUS, buf)
        return handshake, error, answer

    def append_batch(self, events):
        return self.call("appendBatch", enc({"type": "array", "items": EVENT}, events))


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_events_are_acknowledged_once_stored_and_arrive_in_order(msc):
    from sluice.streaming.flume import FlumeUtils
    port = _port()
    ssc = StreamingContext(msc, 1)
    events = FlumeUtils.createStream(ssc, "127.0.0.1", port)
    got = []
    events.foreachRDD(lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        sink = Sink(port)
        batch = [{"headers": {"host": "substation-%d" % (i % 3), "seq": str(i)},
                  "body": ("load %d" % i).encode()} for i in range(200)]
        handshake, error, status = sink.append_batch(batch)
        # This protocol differs from the client's guess: the server says so and answers.
        assert handshake["match"] == "CLIENT"
        assert "AvroSourceProtocol" in handshake["serverProtocol"]
        assert (error, status) == (False, "OK")
        # A second call on the connection needs no handshake.
        handshake, error, status = sink.call("append", enc(EVENT, {"headers": {},
                                                                   "body": "last".encode()}))
        assert (handshake, error, status) == (None, False, "OK")
        # Acknowledged means stored: the next batch holds them all.
        run_batches(ssc, 1)
        assert got == [({"host": "substation-%d" % (i % 3), "seq": str(i)}, "load %d" % i)
                       for i in range(200)] + [({}, "last")]
    finally:
        ssc.stop(stopSparkContext=False)


def test_bad_bodies_and_unknown_or_broken_calls_are_reported_not_fatal(msc):
    from sluice.streaming.flume import FlumeUtils
    port = _port()
    ssc = StreamingContext(msc, 1)
    events = FlumeUtils.createStream(ssc, "127.0.0.1", port)
    got = []
    events.foreachRDD(lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        sink = Sink(port)
        _, error, status = sink.append_batch([{"headers": {}, "body": b"\xff\xfe"},
                                              {"headers": {}, "body": b"fine"}])
        assert (error, status) == (False, "OK")
        _, error, message = sink.call("flush", b"")
        assert error and "flush" in message
        # A call whose events are cut short.
        _, error, message = sink.call("appendBatch", b"\x04\x02")
        assert error and "undecodable" in message
        run_batches(ssc, 1)
        assert got == [({}, "fine")]
        # The body that is not UTF-8 and the undecodable call are counted.
        assert ssc._native.receivers_bad_records() == 2
    finally:
        ssc.stop(stopSparkContext=False)


def test_bad_arguments_are_refused(msc):
    from sluice.streaming.flume import FlumeUtils
    ssc = StreamingContext(msc, 1)
    with pytest.raises(ValueError, match="port"):
        FlumeUtils.createStream(ssc, "127.0.0.1", 0)
    with pytest.raises(ValueError, match="enableDecompression"):
        FlumeUtils.createStream(ssc, "127.0.0.1", 4141, enableDecompression=True)


def test_a_full_buffer_holds_the_answer_back_and_a_new_connection_shakes_hands_again():
    from sluice import SparkConf, SparkContext
    from sluice.streaming.flume import FlumeUtils
    from sluice.testing import manual_clock_conf
    conf = manual_clock_conf(SparkConf().set("sluice.streaming.receiver.maxBufferedRecords",
                                             "100"))
    sc = SparkContext("local[2]", "flume-backpressure", conf=conf)
    port = _port()
    ssc = StreamingContext(sc, 1)
    got = []
    FlumeUtils.createStream(ssc, "127.0.0.1", port).foreachRDD(
        lambda rdd: got.extend(rdd.collect()))
    ssc.start()
    try:
        sink = Sink(port)
        events = [{"headers": {}, "body": b"e%d" % i} for i in range(80)]
        assert sink.append_batch(events)[1:] == (False, "OK")
        # 80 held of 100: the next 80 do not fit, so the answer waits for a batch.
        payload = enc({"type": "array", "items": EVENT}, events)
        sink.sock.sendall(frame(2, enc(META, {}) + enc("string", "appendBatch") + payload))
        sink.sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sink.sock.recv(1)
        sink.sock.settimeout(30)
        run_batches(ssc, 1)  # the batch takes the first 80: room for the rest
        serial, buf = read_frame(sink.sock)
        dec(META, buf)
        assert serial == 2 and not dec("boolean", buf) and dec(STATUS, buf) == "OK"
        # A sink that reconnects starts with a handshake again.
        sink.sock.close()
        again = Sink(port)
        handshake, error, status = again.append_batch([{"headers": {}, "body": b"after"}])
        assert handshake["match"] == "CLIENT" and (error, status) == (False, "OK")
        run_batches(ssc, 2)
        assert len(got) == 161 and got[-1] == ({}, "after")
    finally:
        ssc.stop(stopSparkContext=True)
