//! The listing of an object-store prefix for `text_file_stream` (feature `object-store`):
//! the objects directly under it, with their last-modified times, named by their URLs.

use std::path::PathBuf;

use sluice_core::{Error, Result};
use sluice_storage::object_store::ObjectStore;
use sluice_storage::{block_on, Location};

/// The objects directly under the prefix `url` (names starting with `.` or `_` included; the
/// selection rule leaves the hidden ones out), as `(URL, last modified ms)`.
pub(crate) fn list_prefix(url: &str) -> Result<Vec<(PathBuf, i64)>> {
    let fail = |e: &dyn std::fmt::Display| Error::External {
        system: "object storage",
        message: format!("listing {url}: {e}"),
    };
    let loc = Location::parse(url).map_err(|e| fail(&e))?;
    let store = loc.store();
    let listed = block_on(store.list_with_delimiter(Some(loc.root())))
        .map_err(|e| fail(&e))?
        .map_err(|e| fail(&e))?;
    Ok(listed
        .objects
        .into_iter()
        .map(|o| {
            (
                PathBuf::from(loc.url_of(&o.location)),
                o.last_modified.timestamp_millis(),
            )
        })
        .collect())
}
