//! A checkpoint in object storage (`s3://bucket/prefix`), through the storage layer's
//! [`Location`]: credentials, region and endpoint from the standard AWS environment and files,
//! requests retried with backoff by the store.
//!
//! An object is written whole by one `PUT`, so no temporaries are needed; a manifest is written
//! with a conditional `PUT` that fails when the object exists (see [`CheckpointFiles::put_new`]).
//! There are no directories: listing a "directory" lists the keys under its prefix, one level
//! deep.

use std::path::Path;

use sluice_core::{Error, Result};
use sluice_storage::object_store::path::Path as ObjectPath;
use sluice_storage::object_store::{
    self, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use sluice_storage::{block_on, Location};

use super::files::CheckpointFiles;

/// A checkpoint under an object-store prefix.
#[derive(Debug)]
pub struct ObjectFiles {
    loc: Location,
}

impl ObjectFiles {
    /// Resolves the URL (nothing is read or written yet).
    pub fn open(url: &str) -> Result<ObjectFiles> {
        let loc = Location::parse(url).map_err(|e| Error::Checkpoint {
            path: url.into(),
            reason: e.to_string(),
        })?;
        Ok(ObjectFiles { loc })
    }

    fn fail(&self, rel: &str, action: &str, e: impl std::fmt::Display) -> Error {
        Error::Checkpoint {
            path: self.name_of(rel),
            reason: format!("{action}: {e}"),
        }
    }

    fn run<T>(
        &self,
        rel: &str,
        action: &str,
        f: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> Result<T> {
        block_on(f)
            .map_err(|e| self.fail(rel, action, e))?
            .map_err(|e| self.fail(rel, action, e))
    }
}

impl CheckpointFiles for ObjectFiles {
    fn location(&self) -> &str {
        self.loc.as_str()
    }

    fn local_dir(&self) -> Option<&Path> {
        None
    }

    fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.loc.child(rel);
        let payload = PutPayload::from(bytes.to_vec());
        let store = self.loc.store();
        self.run(rel, "writing", store.put(&path, payload))
            .map(|_| ())
    }

    fn put_new(&self, rel: &str, bytes: &[u8]) -> Result<bool> {
        let path = self.loc.child(rel);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        let store = self.loc.store();
        match block_on(store.put_opts(&path, payload, opts))
            .map_err(|e| self.fail(rel, "writing", e))?
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.fail(rel, "writing", e)),
        }
    }

    fn get(&self, rel: &str) -> Result<Vec<u8>> {
        let path = self.loc.child(rel);
        let store = self.loc.store();
        let bytes = self.run(rel, "reading", async {
            store.get(&path).await?.bytes().await
        })?;
        Ok(bytes.to_vec())
    }

    fn exists(&self, rel: &str) -> Result<bool> {
        let path = self.loc.child(rel);
        let store = self.loc.store();
        match block_on(store.head(&path)).map_err(|e| self.fail(rel, "reading", e))? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(rel, "reading", e)),
        }
    }

    fn list(&self, rel: &str) -> Result<Vec<String>> {
        let prefix = self.loc.child(rel);
        let store = self.loc.store();
        let prefix_arg: Option<&ObjectPath> = (!prefix.as_ref().is_empty()).then_some(&prefix);
        let listed = self.run(rel, "listing", store.list_with_delimiter(prefix_arg))?;
        let mut names: Vec<String> = listed
            .objects
            .iter()
            .filter_map(|o| o.location.filename().map(str::to_string))
            .chain(
                listed
                    .common_prefixes
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_string)),
            )
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn delete(&self, rel: &str) -> Result<()> {
        let path = self.loc.child(rel);
        let store = self.loc.store();
        match block_on(store.delete(&path)).map_err(|e| self.fail(rel, "deleting", e))? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(rel, "deleting", e)),
        }
    }
}
