//! [`CatalogSnapshotBuilder`]: turns a copy of the catalog into a snapshot on disk.

use std::io::Cursor;

use openraft::storage::Snapshot;
use openraft::{RaftSnapshotBuilder, StorageIOError};
use packyard_core::catalog::Catalog;

use super::raft_db::RaftDb;
use super::state_machine::save_snapshot;
use super::type_config::{LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

/// A copy of the catalog at one log position, ready to be written as a snapshot while the
/// state machine goes on applying entries.
#[derive(Debug)]
pub struct CatalogSnapshotBuilder {
    db: RaftDb,
    catalog: Catalog,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    /// Distinguishes snapshots of the same log position built by one process.
    sequence: u64,
}

impl CatalogSnapshotBuilder {
    /// A builder for `catalog`, which is the state after applying up to `last_applied`.
    pub(super) fn new(
        db: RaftDb,
        catalog: Catalog,
        last_applied: Option<LogId>,
        last_membership: StoredMembership,
        sequence: u64,
    ) -> Self {
        Self {
            db,
            catalog,
            last_applied,
            last_membership,
            sequence,
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for CatalogSnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = serde_json::to_vec(&self.catalog)
            .map_err(|e| StorageIOError::read_state_machine(&e))?;
        let snapshot_id = match self.last_applied {
            Some(last) => format!("{}-{}-{}", last.leader_id, last.index, self.sequence),
            None => format!("none-{}", self.sequence),
        };
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.last_membership.clone(),
            snapshot_id,
        };
        save_snapshot(&self.db, &meta, &data)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
