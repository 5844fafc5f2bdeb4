//! One way to start a node. The control plane, origins and edges (and `packyard dev`, which
//! runs all three) start in the same phases, each a function here:
//!
//! 1. check the configuration ([`ConfigError`], one type for every service's file);
//! 2. bind the listeners ([`bind`], [`bind_optional`]; port 0 allowed);
//! 3. load the node's cluster identity and check it is this node's ([`cluster_identity`]),
//!    and the public listeners' TLS, if configured ([`public_tls`]);
//! 4. open the node's own parts (storage, caches) and spawn its tasks on [`Tasks`];
//! 5. run until the caller's shutdown signal, then stop every task and wait for it
//!    ([`Tasks::run_until`]).
//!
//! Every node reads the time through one [`Clock`], which tests replace with Tokio's paused
//! time. Whatever stops a start is a [`NodeError`] that names the setting, file or part at fault.

mod clock;
mod stop;
mod tasks;

use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::cluster::{ClusterTls, ClusterTlsError, ClusterTlsFiles, Identity, NodeRole};
use crate::http::TlsError;
use crate::listen::BindError;

pub use clock::{Clock, ManualTime};
pub use stop::Stop;
pub use tasks::{TaskOutcome, Tasks};

/// What is wrong with a node's configuration, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read as a configuration.
    #[error("configuration file: {0}")]
    File(String),
    /// A field holds a value the node cannot run with.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as spelled in the file.
        field: &'static str,
        /// What is wrong, and what would be right.
        reason: String,
    },
}

impl ConfigError {
    /// `field` holds a value the node cannot run with, for `reason`.
    pub fn invalid(field: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field,
            reason: reason.to_string(),
        }
    }
}

/// Why a node could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error(transparent)]
    Listen(#[from] BindError),
    /// The node's cluster certificate, key or CA cannot be used.
    #[error("cluster_tls: {0}")]
    ClusterTls(#[from] ClusterTlsError),
    /// The cluster certificate is another node's.
    #[error(
        "cluster_tls: the certificate is for {found}, but this is {expected}; issue one with \
         `packyard cluster cert issue --role {} --id {}`",
        expected.role.as_str(),
        expected.id
    )]
    NotThisNode {
        /// Whom the certificate names.
        found: Identity,
        /// This node.
        expected: Identity,
    },
    /// A public listener's TLS files cannot be used.
    #[error("{setting}: {source}")]
    Tls {
        /// The setting naming the files (`tls_cert`, `admin_tls_cert`, …).
        setting: &'static str,
        /// Why.
        #[source]
        source: TlsError,
    },
    /// A file or folder of the node's data cannot be used.
    #[error("{}: {source}", path.display())]
    Data {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// One of the node's parts (Raft, the chunk cache, the webhook client, …) could not start
    /// or stopped with an error.
    #[error("{part}: {reason}")]
    Part {
        /// Which part.
        part: &'static str,
        /// Why.
        reason: String,
    },
}

impl NodeError {
    /// `path` of the node's data cannot be used, for `source`.
    pub fn data(path: &Path, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Data {
            path: path.to_owned(),
            source: source.into(),
        }
    }

    /// The node's `part` failed, for `reason`.
    pub fn part(part: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Part {
            part,
            reason: reason.to_string(),
        }
    }
}

/// Binds `addr` for the listener named `listener` and says where it listens
/// ([`crate::listen`]).
pub async fn bind(
    listener: &'static str,
    addr: std::net::SocketAddr,
) -> Result<TcpListener, NodeError> {
    Ok(crate::listen::bind(listener, addr).await?)
}

/// [`bind`] for a listener that is only there when configured.
pub async fn bind_optional(
    listener: &'static str,
    addr: Option<std::net::SocketAddr>,
) -> Result<Option<TcpListener>, NodeError> {
    match addr {
        Some(addr) => Ok(Some(bind(listener, addr).await?)),
        None => Ok(None),
    }
}

/// Loads the node's cluster TLS from `files` and checks that its certificate is this node's:
/// `role` with `id`. A node never runs under another's name.
pub fn cluster_identity(
    files: &ClusterTlsFiles,
    role: NodeRole,
    id: &str,
) -> Result<ClusterTls, NodeError> {
    let expected = Identity::new(role, id).map_err(|e| ConfigError::invalid(id_field(role), e))?;
    let tls = ClusterTls::load(files)?;
    let found = tls.identity();
    if found != expected {
        return Err(NodeError::NotThisNode { found, expected });
    }
    Ok(tls)
}

/// The configuration field that holds a node's id, by role.
fn id_field(role: NodeRole) -> &'static str {
    match role {
        NodeRole::Edge => "edge_id",
        NodeRole::Origin => "origin_id",
        _ => "id",
    }
}

/// The TLS acceptor of a public listener whose certificate and key files are configured as
/// `setting` (`tls_cert`, `admin_tls_cert`, `upload_tls_cert`), or none when they are not.
/// A configuration check has made sure both or neither are given.
pub fn public_tls(
    setting: &'static str,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Option<TlsAcceptor>, NodeError> {
    match (cert, key) {
        (Some(cert), Some(key)) => crate::http::tls_acceptor(cert, key)
            .map(Some)
            .map_err(|source| NodeError::Tls { setting, source }),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_for_another_node_says_whose_it_is_and_how_to_issue_the_right_one() {
        let error = NodeError::NotThisNode {
            found: Identity::new(NodeRole::Edge, "eu-1").unwrap(),
            expected: Identity::new(NodeRole::Edge, "eu-2").unwrap(),
        };
        let text = error.to_string();
        assert!(
            text.starts_with("cluster_tls: the certificate is for "),
            "{text}"
        );
        assert!(
            text.ends_with("`packyard cluster cert issue --role edge --id eu-2`"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_node_id_is_a_configuration_error_naming_its_field() {
        let files = ClusterTlsFiles::default();
        let error = cluster_identity(&files, NodeRole::Origin, "no spaces").unwrap_err();
        assert!(
            matches!(
                &error,
                NodeError::Config(ConfigError::Invalid {
                    field: "origin_id",
                    ..
                })
            ),
            "{error}"
        );
    }
}
