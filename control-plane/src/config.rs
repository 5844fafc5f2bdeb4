//! [`ControlConfig`]: everything a control-plane node is told at start-up.
//!
//! One struct, filled from a TOML file, then flags and environment (the CLI does that
//! merging), then checked once by [`ControlConfig::validate`] before anything starts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use packyard_core::quota::QuotaLimits;
use packyard_net::cluster::ClusterTlsFiles;

use crate::api::ApiConfig;
use crate::raft::RaftSettings;
use crate::webhook::DelivererConfig;
use serde::{Deserialize, Serialize};

/// A control-plane node's configuration. Every field says its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct ControlConfig {
    /// This node's id in the cluster, 1 or more. Default: 1.
    pub id: u64,
    /// Where the node keeps its RocksDB data (Raft log, snapshots) and its bootstrap key.
    /// Default: `./packyard-data`.
    pub data_dir: PathBuf,
    /// Where the node listens for Raft gRPC from its peers. Default: `127.0.0.1:7101`.
    pub raft_addr: SocketAddr,
    /// Where the node serves the admin API and `/metrics`. Default: `127.0.0.1:7100`.
    pub admin_addr: SocketAddr,
    /// The admin API's TLS certificate chain (PEM); with `admin_tls_key`, the admin API
    /// speaks HTTPS (HTTP/2 through ALPN) instead of plain HTTP. Default: none.
    pub admin_tls_cert: Option<PathBuf>,
    /// The admin API's TLS private key (PEM). Default: none.
    pub admin_tls_key: Option<PathBuf>,
    /// The voters a fresh cluster starts with, node id to Raft address (`host:port`). Nodes
    /// started with the same peers form the cluster on first start; empty means a cluster of
    /// this node alone (unless `join` is set). Default: empty.
    pub peers: BTreeMap<u64, String>,
    /// Start without forming a cluster and wait to be added to an existing one with
    /// `packyard cluster join`. Default: false.
    pub join: bool,
    /// Per-app limits (rule R9) and what users may create (rule R14), the `[quota]` table.
    /// Default: 100 packs, 200 GB, 8 GB per file, warn at 80 %; 25 apps per Account Holder,
    /// 10,000 users, names of 256 bytes, reasons of 8 KiB. The leader writes its own into the
    /// catalog, so give every node the same table.
    pub quota: QuotaLimits,
    /// Raft timing and snapshots (the `[raft]` table): heartbeat 250 ms, election timeout
    /// 1 to 2 s, a snapshot every 50,000 entries.
    pub raft: RaftSettings,
    /// The admin API: where uploads go, part size, body limit, the edge lease (the `[api]`
    /// table).
    pub api: ApiConfig,
    /// Webhook delivery: poll interval, request timeout, endpoints at once in all and per
    /// app (the `[webhooks]` table). Default: every 250 ms, 10 s, 16, 4.
    pub webhooks: DelivererConfig,
    /// The node's mutual TLS for every internal gRPC service (the `[cluster_tls]` table): the
    /// cluster CA, and this node's certificate (role `control`, id = `id`) and key. Required;
    /// default: none.
    pub cluster_tls: ClusterTlsFiles,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            id: 1,
            data_dir: PathBuf::from("packyard-data"),
            raft_addr: SocketAddr::from(([127, 0, 0, 1], 7101)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 7100)),
            admin_tls_cert: None,
            admin_tls_key: None,
            peers: BTreeMap::new(),
            join: false,
            quota: QuotaLimits::default(),
            raft: RaftSettings::default(),
            api: ApiConfig::default(),
            webhooks: DelivererConfig::default(),
            cluster_tls: ClusterTlsFiles::default(),
        }
    }
}

pub use packyard_net::node::ConfigError;

