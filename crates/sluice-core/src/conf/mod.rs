//! Configuration: [`Conf`], a string map with typed accessors, and the parsed, validated
//! [`Settings`] a [`Context`](crate::Context) runs with.
//!
//! Keys follow Spark's names with the `sluice.` prefix:
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `sluice.master` | `local[*]` | `local`, `local[N]` or `local[*]`: N worker threads |
//! | `sluice.app.name` | `sluice` | application name |
//! | `sluice.default.parallelism` | worker threads | partitions of shuffles and `parallelize` when not given |
//! | `sluice.task.maxFailures` | `4` | attempts of a task before its job fails |
//! | `sluice.storage.memoryBytes` | `512m` | memory budget of cached partitions (`k`, `m`, `g` suffixes) |
//! | `sluice.local.dir` | system temp dir | where disk-persisted partitions are written |
//! | `sluice.lineage.maxDepth` | `5000` | narrow operations one task may chain before a job is refused (each is a level of the task's stack) |
//!
//! Every key of every layer is checked when a [`Context`](crate::Context) is built
//! ([`keys`]); a ported job's `spark.*` keys are renamed to their Sluice equivalents with a
//! notice, or rejected ([`spark`]).

pub mod keys;
mod parse;
pub mod spark;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Result;

pub use parse::{
    parse_bool, parse_bytes, parse_duration, parse_master, parse_positive, MAX_WORKER_THREADS,
};

/// Key of the master setting.
pub const MASTER: &str = "sluice.master";
/// Key of the application name.
pub const APP_NAME: &str = "sluice.app.name";
/// Key of the default parallelism.
pub const DEFAULT_PARALLELISM: &str = "sluice.default.parallelism";
/// Key of the number of task attempts.
pub const TASK_MAX_FAILURES: &str = "sluice.task.maxFailures";
/// Key of the storage memory budget.
pub const STORAGE_MEMORY_BYTES: &str = "sluice.storage.memoryBytes";
/// Key of the directory for disk-persisted blocks.
pub const LOCAL_DIR: &str = "sluice.local.dir";
/// Key of the longest chain of narrow operations a task may compute.
pub const LINEAGE_MAX_DEPTH: &str = "sluice.lineage.maxDepth";

/// A configuration: string keys and values, like Spark's `SparkConf`.
///
/// Values are validated when a [`Context`](crate::Context) is built from it.
///
/// ```
/// use sluice_core::Conf;
/// let conf = Conf::new().set_master("local[2]").set_app_name("wordcount");
/// assert_eq!(conf.get("sluice.master"), Some("local[2]"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Conf {
    values: BTreeMap<String, String>,
}

impl Conf {
    /// An empty configuration: every setting takes its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key to a value.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Sets the master, e.g. `local[4]`.
    pub fn set_master(self, master: impl Into<String>) -> Self {
        self.set(MASTER, master)
    }

    /// Sets the application name.
    pub fn set_app_name(self, name: impl Into<String>) -> Self {
        self.set(APP_NAME, name)
    }

    /// The value of a key, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// All settings, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses and validates the configuration (after [`resolve`](Self::resolve)).
    pub fn settings(&self) -> Result<Settings> {
        Settings::from_conf(self)
    }

