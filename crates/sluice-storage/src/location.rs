//! Where a table lives: a local path (`/data/out`, `file:///data/out`) or an object-store URL
//! (`s3://bucket/prefix`, with the `s3` feature), resolved to an [`ObjectStore`] and a root
//! path inside it.
//!
//! S3 takes its credentials, region and endpoint from the standard AWS environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`), and, for what they leave unset, from the shared
//! files `~/.aws/credentials` and `~/.aws/config` (profile `AWS_PROFILE`, default `default`).
//! An `http://` endpoint (an S3-compatible server) is allowed. Requests are retried with
//! exponential backoff by the store (up to `retries` times, see [`Location::with_retries`]).

use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;

use crate::error::{Result, StorageError};

/// A directory of a table in some storage.
#[derive(Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// `file` or `s3`.
    scheme: &'static str,
    /// The bucket, for object stores.
    bucket: String,
    /// The location as the user gave it.
    given: String,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Location")
            .field("url", &self.given)
            .finish()
    }
}

impl Location {
    /// Resolves a local path or a URL.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let loc = sluice_storage::Location::parse(dir.path().to_str().unwrap()).unwrap();
    /// assert!(loc.url_of(&loc.child("a/b.parquet")).starts_with("file:/"));
    /// ```
    pub fn parse(url: &str) -> Result<Location> {
        Self::parse_with(url, 10, true)
    }

    /// Resolves a location that must exist already (to read from): a local directory that is
    /// missing is an error, not created.
    pub fn existing(url: &str) -> Result<Location> {
        Self::parse_with(url, 10, false)
    }

    /// Like [`Location::parse`], retrying each failed request up to `retries` times with
    /// exponential backoff (object stores only).
    pub fn with_retries(url: &str, retries: usize) -> Result<Location> {
        Self::parse_with(url, retries, true)
    }

    fn parse_with(url: &str, retries: usize, create: bool) -> Result<Location> {
        let bad = |reason: String| StorageError::Location {
            url: url.to_string(),
            reason,
        };
        if let Some(rest) = url
            .strip_prefix("s3://")
            .or_else(|| url.strip_prefix("s3a://"))
        {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket in the URL".into()));
            }
            let store = s3_store(bucket, retries).map_err(bad)?;
            return Ok(Location {
                store,
                root: Path::from(prefix.trim_end_matches('/')),
                scheme: "s3",
                bucket: bucket.to_string(),
                given: url.to_string(),
            });
        }
        for (schemes, scheme) in [(&["az://", "azure://"][..], "az"), (&["gs://"][..], "gs")] {
            let Some(rest) = schemes.iter().find_map(|s| url.strip_prefix(s)) else {
                continue;
            };
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad(format!(
                    "no {} in the URL",
                    match scheme {
                        "az" => "container",
                        _ => "bucket",
                    }
                )));
            }
            let store = match scheme {
                "az" => azure_store(bucket, retries),
                _ => gcs_store(bucket, retries),
            }
            .map_err(bad)?;
            return Ok(Location {
                store,
                root: Path::from(prefix.trim_end_matches('/')),
                scheme,
                bucket: bucket.to_string(),
                given: url.to_string(),
            });
        }
        let local = if let Some(rest) = url.strip_prefix("file://") {
            rest.to_string()
        } else if let Some(rest) = url.strip_prefix("file:") {
            rest.to_string()
        } else if url.contains("://") {
            return Err(bad(
                "unsupported scheme (supported: a local path, file://, s3:// with the `s3` feature, \
                 az:// with `azure`, gs:// with `gcs`)"
                    .into(),
            ));
        } else {
            url.to_string()
        };
        if local.is_empty() {
            return Err(bad("empty path".into()));
        }
        let abs = std::path::absolute(&local).map_err(|e| bad(e.to_string()))?;
        if create {
            std::fs::create_dir_all(&abs)
                .map_err(|e| bad(format!("creating the directory: {e}")))?;
        } else if !abs.is_dir() {
            return Err(bad("no such directory".into()));
        }
        let abs = abs
            .canonicalize()
            .map_err(|e| bad(format!("resolving the directory: {e}")))?;
        let root = Path::from_absolute_path(&abs).map_err(|e| bad(e.to_string()))?;
        Ok(Location {
            store: Arc::new(object_store::local::LocalFileSystem::new()),
            root,
            scheme: "file",
            bucket: String::new(),
            given: url.to_string(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The table's root inside the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `relative` (slash-separated) under the root.
    pub fn child(&self, relative: &str) -> Path {
        let mut p = self.root.clone();
        for part in relative.split('/').filter(|s| !s.is_empty()) {
            p = p.join(part);
        }
        p
    }

    /// The part of `path` under the root (`None` if it is not under it).
    pub fn relative<'a>(&self, path: &'a Path) -> Option<Vec<object_store::path::PathPart<'a>>> {
        path.prefix_match(&self.root).map(|parts| parts.collect())
    }

    /// The fully qualified URL of an object, as Spark writes paths in its logs: `file:/abs/path`
    /// locally, `s3a://bucket/key` on S3 (the scheme of Hadoop's S3 connector, with which Spark
    /// reads S3).
    pub fn url_of(&self, path: &Path) -> String {
        match self.scheme {
            "s3" => format!("s3a://{}/{}", self.bucket, path),
            "file" => format!("file:/{path}"),
            other => format!("{other}://{}/{}", self.bucket, path),
        }
    }

    /// The path in the store of a URL written by [`Location::url_of`] (`None` for a URL of
    /// another store).
    pub fn path_of_url(&self, url: &str) -> Option<Path> {
        let rest = match self.scheme {
            "s3" => url
                .strip_prefix("s3a://")
                .or_else(|| url.strip_prefix("s3://"))?
                .strip_prefix(self.bucket.as_str())?
                .strip_prefix('/')?,
            "az" | "gs" => url
                .strip_prefix(self.scheme)?
                .strip_prefix("://")?
                .strip_prefix(self.bucket.as_str())?
                .strip_prefix('/')?,
            _ => url
                .strip_prefix("file://")
                .or_else(|| url.strip_prefix("file:"))?
                .trim_start_matches('/'),
        };
        Path::parse(rest).ok()
    }

    /// The store, rooted at its root (the file system's `/`, the bucket).
    pub fn root_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// The table's URL: `file:///abs/dir/` or `s3://bucket/prefix/`.
    pub fn table_url(&self) -> Result<url::Url> {
        let text = match self.scheme {
            "file" => format!("file:///{}/", self.root),
            other => format!("{other}://{}/{}/", self.bucket, self.root),
        };
        url::Url::parse(&text).map_err(|e| StorageError::Location {
            url: self.given.clone(),
            reason: e.to_string(),
        })
    }

    /// Whether this is an object store (no directories) rather than a file system.
    pub fn is_object_store(&self) -> bool {
        self.scheme != "file"
    }

    /// The location as given.
    pub fn as_str(&self) -> &str {
        &self.given
    }
}

