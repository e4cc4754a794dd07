//! What the program tells on standard error while a streaming job runs: a status line per
//! batch (a live line on a terminal), receivers starting, failing and stopping, and warnings
//! when batches fall behind.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice::streaming::listener::InputErrorInfo;
use sluice::streaming::ReceiverInfo;
use sluice::{BatchInfo, StreamingListener};

/// A receiver's error lines are printed at most this often (the rest are counted).
pub const RECEIVER_LINE_INTERVAL: Duration = Duration::from_secs(1);
/// The falling-behind warning is repeated at most this often.
pub const DELAY_WARNING_INTERVAL: Duration = Duration::from_secs(5);

/// The job's progress and trouble, on standard error.
pub struct Status {
    tty: bool,
    interval: Duration,
    max_delay: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    batches: u64,
    records: u64,
    /// The latest count of bad records of each receiver (by stream id).
    bad_records: BTreeMap<usize, u64>,
    /// The total of bad records shown on the previous status line.
    bad_shown: u64,
    receivers: BTreeMap<usize, ReceiverLog>,
    last_delay_warning: Option<Instant>,
    last_processing: Option<Duration>,
    /// The live status line, redrawn after a message on a terminal.
    line: Option<String>,
}

/// The error lines of one receiver: when one was last printed, and what was held back since.
#[derive(Default)]
struct ReceiverLog {
    /// `receiver` or `source` (a direct source's errors).
    kind: &'static str,
    name: String,
    last_print: Option<Instant>,
    pending: Option<String>,
    skipped: u64,
}

/// Writes to standard error, ignoring failures (unlike `eprintln!`, which panics): after
/// SIGHUP the terminal may be gone, and the job should still stop gracefully.
fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

impl Status {
    /// Progress of a job with batches of `interval`, warning when a batch starts more than
    /// `max_delay` late.
    pub fn new(interval: Duration, max_delay: Duration) -> Self {
        use std::io::IsTerminal;
        Status {
            tty: std::io::stderr().is_terminal(),
            interval,
            max_delay,
            state: Mutex::new(State::default()),
        }
    }

    /// Prints a message line (on a terminal, above the live status line).
    pub fn note(&self, message: &str) {
        let st = self.state.lock();
        self.print(&st, message);
    }

    /// Ends the live status line, before the program's last words.
    pub fn finish(&self) {
        let mut st = self.state.lock();
        if self.tty && st.line.take().is_some() {
            write_stderr("\n");
        }
    }

    fn print(&self, st: &State, message: &str) {
        match (&st.line, self.tty) {
            (Some(line), true) => write_stderr(&format!("\r\x1b[2K{message}\n{line}")),
            _ => write_stderr(&format!("{message}\n")),
        }
    }

    /// Prints `message` of receiver `id`, noting how many reports were not shown before it.
    fn print_receiver_error(&self, st: &mut State, id: usize, message: &str, now: Instant) {
        let log = st.receivers.entry(id).or_default();
        let skipped = std::mem::take(&mut log.skipped);
        log.pending = None;
        log.last_print = Some(now);
        let more = if skipped > 0 {
            format!(
                " ({} not shown before this one)",
                plural(skipped, "report", "reports")
            )
        } else {
            String::new()
        };
        let kind = if log.kind.is_empty() {
            "receiver"
        } else {
            log.kind
        };
        let line = format!("{kind} {}: {message}{more}", log.name);
        self.print(st, &line);
    }

    /// Prints an error of stream `id` now, or holds it back when the stream's last line is
    /// too recent (it is printed later, with how many were not shown).
    fn report_error(&self, st: &mut State, id: usize, message: String, now: Instant) {
        let log = st.receivers.entry(id).or_default();
        if log
            .last_print
            .is_some_and(|t| now.duration_since(t) < RECEIVER_LINE_INTERVAL)
        {
            log.pending = Some(message);
            log.skipped += 1;
            return;
        }
        self.print_receiver_error(st, id, &message, now);
    }

    /// Prints the receivers' held-back errors whose turn has come.
    fn flush_receivers(&self, st: &mut State, now: Instant) {
        let due: Vec<(usize, String)> = st
            .receivers
            .iter()
            .filter(|(_, log)| {
                log.last_print
                    .is_none_or(|t| now.duration_since(t) >= RECEIVER_LINE_INTERVAL)
            })
            .filter_map(|(id, log)| log.pending.clone().map(|m| (*id, m)))
            .collect();
        for (id, message) in due {
            self.print_held(st, id, message, now);
        }
    }

