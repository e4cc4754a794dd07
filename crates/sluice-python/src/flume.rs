//! Flume from Python (feature `flume`): the connector's push receiver, events as
//! `(headers, body)` with the body decoded as UTF-8.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sluice_connectors::flume::flume_stream;

use crate::chunk::to_chunks;
use crate::dstream::NativeDStream;
use crate::error::IntoPyResult;
use crate::streaming::NativeStreamingContext;

/// A stream of the events Flume's Avro sink pushes to `host:port`, as `(headers, body)`
/// tuples (a body that is not UTF-8 is a counted bad record).
#[pyfunction]
pub(crate) fn flume_text_stream(
    ssc: &NativeStreamingContext,
    host: String,
    port: u16,
) -> PyResult<NativeDStream> {
    let events = flume_stream(ssc.inner())
        .bind(host, port)
        .build_with(|e| {
            String::from_utf8(e.body)
                .map(|body| (e.headers, body))
                .map_err(|err| {
                    format!(
                        "an event body is not UTF-8 (at byte {})",
                        err.utf8_error().valid_up_to()
                    )
                })
        })
        .py_err()?;
    Ok(NativeDStream::new(events.transform(|rdd, _| {
        Ok(to_chunks(&rdd, |py, (headers, body)| {
            let h = PyDict::new(py);
            for (k, v) in headers {
                h.set_item(k, v)?;
            }
            Ok((h, PyString::new(py, body)).into_pyobject(py)?.into_any())
        }))
    })))
}
