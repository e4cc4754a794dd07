//! Streaming listener events delivered to a Python object.
//!
//! The Python side (`sluice.streaming.listener`) wraps each event's dictionary in PySpark's
//! shapes (`batchInfo().batchTime().milliseconds()`, ...) and calls the user's
//! `StreamingListener` methods. An exception in a listener is printed and the bus goes on, as
//! in Spark.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sluice_streaming::listener::{OutputOperationInfo, ReceiverInfo};
use sluice_streaming::{BatchInfo, StreamingListener};

/// Forwards events to `target._on_event(kind, info)`.
pub(crate) struct PyListener {
    pub(crate) target: Py<PyAny>,
}

fn ms(d: Option<std::time::Duration>) -> Option<u64> {
    d.map(|d| d.as_millis() as u64)
}

impl PyListener {
    fn post(&self, kind: &str, fill: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>) {
        Python::attach(|py| {
            let sent = (|| {
                let info = PyDict::new(py);
                fill(&info)?;
                self.target
                    .bind(py)
                    .call_method1("_on_event", (kind, info))?;
                Ok::<_, PyErr>(())
            })();
            if let Err(e) = sent {
                e.print(py);
            }
        })
    }

    fn batch(&self, kind: &str, b: &BatchInfo) {
        self.post(kind, |d| {
            d.set_item("batch_time_ms", b.batch_time.millis())?;
            d.set_item("submission_time_ms", b.submission_time_ms)?;
            d.set_item("num_records", b.num_records())?;
            d.set_item("scheduling_delay_ms", ms(b.scheduling_delay))?;
            d.set_item("processing_delay_ms", ms(b.processing_delay))?;
            d.set_item("total_delay_ms", ms(b.total_delay()))?;
            d.set_item("num_output_ops", b.output_operation_infos.len())?;
            d.set_item("num_failed_output_ops", b.num_failed_output_ops())?;
            Ok(())
        })
    }

    fn output(&self, kind: &str, o: &OutputOperationInfo) {
        self.post(kind, |d| {
            d.set_item("batch_time_ms", o.batch_time.millis())?;
            d.set_item("id", o.id)?;
            d.set_item("name", &o.name)?;
            d.set_item("duration_ms", ms(o.duration))?;
            d.set_item("failure_reason", o.failure_reason.clone())?;
            Ok(())
        })
    }

    fn receiver(&self, kind: &str, r: &ReceiverInfo) {
        self.post(kind, |d| {
            d.set_item("stream_id", r.stream_id)?;
            d.set_item("name", &r.name)?;
            d.set_item("active", r.active)?;
            d.set_item("last_error", r.last_error.clone())?;
            d.set_item("records_stored", r.records_stored)?;
            Ok(())
        })
    }
}

impl StreamingListener for PyListener {
    fn on_streaming_started(&self, time_ms: i64) {
        self.post("streaming_started", |d| d.set_item("time_ms", time_ms));
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.batch("batch_submitted", b);
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.batch("batch_started", b);
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.batch("batch_completed", b);
    }
    fn on_output_operation_started(&self, o: &OutputOperationInfo) {
        self.output("output_operation_started", o);
    }
    fn on_output_operation_completed(&self, o: &OutputOperationInfo) {
        self.output("output_operation_completed", o);
    }
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        self.receiver("receiver_started", r);
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.receiver("receiver_error", r);
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        self.receiver("receiver_stopped", r);
    }
}
