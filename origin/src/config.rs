//! [`OriginConfig`]: everything an origin is told at start-up.
//!
//! One struct, filled from a TOML file, then flags (the CLI does that merging), then checked
//! once by [`OriginConfig::validate`] before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use packyard_net::cluster::{Addresses, ClusterTlsFiles};
use serde::{Deserialize, Serialize};

use packyard_chunk_store::ObjectStoreConfig;

use crate::chunk_service::ChunkServiceConfig;
use crate::ingest::ChunkingParams;

/// An origin's configuration. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct OriginConfig {
    /// This origin's id, stable across restarts; its cluster certificate names it
    /// (role `origin`). Default: `1`.
    pub origin_id: String,
    /// Where the origin keeps upload parts (`staging/`) and chunks (`store/`).
    /// Default: `./packyard-origin-data`.
    pub data_dir: PathBuf,
    /// Where the upload endpoint (HTTP) listens; the control plane's `api.origin_base_url`
    /// must lead here. Default: `127.0.0.1:7200`, which that setting's default names.
    pub upload_addr: SocketAddr,
    /// The upload endpoint's TLS certificate chain (PEM); with `upload_tls_key`, it speaks
    /// HTTPS instead of plain HTTP (point `api.origin_base_url` at `https://…`). Default:
    /// none.
    pub upload_tls_cert: Option<PathBuf>,
    /// The upload endpoint's TLS private key (PEM). Default: none.
    pub upload_tls_key: Option<PathBuf>,
    /// The upload listener's connection limits (the `[http]` table): connections at once,
    /// head and body deadlines (a part must keep arriving: 30 s of silence or 10 minutes
    /// in all fail it with 408), idle keep-alive time.
    pub http: packyard_net::http::HttpLimits,
    /// Where the `ChunkStore` gRPC service edges fetch chunks from listens.
    /// Default: `127.0.0.1:7201`.
    pub grpc_addr: SocketAddr,
    /// The gRPC addresses (`HOST:PORT`, their `raft_addr`) of the control-plane members: a
    /// string, a comma-separated string or an array. The origin follows the watch stream of
    /// one, asks it about upload files and reports processed versions to it, and moves to
    /// the next when it fails. Default: `127.0.0.1:7101`, the default `raft_addr` of
    /// `packyard control`.
    pub control_plane: Addresses,
    /// The average chunk size of content-defined chunking, in bytes: a power of two from
    /// 64 KiB to 1 MiB; chunks are cut between a quarter of it and four times it.
    /// Default: 65,536 (see `ChunkingParams`). Changing it changes the chunks of new
    /// versions only.
    pub chunk_avg_bytes: u32,
    /// How many versions are processed at once. Default: 1 (processing is bound by one
    /// core's hashing and the disk; a second would mostly wait).
    pub processing_concurrency: usize,
    /// How long the upload endpoint trusts the control plane's answer that a file still
    /// takes parts, in milliseconds, before asking again. Answers that it no longer does are
    /// kept, since a committed file never takes parts again. Default: 1,000.
    pub describe_cache_ms: u64,
    /// Where chunks and upload parts are kept (the `[store]` table): `kind = "disk"` under
    /// `data_dir`, or `kind = "s3"` in an S3-compatible bucket with the fields of
    /// [`ObjectStoreConfig`] (endpoint, bucket, region, credentials). With a bucket the
    /// origin's disk holds nothing that matters: any origin takes any part of any upload,
    /// processes it, and serves any chunk. Default: disk.
    pub store: StoreConfig,
    /// Garbage collection of chunks no kept version names (the `[gc]` table).
    pub gc: GcConfig,
    /// Limits of the chunk service edges fetch from (the `[chunk_service]` table).
    pub chunk_service: ChunkServiceConfig,
    /// The origin's mutual TLS for the control plane and its chunk service (the
    /// `[cluster_tls]` table): the cluster CA, this origin's certificate (role `origin`, id
    /// `origin_id`) and key. Required; default: none.
    pub cluster_tls: ClusterTlsFiles,
}