#[cfg(feature = "s3")]
fn s3_store(bucket: &str, retries: usize) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in crate::aws_files::settings() {
        if std::env::var_os(key.env_name()).is_none() {
            b = b.with_config(key.config_key(), value);
        }
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .ok();
    if let Some(e) = &endpoint {
        if e.starts_with("http://") {
            b = b.with_allow_http(true);
        }
        // S3-compatible servers are addressed by path (`http://host/bucket/key`).
        b = b.with_config(AmazonS3ConfigKey::VirtualHostedStyleRequest, "false");
    }
    b.with_retry(retry_config(retries))
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "s3"))]
fn s3_store(_bucket: &str, _retries: usize) -> Result<Arc<dyn ObjectStore>, String> {
    Err("S3 needs the `s3` feature (of sluice-storage, or the facade's `s3`)".into())
}

/// An Azure Blob Storage container, configured from the `AZURE_*` environment variables
/// (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, ...; with
/// `AZURE_STORAGE_USE_EMULATOR=true`, Azurite at `AZURITE_BLOB_STORAGE_URL`).
#[cfg(feature = "azure")]
fn azure_store(container: &str, retries: usize) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::azure::MicrosoftAzureBuilder;
    MicrosoftAzureBuilder::from_env()
        .with_container_name(container)
        .with_retry(retry_config(retries))
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "azure"))]
fn azure_store(_container: &str, _retries: usize) -> Result<Arc<dyn ObjectStore>, String> {
    Err(
        "Azure Blob Storage needs the `azure` feature (of sluice-storage, or the facade's `azure`)"
            .into(),
    )
}

/// A Google Cloud Storage bucket, configured from the `GOOGLE_*` environment variables
/// (`GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`, ...).
#[cfg(feature = "gcs")]
fn gcs_store(bucket: &str, retries: usize) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::gcp::GoogleCloudStorageBuilder;
    GoogleCloudStorageBuilder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry_config(retries))
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "gcs"))]
fn gcs_store(_bucket: &str, _retries: usize) -> Result<Arc<dyn ObjectStore>, String> {
    Err(
        "Google Cloud Storage needs the `gcs` feature (of sluice-storage, or the facade's `gcs`)"
            .into(),
    )
}

/// Up to `retries` retries with the store's exponential backoff.
#[cfg(any(feature = "s3", feature = "azure", feature = "gcs"))]
fn retry_config(retries: usize) -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: retries,
        ..Default::default()
    }
}
