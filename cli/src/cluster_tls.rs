//! The flags that point a server (or `packyard cluster`) at its cluster certificate: three
//! files, or one folder laid out as `packyard cluster cert issue` writes it.

use std::path::PathBuf;

use clap::Args;
use packyard_net::cluster::{ClusterTlsFiles, NodeRole};

/// `--cluster-ca`, `--cluster-cert`, `--cluster-key`, `--cluster-tls-dir`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ClusterTlsArgs {
    /// The cluster CA's certificate (PEM) [default: from --cluster-tls-dir or the config file].
    #[arg(long, value_name = "FILE", env = "PACKYARD_CLUSTER_CA", global = true)]
    pub(crate) cluster_ca: Option<PathBuf>,
    /// This node's cluster certificate (PEM), from `packyard cluster cert issue`.
    #[arg(
        long,
        value_name = "FILE",
        env = "PACKYARD_CLUSTER_CERT",
        global = true
    )]
    pub(crate) cluster_cert: Option<PathBuf>,
    /// This node's cluster private key (PEM).
    #[arg(long, value_name = "FILE", env = "PACKYARD_CLUSTER_KEY", global = true)]
    pub(crate) cluster_key: Option<PathBuf>,
    /// A folder holding `ca.pem` and this node's `{role}-{id}.pem` and `.key`, as
    /// `packyard cluster cert issue` writes them.
    #[arg(
        long,
        value_name = "DIR",
        env = "PACKYARD_CLUSTER_TLS_DIR",
        global = true
    )]
    pub(crate) cluster_tls_dir: Option<PathBuf>,
}

impl ClusterTlsArgs {
    /// Lays these flags over `files` (from the config file) for node `role` `id`: the folder
    /// first, then each file flag over it.
    pub(crate) fn apply(&self, files: &mut ClusterTlsFiles, role: NodeRole, id: &str) {
        if let Some(dir) = &self.cluster_tls_dir {
            let from_dir = ClusterTlsFiles::in_dir(dir, &format!("{role}-{id}"));
            files.ca_file = from_dir.ca_file;
            files.cert_file = from_dir.cert_file;
            files.key_file = from_dir.key_file;
        }
        if let Some(ca) = &self.cluster_ca {
            files.ca_file = Some(ca.clone());
        }
        if let Some(cert) = &self.cluster_cert {
            files.cert_file = Some(cert.clone());
        }
        if let Some(key) = &self.cluster_key {
            files.key_file = Some(key.clone());
        }
    }
}
