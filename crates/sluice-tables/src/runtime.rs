//! The storage runtime, entered with the tables' errors.

use std::future::Future;

use crate::error::Result;

/// Runs `f` to completion on the storage layer's runtime ([`sluice_storage::block_on`]).
pub(crate) fn block_on<F: Future>(f: F) -> Result<F::Output> {
    Ok(sluice_storage::block_on(f)?)
}
