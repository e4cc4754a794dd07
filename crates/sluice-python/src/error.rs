//! Errors across the boundary: Python exceptions become engine errors that carry the
//! traceback, and engine errors become Python exceptions that carry the whole cause chain.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use sluice_core::Error;

pyo3::create_exception!(
    _native,
    SluiceError,
    PyRuntimeError,
    "A job, batch or streaming context failed; the message holds the cause chain (and a \
     failed Python function's traceback)."
);

/// An engine error as a Python exception: bad arguments and settings are `ValueError`, the
/// rest `SluiceError` (a `RuntimeError`), with every cause in the message.
pub(crate) fn to_py(e: Error) -> PyErr {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str("\ncaused by: ");
            message.push_str(&text);
        }
        source = s.source();
    }
    match e {
        Error::InvalidArgument(_) | Error::Config { .. } => PyValueError::new_err(message),
        _ => SluiceError::new_err(message),
    }
}

/// A Python exception raised by a user function as an engine error, with its traceback.
pub(crate) fn from_py(py: Python<'_>, e: PyErr) -> Error {
    Error::User(format_exception(py, &e))
}

/// The exception as Python prints it: `Traceback (most recent call last): ...`.
pub(crate) fn format_exception(py: Python<'_>, e: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        let lines = tb.call_method1(
            "format_exception",
            (e.get_type(py), e.value(py), e.traceback(py)),
        )?;
        let lines = lines.cast_into::<PyList>()?;
        let mut out = String::new();
        for line in lines.iter() {
            out.push_str(&line.extract::<String>()?);
        }
        Ok::<_, PyErr>(out)
    });
    match formatted {
        Ok(text) => format!("Python function failed:\n{}", text.trim_end()),
        Err(_) => format!("Python function failed: {e}"),
    }
}

/// Converts an engine result for Python.
pub(crate) trait IntoPyResult<T> {
    /// The value, or the error as a Python exception.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for sluice_core::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
