//! MQTT from Python (feature `mqtt`): the connector's receiver, with payloads as `str`.

use pyo3::prelude::*;
use sluice_connectors::mqtt::{mqtt_stream, Qos};

use crate::dstream::NativeDStream;
use crate::error::IntoPyResult;
use crate::rdd::lines_to_chunks;
use crate::streaming::NativeStreamingContext;

/// A stream of the UTF-8 payloads published to `topics` (filters) on the broker at
/// `host:port`, subscribed at `qos` (0 or 1); with a `client_id` the broker keeps the
/// session across reconnects and restarts.
#[pyfunction]
#[pyo3(signature = (ssc, host, port, topics, qos, client_id))]
pub(crate) fn mqtt_text_stream(
    ssc: &NativeStreamingContext,
    host: String,
    port: u16,
    topics: Vec<String>,
    qos: u8,
    client_id: Option<String>,
) -> PyResult<NativeDStream> {
    let qos = match qos {
        0 => Qos::AtMostOnce,
        1 => Qos::AtLeastOnce,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "MQTT QoS must be 0 or 1, got {other}"
            )))
        }
    };
    let mut builder = mqtt_stream(ssc.inner()).broker(host, port);
    for t in topics {
        builder = builder.subscribe(t, qos);
    }
    if let Some(id) = client_id {
        builder = builder.client_id(id).clean_session(false);
    }
    let lines = builder.build_text().py_err()?;
    Ok(NativeDStream::new(
        lines.transform(|rdd, _| Ok(lines_to_chunks(&rdd))),
    ))
}
