//! The asynchronous runtime the object stores run on: one small multi-threaded tokio runtime
//! per process, entered from the engine's (synchronous) tasks with [`block_on`].

use std::future::Future;
use std::sync::OnceLock;

use crate::error::{Result, StorageError};

/// Runs `f` to completion on the shared runtime, from any thread that is not itself one of
/// the runtime's. Fails only when the runtime cannot be started (no threads).
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-storage")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match rt {
        Ok(rt) => Ok(rt.block_on(f)),
        Err(e) => Err(StorageError::Runtime(e.clone())),
    }
}
