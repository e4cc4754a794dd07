//! Shared set-up of the process-level crash tests: where the example programs are, and the
//! random kill schedule.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// The path of an example program (`cargo build -p sluice --examples` builds them next to
/// the test binaries' directory).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// A small xorshift generator for kill schedules.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the clock; the seed is printed, so a failing schedule can be
    /// read back from the test's output.
    pub fn from_clock() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("kill schedule seed: {seed}");
        Rng(seed)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