    /// Prints a held-back message (which is then no longer among those not shown).
    fn print_held(&self, st: &mut State, id: usize, message: String, now: Instant) {
        if let Some(log) = st.receivers.get_mut(&id) {
            log.skipped = log.skipped.saturating_sub(1);
        }
        self.print_receiver_error(st, id, &message, now);
    }

    /// The log of receiver `r`, created on its first event.
    fn log<'a>(st: &'a mut State, r: &ReceiverInfo) -> &'a mut ReceiverLog {
        let log = st.receivers.entry(r.stream_id).or_default();
        log.name.clone_from(&r.name);
        log
    }
}

impl StreamingListener for Status {
    fn on_batch_started(&self, b: &BatchInfo) {
        let Some(delay) = b.scheduling_delay else {
            return;
        };
        if delay <= self.max_delay {
            return;
        }
        let now = Instant::now();
        let mut st = self.state.lock();
        if st
            .last_delay_warning
            .is_some_and(|t| now.duration_since(t) < DELAY_WARNING_INTERVAL)
        {
            return;
        }
        st.last_delay_warning = Some(now);
        let last = st
            .last_processing
            .map(|p| format!(" (the last one took {:.1} ms)", ms(Some(p))))
            .unwrap_or_default();
        self.print(
            &st,
            &format!(
                "warning: falling behind: batch {} started {:.0} ms late, more than \
                 --max-delay-ms {}: batches take longer to process than the {} ms batch \
                 interval{last}, and queue up",
                b.batch_time,
                ms(Some(delay)),
                self.max_delay.as_millis(),
                self.interval.as_millis(),
            ),
        );
    }

    fn on_batch_completed(&self, b: &BatchInfo) {
        let mut st = self.state.lock();
        st.batches += 1;
        st.records += b.num_records();
        st.last_processing = b.processing_delay;
        let bad: u64 = st.bad_records.values().sum();
        let new_bad = bad.saturating_sub(st.bad_shown);
        st.bad_shown = bad;
        let failed = b.num_failed_output_ops();
        let line = format!(
            "batch {}: {}{}, processing {:.1} ms, scheduling delay {:.1} ms | {}, {}{}{}",
            b.batch_time,
            plural(b.num_records(), "record", "records"),
            if new_bad > 0 {
                format!(" (+{new_bad} bad)")
            } else {
                String::new()
            },
            ms(b.processing_delay),
            ms(b.scheduling_delay),
            plural(st.batches, "batch", "batches"),
            plural(st.records, "record", "records"),
            if bad > 0 {
                format!(", {}", plural(bad, "bad record", "bad records"))
            } else {
                String::new()
            },
            if failed > 0 {
                format!(" | {failed} output operation(s) FAILED")
            } else {
                String::new()
            }
        );
        if self.tty {
            write_stderr(&format!("\r\x1b[2K{line}"));
            st.line = Some(line);
        } else {
            write_stderr(&format!("{line}\n"));
        }
        self.flush_receivers(&mut st, Instant::now());
    }

    fn on_receiver_started(&self, r: &ReceiverInfo) {
        let mut st = self.state.lock();
        Self::log(&mut st, r);
        self.print(&st, &format!("receiver {} started", r.name));
    }

    fn on_receiver_error(&self, r: &ReceiverInfo) {
        let now = Instant::now();
        let mut st = self.state.lock();
        st.bad_records.insert(r.stream_id, r.bad_records);
        let message = r.last_error.clone().unwrap_or_else(|| "an error".into());
        Self::log(&mut st, r);
        self.report_error(&mut st, r.stream_id, message, now);
    }

    fn on_input_error(&self, e: &InputErrorInfo) {
        let now = Instant::now();
        let mut st = self.state.lock();
        let log = st.receivers.entry(e.stream_id).or_default();
        log.kind = "source";
        log.name.clone_from(&e.name);
        let message = format!("{} (error {})", e.message, e.count);
        self.report_error(&mut st, e.stream_id, message, now);
    }

    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        let mut st = self.state.lock();
        st.bad_records.insert(r.stream_id, r.bad_records);
        // What was held back is shown now, whatever the time since the last line.
        if let Some(message) = Self::log(&mut st, r).pending.take() {
            self.print_held(&mut st, r.stream_id, message, Instant::now());
        }
        self.print(
            &st,
            &format!(
                "receiver {} stopped: {} stored, {}",
                r.name,
                plural(r.records_stored, "record", "records"),
                plural(r.bad_records, "bad record", "bad records")
            ),
        );
    }
}
