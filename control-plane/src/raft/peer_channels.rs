//! [`PeerChannels`]: one kept mutual-TLS channel per control-plane peer, shared by Raft
//! replication, forwarded writes, read indexes and forwarded membership changes.
//!
//! A channel connects on first use and reconnects by itself, so keeping one per address
//! costs nothing while a peer is down and saves a TCP and TLS handshake on every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use packyard_net::cluster::{ChannelError, ClusterTls, NodeRole};
use tonic::transport::Channel;

/// Channels to control-plane peers by Raft address. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PeerChannels {
    tls: ClusterTls,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl PeerChannels {
    /// No channels yet; each is made with `tls` on first use.
    pub fn new(tls: ClusterTls) -> Self {
        Self {
            tls,
            channels: Arc::default(),
        }
    }

    /// The channel to the control node at `raft_addr` (`HOST:PORT`).
    pub fn get(&self, raft_addr: &str) -> Result<Channel, ChannelError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(channel) = channels.get(raft_addr) {
            return Ok(channel.clone());
        }
        let channel = self.tls.channel(raft_addr, NodeRole::Control)?;
        channels.insert(raft_addr.to_owned(), channel.clone());
        Ok(channel)
    }
}
