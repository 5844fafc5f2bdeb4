//! [`EdgeConfig`]: everything an edge is told at start-up.
//!
//! One struct, filled from a TOML file, then flags (the CLI does that merging), then checked
//! once by [`EdgeConfig::validate`] before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use packyard_core::device_manifest::DEFAULT_LOCALIZATION_MIN_OS;
use packyard_core::http_range::RangeLimits;
use packyard_net::cluster::Addresses;
use serde::{Deserialize, Serialize};

use crate::http::HttpLimits;

/// An edge's configuration. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct EdgeConfig {
    /// Where the edge keeps its disk cache (`cache/`). Default: `./packyard-edge-data`.
    pub data_dir: PathBuf,
    /// The plain-HTTP listener. Default: `127.0.0.1:7300`.
    pub http_addr: SocketAddr,
    /// The TLS listener, if any; needs `tls_cert` and `tls_key`. Default: none.
    pub https_addr: Option<SocketAddr>,
    /// The certificate chain (PEM) of the TLS listener. Default: none.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of the TLS listener. Default: none.
    pub tls_key: Option<PathBuf>,
    /// This edge's id, stable across restarts. Default: `edge-1`.
    pub edge_id: String,
    /// The region the edge serves (rollouts, issue 07). Default: `default`.
    pub region: String,
    /// Where devices reach this edge (`http://…`, `https://…`, no trailing slash); manifests
    /// point there. Default: none, which means `http://{http_addr}` (and
    /// `https://{https_addr}` when TLS is on).
    pub public_urls: Vec<String>,
    /// The gRPC addresses (`HOST:PORT`, their `raft_addr`) of the control-plane members: a
    /// string, a comma-separated string or an array. The edge follows one and moves to the
    /// next when it fails. Default: `127.0.0.1:7101`.
    pub control_plane: Addresses,
    /// The gRPC addresses of the origins' chunk services (`HOST:PORT`), written like
    /// `control_plane`; chunks are fetched from one, and from the next when it fails.
    /// Default: `127.0.0.1:7201`.
    pub origin: Addresses,
    /// Bytes of chunks held in memory. Default: 268,435,456 (256 MiB).
    pub cache_memory_bytes: u64,
    /// Bytes of chunk files kept on disk under `data_dir/cache`; 0 turns the disk tier off.
    /// Default: 10,737,418,240 (10 GiB).
    pub cache_disk_bytes: u64,
    /// Chunks the prefetcher fetches at once. Default: 8.
    pub prefetch_concurrency: usize,
    /// Devices below this OS major version get no localized packs (R10). Default: 27.
    pub localization_min_os: u32,
    /// Limits on `Range` (the `[ranges]` table).
    pub ranges: RangeLimits,
    /// Connection limits (the `[http]` table).
    pub http: HttpLimits,
    /// A listener of its own for `/metrics`, `/healthz` and `/readyz`, for the monitoring
    /// network. When set, the device listeners no longer answer `/metrics` (404). Default:
    /// none, and `/metrics` is on the device listeners.
    pub metrics_addr: Option<SocketAddr>,
    /// A file the edge appends one JSON line per device request to (time, method, path
    /// without its query, endpoint, status, bytes, microseconds to the response head, range,
    /// scheme), written off the request path. Default: none.
    pub access_log: Option<PathBuf>,
    /// The longest tester token lifetime (`exp - iat`) this edge accepts, in seconds: a
    /// token signed to live longer is refused (401) even if the control plane signed it.
    /// Default: 7776000 (90 days, the most the control plane issues).
    pub max_token_lifetime_secs: u64,
    /// The edge's mutual TLS for the control plane and the origin (the `[cluster_tls]`
    /// table): the cluster CA, this edge's certificate (role `edge`, id `edge_id`) and key.
    /// Required; default: none.
    pub cluster_tls: packyard_net::cluster::ClusterTlsFiles,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("packyard-edge-data"),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 7300)),
            https_addr: None,
            tls_cert: None,
            tls_key: None,
            edge_id: "edge-1".into(),
            region: "default".into(),
            public_urls: Vec::new(),
            control_plane: Addresses::one("127.0.0.1:7101"),
            origin: Addresses::one("127.0.0.1:7201"),
            cache_memory_bytes: 256 << 20,
            cache_disk_bytes: 10 << 30,
            prefetch_concurrency: 8,
            localization_min_os: DEFAULT_LOCALIZATION_MIN_OS,
            ranges: RangeLimits::default(),
            http: HttpLimits::default(),
            max_token_lifetime_secs: packyard_core::tester_token::MAX_LIFETIME_SECS,
            access_log: None,
            metrics_addr: None,
            cluster_tls: packyard_net::cluster::ClusterTlsFiles::default(),
        }
    }
}

