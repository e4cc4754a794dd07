//! Batch times and durations.
//!
//! A [`Time`] is a point in milliseconds (of the streaming clock); batch times are multiples
//! of the batch interval. Durations are `std::time::Duration`; [`milliseconds`], [`seconds`]
//! and [`minutes`] mirror Spark's `Milliseconds(n)`, `Seconds(n)`, `Minutes(n)`.

use std::fmt;
use std::time::Duration;

/// A point in time of the streaming clock, in milliseconds.
///
/// ```
/// use sluice_streaming::time::{seconds, Time};
/// let t = Time::from_millis(3000);
/// assert!(t.is_multiple_of(seconds(1)));
/// assert_eq!(t + seconds(2), Time::from_millis(5000));
/// assert_eq!(t.to_string(), "3000 ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(i64);

impl Time {
    /// The time `ms` milliseconds after the clock's origin.
    pub const fn from_millis(ms: i64) -> Time {
        Time(ms)
    }

    /// Milliseconds since the clock's origin.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whether the time is a whole multiple of `d`.
    pub fn is_multiple_of(self, d: Duration) -> bool {
        let d = duration_ms(d);
        d > 0 && self.0.rem_euclid(d) == 0
    }

    /// The largest multiple of `d` not after this time (Spark's `floor`).
    pub fn floor(self, d: Duration) -> Time {
        let d = duration_ms(d).max(1);
        Time(self.0 - self.0.rem_euclid(d))
    }

    /// The largest time `zero + k × d` not after this time.
    pub fn floor_from(self, d: Duration, zero: Time) -> Time {
        let d = duration_ms(d).max(1);
        Time(zero.0 + (self.0 - zero.0).div_euclid(d) * d)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0 + duration_ms(d))
    }
}

impl std::ops::Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0 - duration_ms(d))
    }
}

impl std::ops::Sub<Time> for Time {
    type Output = i64;
    /// Milliseconds between two times.
    fn sub(self, o: Time) -> i64 {
        self.0 - o.0
    }
}

/// A duration in whole milliseconds (saturating).
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whether `d` is a positive whole multiple of `of`.
pub fn is_multiple(d: Duration, of: Duration) -> bool {
    let (d, of) = (duration_ms(d), duration_ms(of));
    of > 0 && d > 0 && d % of == 0
}

/// `n` milliseconds.
pub const fn milliseconds(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub const fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` minutes.
pub const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors() {
        assert_eq!(Time(2500).floor(seconds(1)), Time(2000));
        assert_eq!(Time(-1).floor(seconds(1)), Time(-1000));
        assert_eq!(Time(2500).floor_from(seconds(2), Time(1000)), Time(1000));
        assert!(is_multiple(seconds(4), seconds(2)));
        assert!(!is_multiple(milliseconds(1500), seconds(1)));
    }
}
