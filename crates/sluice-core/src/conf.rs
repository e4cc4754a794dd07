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

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

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

    /// Parses and validates the configuration.
    pub fn settings(&self) -> Result<Settings> {
        Settings::from_conf(self)
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
        let known = [
            MASTER,
            APP_NAME,
            DEFAULT_PARALLELISM,
            TASK_MAX_FAILURES,
            STORAGE_MEMORY_BYTES,
            LOCAL_DIR,
            LINEAGE_MAX_DEPTH,
        ];
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
        for (k, v) in conf.iter() {
            if k.starts_with("sluice.") && !known.contains(&k) && !is_other_layer_key(k) {
                return Err(Error::config(k, v, "unknown configuration key"));
            }
        }
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

/// Keys owned by layers above the core (streaming, UI, connectors): the core leaves them to
/// those layers to validate.
fn is_other_layer_key(key: &str) -> bool {
    [
        "sluice.streaming.",
        "sluice.ui.",
        "sluice.kafka.",
        "sluice.checkpoint.",
    ]
    .iter()
    .any(|p| key.starts_with(p))
}

/// Parses a master string into a number of worker threads.
///
/// ```
/// use sluice_core::conf::parse_master;
/// assert_eq!(parse_master("local").unwrap(), 1);
/// assert_eq!(parse_master("local[3]").unwrap(), 3);
/// assert!(parse_master("local[0]").is_err());
/// assert!(parse_master("yarn").is_err());
/// ```
pub fn parse_master(master: &str) -> Result<usize> {
    let m = master.trim();
    if m == "local" {
        return Ok(1);
    }
    let inner = m
        .strip_prefix("local[")
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| Error::config(MASTER, master, "expected local, local[N] or local[*]"))?;
    if inner == "*" {
        return Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1));
    }
    parse_positive(MASTER, inner).map_err(|_| {
        Error::config(
            MASTER,
            master,
            "the thread count in local[N] must be a positive integer or *",
        )
    })
}

fn parse_positive(key: &str, value: &str) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::config(key, value, "expected a positive integer")),
    }
}

/// Parses a byte size such as `1048576`, `64k`, `512m` or `2g` (binary multiples).
///
/// ```
/// use sluice_core::conf::parse_bytes;
/// assert_eq!(parse_bytes("k", "64k").unwrap(), 65536);
/// assert!(parse_bytes("k", "lots").is_err());
/// ```
pub fn parse_bytes(key: &str, value: &str) -> Result<u64> {
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (num, shift) = match v.chars().last() {
        Some('k') => (&v[..v.len() - 1], 10),
        Some('m') => (&v[..v.len() - 1], 20),
        Some('g') => (&v[..v.len() - 1], 30),
        Some('t') => (&v[..v.len() - 1], 40),
        _ => (v, 0),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| Error::config(key, value, "expected a byte size such as 512m or 2g"))
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
            .set("sluice.streaming.x", "1")
            .settings()
            .is_ok());
    }
}
