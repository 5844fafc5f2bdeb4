//! [`Node`]: how the cluster reaches one control-plane node.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The addresses of one control-plane node, as Raft membership records them.
///
/// Every node learns every other node's addresses from the membership log entries, so a
/// follower can forward a write to the leader and the admin API can point clients at it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// `host:port` of the node's Raft gRPC listener.
    pub raft_addr: String,
    /// `host:port` of the node's admin HTTP listener.
    pub admin_addr: String,
}

impl Node {
    /// A node reachable at these two addresses.
    pub fn new(raft_addr: impl Into<String>, admin_addr: impl Into<String>) -> Self {
        Self {
            raft_addr: raft_addr.into(),
            admin_addr: admin_addr.into(),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "raft {} / admin {}", self.raft_addr, self.admin_addr)
    }
}
