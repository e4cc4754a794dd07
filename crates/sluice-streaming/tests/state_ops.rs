#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Keyed state: `map_with_state` and `update_state_by_key` against hand-computed expectations
//! and, on random input, against a sequential model — on the in-memory store and on the
//! disk-backed one.

mod common;

/// The harness's configuration with the state on disk, with a cache size if given.
#[cfg(feature = "disk-state")]
fn disk_config(cache: Option<&str>) -> sluice_streaming::testing::TestConfig {
    let base = sluice_streaming::testing::TestConfig::default();
    let mut conf = base
        .conf
        .clone()
        .set("sluice.streaming.stateStore.kind", "disk");
    if let Some(size) = cache {
        conf = conf.set("sluice.streaming.stateStore.cacheSize", size);
    }
    sluice_streaming::testing::TestConfig { conf, ..base }
}

/// On the in-memory store (the default).
mod memory {
    use sluice_streaming::testing::TestConfig as Config;

    fn config() -> Config {
        Config::default()
    }

    include!("state_suite/cases.rs");
}

/// On the disk-backed store.
#[cfg(feature = "disk-state")]
mod disk {
    use sluice_streaming::testing::TestConfig as Config;

    fn config() -> Config {
        super::disk_config(None)
    }

    include!("state_suite/cases.rs");

    /// The disk configuration really puts the state in a store directory, which is gone
    /// once the job is.
    #[test]
    fn the_state_lives_in_a_store_directory_removed_with_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let base = config();
        let cfg = Config {
            conf: base.conf.clone().set(
                "sluice.streaming.stateStore.dir",
                dir.path().to_str().unwrap(),
            ),
            ..base
        };
        let d = dir.path().to_path_buf();
        let saw = Arc::new(AtomicUsize::new(0));
        let s2 = Arc::clone(&saw);
        let spec = StateSpec::function(
            move |_t: Time, k: &char, v: Option<i32>, s: &mut State<i32>| {
                let stores = std::fs::read_dir(&d)
                    .unwrap()
                    .filter(|e| {
                        let e = e.as_ref().unwrap();
                        e.file_name().to_string_lossy().starts_with("sluice-state-")
                    })
                    .count();
                s2.store(stores, Ordering::SeqCst);
                let sum = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
                s.update(sum).ok()?;
                Some((*k, sum))
            },
        );
        let out = run_stream_with(cfg, vec![vec![('a', 1)], vec![('a', 2)]], 2, move |s| {
            s.map_with_state(spec).stream()
        })
        .unwrap();
        assert_eq!(out, vec![vec![('a', 1)], vec![('a', 3)]]);
        assert_eq!(saw.load(Ordering::SeqCst), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

/// On the disk-backed store with caches far smaller than the state, so values are evicted to
/// the tree and read back within and across batches.
#[cfg(feature = "disk-state")]
mod disk_small_cache {
    use sluice_streaming::testing::TestConfig as Config;

    fn config() -> Config {
        super::disk_config(Some("16k"))
    }

    include!("state_suite/cases.rs");
}
