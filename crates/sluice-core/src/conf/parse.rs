//! Parsers of configuration values: masters, counts, byte sizes, durations, flags. Each error
//! names the key and the value.

use std::time::Duration;

use crate::error::{Error, Result};

use super::MASTER;

/// The most worker threads `local[N]` may ask for. A larger N is a typo or a misunderstanding
/// (Sluice runs one thread per core, not one per task), and spawning that many threads would
/// exhaust the machine.
pub const MAX_WORKER_THREADS: usize = 1024;

/// Parses a master string into a number of worker threads.
///
/// ```
/// use sluice_core::conf::parse_master;
/// assert_eq!(parse_master("local").unwrap(), 1);
/// assert_eq!(parse_master("local[3]").unwrap(), 3);
/// assert!(parse_master("local[0]").is_err());
/// assert!(parse_master("local[100000]").is_err());
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
            .unwrap_or(1)
            .min(MAX_WORKER_THREADS));
    }
    let n = parse_positive(MASTER, inner).map_err(|_| {
        Error::config(
            MASTER,
            master,
            "the thread count in local[N] must be a positive integer or *",
        )
    })?;
    if n > MAX_WORKER_THREADS {
        return Err(Error::config(
            MASTER,
            master,
            format!(
                "local[N] starts N worker threads; at most {MAX_WORKER_THREADS} are allowed \
                 (local[*] uses one per core)"
            ),
        ));
    }
    Ok(n)
}

/// Parses a positive integer.
///
/// ```
/// use sluice_core::conf::parse_positive;
/// assert_eq!(parse_positive("k", " 7 ").unwrap(), 7);
/// assert!(parse_positive("k", "0").is_err());
/// ```
pub fn parse_positive(key: &str, value: &str) -> Result<usize> {
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

/// Parses a duration such as `200ms`, `1s`, `5m`, `1h` (a bare number is milliseconds).
///
/// ```
/// use sluice_core::conf::parse_duration;
/// assert_eq!(parse_duration("k", "1500ms").unwrap().as_millis(), 1500);
/// assert_eq!(parse_duration("k", "2s").unwrap().as_millis(), 2000);
/// assert!(parse_duration("k", "soon").is_err());
/// ```
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let v = value.trim();
    let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = v.strip_suffix("min") {
        (n, 60_000)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = v.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (v, 1)
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .map(Duration::from_millis)
        .ok_or_else(|| Error::config(key, value, "expected a duration such as 200ms, 1s or 5m"))
}

/// Parses `true` or `false`.
///
/// ```
/// use sluice_core::conf::parse_bool;
/// assert!(parse_bool("k", "true").unwrap());
/// assert!(parse_bool("k", "yes").is_err());
/// ```
pub fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::config(key, value, "expected true or false")),
    }
}
