"""Kafka from Python: PySpark's ``pyspark.streaming.kafka`` API (``KafkaUtils``) over
Sluice's direct stream, and a sink.

::

    from sluice.streaming.kafka import KafkaUtils      # was: from pyspark.streaming.kafka ...
    stream = KafkaUtils.createDirectStream(ssc, ["events"], {"metadata.broker.list": brokers})
    stream.map(lambda kv: kv[1]).pprint()

The direct stream has no receiver: every batch reads fixed offset ranges, recorded in the
checkpoint before the batch runs, so a job restarted by ``StreamingContext.getOrCreate``
re-reads exactly the batches it had not finished. A new job starts at ``fromOffsets``, else at
the consumer group's committed offsets, else as ``auto.offset.reset`` says (``smallest`` /
``earliest`` or ``largest`` / ``latest``, the default). Keys and values are decoded by
``keyDecoder`` and ``valueDecoder`` (UTF-8 text by default, decoded in the engine; a record
that is not valid UTF-8 is skipped and counted, see ``KafkaDStream.badRecords``).

Available only when the package was built with the ``kafka`` feature (the default wheel
is).
"""

from typing import Any, Callable, Dict, List, Optional, Tuple

from sluice import _native
from sluice.rdd import RDD
from sluice.streaming.dstream import DStream, _wants_time


def utf8_decoder(s: Optional[bytes]) -> Optional[str]:
    """Decodes UTF-8 bytes (``None`` stays ``None``), as PySpark's ``utf8_decoder``."""
    if s is None:
        return None
    return s.decode("utf-8")


class TopicAndPartition:
    """A partition of a topic."""

    def __init__(self, topic: str, partition: int) -> None:
        self._topic = topic
        self._partition = int(partition)

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, TopicAndPartition)
                and (self._topic, self._partition) == (other._topic, other._partition))

    def __hash__(self) -> int:
        return hash((self._topic, self._partition))

    def __repr__(self) -> str:
        return "TopicAndPartition(topic: %s, partition: %d)" % (self._topic, self._partition)


class OffsetRange:
    """The offsets ``[fromOffset, untilOffset)`` of a partition that one batch read."""

    def __init__(self, topic: str, partition: int, fromOffset: int, untilOffset: int) -> None:
        self.topic = topic
        self.partition = int(partition)
        self.fromOffset = int(fromOffset)
        self.untilOffset = int(untilOffset)

    def count(self) -> int:
        """How many offsets the range spans."""
        return self.untilOffset - self.fromOffset

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, OffsetRange) and self._tuple() == other._tuple()

    def __hash__(self) -> int:
        return hash(self._tuple())

    def _tuple(self) -> Tuple[str, int, int, int]:
        return (self.topic, self.partition, self.fromOffset, self.untilOffset)

    def __repr__(self) -> str:
        return ("OffsetRange(topic: %s, partition: %d, range: [%d -> %d])"
                % self._tuple())


