//! `save_as_text_file` into object storage (`s3://bucket/prefix`, feature `object-store`): one
//! `part-NNNNN` object per partition, then `_SUCCESS`, as Spark writes.
//!
//! Object stores have no rename, so a reader may see the parts of an output still being
//! written; `_SUCCESS`, written last, marks it complete (readers of Sluice and Spark skip names
//! starting with `_`, and a job reading outputs should wait for it). Each part is one `PUT` of
//! the partition's text. Writing an output again (`save_as_text_file_replacing`, what a re-run
//! batch does) overwrites its parts, deletes parts beyond the new partition count, and writes
//! `_SUCCESS` again, so the same data gives the same objects.

use sluice_storage::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sluice_storage::{block_on, Location};

use super::Rdd;
use crate::data::{Data, ToText};
use crate::error::{Error, Result};

fn storage_error(url: &str, action: &str, e: impl std::fmt::Display) -> Error {
    Error::External {
        system: "object storage",
        message: format!("{action} {url}: {e}"),
    }
}

/// The names of the objects under the output's prefix.
fn names_under(loc: &Location, url: &str) -> Result<Vec<String>> {
    let store = loc.store();
    let listed = block_on(store.list_with_delimiter(Some(loc.root())))
        .map_err(|e| storage_error(url, "listing", e))?
        .map_err(|e| storage_error(url, "listing", e))?;
    Ok(listed
        .objects
        .iter()
        .filter_map(|o| o.location.filename().map(str::to_string))
        .collect())
}

fn put(loc: &Location, name: &str, bytes: Vec<u8>) -> Result<()> {
    let path = loc.child(name);
    let url = loc.url_of(&path);
    let store = loc.store();
    block_on(store.put(&path, PutPayload::from(bytes)))
        .map_err(|e| storage_error(&url, "writing", e))?
        .map_err(|e| storage_error(&url, "writing", e))?;
    Ok(())
}

impl<T: Data + ToText> Rdd<T> {
    /// [`save_as_text_file`](Rdd::save_as_text_file) into object storage.
    pub(crate) fn save_as_text_objects(&self, url: &str, replace: bool) -> Result<()> {
        let loc = Location::parse(url).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let before = names_under(&loc, url)?;
        if !replace && !before.is_empty() {
            return Err(Error::OutputExists(url.into()));
        }
        let task_loc = loc.clone();
        self.run_job(move |it, tc| {
            let mut text = String::new();
            for chunk in it {
                for x in chunk? {
                    x.write_text(&mut text);
                    text.push('\n');
                }
            }
            put(
                &task_loc,
                &format!("part-{:05}", tc.partition),
                text.into_bytes(),
            )
        })?;
        let parts = self.num_partitions();
        let stale: Vec<String> = before
            .into_iter()
            .filter(|n| {
                n.strip_prefix("part-")
                    .and_then(|i| i.parse::<usize>().ok())
                    .is_some_and(|i| i >= parts)
            })
            .collect();
        let store = loc.store();
        for name in stale {
            let path = loc.child(&name);
            match block_on(store.delete(&path)).map_err(|e| storage_error(url, "deleting", e))? {
                Ok(()) | Err(sluice_storage::object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_error(&loc.url_of(&path), "deleting", e)),
            }
        }
        put(&loc, "_SUCCESS", Vec::new())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::Context;

    #[test]
    fn parts_then_success_and_a_rewrite_drops_extra_parts() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().join("out").display());
        let ctx = Context::local(2).unwrap();
        let rdd = ctx.parallelize(vec![1, 2, 3, 4], 3);
        rdd.save_as_text_objects(&url, false).unwrap();
        let names = |d: &std::path::Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            v.sort();
            v
        };
        let out = dir.path().join("out");
        assert_eq!(
            names(&out),
            ["_SUCCESS", "part-00000", "part-00001", "part-00002"]
        );
        assert_eq!(
            std::fs::read_to_string(out.join("part-00002")).unwrap(),
            "3\n4\n"
        );
        let e = rdd.save_as_text_objects(&url, false).unwrap_err();
        assert!(matches!(e, crate::Error::OutputExists(_)), "{e}");
        ctx.parallelize(vec![5], 1)
            .save_as_text_objects(&url, true)
            .unwrap();
        assert_eq!(names(&out), ["_SUCCESS", "part-00000"]);
        assert_eq!(
            std::fs::read_to_string(out.join("part-00000")).unwrap(),
            "5\n"
        );
    }
}
