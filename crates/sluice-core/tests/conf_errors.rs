#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Configuration: invalid values give `Error::Config` naming the key (and the value), and valid
//! ones reach the context's settings.

use sluice_core::{Conf, Context, Error};

fn config_error(conf: Conf) -> (String, String, String) {
    match Context::new(conf) {
        Err(Error::Config { key, value, reason }) => (key, value, reason),
        Err(other) => panic!("expected Error::Config, got {other:?}"),
        Ok(ctx) => panic!("expected Error::Config, got a context {ctx:?}"),
    }
}

#[test]
fn invalid_values_name_the_key() {
    let cases: &[(&str, &str)] = &[
        ("sluice.master", "yarn"),
        ("sluice.master", "local[0]"),
        ("sluice.master", "local[x]"),
        ("sluice.master", "local[-2]"),
        ("sluice.master", "local[2"),
        ("sluice.default.parallelism", "0"),
        ("sluice.default.parallelism", "many"),
        ("sluice.default.parallelism", "-3"),
        ("sluice.task.maxFailures", "0"),
        ("sluice.task.maxFailures", "-1"),
        ("sluice.task.maxFailures", "2.5"),
        ("sluice.storage.memoryBytes", "12q"),
        ("sluice.storage.memoryBytes", "lots"),
        ("sluice.storage.memoryBytes", ""),
        ("sluice.storage.memoryBytes", "-5m"),
        ("sluice.storage.memoryBytes", "1.5g"),
        ("sluice.storage.memoryBytes", "99999999999t"),
    ];
    for (k, v) in cases {
        let (key, value, reason) = config_error(Conf::new().set(*k, *v));
        assert_eq!(key, *k, "for {k} = {v:?}");
        assert_eq!(value, *v);
        assert!(!reason.is_empty());
        let text = Context::new(Conf::new().set(*k, *v))
            .unwrap_err()
            .to_string();
        assert!(text.contains(k) && text.contains(v), "{text}");
    }
}

#[test]
fn every_layers_keys_are_checked_when_the_context_is_built() {
    let (key, _, reason) = config_error(Conf::new().set("sluice.task.maxFailure", "3"));
    assert_eq!(key, "sluice.task.maxFailure");
    assert!(reason.contains("unknown"), "{reason}");
    // Unknown keys of the layers above the core, and bad values of their known keys.
    for (k, v) in [
        ("sluice.streaming.batchDuration", "1s"),
        ("sluice.ui.port", "x"),
        ("sluice.kafka.brokers", "localhost:9092"),
        ("sluice.kafka.pollTimeout", "0"),
        ("sluice.checkpoint.dir", "/tmp/x"),
        ("sluice.streaming.clock", "atomic"),
    ] {
        let (key, value, _) = config_error(Conf::new().set_master("local[1]").set(k, v));
        assert_eq!((key.as_str(), value.as_str()), (k, v));
    }
    for (k, v) in [
        ("sluice.ui.port", "4041"),
        ("sluice.kafka.pollTimeout", "5s"),
        ("sluice.streaming.clock", "manual"),
    ] {
        assert!(
            Context::new(Conf::new().set_master("local[1]").set(k, v)).is_ok(),
            "{k}"
        );
    }
}

#[test]
fn spark_keys_are_renamed_or_rejected() {
    let ctx = Context::new(
        Conf::new()
            .set_master("local[1]")
            .set("spark.streaming.backpressure.enabled", "true")
            .set("spark.app.name", "ported"),
    )
    .unwrap();
    assert_eq!(
        ctx.conf().get("sluice.streaming.backpressure.enabled"),
        Some("true")
    );
    assert_eq!(ctx.app_name(), "ported");
    assert_eq!(ctx.conf_notices().len(), 2, "{:?}", ctx.conf_notices());
    assert!(ctx.conf_notices()[0].contains("sluice."));
    // A renamed key's value is checked under its Sluice name.
    let (key, _, _) = config_error(Conf::new().set("spark.ui.port", "web"));
    assert_eq!(key, "sluice.ui.port");
    // A Spark key without an equivalent is an error naming it, not silently ignored.
    let (key, value, reason) = config_error(Conf::new().set("spark.executor.memory", "4g"));
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("spark.executor.memory", "4g")
    );
    assert!(reason.contains("no equivalent"), "{reason}");
    // Keys outside both namespaces are not the engine's business.
    assert!(Context::new(Conf::new().set_master("local[1]").set("app.custom", "1")).is_ok());
}

#[test]
fn a_huge_local_thread_count_is_refused() {
    let (key, value, reason) = config_error(Conf::new().set_master("local[100000]"));
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("sluice.master", "local[100000]")
    );
    assert!(reason.contains("at most 1024"), "{reason}");
    assert!(Context::new(Conf::new().set_master("local[1024]")).is_ok());
}

#[test]
fn valid_values_reach_the_settings() {
    let ctx = Context::new(
        Conf::new()
            .set_master(" local[3] ")
            .set_app_name("settings-test")
            .set("sluice.default.parallelism", "7")
            .set("sluice.task.maxFailures", "2")
            .set("sluice.storage.memoryBytes", "3m"),
    )
    .unwrap();
    assert_eq!(ctx.worker_threads(), 3);
    assert_eq!(ctx.app_name(), "settings-test");
    assert_eq!(ctx.default_parallelism(), 7);
    let s = ctx.settings();
    assert!(s.default_parallelism_explicit);
    assert_eq!(s.task_max_failures, 2);
    assert_eq!(s.storage_memory_bytes, 3 << 20);
    for (v, bytes) in [
        ("1024", 1024u64),
        ("64k", 64 << 10),
        ("64K", 64 << 10),
        ("64kb", 64 << 10),
        ("2g", 2 << 30),
        ("1t", 1 << 40),
        ("0", 0),
    ] {
        let s = Conf::new()
            .set("sluice.storage.memoryBytes", v)
            .settings()
            .unwrap();
        assert_eq!(s.storage_memory_bytes, bytes, "{v}");
    }
    let s = Conf::new().set_master("local").settings().unwrap();
    assert_eq!(s.worker_threads, 1);
    assert!(!s.default_parallelism_explicit);
    let s = Conf::new().set_master("local[*]").settings().unwrap();
    assert!(s.worker_threads >= 1);
    // Conf accessors.
    let conf = Conf::new()
        .set("sluice.app.name", "x")
        .set_master("local[2]");
    assert_eq!(conf.get("sluice.app.name"), Some("x"));
    assert_eq!(conf.get("sluice.nothing"), None);
    let keys: Vec<&str> = conf.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec!["sluice.app.name", "sluice.master"]);
    assert_eq!(Context::local(1).unwrap().app_name(), "sluice");
}
