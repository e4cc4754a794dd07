//! `save_as_text_file`: one `part-NNNNN` file per partition plus `_SUCCESS`, as Spark writes.
//!
//! The files are written into a hidden temporary directory beside the target, which is then
//! renamed into place: a reader sees either no directory or the complete result. An existing
//! target is an error, as in Spark. A `file://` URL is a path; other URLs (`s3://...`) are
//! written into object storage with the `object-store` feature (`rdd/save_object.rs`: parts,
//! then `_SUCCESS`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Rdd;
use crate::data::{Data, ToText};
use crate::error::{Error, Result};

impl<T: Data + ToText> Rdd<T> {
    /// Writes the records as lines of text (see [`ToText`]) into directory `path`.
    ///
    /// ```
    /// use sluice_core::Context;
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("out");
    /// let ctx = Context::local(2).unwrap();
    /// ctx.parallelize(vec![("a", 1), ("b", 2)], 2).save_as_text_file(&out).unwrap();
    /// assert_eq!(std::fs::read_to_string(out.join("part-00000")).unwrap(), "(a,1)\n");
    /// assert!(out.join("_SUCCESS").exists());
    /// ```
    pub fn save_as_text_file(&self, path: impl AsRef<Path>) -> Result<()> {
        if let Some(url) = object_url(path.as_ref()) {
            return self.save_to_object_store(&url, false);
        }
        let target = local_path(path.as_ref());
        if target.exists() {
            return Err(Error::OutputExists(target));
        }
        let tmp = temp_sibling(&target)?;
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating directory", &tmp, e))?;
        let result = self.write_parts(&tmp).and_then(|()| {
            let ok = tmp.join("_SUCCESS");
            std::fs::File::create(&ok).map_err(|e| Error::io("creating", &ok, e))?;
            if target.exists() {
                return Err(Error::OutputExists(target.clone()));
            }
            std::fs::rename(&tmp, &target).map_err(|e| Error::io("renaming into", &target, e))
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// Like [`save_as_text_file`](Rdd::save_as_text_file), but replaces an existing directory:
    /// the new result is written completely first, then swapped in (the old one is renamed
    /// away and removed). Writing the same data twice gives the same directory, so a re-run
    /// batch rewrites its output idempotently.
    pub fn save_as_text_file_replacing(&self, path: impl AsRef<Path>) -> Result<()> {
        if let Some(url) = object_url(path.as_ref()) {
            return self.save_to_object_store(&url, true);
        }
        let target = local_path(path.as_ref());
        let tmp = temp_sibling(&target)?;
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating directory", &tmp, e))?;
        let result = self.write_parts(&tmp).and_then(|()| {
            let ok = tmp.join("_SUCCESS");
            std::fs::File::create(&ok).map_err(|e| Error::io("creating", &ok, e))?;
            if target.exists() {
                let old = temp_sibling(&target)?;
                std::fs::rename(&target, &old)
                    .map_err(|e| Error::io("moving aside", &target, e))?;
                let r = std::fs::rename(&tmp, &target)
                    .map_err(|e| Error::io("renaming into", &target, e));
                let _ = std::fs::remove_dir_all(&old);
                r
            } else {
                std::fs::rename(&tmp, &target).map_err(|e| Error::io("renaming into", &target, e))
            }
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    #[cfg(feature = "object-store")]
    fn save_to_object_store(&self, url: &str, replace: bool) -> Result<()> {
        self.save_as_text_objects(url, replace)
    }

    #[cfg(not(feature = "object-store"))]
    fn save_to_object_store(&self, url: &str, _: bool) -> Result<()> {
        Err(Error::InvalidArgument(format!(
            "{url}: writing object storage needs the `object-store` feature of sluice-core (the \
             facade's `tables` feature, with `s3` for s3:// URLs)"
        )))
    }

    fn write_parts(&self, dir: &Path) -> Result<()> {
        let dir = dir.to_path_buf();
        self.run_job(move |it, tc| {
            let path = dir.join(format!("part-{:05}", tc.partition));
            let file = std::fs::File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            let mut line = String::new();
            for chunk in it {
                for x in chunk? {
                    line.clear();
                    x.write_text(&mut line);
                    line.push('\n');
                    w.write_all(line.as_bytes())
                        .map_err(|e| Error::io("writing", &path, e))?;
                }
            }
            let file = w
                .into_inner()
                .map_err(|e| Error::io("writing", &path, e.into_error()))?;
            file.sync_all()
                .map_err(|e| Error::io("syncing", &path, e))?;
            Ok(())
        })?;
        Ok(())
    }
}

/// The URL of an output in object storage (`s3://...`); `None` for a local path or `file://`.
pub(crate) fn object_url(path: &Path) -> Option<String> {
    let text = path.to_string_lossy();
    (!text.starts_with("file://") && text.contains("://")).then(|| text.to_string())
}

/// A local output path, with a `file://` scheme removed.
fn local_path(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    match text.strip_prefix("file://") {
        Some(rest) => PathBuf::from(rest),
        None => path.to_path_buf(),
    }
}

/// A unique hidden directory next to `target`, on the same file system (so rename is atomic).
pub(crate) fn temp_sibling(target: &Path) -> Result<PathBuf> {
    let name = target
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("output path {target:?} has no name")))?;
    let parent = target.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    if !parent.exists() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("creating directory", parent, e))?;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(parent.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        nanos
    )))
}

/// Whether `name` is a temporary left by [`temp_sibling`] for a target whose name starts with
/// `target_prefix`, made by a process other than this one; returns that process's id.
fn foreign_temporary(name: &str, target_prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_prefix(target_prefix)?;
    let (_, tail) = rest.rsplit_once(".tmp-")?;
    let (pid, _nanos) = tail.split_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    (pid != std::process::id()).then_some(pid)
}

/// Removes the temporary directories (and files) that a killed process left in `dir` while
/// writing outputs whose names start with `target_prefix` (see
/// [`Rdd::save_as_text_file_replacing`]). A temporary of a process that is still running is
/// kept. Returns how many were removed.
///
/// ```
/// use sluice_core::internals::remove_stale_temporaries;
/// let dir = tempfile::tempdir().unwrap();
/// // Left by a process that no longer exists (pid 0 is never a user process).
/// std::fs::create_dir(dir.path().join(".out-1000.tmp-0-123")).unwrap();
/// std::fs::create_dir(dir.path().join("out-1000")).unwrap();
/// assert_eq!(remove_stale_temporaries(dir.path(), "out-").unwrap(), 1);
/// assert!(dir.path().join("out-1000").exists());
/// ```
pub fn remove_stale_temporaries(dir: &Path, target_prefix: &str) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io("listing", dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = foreign_temporary(&name, target_prefix) else {
            continue;
        };
        if pid != 0 && Path::new(&format!("/proc/{pid}")).exists() {
            continue; // its writer is alive (another job writing next to ours)
        }
        let path = entry.path();
        let r = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        r.map_err(|e| Error::io("removing stale temporary", &path, e))?;
        removed += 1;
    }
    Ok(removed)
}