    /// The configuration a context runs with: `spark.*` keys renamed to their Sluice
    /// equivalents (or rejected, when there is none), then every `sluice.*` key checked.
    /// Returns it with one notice per renamed key.
    ///
    /// ```
    /// use sluice_core::Conf;
    /// let (conf, notices) = Conf::new()
    ///     .set("spark.streaming.backpressure.enabled", "true")
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(conf.get("sluice.streaming.backpressure.enabled"), Some("true"));
    /// assert_eq!(conf.get("spark.streaming.backpressure.enabled"), None);
    /// assert_eq!(notices.len(), 1);
    /// assert!(Conf::new().set("spark.executor.memory", "4g").resolve().is_err());
    /// assert!(Conf::new().set("sluice.ui.port", "http").resolve().is_err());
    /// ```
    pub fn resolve(&self) -> Result<(Conf, Vec<String>)> {
        let t = spark::translate(self.iter())?;
        let mut values: BTreeMap<String, String> = self
            .values
            .iter()
            .filter(|(k, _)| !k.starts_with("spark."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        values.extend(t.renamed);
        let conf = Conf { values };
        keys::validate(conf.iter())?;
        Ok((conf, t.notices))
    }
}

/// The validated settings a context runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Application name.
    pub app_name: String,
    /// Number of worker threads.
    pub worker_threads: usize,
    /// Default number of partitions.
    pub default_parallelism: usize,
    /// Whether `sluice.default.parallelism` was set explicitly (shuffles then use it instead
    /// of their parent's number of partitions, as in Spark).
    pub default_parallelism_explicit: bool,
    /// Attempts per task before the job fails (at least 1).
    pub task_max_failures: usize,
    /// Memory budget for cached blocks, in bytes.
    pub storage_memory_bytes: u64,
    /// Directory for disk-persisted blocks.
    pub local_dir: PathBuf,
    /// The longest chain of narrow operations a task may compute: each is a level of the
    /// worker's stack, so a job with a longer one is refused with an error rather than
    /// overflowing the stack (which would abort the process).
    pub lineage_max_depth: usize,
}

impl Settings {
    fn from_conf(conf: &Conf) -> Result<Self> {
        let master = conf.get(MASTER).unwrap_or("local[*]");
        let worker_threads = parse_master(master)?;
        let default_parallelism = match conf.get(DEFAULT_PARALLELISM) {
            Some(v) => parse_positive(DEFAULT_PARALLELISM, v)?,
            None => worker_threads,
        };
        let task_max_failures = match conf.get(TASK_MAX_FAILURES) {
            Some(v) => parse_positive(TASK_MAX_FAILURES, v)?,
            None => 4,
        };
        let storage_memory_bytes = match conf.get(STORAGE_MEMORY_BYTES) {
            Some(v) => parse_bytes(STORAGE_MEMORY_BYTES, v)?,
            None => 512 << 20,
        };
        let lineage_max_depth = match conf.get(LINEAGE_MAX_DEPTH) {
            Some(v) => parse_positive(LINEAGE_MAX_DEPTH, v)?,
            None => 5000,
        };
        let local_dir = conf
            .get(LOCAL_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        keys::validate(conf.iter())?;
        Ok(Settings {
            app_name: conf.get(APP_NAME).unwrap_or("sluice").to_string(),
            worker_threads,
            default_parallelism,
            default_parallelism_explicit: conf.get(DEFAULT_PARALLELISM).is_some(),
            task_max_failures,
            storage_memory_bytes,
            local_dir,
            lineage_max_depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = Conf::new().set_master("local[3]").settings().unwrap();
        assert_eq!(s.worker_threads, 3);
        assert_eq!(s.default_parallelism, 3);
        assert_eq!(s.task_max_failures, 4);
        assert_eq!(s.storage_memory_bytes, 512 << 20);
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let e = Conf::new()
            .set(TASK_MAX_FAILURES, "-1")
            .settings()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sluice.task.maxFailures") && e.contains("-1"),
            "{e}"
        );
        let e = Conf::new()
            .set("sluice.typo", "1")
            .settings()
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown configuration key"), "{e}");
        assert!(Conf::new().set_master("local[x]").settings().is_err());
        assert!(Conf::new()
            .set(STORAGE_MEMORY_BYTES, "12q")
            .settings()
            .is_err());
        assert!(Conf::new()
            .set("sluice.streaming.clock", "manual")
            .settings()
            .is_ok());
        let e = Conf::new()
            .set("sluice.checkpoint.x", "1")
            .settings()
            .unwrap_err()
            .to_string();
        assert!(e.contains("sluice.checkpoint.x"), "{e}");
        let e = Conf::new()
            .set_master("local[100000]")
            .settings()
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 1024"), "{e}");
    }
}