pub use packyard_net::node::ConfigError;

impl EdgeConfig {
    /// Reads a TOML configuration; fields left out keep their defaults, unknown fields are
    /// refused.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File(e.to_string()))
    }

    /// The public URLs, defaults filled in.
    pub fn effective_public_urls(&self) -> Vec<String> {
        if !self.public_urls.is_empty() {
            return self
                .public_urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect();
        }
        let mut urls = vec![format!("http://{}", self.http_addr)];
        if let Some(https) = self.https_addr {
            urls.push(format!("https://{https}"));
        }
        urls
    }

    /// Checks the whole configuration; the edge refuses to start with any error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.into(),
            })
        };
        packyard_net::cluster::Identity::new(
            packyard_net::cluster::NodeRole::Edge,
            self.edge_id.clone(),
        )
        .map_err(|e| ConfigError::invalid("edge_id", e))?;
        match (self.https_addr, &self.tls_cert, &self.tls_key) {
            (None, None, None) | (Some(_), Some(_), Some(_)) => {}
            (Some(_), _, _) => {
                return invalid("https_addr", "needs tls_cert and tls_key (PEM files)");
            }
            (None, _, _) => {
                return invalid("tls_cert", "tls_cert and tls_key need https_addr");
            }
        }
        if self.max_token_lifetime_secs == 0 {
            return invalid(
                "max_token_lifetime_secs",
                "is 0, which refuses every tester token; give seconds, at most 7776000 (90 days)",
            );
        }
        // Port 0 asks for any free port, a different one for each listener.
        if self.https_addr == Some(self.http_addr) && self.http_addr.port() != 0 {
            return invalid("https_addr", "must differ from http_addr");
        }
        if let Some(bad) = self
            .public_urls
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return invalid(
                "public_urls",
                &format!("{bad:?} must start with http:// or https://"),
            );
        }
        if self.cache_memory_bytes == 0 {
            return invalid("cache_memory_bytes", "must be at least 1");
        }
        if self.prefetch_concurrency == 0 {
            return invalid("prefetch_concurrency", "must be at least 1");
        }
        self.ranges
            .validate()
            .map_err(|e| ConfigError::invalid("ranges", e))?;
        self.http
            .validate()
            .map_err(|reason| ConfigError::invalid("http", reason))?;
        self.cluster_tls
            .validate()
            .map_err(|reason| ConfigError::invalid("cluster_tls", reason))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with_tls(mut c: EdgeConfig) -> EdgeConfig {
        c.cluster_tls = packyard_net::cluster::ClusterTlsFiles::in_dir(
            std::path::Path::new("/etc/packyard"),
            "edge-edge-1",
        );
        c
    }

    #[test]
    fn defaults_are_valid_and_a_file_overrides_only_what_it_names() {
        with_tls(EdgeConfig::default()).validate().unwrap();
        let c = EdgeConfig::from_toml(
            "edge_id = \"eu-1\"\nregion = \"eu\"\n[http]\nmax_connections = 5\n[ranges]\nmax_ranges = 4\n",
        )
        .unwrap();
        assert_eq!(c.edge_id, "eu-1");
        assert_eq!(c.http.max_connections, 5);
        assert_eq!(c.http.idle_timeout_ms, 60_000);
        assert_eq!(c.ranges.max_ranges, 4);
        with_tls(c.clone()).validate().unwrap();
        assert_eq!(c.effective_public_urls(), ["http://127.0.0.1:7300"]);
    }

    #[test]
    fn a_misspelled_field_is_refused() {
        let err = EdgeConfig::from_toml("edge_idd = \"x\"").unwrap_err();
        assert!(err.to_string().contains("edge_idd"), "{err}");
        let err = EdgeConfig::from_toml("origin = [\"origin-1:7201\", \":1\"]").unwrap_err();
        assert!(err.to_string().contains("\":1\" is not HOST:PORT"), "{err}");
    }

    #[test]
    fn validate_names_the_field() {
        type Breaker = fn(&mut EdgeConfig);
        let cases: [(Breaker, &str); 7] = [
            (|c| c.edge_id = "eu/1".into(), "edge_id:"),
            (|c| c.cluster_tls.key_file = None, "cluster_tls:"),
            (|c| c.https_addr = Some(c.http_addr), "https_addr:"),
            (|c| c.tls_cert = Some("c.pem".into()), "tls_cert:"),
            (
                |c| c.public_urls = vec!["edge.example".into()],
                "public_urls:",
            ),
            (|c| c.ranges.max_ranges = 0, "ranges:"),
            (|c| c.http.max_header_bytes = 10, "http:"),
        ];
        for (break_it, field) in cases {
            let mut c = with_tls(EdgeConfig::default());
            break_it(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
    }
}
