//! The Kafka sink against a real broker: a stream read from one topic, transformed, and
//! written to another; a batch written again (as a re-run after a failure would) is dropped by
//! the replay filter, after which the output topic equals the input transformed.
#![cfg(feature = "kafka")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{brokers, unique, Job};
use parking_lot::Mutex;
use sluice_connectors::kafka::admin::{create_topic, produce, read_topic, Produce};
use sluice_connectors::kafka::{
    origin_of, EncodeFn, KafkaPairSinkExt, KafkaSink, ReplayFilter, StringSerializer,
};
use sluice_streaming::Time;

type Pairs = Vec<(String, String)>;

#[ignore = "needs the Kafka test broker (SLUICE_KAFKA_BROKERS); scripts/test.sh starts one and runs these"]
#[test]
fn sink_output_without_replays_equals_the_input_transformed() {
    let b = brokers("sink_output_without_replays");
    let input = unique("sink-in");
    let output = unique("sink-out");
    create_topic(&b, &input, 2).unwrap();
    create_topic(&b, &output, 3).unwrap();
    let batch = |from: usize, to: usize| -> Vec<Produce> {
        (from..to)
            .map(|i| Produce {
                partition: Some((i % 2) as i32),
                key: Some(format!("k{}", i % 7).into_bytes()),
                value: Some(format!("word{i}").into_bytes()),
            })
            .collect()
    };
    produce(&b, &input, &batch(0, 40)).unwrap();

    let job = Job::new(Duration::from_secs(1), &[]).unwrap();
    let kafka = job
        .stream_from_earliest(b.as_str(), input.as_str())
        .build_strings()
        .unwrap();
    let upper = kafka.stream().map(|r| {
        (
            r.key.unwrap_or_default(),
            r.value.unwrap_or_default().to_uppercase(),
        )
    });
    let sink = KafkaSink::new(&b).unwrap();
    upper
        .save_pairs_to_kafka(&sink, &output, StringSerializer, StringSerializer)
        .unwrap();
    let written: Arc<Mutex<BTreeMap<Time, Vec<Pairs>>>> = Arc::default();
    let w = Arc::clone(&written);
    upper
        .foreach_rdd(move |rdd, t| {
            w.lock().insert(t, rdd.collect_partitions()?);
            Ok(())
        })
        .unwrap();
    job.ssc.start().unwrap();
    job.run_batch(1).unwrap();
    produce(&b, &input, &batch(40, 65)).unwrap();
    job.run_batch(2).unwrap();
    job.stop().unwrap();

    // Batch 1 runs again (as after a crash): the same records, partitions and batch time.
    let t1 = job.time(1);
    let again = written.lock()[&t1].clone();
    let rdd = job.ssc.context().parallelize_partitions(again);
    let encode: Arc<EncodeFn<(String, String)>> =
        Arc::new(|(k, v)| (Some(k.as_bytes().to_vec()), v.as_bytes().to_vec()));
    assert_eq!(sink.write_rdd(&rdd, t1, &output, encode).unwrap(), 40);

    let out: Vec<_> = read_topic(&b, &output)
        .unwrap()
        .into_values()
        .flatten()
        .collect();
    assert_eq!(
        out.len(),
        65 + 40,
        "the replayed batch is in the topic twice"
    );
    for r in &out {
        let (t, _, _) = origin_of(r).unwrap();
        assert!(
            t == t1.millis() || t == job.time(2).millis(),
            "batch time {t}"
        );
    }
    let kept = ReplayFilter::default().filter(out).unwrap();
    let mut got: Vec<(String, String)> = kept
        .into_iter()
        .map(|r| {
            (
                String::from_utf8(r.key.unwrap()).unwrap(),
                String::from_utf8(r.value.unwrap()).unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut expected: Vec<(String, String)> = (0..65)
        .map(|i| (format!("k{}", i % 7), format!("WORD{i}")))
        .collect();
    expected.sort();
    assert_eq!(got, expected);
}