/// Where an origin keeps chunks and upload parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreConfig {
    /// On the origin's own disk, under `data_dir` (`store/` and `staging/`).
    #[default]
    Disk,
    /// In an S3-compatible bucket: chunks grouped into segments under `segments/`, parts
    /// under `staging/`.
    S3(Box<ObjectStoreConfig>),
}

/// When garbage collection runs and what it spares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct GcConfig {
    /// Seconds between collections. Default: 600 (10 minutes).
    pub interval_secs: u64,
    /// Seconds an unreferenced chunk is kept after it was last written, which protects the
    /// chunks of a version being processed (written before the control plane names them).
    /// Must be longer than processing the largest version takes. Default: 3,600 (1 hour).
    pub grace_secs: u64,
    /// Seconds between sweeps of the staging area, which removes the parts of uploads that
    /// will not be processed (expired reservations, failed versions). Default: 60.
    pub staging_sweep_secs: u64,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            interval_secs: 600,
            grace_secs: 3600,
            staging_sweep_secs: 60,
        }
    }
}

impl GcConfig {
    /// [`interval_secs`](Self::interval_secs) as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    /// [`grace_secs`](Self::grace_secs) as a duration.
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_secs)
    }
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            origin_id: "1".into(),
            data_dir: PathBuf::from("packyard-origin-data"),
            upload_addr: SocketAddr::from(([127, 0, 0, 1], 7200)),
            upload_tls_cert: None,
            upload_tls_key: None,
            http: packyard_net::http::HttpLimits {
                max_connections: 4096,
                ..packyard_net::http::HttpLimits::default()
            },
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 7201)),
            control_plane: Addresses::one("127.0.0.1:7101"),
            chunk_avg_bytes: ChunkingParams::default().avg(),
            processing_concurrency: 1,
            describe_cache_ms: 1000,
            store: StoreConfig::default(),
            gc: GcConfig::default(),
            chunk_service: ChunkServiceConfig::default(),
            cluster_tls: ClusterTlsFiles::default(),
        }
    }
}

pub use packyard_net::node::ConfigError;

