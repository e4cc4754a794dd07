//! The native extension behind the Python package `sluice`: PySpark's API over the engine.
//!
//! Python records travel through the engine as chunks (`Chunk`), shared lists of Python
//! objects; the Python package builds PySpark's `RDD`, `DStream` and contexts on the few
//! operations this module exports. User functions run on the engine's worker threads, each
//! taking the interpreter lock once per partition; calls that wait on the engine release
//! it. A Python exception fails its task (retried) and then the job or batch, with the
//! traceback in the error; it never ends the process.

mod analytics;
mod chunk;
mod context;
mod dstream;
mod error;
#[cfg(feature = "flume")]
mod flume;
mod hash;
#[cfg(feature = "kafka")]
mod kafka;
mod keys;
mod listener;
#[cfg(feature = "mqtt")]
mod mqtt;
mod pickled;
mod rdd;
mod state;
mod streaming;
#[cfg(feature = "zeromq")]
mod zeromq;

use pyo3::prelude::*;

/// The engine's own allocations (records' wrappers, state entries, shuffle buffers) come from
/// mimalloc: many small objects allocated and freed across worker threads, where it is faster
/// than the C library's allocator. Python's objects keep Python's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The module `sluice._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<context::NativeContext>()?;
    m.add_class::<rdd::NativeRdd>()?;
    m.add_class::<streaming::NativeStreamingContext>()?;
    m.add_class::<dstream::NativeDStream>()?;
    m.add_function(wrap_pyfunction!(rdd::portable_hash_of, m)?)?;
    m.add_class::<analytics::NativeLinearLearner>()?;
    m.add_class::<analytics::NativeKMeans>()?;
    m.add_function(wrap_pyfunction!(analytics::numpy_randn, m)?)?;
    m.add_function(wrap_pyfunction!(analytics::lag_model, m)?)?;
    m.add_function(wrap_pyfunction!(analytics::rolling_z_score, m)?)?;
    m.add_function(wrap_pyfunction!(analytics::ewma_chart, m)?)?;
    #[cfg(feature = "kafka")]
    {
        m.add_class::<kafka::NativeKafkaStream>()?;
        m.add_function(wrap_pyfunction!(kafka::kafka_direct_stream, m)?)?;
        m.add_function(wrap_pyfunction!(kafka::kafka_save, m)?)?;
    }
    #[cfg(feature = "mqtt")]
    m.add_function(wrap_pyfunction!(mqtt::mqtt_text_stream, m)?)?;
    #[cfg(feature = "zeromq")]
    m.add_function(wrap_pyfunction!(zeromq::zeromq_text_stream, m)?)?;
    #[cfg(feature = "flume")]
    m.add_function(wrap_pyfunction!(flume::flume_text_stream, m)?)?;
    m.add("SluiceError", m.py().get_type::<error::SluiceError>())?;
    Ok(())
}
