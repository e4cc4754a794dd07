//! Session windows as pure functions: grouping a key's events into sessions, and merging
//! sessions.
//!
//! Spark's `session_window(timeColumn, gap)`: an event at `ts` opens the session
//! `[ts, ts + gap)`; sessions of one key that overlap or touch (one starts at or before the
//! other's end) merge into one, from the earliest start to the latest end. A session closes
//! when its end is at or before the watermark.

use serde::{Deserialize, Serialize};

use super::window::WindowRange;

/// One session of a key: its window and its aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session<A> {
    /// `[first event, last event + gap)`.
    pub window: WindowRange,
    /// The aggregate of its events.
    pub agg: A,
}

/// Groups events (event time, value) into sessions of `gap_ms`, aggregating each session's
/// values with `create` (its first value) and `add`. The result is ordered by start.
///
/// ```
/// use sluice_streaming::event_time::{sessions_of, Session, WindowRange};
/// let s = sessions_of(vec![(1_000, 1), (12_000, 1), (4_000, 1)], 5_000, |v| v, |a, v| a + v);
/// assert_eq!(s, [
///     Session { window: WindowRange { start: 1_000, end: 9_000 }, agg: 2 },
///     Session { window: WindowRange { start: 12_000, end: 17_000 }, agg: 1 },
/// ]);
/// ```
pub fn sessions_of<V, A>(
    mut events: Vec<(i64, V)>,
    gap_ms: i64,
    create: impl Fn(V) -> A,
    add: impl Fn(A, V) -> A,
) -> Vec<Session<A>> {
    events.sort_by_key(|(ts, _)| *ts);
    let mut out: Vec<Session<A>> = Vec::new();
    for (ts, v) in events {
        let end = ts.saturating_add(gap_ms);
        match out.pop() {
            Some(last) if ts <= last.window.end => out.push(Session {
                window: WindowRange {
                    start: last.window.start,
                    end: last.window.end.max(end),
                },
                agg: add(last.agg, v),
            }),
            Some(last) => {
                out.push(last);
                out.push(Session {
                    window: WindowRange { start: ts, end },
                    agg: create(v),
                });
            }
            None => out.push(Session {
                window: WindowRange { start: ts, end },
                agg: create(v),
            }),
        }
    }
    out
}

/// Merges two lists of sessions of one key (each ordered by start, without overlaps) into
/// one: sessions that overlap or touch become one, their aggregates merged with `merge`.
///
/// ```
/// use sluice_streaming::event_time::{merge_sessions, Session, WindowRange};
/// let s = |a, b, n| Session { window: WindowRange { start: a, end: b }, agg: n };
/// let held = vec![s(0, 10, 1), s(20, 30, 1)];
/// let new = vec![s(8, 22, 5), s(40, 45, 2)];
/// assert_eq!(merge_sessions(held, new, |a, b| a + b), [s(0, 30, 7), s(40, 45, 2)]);
/// ```
pub fn merge_sessions<A>(
    a: Vec<Session<A>>,
    b: Vec<Session<A>>,
    merge: impl Fn(A, A) -> A,
) -> Vec<Session<A>> {
    let mut all: Vec<Session<A>> = a.into_iter().chain(b).collect();
    all.sort_by_key(|s| (s.window.start, s.window.end));
    let mut out: Vec<Session<A>> = Vec::with_capacity(all.len());
    for s in all {
        match out.pop() {
            Some(last) if s.window.start <= last.window.end => out.push(Session {
                window: WindowRange {
                    start: last.window.start,
                    end: last.window.end.max(s.window.end),
                },
                agg: merge(last.agg, s.agg),
            }),
            Some(last) => {
                out.push(last);
                out.push(s);
            }
            None => out.push(s),
        }
    }
    out
}
