//! [`ObjectStoreConfig`]: where an S3-compatible bucket is and how to sign in to it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[store]` table of a service that keeps chunks in an S3-compatible bucket (Garage,
/// MinIO, Ceph's RADOS Gateway, a cloud's S3). Every field says its default.
///
/// Credentials come, in this order, from `credentials_file`, from the environment
/// (`PACKYARD_STORE_ACCESS_KEY_ID` and `PACKYARD_STORE_SECRET_ACCESS_KEY`, or the usual
/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`), or from the two fields here (which put
/// a secret in the configuration file: for tests).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct ObjectStoreConfig {
    /// The store's S3 endpoint, `http://HOST:PORT` or `https://…`; several, separated by
    /// commas, for the nodes of a distributed store (Garage, Ceph), tried in turn when one
    /// fails. Empty for Amazon S3 itself (the region picks the endpoint). Default: empty.
    pub endpoint: String,
    /// The bucket. Required.
    pub bucket: String,
    /// The region requests are signed for; Garage's default is `garage`. Default:
    /// `us-east-1`.
    pub region: String,
    /// A key prefix, so several clusters can share one bucket. Default: none.
    pub prefix: String,
    /// A TOML file with `access_key_id` and `secret_access_key` (a Kubernetes Secret mounted
    /// as a file, say). Default: none.
    pub credentials_file: Option<PathBuf>,
    /// The access key id, when neither the file nor the environment gives one. Default: none.
    pub access_key_id: Option<String>,
    /// The secret access key, likewise. Default: none.
    pub secret_access_key: Option<String>,
    /// Address buckets as `BUCKET.HOST` instead of `HOST/BUCKET`. Default: false (path
    /// style, which every self-hosted store serves).
    pub virtual_hosted_style: bool,
    /// Seconds to wait for a connection to the store. Default: 5.
    pub connect_timeout_secs: u64,
    /// Seconds a request (with its retries) may take before the store counts as
    /// unavailable. Default: 30.
    pub request_timeout_secs: u64,
    /// How many times a failed request is retried. Default: 3.
    pub max_retries: usize,
    /// Seconds after which a chunk offered again is written again, so its write time (which
    /// garbage collection reads) is refreshed; younger chunks are not rewritten. Must be
    /// well under the garbage collection grace period. Default: 600.
    pub refresh_after_secs: u64,
    /// Chunks written together (an archive's, as processing cuts it) are grouped into
    /// segment objects of about this many bytes, so the store takes a few large writes rather
    /// than one small write per chunk. 1 MiB to 256 MiB. Default: 8 MiB.
    pub segment_bytes: u64,
}

impl Default for ObjectStoreConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            prefix: String::new(),
            credentials_file: None,
            access_key_id: None,
            secret_access_key: None,
            virtual_hosted_style: false,
            connect_timeout_secs: 5,
            request_timeout_secs: 30,
            max_retries: 3,
            refresh_after_secs: 600,
            segment_bytes: 8 << 20,
        }
    }
}

impl std::fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("ObjectStoreConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("credentials_file", &self.credentials_file)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A key pair to sign requests with.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

/// Why a store's configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreConfigError {
    /// A field is missing or wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as `store.NAME`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreConfigError {
    StoreConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl ObjectStoreConfig {
    /// Checks the fields that can be checked without the store.
    pub fn validate(&self) -> Result<(), StoreConfigError> {
        if self.bucket.is_empty() {
            return Err(invalid(
                "store.bucket",
                "required: the bucket chunks are kept in",
            ));
        }
        if let Some(bad) = self
            .endpoints()
            .into_iter()
            .find(|e| !e.starts_with("http://") && !e.starts_with("https://"))
        {
            return Err(invalid(
                "store.endpoint",
                format!("`{bad}` is not an http:// or https:// URL"),
            ));
        }
        if self.region.is_empty() {
            return Err(invalid("store.region", "required (Garage's is `garage`)"));
        }
        if self.request_timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return Err(invalid(
                "store.request_timeout_secs",
                "timeouts must be at least 1 second",
            ));
        }
        if !(1 << 20..=256 << 20).contains(&self.segment_bytes) {
            return Err(invalid(
                "store.segment_bytes",
                format!("{} is not between 1 MiB and 256 MiB", self.segment_bytes),
            ));
        }
        self.credentials().map(drop)
    }

    /// The endpoints `endpoint` lists, in order; none for Amazon S3 itself.
    pub fn endpoints(&self) -> Vec<&str> {
        self.endpoint
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect()
    }

    /// `s3 bucket B at ENDPOINT[/PREFIX]`, for errors and logs.
    pub fn describe(&self) -> String {
        let at = if self.endpoint.is_empty() {
            format!("region {}", self.region)
        } else {
            self.endpoint.clone()
        };
        let prefix = self.prefix.trim_matches('/');
        if prefix.is_empty() {
            format!("s3 bucket {} at {at}", self.bucket)
        } else {
            format!("s3 bucket {} at {at} (prefix {prefix})", self.bucket)
        }
    }

    /// The credentials, from the file, the environment or the fields (in that order).
    pub fn credentials(&self) -> Result<Credentials, StoreConfigError> {
        if let Some(path) = &self.credentials_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "store.credentials_file",
                    format!("reading {}: {e}", path.display()),
                )
            })?;
            return toml::from_str(&text).map_err(|e| {
                invalid(
                    "store.credentials_file",
                    format!(
                        "{}: {e}; it holds access_key_id = \"…\" and secret_access_key = \"…\"",
                        path.display()
                    ),
                )
            });
        }
        let env = |names: [&str; 2]| names.iter().find_map(|n| std::env::var(n).ok());
        let id = env(["PACKYARD_STORE_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"])
            .or_else(|| self.access_key_id.clone());
        let secret = env(["PACKYARD_STORE_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"])
            .or_else(|| self.secret_access_key.clone());
        match (id, secret) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
                access_key_id,
                secret_access_key,
            }),
            _ => Err(invalid(
                "store.credentials_file",
                "no credentials: set credentials_file, or PACKYARD_STORE_ACCESS_KEY_ID and \
                 PACKYARD_STORE_SECRET_ACCESS_KEY in the environment",
            )),
        }
    }
}