class KafkaMessageAndMetadata:
    """One Kafka record, as a ``messageHandler`` receives it: ``topic``, ``partition``,
    ``offset``, and the decoded ``key`` and ``message``."""

    def __init__(self, topic: str, partition: int, offset: int, key: Any, message: Any,
                 ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.message = message

    def __repr__(self) -> str:
        return ("KafkaMessageAndMetadata(topic: %s, partition: %d, offset: %d, key and message"
                "...)" % (self.topic, self.partition, self.offset))


class KafkaRDD(RDD):
    """A batch of a direct Kafka stream, with the offset ranges it read."""

    def __init__(self, rdd: RDD, ranges: List[OffsetRange]) -> None:
        super().__init__(rdd._native, rdd.ctx, rdd.partitioner)
        self._ranges = ranges

    def offsetRanges(self) -> List[OffsetRange]:
        """The offset ranges of this batch, one per partition read."""
        return list(self._ranges)


class KafkaDStream(DStream):
    """A direct Kafka stream: its ``transform`` and ``foreachRDD`` functions receive
    ``KafkaRDD``s, whose ``offsetRanges()`` give what each batch read."""

    def __init__(self, native_kafka, native_stream, ssc, sc) -> None:
        super().__init__(native_stream, ssc, sc)
        self._kafka = native_kafka

    def _kafka_rdd(self, time, rdd: RDD) -> KafkaRDD:
        ms = int(round(time.timestamp() * 1000))
        ranges = self._kafka.offset_ranges(ms) or []
        return KafkaRDD(rdd, [OffsetRange(*r) for r in ranges])

    def transform(self, func: Callable[..., RDD]) -> DStream:
        """As ``DStream.transform``, with the batch as a ``KafkaRDD``."""
        if _wants_time(func):
            return super().transform(lambda t, rdd: func(t, self._kafka_rdd(t, rdd)))
        return super().transform(lambda t, rdd: func(self._kafka_rdd(t, rdd)))

    def foreachRDD(self, func: Callable[..., None]) -> None:
        """As ``DStream.foreachRDD``, with the batch as a ``KafkaRDD``."""
        if _wants_time(func):
            super().foreachRDD(lambda t, rdd: func(t, self._kafka_rdd(t, rdd)))
        else:
            super().foreachRDD(lambda t, rdd: func(self._kafka_rdd(t, rdd)))

    def commitAsync(self, offsetRanges: List[OffsetRange]) -> None:
        """Commits ``offsetRanges`` to the consumer group (Spark's ``CanCommitOffsets``);
        call it once a batch's outputs are done."""
        self._kafka.commit_async([r._tuple() for r in offsetRanges])

    def badRecords(self) -> Tuple[int, List[str]]:
        """How many records were skipped because they could not be decoded, and samples of
        why (a Sluice addition: such records never fail the job)."""
        return self._kafka.bad_records()


class KafkaUtils:
    """PySpark's ``KafkaUtils``: the direct stream, and (a Sluice addition) a sink."""

    @staticmethod
    def createDirectStream(ssc, topics: List[str], kafkaParams: Dict[str, str],
                           fromOffsets: Optional[Dict[TopicAndPartition, int]] = None,
                           keyDecoder: Callable[[Optional[bytes]], Any] = utf8_decoder,
                           valueDecoder: Callable[[Optional[bytes]], Any] = utf8_decoder,
                           messageHandler: Optional[Callable[[KafkaMessageAndMetadata], Any]]
                           = None, commitOffsets: bool = False,
                           name: Optional[str] = None) -> KafkaDStream:
        """A direct stream of ``topics``: ``(key, value)`` per record, or
        ``messageHandler(KafkaMessageAndMetadata)``.

        ``kafkaParams`` are PySpark's: the brokers (``metadata.broker.list`` or
        ``bootstrap.servers``), ``group.id``, ``auto.offset.reset``, and any other consumer
        property. Sluice additions: ``commitOffsets=True`` commits each batch's offsets to the
        group after its outputs; ``name`` keys the stream's offsets in checkpoints (default
        ``kafka:`` and the topics)."""
        if isinstance(topics, str) or not topics:
            raise ValueError("topics must be a non-empty list of topic names")
        if not isinstance(kafkaParams, dict):
            raise TypeError("kafkaParams must be a dict")
        offsets = None
        if fromOffsets:
            offsets = [(tp._topic, tp._partition, int(o)) for tp, o in fromOffsets.items()]
        raw = not (keyDecoder is utf8_decoder and valueDecoder is utf8_decoder
                   and messageHandler is None)
        native = _native.kafka_direct_stream(
            ssc._native, list(topics), [(str(k), str(v)) for k, v in kafkaParams.items()],
            offsets, raw, bool(commitOffsets), name)
        stream = KafkaDStream(native, native.stream(), ssc, ssc._sc)
        if not raw:
            return stream
        if messageHandler is None:
            def decode(r):
                return (keyDecoder(r[3]), valueDecoder(r[4]))
        else:
            def decode(r):
                return messageHandler(KafkaMessageAndMetadata(
                    r[0], r[1], r[2], keyDecoder(r[3]), valueDecoder(r[4])))
        decoded = KafkaDStream(native, None, ssc, ssc._sc)
        decoded._native_stream = stream.map(decode)._native
        return decoded

    @staticmethod
    def saveToKafka(dstream: DStream, topic: str, kafkaParams: Dict[str, str]) -> None:
        """Writes every batch of ``dstream`` to ``topic`` (a Sluice addition): records are
        ``(key, value)`` pairs of ``str`` or ``bytes`` (the key may be ``None``). At least
        once: each batch's tasks wait for the broker's acknowledgements, and the records carry
        headers naming their batch and partition so a consumer can drop replays.
        ``kafkaParams`` are producer properties, with the brokers as
        ``bootstrap.servers`` or ``metadata.broker.list``."""
        _native.kafka_save(dstream._native, topic,
                           [(str(k), str(v)) for k, v in kafkaParams.items()])


__all__ = ["KafkaUtils", "KafkaDStream", "KafkaRDD", "OffsetRange", "TopicAndPartition",
           "KafkaMessageAndMetadata", "utf8_decoder"]
