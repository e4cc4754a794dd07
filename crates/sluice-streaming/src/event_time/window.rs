//! Event-time windows as pure functions: which windows a record's timestamp falls in.
//!
//! Windows are Spark's `window(timeColumn, windowDuration, slideDuration, startTime)`:
//! half-open intervals `[start, end)` whose starts are the multiples of the slide shifted by
//! the start offset (aligned to the epoch by default), each `size` long. A tumbling window is
//! a sliding one whose slide is its size. A timestamp `ts` falls in every window with
//! `start <= ts < start + size`: `size / slide` windows when the slide divides the size.

use serde::{Deserialize, Serialize};
use sluice_core::{Error, Result};

/// One event-time window, `[start, end)` in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowRange {
    /// The first millisecond in the window.
    pub start: i64,
    /// The first millisecond after it.
    pub end: i64,
}

impl std::fmt::Display for WindowRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// The windows of an event-time aggregation: Spark's `window(...)` (tumbling or sliding).
///
/// ```
/// use sluice_streaming::event_time::{EventWindow, WindowRange};
/// let w = EventWindow::sliding(10_000, 5_000).unwrap();
/// let of = |ts| w.windows_of(ts).collect::<Vec<_>>();
/// assert_eq!(of(12_000), [WindowRange { start: 5_000, end: 15_000 }, WindowRange { start: 10_000, end: 20_000 }]);
/// // A record exactly at a window's end belongs to the next one.
/// assert_eq!(EventWindow::tumbling(10_000).unwrap().windows_of(10_000).collect::<Vec<_>>(),
///            [WindowRange { start: 10_000, end: 20_000 }]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventWindow {
    size: i64,
    slide: i64,
    offset: i64,
}

impl EventWindow {
    /// Tumbling windows of `size` ms (Spark's `window(col, "size")`).
    pub fn tumbling(size_ms: i64) -> Result<EventWindow> {
        EventWindow::sliding(size_ms, size_ms)
    }

    /// Windows of `size` ms starting every `slide` ms (Spark's `window(col, size, slide)`); the
    /// slide must be positive and at most the size.
    pub fn sliding(size_ms: i64, slide_ms: i64) -> Result<EventWindow> {
        EventWindow::with_offset(size_ms, slide_ms, 0)
    }

    /// Windows whose starts are shifted by `offset` ms from the multiples of the slide (Spark's
    /// `startTime`, for example to align daily windows to a time zone); `0 <= offset < slide`.
    pub fn with_offset(size_ms: i64, slide_ms: i64, offset_ms: i64) -> Result<EventWindow> {
        if size_ms <= 0 || slide_ms <= 0 {
            return Err(Error::InvalidArgument(format!(
                "an event-time window needs a positive size and slide, got {size_ms} ms and \
                 {slide_ms} ms"
            )));
        }
        if slide_ms > size_ms {
            return Err(Error::InvalidArgument(format!(
                "the slide ({slide_ms} ms) of an event-time window must not exceed its size \
                 ({size_ms} ms): records between windows would belong to none"
            )));
        }
        if !(0..slide_ms).contains(&offset_ms) {
            return Err(Error::InvalidArgument(format!(
                "the start offset of an event-time window must be in [0, slide), got \
                 {offset_ms} ms with a slide of {slide_ms} ms"
            )));
        }
        Ok(EventWindow {
            size: size_ms,
            slide: slide_ms,
            offset: offset_ms,
        })
    }

    /// The window's size, ms.
    pub fn size_ms(&self) -> i64 {
        self.size
    }

    /// The window's slide, ms.
    pub fn slide_ms(&self) -> i64 {
        self.slide
    }

    /// The windows `ts` falls in, earliest first.
    pub fn windows_of(&self, ts: i64) -> impl Iterator<Item = WindowRange> {
        let (size, slide, offset) = (self.size, self.slide, self.offset);
        // The latest start at or before `ts`, then back while the window still holds `ts`.
        let last = (ts - offset).div_euclid(slide) * slide + offset;
        let first = last - ((size - 1) / slide) * slide;
        let count = (last - first) / slide + 1;
        (0..count).filter_map(move |i| {
            let start = first + i * slide;
            let end = start.checked_add(size)?;
            (start <= ts && ts < end).then_some(WindowRange { start, end })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_windows_are_refused() {
        assert!(EventWindow::sliding(0, 1).is_err());
        assert!(EventWindow::sliding(10, 0).is_err());
        assert!(EventWindow::sliding(10, 20).is_err());
        assert!(EventWindow::with_offset(10, 5, 5).is_err());
        assert!(EventWindow::with_offset(10, 5, -1).is_err());
    }

    #[test]
    fn negative_times_and_offsets() {
        let w = EventWindow::tumbling(10).unwrap();
        assert_eq!(
            w.windows_of(-1).collect::<Vec<_>>(),
            [WindowRange { start: -10, end: 0 }]
        );
        let w = EventWindow::with_offset(10, 10, 3).unwrap();
        assert_eq!(
            w.windows_of(12).collect::<Vec<_>>(),
            [WindowRange { start: 3, end: 13 }]
        );
        assert_eq!(
            w.windows_of(13).collect::<Vec<_>>(),
            [WindowRange { start: 13, end: 23 }]
        );
    }

    proptest! {
        /// Against the definition: every window start `k * slide + offset` with
        /// `start <= ts < start + size`, found by scanning.
        #[test]
        fn windows_match_the_definition(
            ts in -10_000i64..10_000,
            slide in 1i64..50,
            extra in 0i64..120,
            off in 0i64..50,
        ) {
            let size = slide + extra;
            let offset = off % slide;
            let w = EventWindow::with_offset(size, slide, offset).unwrap();
            let got: Vec<WindowRange> = w.windows_of(ts).collect();
            let mut want = Vec::new();
            let mut k = (ts - size - offset).div_euclid(slide) - 1;
            loop {
                let start = k * slide + offset;
                if start > ts { break; }
                if ts < start + size {
                    want.push(WindowRange { start, end: start + size });
                }
                k += 1;
            }
            prop_assert_eq!(got, want);
        }
    }
}
