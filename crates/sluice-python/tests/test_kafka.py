"""Kafka from Python against the real test broker (``SLUICE_KAFKA_BROKERS``, started by the
test command), with Confluent's own Python client (confluent-kafka) as the independent peer:
it creates the topics, produces what the direct stream reads, and consumes what the sink
writes."""

import os
import time
import uuid
from collections import Counter

import pytest

from sluice.streaming import StreamingContext
from sluice.testing import run_batches

BROKERS = os.environ.get("SLUICE_KAFKA_BROKERS")
pytestmark = pytest.mark.skipif(
    not BROKERS, reason="needs the Kafka test broker: set SLUICE_KAFKA_BROKERS (the test "
                        "command starts one)")

if BROKERS:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from sluice.streaming.kafka import (KafkaUtils, OffsetRange, TopicAndPartition,
                                        utf8_decoder)


def _topic(partitions):
    name = "py-" + uuid.uuid4().hex[:10]
    admin = AdminClient({"bootstrap.servers": BROKERS})
    for f in admin.create_topics([NewTopic(name, num_partitions=partitions,
                                           replication_factor=1)]).values():
        f.result(timeout=30)
    return name


def _produce(topic, records):
    """Writes ``(partition, key, value)`` records and waits for every acknowledgement."""
    p = Producer({"bootstrap.servers": BROKERS})
    failed = []
    for part, key, value in records:
        p.produce(topic, value=value, key=key, partition=part,
                  on_delivery=lambda err, msg: err and failed.append(err))
    assert p.flush(30) == 0 and not failed, failed


def _read_all(ssc, stream_out, want, limit=30):
    """Runs batches until ``want`` records arrived (at most ``limit`` batches)."""
    for _ in range(limit):
        if sum(len(b) for b in stream_out) >= want:
            return
        run_batches(ssc, 1)
    raise AssertionError("only %d of %d records in %d batches"
                         % (sum(len(b) for b in stream_out), want, limit))


def test_direct_stream_reads_every_record_once_with_its_offset_ranges(msc):
    topic = _topic(2)
    records = [(i % 2, ("k%d" % (i % 5)).encode(), ("v%d" % i).encode()) for i in range(40)]
    _produce(topic, records)
    ssc = StreamingContext(msc, 1)
    stream = KafkaUtils.createDirectStream(
        ssc, [topic], {"metadata.broker.list": BROKERS, "auto.offset.reset": "smallest"})
    batches, ranges = [], []

    def keep(rdd):
        ranges.extend(rdd.offsetRanges())
        batches.append(rdd.collect())
    stream.foreachRDD(keep)
    ssc.start()
    try:
        _read_all(ssc, batches, len(records))
    finally:
        ssc.stop(stopSparkContext=False)
    got = Counter(r for b in batches for r in b)
    assert got == Counter((k.decode(), v.decode()) for _, k, v in records)
    # The ranges cover each partition's 20 records exactly, without overlap.
    per_partition = Counter()
    for r in ranges:
        assert isinstance(r, OffsetRange) and r.topic == topic
        per_partition[r.partition] += r.count()
    assert per_partition == {0: 20, 1: 20}


def test_decoders_message_handler_from_offsets_and_bad_records(msc):
    topic = _topic(1)
    _produce(topic, [(0, None, b"a"), (0, b"k", b"\xff\xfe"), (0, b"k2", b"b"),
                     (0, None, b"c")])
    ssc = StreamingContext(msc, 1)
    # Default decoders: the record that is not UTF-8 is skipped and counted.
    text = KafkaUtils.createDirectStream(
        ssc, [topic], {"bootstrap.servers": BROKERS, "auto.offset.reset": "earliest"},
        name="text")
    # A message handler over bytes, from offset 1.
    meta = KafkaUtils.createDirectStream(
        ssc, [topic], {"bootstrap.servers": BROKERS},
        fromOffsets={TopicAndPartition(topic, 0): 1},
        keyDecoder=lambda b: b, valueDecoder=lambda b: b,
        messageHandler=lambda m: (m.topic == topic, m.partition, m.offset, m.key, m.message),
        name="meta")
    texts, metas = [], []
    text.foreachRDD(lambda rdd: texts.append(rdd.collect()))
    meta.foreachRDD(lambda rdd: metas.append(rdd.collect()))
    ssc.start()
    try:
        _read_all(ssc, metas, 3)
    finally:
        ssc.stop(stopSparkContext=False)
    assert Counter(r for b in texts for r in b) == Counter([(None, "a"), ("k2", "b"),
                                                            (None, "c")])
    count, samples = text.badRecords()
    assert count == 1 and "UTF-8" in samples[0], samples
    assert sorted((r for b in metas for r in b), key=lambda r: r[2]) == [
        (True, 0, 1, b"k", b"\xff\xfe"), (True, 0, 2, b"k2", b"b"), (True, 0, 3, None, b"c")]
    assert utf8_decoder(None) is None and utf8_decoder(b"\xc3\xa9") == "é"


def test_sink_writes_what_a_consumer_reads(msc):
    topic = _topic(2)
    ssc = StreamingContext(msc, 1)
    batches = [[("a", "1"), (None, "2")], [], [(b"c", b"\x00\x01")]]
    stream = ssc.queueStream([msc.parallelize(b, 2) for b in batches])
    KafkaUtils.saveToKafka(stream, topic, {"bootstrap.servers": BROKERS})
    ssc.start()
    try:
        run_batches(ssc, len(batches))
    finally:
        ssc.stop(stopSparkContext=False)
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": "check-" + topic,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + 60
    while len(got) < 3 and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append((m.key(), m.value(), dict(m.headers() or [])))
    c.close()
    assert Counter((k, v) for k, v, _ in got) == Counter(
        [(b"a", b"1"), (None, b"2"), (b"c", b"\x00\x01")])
    # Each record names its batch, so a consumer can drop replays.
    assert {h["sluice.batch.time"] for _, _, h in got} == {b"1000", b"3000"}


def test_bad_arguments_are_refused_before_start(msc):
    ssc = StreamingContext(msc, 1)
    with pytest.raises(ValueError, match="brokers"):
        KafkaUtils.createDirectStream(ssc, ["t"], {"group.id": "g"})
    with pytest.raises(ValueError, match="auto.offset.reset"):
        KafkaUtils.createDirectStream(ssc, ["t"], {"bootstrap.servers": BROKERS,
                                                   "auto.offset.reset": "sometimes"})
    with pytest.raises(ValueError, match="topics"):
        KafkaUtils.createDirectStream(ssc, [], {"bootstrap.servers": BROKERS})