impl OriginConfig {
    /// Reads a TOML configuration; fields left out keep their defaults, unknown fields are
    /// refused (a misspelled field must not be silently ignored).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File(e.to_string()))
    }

    /// The chunk size bounds [`chunk_avg_bytes`](Self::chunk_avg_bytes) gives.
    pub fn chunking(&self) -> Result<ChunkingParams, ConfigError> {
        ChunkingParams::with_avg(self.chunk_avg_bytes)
            .map_err(|e| ConfigError::invalid("chunk_avg_bytes", e))
    }

    /// Checks the whole configuration; the origin refuses to start with any error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.into(),
            })
        };
        if self.upload_tls_cert.is_some() != self.upload_tls_key.is_some() {
            return invalid(
                "upload_tls_cert",
                "upload_tls_cert and upload_tls_key go together (PEM files)",
            );
        }
        self.http
            .validate()
            .map_err(|reason| ConfigError::invalid("http", reason))?;
        // Port 0 asks for any free port, a different one for each listener.
        if self.upload_addr == self.grpc_addr && self.grpc_addr.port() != 0 {
            return invalid("grpc_addr", "must differ from upload_addr");
        }
        self.chunking()?;
        if self.processing_concurrency == 0 {
            return invalid("processing_concurrency", "must be at least 1");
        }
        if self.gc.interval_secs == 0 {
            return invalid("gc.interval_secs", "must be at least 1");
        }
        if self.gc.staging_sweep_secs == 0 {
            return invalid("gc.staging_sweep_secs", "must be at least 1");
        }
        if let StoreConfig::S3(store) = &self.store {
            store.validate().map_err(|e| match e {
                packyard_chunk_store::object::StoreConfigError::Invalid { field, reason } => {
                    ConfigError::Invalid { field, reason }
                }
            })?;
            if store.refresh_after_secs.saturating_mul(2) > self.gc.grace_secs {
                return invalid(
                    "store.refresh_after_secs",
                    "must be at most half of gc.grace_secs, so a chunk offered again is \
                     never older than the grace period",
                );
            }
        }
        packyard_net::cluster::Identity::new(
            packyard_net::cluster::NodeRole::Origin,
            self.origin_id.clone(),
        )
        .map_err(|e| ConfigError::invalid("origin_id", e))?;
        self.chunk_service
            .validate()
            .map_err(|e| ConfigError::invalid("chunk_service", e))?;
        self.cluster_tls
            .validate()
            .map_err(|reason| ConfigError::invalid("cluster_tls", reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tls(mut c: OriginConfig) -> OriginConfig {
        c.cluster_tls = ClusterTlsFiles::in_dir(std::path::Path::new("/etc/packyard"), "origin-1");
        c
    }

    #[test]
    fn defaults_are_valid_and_a_file_overrides_only_what_it_names() {
        with_tls(OriginConfig::default()).validate().unwrap();
        let c = OriginConfig::from_toml(
            "control_plane = [\"cp-1.internal:7101\", \"cp-2.internal:7101\"]\n[gc]\ngrace_secs = 60\n",
        )
        .unwrap();
        assert_eq!(
            c.control_plane.to_string(),
            "cp-1.internal:7101,cp-2.internal:7101"
        );
        assert_eq!(c.gc.grace_secs, 60);
        assert_eq!(c.gc.interval_secs, 600);
        assert_eq!(c.chunking().unwrap(), ChunkingParams::default());
        with_tls(c).validate().unwrap();
    }

    #[test]
    fn a_store_table_picks_a_bucket_and_names_a_misspelled_field() {
        let c = OriginConfig::from_toml(
            "[store]\nkind = \"s3\"\nendpoint = \"http://garage-1:3900\"\nbucket = \"packs\"\n\
             region = \"garage\"\ncredentials_file = \"/run/secrets/s3.toml\"\n",
        )
        .unwrap();
        let StoreConfig::S3(store) = &c.store else {
            panic!("expected an s3 store, got {:?}", c.store);
        };
        assert_eq!(
            (store.bucket.as_str(), store.region.as_str()),
            ("packs", "garage")
        );
        let err = OriginConfig::from_toml("[store]\nkind = \"s3\"\nbuckett = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("buckett"), "{err}");
        let err = OriginConfig::from_toml("[store]\nkind = \"nfs\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nfs"), "{err}");
    }

    #[test]
    fn a_misspelled_field_is_refused() {
        let err = OriginConfig::from_toml("uplaod_addr = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.to_string().contains("uplaod_addr"), "{err}");
        let err = OriginConfig::from_toml("control_plane = \"cp-1:7101,nohost\"").unwrap_err();
        assert!(
            err.to_string().contains("\"nohost\" is not HOST:PORT"),
            "{err}"
        );
    }

    #[test]
    fn validate_names_the_field() {
        type Breaker = fn(&mut OriginConfig);
        let cases: [(Breaker, &str); 7] = [
            (|c| c.origin_id = "a b".into(), "origin_id:"),
            (|c| c.cluster_tls.ca_file = None, "cluster_tls:"),
            (|c| c.grpc_addr = c.upload_addr, "grpc_addr:"),
            (|c| c.chunk_avg_bytes = 1000, "chunk_avg_bytes:"),
            (|c| c.processing_concurrency = 0, "processing_concurrency:"),
            (|c| c.gc.interval_secs = 0, "gc.interval_secs:"),
            (
                |c| c.store = StoreConfig::S3(Box::default()),
                "store.bucket:",
            ),
        ];
        for (break_it, field) in cases {
            let mut c = with_tls(OriginConfig::default());
            break_it(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
    }
}
