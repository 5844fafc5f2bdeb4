//! [`ApiConfig`]: the admin API's settings, each with its default.

use crate::clock::Clock;

/// How the admin API serves, and how long edges it shows stay up without a heartbeat. Build it with [`ApiConfig::new`] (or read it as the `[api]`
/// table of a node's configuration file) and check it with [`ApiConfig::validate`] at
/// start-up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Base URL of the origin that receives upload parts, without a trailing slash, for
    /// example `https://origin.example.com`. Upload operations point at
    /// `{origin_base_url}/v1/uploads/{uploadFileId}/parts/{partNumber}`.
    /// Default: `http://127.0.0.1:7200`, the origin of `packyard dev`.
    pub origin_base_url: String,
    /// Bytes per upload part. Default 8 MiB.
    pub upload_part_bytes: u64,
    /// Largest request body accepted; larger ones get 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// How long an edge stays UP without a heartbeat, in milliseconds. Edges are told it when
    /// they register and heartbeat every third of it; `GET /v1/edges` shows an edge DOWN
    /// once its last heartbeat is older. At least 100. Default: 30 000 (30 s).
    pub edge_lease_ms: u32,
    /// Seconds an upload file may stay reserved and uncommitted; then its version fails
    /// with `UPLOAD_EXPIRED`, the quota it held is free and the origin removes its parts.
    /// A version whose files are all committed but none of them the archive fails the same
    /// way this long after its newest reservation. The signed URLs of an upload file last as
    /// long as its reservation. At least 1. Default: 86,400 (a day).
    pub upload_expiry_secs: u64,
    /// Seconds a version may stay PROCESSING after its upload's commit before it fails with
    /// `PROCESSING_EXPIRED` (an origin that never reports), freeing its quota and staged
    /// parts. Give a slow origin room: keep it well above the time the largest archive takes
    /// to process behind a queue. At least 1. Default: 172,800 (two days).
    pub processing_expiry_secs: u64,
    /// Whether a webhook URL may name an internal address (loopback, link-local, private):
    /// copied from `[webhooks] allow_private_addresses` by the node, not read from `[api]`.
    #[serde(skip)]
    pub allow_private_webhook_targets: bool,
    /// The clock requests are stamped by and edges' leases are judged by: the node's clock,
    /// copied by the node, not read from `[api]`. Default: the system clock.
    #[serde(skip)]
    pub clock: Clock,
    /// The admin listener's connection limits (the `[api.http]` table): connections at
    /// once, head and body deadlines, idle keep-alive time. Default: as
    /// [`packyard_net::http::HttpLimits`] says, with bodies due within 30 s (admin bodies
    /// are small JSON documents).
    pub http: packyard_net::http::HttpLimits,
}

/// Why an [`ApiConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiConfigError {
    /// The origin URL is not an http(s) URL.
    #[error("origin_base_url {0:?} must start with http:// or https://")]
    OriginUrl(String),
    /// A size is zero.
    #[error("{0} is 0; it must be at least 1")]
    Zero(&'static str),
    /// The edge lease is too short for edges to heartbeat three times within it.
    #[error("edge_lease_ms is {0}; it must be at least 100")]
    EdgeLease(u32),
    /// A connection limit cannot work.
    #[error("http.{0}")]
    Http(String),
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self::new("http://127.0.0.1:7200")
    }
}

impl ApiConfig {
    /// The defaults, with uploads going to `origin_base_url`.
    pub fn new(origin_base_url: impl Into<String>) -> Self {
        Self {
            origin_base_url: origin_base_url.into().trim_end_matches('/').to_owned(),
            upload_part_bytes: 8 * 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            edge_lease_ms: 30_000,
            upload_expiry_secs: 86_400,
            processing_expiry_secs: 172_800,
            allow_private_webhook_targets: false,
            clock: Clock::System,
            http: packyard_net::http::HttpLimits {
                max_connections: 4096,
                body_read_timeout_ms: 30_000,
                body_idle_timeout_ms: 10_000,
                ..packyard_net::http::HttpLimits::default()
            },
        }
    }

    /// Checks the settings at start-up.
    pub fn validate(&self) -> Result<(), ApiConfigError> {
        let url = &self.origin_base_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiConfigError::OriginUrl(url.clone()));
        }
        if self.upload_part_bytes == 0 {
            return Err(ApiConfigError::Zero("upload_part_bytes"));
        }
        if self.max_body_bytes == 0 {
            return Err(ApiConfigError::Zero("max_body_bytes"));
        }
        if self.upload_expiry_secs == 0 {
            return Err(ApiConfigError::Zero("upload_expiry_secs"));
        }
        if self.processing_expiry_secs == 0 {
            return Err(ApiConfigError::Zero("processing_expiry_secs"));
        }
        if self.edge_lease_ms < 100 {
            return Err(ApiConfigError::EdgeLease(self.edge_lease_ms));
        }
        self.http.validate().map_err(ApiConfigError::Http)
    }

    /// The upload deadlines in force, as the catalog judges them.
    pub fn upload_deadlines(&self) -> packyard_core::upload_expiry::Deadlines {
        packyard_core::upload_expiry::Deadlines {
            reservation_ms: self.upload_expiry_secs.saturating_mul(1000),
            processing_ms: self.processing_expiry_secs.saturating_mul(1000),
        }
    }
}