impl ControlConfig {
    /// Reads a TOML configuration; fields left out keep their defaults, unknown fields are
    /// refused (a misspelled field must not be silently ignored).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File(e.to_string()))
    }

    /// Parses `1=host:port,2=host:port` (the `--peers` flag).
    pub fn parse_peers(list: &str) -> Result<BTreeMap<u64, String>, ConfigError> {
        let mut peers = BTreeMap::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, addr) = item.split_once('=').ok_or_else(|| {
                ConfigError::invalid("peers", format!("{item:?} is not ID=HOST:PORT"))
            })?;
            let id: u64 = id.trim().parse().map_err(|_| {
                ConfigError::invalid("peers", format!("{id:?} is not a node id (1, 2, …)"))
            })?;
            let addr = addr.trim();
            if addr
                .rsplit_once(':')
                .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
            {
                return Err(ConfigError::invalid(
                    "peers",
                    format!("{addr:?} is not HOST:PORT"),
                ));
            }
            if peers.insert(id, addr.to_owned()).is_some() {
                return Err(ConfigError::invalid(
                    "peers",
                    format!("node {id} is listed twice"),
                ));
            }
        }
        Ok(peers)
    }

    /// Checks the whole configuration; the node refuses to start with any error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.into(),
            })
        };
        if self.id == 0 {
            return invalid("id", "node ids start at 1");
        }
        if !self.peers.is_empty() && !self.peers.contains_key(&self.id) {
            return invalid("peers", "must include this node's own id when given");
        }
        if self.peers.contains_key(&0) {
            return invalid("peers", "node ids start at 1");
        }
        if self.admin_tls_cert.is_some() != self.admin_tls_key.is_some() {
            return invalid(
                "admin_tls_cert",
                "admin_tls_cert and admin_tls_key go together (PEM files)",
            );
        }
        if self.join && !self.peers.is_empty() {
            return invalid(
                "join",
                "a node either forms a cluster with peers or joins one, not both",
            );
        }
        let raft = &self.raft;
        if raft.snapshot_every_logs == 0 {
            return invalid("raft.snapshot_every_logs", "must be at least 1");
        }
        if raft.heartbeat_ms == 0 || raft.election_timeout_min_ms < 3 * raft.heartbeat_ms {
            return invalid(
                "raft.election_timeout_min_ms",
                "must be at least three heartbeats (raft.heartbeat_ms), or followers depose a healthy leader",
            );
        }
        raft.to_openraft()
            .map_err(|e| ConfigError::invalid("raft", e))?;
        self.api
            .validate()
            .map_err(|e| ConfigError::invalid("api", e))?;
        self.webhooks
            .validate()
            .map_err(|e| ConfigError::invalid("webhooks", e))?;
        self.quota
            .validate()
            .map_err(|e| ConfigError::invalid("quota", e))?;
        self.cluster_tls
            .validate()
            .map_err(|reason| ConfigError::invalid("cluster_tls", reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_a_file_overrides_only_what_it_names() {
        with_tls(ControlConfig::default()).validate().unwrap();
        let c = ControlConfig::from_toml(
            "id = 2\nadmin_addr = \"127.0.0.1:9000\"\n[peers]\n1 = \"a:1\"\n2 = \"b:2\"\n",
        )
        .unwrap();
        assert_eq!(c.id, 2);
        assert_eq!(c.admin_addr, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.peers.len(), 2);
        assert_eq!(c.raft.snapshot_every_logs, 50_000);
        assert_eq!(c.api.edge_lease_ms, 30_000);
        with_tls(c).validate().unwrap();
    }

    fn with_tls(mut c: ControlConfig) -> ControlConfig {
        c.cluster_tls = ClusterTlsFiles::in_dir(std::path::Path::new("/etc/packyard"), "control-1");
        c
    }

    #[test]
    fn internal_grpc_without_certificates_is_refused_saying_how_to_make_them() {
        let err = ControlConfig::default().validate().unwrap_err().to_string();
        assert!(err.starts_with("cluster_tls:"), "{err}");
        assert!(err.contains("packyard cluster ca init"), "{err}");
    }

    #[test]
    fn a_misspelled_field_is_refused() {
        let err = ControlConfig::from_toml("snapshot_evry = 3").unwrap_err();
        assert!(err.to_string().contains("snapshot_evry"), "{err}");
    }

    #[test]
    fn peers_parse_and_bad_lists_say_why() {
        let p = ControlConfig::parse_peers("1=127.0.0.1:7101, 2=node-b:7101,3=[::1]:7101").unwrap();
        assert_eq!(p[&2], "node-b:7101");
        assert_eq!(p[&3], "[::1]:7101");
        for (bad, why) in [
            ("1", "not ID=HOST:PORT"),
            ("x=a:1", "not a node id"),
            ("1=a", "not HOST:PORT"),
            ("1=a:99999", "not HOST:PORT"),
            ("1=a:1,1=b:2", "listed twice"),
        ] {
            let err = ControlConfig::parse_peers(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn validate_names_the_field() {
        type Breaker = fn(&mut ControlConfig);
        let cases: [(Breaker, &str); 7] = [
            (|c| c.id = 0, "id:"),
            (
                |c| c.peers = ControlConfig::parse_peers("2=a:1").unwrap(),
                "peers:",
            ),
            (|c| c.api.origin_base_url = "ftp://x".into(), "api:"),
            (
                |c| c.raft.election_timeout_min_ms = 300,
                "raft.election_timeout_min_ms:",
            ),
            (|c| c.api.upload_part_bytes = 0, "api:"),
            (|c| c.api.edge_lease_ms = 99, "api: edge_lease_ms"),
            (
                |c| c.webhooks.poll_interval_ms = 0,
                "webhooks: poll_interval_ms",
            ),
        ];
        for (break_it, field) in cases {
            let mut c = with_tls(ControlConfig::default());
            break_it(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
    }
}
