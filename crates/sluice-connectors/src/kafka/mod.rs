//! Kafka: a direct stream with per-batch offset ranges and exactly-once recovery, rate
//! control and backpressure, and a sink.
//!
//! - [`direct_stream`] builds a [`DirectKafkaStream`]: no receiver; for each batch the driver
//!   fixes an [`OffsetRange`] per partition and the batch's RDD has one partition per Kafka
//!   partition. The ranges go into the checkpoint before the batch runs, so a restarted job
//!   re-reads exactly them. Offsets can be committed to the consumer group after the outputs
//!   ([`DirectKafkaStream::commit_async`], or automatically with
//!   [`DirectStreamBuilder::commit_offsets_after_batch`]).
//! - Rate control: `sluice.kafka.maxRatePerPartition` caps each partition; with
//!   `sluice.streaming.backpressure.enabled` the rate follows Spark's PID estimator
//!   ([`sluice_streaming::backpressure`]), with a bounded first batch and a floor. The rate in
//!   effect is in each batch's `StreamInputInfo::rate_limit`.
//! - [`KafkaSink`] writes a stream to a topic, at-least-once, with headers naming the batch
//!   and partition so that a consumer can drop replays ([`ReplayFilter`]).
//!
//! The protocol client is `rdkafka` (librdkafka built from source): it speaks the whole
//! protocol (consumer groups, offset commits, idempotent produce).
//!
//! | file | holds |
//! |---|---|
//! | [`offsets`] | topic partitions, offset ranges, starting positions, the pure planning of ranges and rate limits |
//! | [`settings`] | the `sluice.kafka.*` settings |
//! | [`record`] | records, deserializers and serializers |
//! | `client` | the librdkafka client: metadata, offsets, commits, reading ranges |
//! | [`direct`] | the direct stream |
//! | [`sink`] | the sink and replay filtering |
//! | [`admin`] | creating topics, producing and reading whole topics (tests, benchmarks, tools) |

pub mod admin;
mod client;
pub mod direct;
pub mod offsets;
pub mod record;
pub mod settings;
pub mod sink;

pub use direct::{
    direct_stream, BadRecordReport, ConsumerStrategy, DirectKafkaStream, DirectStreamBuilder,
};
pub use offsets::{
    max_messages_per_partition, plan_ranges, rate_of, OffsetRange, OffsetReset, RateLimits,
    StartingOffsets, TopicPartition,
};
pub use record::{
    from_fn, BytesDeserializer, BytesSerializer, ConsumerRecord, Deserializer, I64Deserializer,
    I64Serializer, JsonDeserializer, JsonSerializer, Serializer, StringDeserializer,
    StringSerializer,
};
pub use settings::KafkaSettings;
pub use sink::{
    origin_of, Delivery, EncodeFn, KafkaPairSinkExt, KafkaSink, KafkaSinkExt, ReplayFilter,
};
