//! The cluster's mutual TLS: every internal gRPC service (Raft, membership, the watch stream,
//! the edge registry, origin reports, the chunk store) is reached only over TLS with a
//! certificate issued by the cluster's CA, and only by the roles that service serves.
//!
//! # Layout
//!
//! - [`Identity`], [`NodeRole`]: who a certificate speaks for, as a URI in it.
//! - [`ClusterCa`], [`CertRequest`], [`IssuedCert`]: the CA and the node certificates it
//!   issues (`packyard cluster ca init`, `packyard cluster cert issue`).
//! - [`ClusterTlsFiles`]: the `[cluster_tls]` table of each service's configuration.
//! - [`ClusterTls`]: a node's material, reloaded when its files change; the rustls
//!   configurations for accepting and dialling.
//! - [`incoming`]: the mTLS listener for tonic; [`ClusterTls::channel`]: the mTLS connector.
//! - [`Addresses`], [`Members`]: every node of one role a node may call, and failing over
//!   between them.
//! - [`require`]: the per-service role check, and [`caller`] for handlers.
//! - `peer_verifier`: how a dialling node checks the role of the node it reached.

mod authorize;
mod channel;
mod client_verdict;
mod cluster_tls;
mod files;
mod identity;
mod incoming;
mod members;
mod peer_verifier;
mod pki;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use authorize::{Caller, RequireRole, caller, require};
pub use channel::ChannelError;
pub use cluster_tls::{Acceptance, ClusterTls, ClusterTlsError, EXPIRY_GAUGE, expiry_gauge};
pub use files::{ClusterTlsFiles, write_atomically, write_node_files};
pub use identity::{Identity, IdentityError, MAX_ID_LEN, NodeRole};
pub use incoming::{ClusterConn, ListenerLimits, PeerInfo, incoming};
pub use members::{Addresses, AddressesError, Member, Members, should_move_on};
pub use peer_verifier::WrongPeerRole;
pub use pki::{
    CertRequest, ClusterCa, DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY, IssuedCert, PkiError,
    Validity,
};
