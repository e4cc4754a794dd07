//! ZeroMQ from Python (feature `zeromq`): the connector's receiver, with text lines as `str`.

use pyo3::prelude::*;
use sluice_connectors::zeromq::{zeromq_stream, ZmqKind};

use crate::dstream::NativeDStream;
use crate::error::IntoPyResult;
use crate::rdd::lines_to_chunks;
use crate::streaming::NativeStreamingContext;

/// A stream of the text lines of the messages from `endpoints`: SUB to the topic prefixes
/// `topics`, or PULL when `topics` is `None`.
#[pyfunction]
pub(crate) fn zeromq_text_stream(
    ssc: &NativeStreamingContext,
    endpoints: Vec<String>,
    topics: Option<Vec<String>>,
) -> PyResult<NativeDStream> {
    let mut builder = zeromq_stream(ssc.inner()).kind(match topics {
        Some(t) => ZmqKind::Sub(t),
        None => ZmqKind::Pull,
    });
    for e in endpoints {
        builder = builder.connect(e);
    }
    let lines = builder.build_text().py_err()?;
    Ok(NativeDStream::new(
        lines.transform(|rdd, _| Ok(lines_to_chunks(&rdd))),
    ))
}
