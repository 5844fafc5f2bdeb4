//! [`RaftSettings`]: the Raft timing and snapshot knobs an operator may set.

use openraft::{Config, ConfigError, SnapshotPolicy};

/// How a control-plane node runs Raft: the `[raft]` table of the node's configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSettings {
    /// Name of the cluster; every node of one cluster uses the same. Default `packyard`.
    pub cluster_name: String,
    /// How often the leader sends heartbeats, in milliseconds. Default 250.
    pub heartbeat_ms: u64,
    /// Shortest time without a heartbeat before a follower calls an election, in
    /// milliseconds. Default 1,000; must exceed `heartbeat_ms`.
    pub election_timeout_min_ms: u64,
    /// Longest such time, in milliseconds. Default 2,000; must exceed the minimum.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot (and let the log before it be purged) every this many applied log
    /// entries. Default 50,000: a restart replays at most that many entries (in-memory
    /// applies, well under a second), and the log keeps about that many on disk. A snapshot
    /// writes the whole catalog, so its cost grows with the catalog: every 5,000 entries, a
    /// catalog of a few thousand versions spent a noticeable share of a write-heavy node's
    /// CPU building snapshots (BENCHMARKS.md). etcd's default is 100,000.
    pub snapshot_every_logs: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        Self {
            cluster_name: "packyard".to_owned(),
            heartbeat_ms: 250,
            election_timeout_min_ms: 1_000,
            election_timeout_max_ms: 2_000,
            snapshot_every_logs: 50_000,
        }
    }
}

impl RaftSettings {
    /// The openraft configuration these settings give, checked for consistency.
    pub fn to_openraft(&self) -> Result<Config, ConfigError> {
        Config {
            cluster_name: self.cluster_name.clone(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_every_logs),
            ..Config::default()
        }
        .validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid_and_snapshot_every_50000_logs() {
        let config = RaftSettings::default().to_openraft().unwrap();
        assert_eq!(
            config.snapshot_policy,
            SnapshotPolicy::LogsSinceLast(50_000)
        );
    }

    #[test]
    fn an_election_timeout_below_the_heartbeat_is_refused() {
        let settings = RaftSettings {
            heartbeat_ms: 500,
            election_timeout_min_ms: 400,
            ..RaftSettings::default()
        };
        assert!(settings.to_openraft().is_err());
    }
}
