//! [`StateMachineStore`]: the catalog as Raft applies it, with its snapshots on RocksDB.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, StorageIOError};
use packyard_core::catalog::Catalog;
use rocksdb::WriteBatch;
use tokio::sync::RwLock;

use super::raft_db::{RaftDb, SNAPSHOT};
use super::snapshot_builder::CatalogSnapshotBuilder;
use super::type_config::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};
use crate::store::Applied;
use crate::watch::{ChangeFeed, apply_collecting};

/// Entries with serving changes kept for watchers that reconnect; older ones get a snapshot.
const FEED_HISTORY: usize = 4_096;

/// Key of the current snapshot's [`SnapshotMeta`] (JSON) in the `snapshot` family.
pub(super) const SNAPSHOT_META: &[u8] = b"meta";
/// Key of the current snapshot's data (the catalog as JSON) in the `snapshot` family.
pub(super) const SNAPSHOT_DATA: &[u8] = b"data";

/// The replicated catalog on one node.
///
/// The catalog lives in memory. On start it is restored from the latest snapshot on disk,
/// and openraft re-applies the committed log entries after it, so a restart replays at most
/// one snapshot interval, never the whole log.
#[derive(Debug)]
pub struct StateMachineStore {
    db: RaftDb,
    catalog: Arc<RwLock<Catalog>>,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    /// Snapshots built by this process so far; makes snapshot ids unique.
    snapshots_built: u64,
    /// What each applied entry changed for edges, for the watch stream.
    feed: Arc<ChangeFeed>,
}

impl StateMachineStore {
    /// The state machine kept in `db`: the latest snapshot there if any, else `empty`.
    pub async fn open(db: RaftDb, empty: Catalog) -> Result<Self, StorageError> {
        let mut store = Self {
            db,
            catalog: Arc::new(RwLock::new(empty)),
            last_applied: None,
            last_membership: StoredMembership::default(),
            snapshots_built: 0,
            feed: Arc::new(ChangeFeed::new(FEED_HISTORY, 0)),
        };
        if let Some((meta, data)) = store.read_snapshot()? {
            let catalog = decode_catalog(&meta, &data)?;
            store.restore(&meta, catalog).await;
        }
        Ok(store)
    }

    /// The feed of serving changes, in log order, for the watch stream.
    pub fn feed(&self) -> Arc<ChangeFeed> {
        Arc::clone(&self.feed)
    }

    /// The live catalog, for reads. Writers only ever go through Raft.
    pub fn catalog(&self) -> Arc<RwLock<Catalog>> {
        Arc::clone(&self.catalog)
    }

    /// Replaces the state with a snapshot's.
    async fn restore(&mut self, meta: &SnapshotMeta, catalog: Catalog) {
        let mut live = self.catalog.write().await;
        *live = catalog;
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        // Watchers behind the snapshot start again from a snapshot of their own.
        self.feed.reset(meta.last_log_id.map_or(0, |id| id.index));
    }

    /// The current snapshot on disk: its metadata and data.
    fn read_snapshot(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StorageError> {
        let family = self.db.cf(SNAPSHOT)?;
        let read = |key| {
            self.db
                .db()
                .get_cf(family, key)
                .map_err(|e| StorageIOError::read_snapshot(None, &e))
        };
        let (Some(meta), Some(data)) = (read(SNAPSHOT_META)?, read(SNAPSHOT_DATA)?) else {
            return Ok(None);
        };
        let meta: SnapshotMeta =
            serde_json::from_slice(&meta).map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(Some((meta, data)))
    }
}

/// Writes a snapshot as the current one, synced; metadata and data land together.
pub(super) fn save_snapshot(
    db: &RaftDb,
    meta: &SnapshotMeta,
    data: &[u8],
) -> Result<(), StorageError> {
    let signature = || Some(meta.signature());
    let json =
        serde_json::to_vec(meta).map_err(|e| StorageIOError::write_snapshot(signature(), &e))?;
    let family = db.cf(SNAPSHOT)?;
    let mut batch = WriteBatch::default();
    batch.put_cf(family, SNAPSHOT_META, json);
    batch.put_cf(family, SNAPSHOT_DATA, data);
    db.write_synced(batch)
        .map_err(|e| StorageIOError::write_snapshot(signature(), &e).into())
}

/// The catalog a snapshot's data holds.
fn decode_catalog(meta: &SnapshotMeta, data: &[u8]) -> Result<Catalog, StorageError> {
    serde_json::from_slice(data)
        .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e).into())
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = CatalogSnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<Applied>>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries = entries.into_iter();
        let mut answers = Vec::with_capacity(entries.size_hint().0);
        let mut catalog = self.catalog.write().await;
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let index = entry.log_id.index;
            let answer = match entry.payload {
                EntryPayload::Blank => {
                    self.feed.publish(index, Vec::new());
                    Vec::new()
                }
                // Published under the catalog's write lock: a reader never sees one without
                // the other.
                EntryPayload::Normal(proposal) => {
                    let mut changes = Vec::new();
                    let answers = proposal
                        .0
                        .into_iter()
                        .map(|envelope| apply_collecting(&mut catalog, envelope, &mut changes))
                        .collect();
                    self.feed.publish(index, changes);
                    answers
                }
                EntryPayload::Membership(membership) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), membership);
                    self.feed.publish(index, Vec::new());
                    Vec::new()
                }
            };
            answers.push(answer);
        }
        Ok(answers)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshots_built += 1;
        // A copy taken now, between two applies, so the snapshot's data and its metadata
        // describe the same log position however long serializing takes.
        let catalog = self.catalog.read().await.clone();
        CatalogSnapshotBuilder::new(
            self.db.clone(),
            catalog,
            self.last_applied,
            self.last_membership.clone(),
            self.snapshots_built,
        )
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let catalog = decode_catalog(meta, &data)?;
        // On disk first: if the process dies in between, it restarts from this snapshot.
        save_snapshot(&self.db, meta, &data)?;
        self.restore(meta, catalog).await;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(self.read_snapshot()?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}
