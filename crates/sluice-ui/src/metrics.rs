//! `/metrics`: the job's counters and histograms in Prometheus' text format (0.0.4).

use std::fmt::Write as _;

use sluice_streaming::listener::WatermarkInfo;
use sluice_streaming::ReceiverInfo;

use crate::model::{Histogram, Totals, BUCKETS};

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (b, c) in BUCKETS.iter().zip(h.counts.iter()) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// One series per operator, labelled by its name.
fn per_operator<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    values: impl Iterator<Item = (&'a String, i64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (operator, v) in values {
        let _ = writeln!(out, "{name}{{operator=\"{}\"}} {v}", escape(operator));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders the metrics.
///
/// ```
/// use sluice_ui::metrics::render;
/// let mut totals = sluice_ui::model::Totals::default();
/// totals.input_errors.insert(2, ("kafka:events".into(), 3));
/// let text = render(&totals, &[], &[("counts".into(), 3)], &[]);
/// assert!(text.contains("sluice_batches_completed_total 0"));
/// assert!(text.contains("sluice_input_errors_total{stream=\"2\",source=\"kafka:events\"} 3"));
/// assert!(text.contains("sluice_state_keys{operator=\"counts\"} 3"));
/// ```
pub fn render(
    t: &Totals,
    receivers: &[ReceiverInfo],
    state: &[(String, usize)],
    watermarks: &[WatermarkInfo],
) -> String {
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    counter(
        "sluice_batches_completed_total",
        "Batches completed (including failed ones).",
        t.completed,
    );
    counter(
        "sluice_batches_failed_total",
        "Batches with at least one failed output operation.",
        t.failed,
    );
    let _ = writeln!(
        out,
        "# HELP sluice_input_records_total Records read, per input stream.\n\
         # TYPE sluice_input_records_total counter"
    );
    for (id, n) in &t.records_by_stream {
        let _ = writeln!(out, "sluice_input_records_total{{stream=\"{id}\"}} {n}");
    }
    histogram(
        &mut out,
        "sluice_processing_delay_seconds",
        "Time to run a batch's output operations.",
        &t.processing,
    );
    histogram(
        &mut out,
        "sluice_scheduling_delay_seconds",
        "Time a batch waited before processing started.",
        &t.scheduling,
    );
    let _ = writeln!(
        out,
        "# HELP sluice_state_keys Keys held by each stateful operator.\n# TYPE sluice_state_keys gauge"
    );
    for (name, n) in state {
        let _ = writeln!(
            out,
            "sluice_state_keys{{operator=\"{}\"}} {n}",
            escape(name)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sluice_bad_records_total Records a receiver could not decode.\n\
         # TYPE sluice_bad_records_total counter"
    );
    for r in receivers {
        let _ = writeln!(
            out,
            "sluice_bad_records_total{{stream=\"{}\",receiver=\"{}\"}} {}",
            r.stream_id,
            escape(&r.name),
            r.bad_records
        );
    }
    per_operator(
        &mut out,
        "sluice_watermark_ms",
        "The watermark of each event-time operator (ms since the epoch).",
        "gauge",
        watermarks.iter().map(|w| (&w.operator, w.watermark_ms)),
    );
    per_operator(
        &mut out,
        "sluice_late_records_total",
        "Records an event-time operator dropped as late.",
        "counter",
        watermarks
            .iter()
            .map(|w| (&w.operator, w.late_records as i64)),
    );
    let _ = writeln!(
        out,
        "# HELP sluice_input_errors_total Errors a direct source got past (failed offset \
         commits, an unreachable broker).\n# TYPE sluice_input_errors_total counter"
    );
    for (id, (name, n)) in &t.input_errors {
        let _ = writeln!(
            out,
            "sluice_input_errors_total{{stream=\"{id}\",source=\"{}\"}} {n}",
            escape(name)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sluice_receiver_active Whether each receiver runs.\n# TYPE sluice_receiver_active gauge"
    );
    for r in receivers {
        let _ = writeln!(
            out,
            "sluice_receiver_active{{stream=\"{}\"}} {}",
            r.stream_id,
            u8::from(r.active)
        );
    }
    out
}
