//! [`LogStore`]: the Raft log, the vote and the committed position, on RocksDB.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, OptionalSend, RaftLogReader, StorageIOError, Vote};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::log_syncer::LogSyncer;
use super::raft_db::{LOGS, META, RaftDb, index_key, key_index};
use super::type_config::{Entry, LogId, NodeId, StorageError, TypeConfig};

/// Key of the vote in the `meta` family.
const VOTE: &[u8] = b"vote";
/// Key of the last committed log id in the `meta` family.
const COMMITTED: &[u8] = b"committed";
/// Key of the last purged log id in the `meta` family.
const LAST_PURGED: &[u8] = b"last_purged";

/// A node's Raft log on disk. Entries are JSON under big-endian index keys; the vote is
/// synced before it is acknowledged, entries are reported durable only once a sync of the
/// write-ahead log covers them (group commit, [`LogSyncer`]).
///
/// Cloning is cheap and every clone sees the same log, which is how openraft gets its
/// separate reader.
#[derive(Debug, Clone)]
pub struct LogStore {
    db: RaftDb,
    syncer: LogSyncer,
}

impl LogStore {
    /// The log kept in `db`, with its sync thread.
    pub fn new(db: RaftDb) -> std::io::Result<Self> {
        let syncer = LogSyncer::start(&db)?;
        Ok(Self { db, syncer })
    }

    /// Reads and decodes the value under `key` in the `meta` family.
    fn read_meta<T: DeserializeOwned>(
        &self,
        key: &[u8],
        io_error: fn(AnyError) -> StorageIOError<NodeId>,
    ) -> Result<Option<T>, StorageError> {
        let bytes = self
            .db
            .db()
            .get_cf(self.db.cf(META)?, key)
            .map_err(|e| io_error(AnyError::new(&e)))?;
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(|e| io_error(AnyError::new(&e)).into()))
            .transpose()
    }

    /// Encodes `value` and writes it under `key` in the `meta` family, synced.
    fn write_meta<T: Serialize>(
        &self,
        key: &[u8],
        value: &T,
        io_error: fn(AnyError) -> StorageIOError<NodeId>,
    ) -> Result<(), StorageError> {
        let json = serde_json::to_vec(value).map_err(|e| io_error(AnyError::new(&e)))?;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.db.cf(META)?, key, json);
        self.db
            .write_synced(batch)
            .map_err(|e| io_error(AnyError::new(&e)).into())
    }

    /// The log id of the newest entry still in the log, if any.
    fn last_entry_id(&self) -> Result<Option<LogId>, StorageError> {
        let mut newest = self
            .db
            .db()
            .iterator_cf(self.db.cf(LOGS)?, IteratorMode::End);
        match newest.next() {
            None => Ok(None),
            Some(item) => {
                let (_, value) = item.map_err(|e| StorageIOError::read_logs(&e))?;
                let entry: Entry =
                    serde_json::from_slice(&value).map_err(|e| StorageIOError::read_logs(&e))?;
                Ok(Some(entry.log_id))
            }
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(&first) => first,
            Bound::Excluded(&before) => match before.checked_add(1) {
                Some(first) => first,
                None => return Ok(Vec::new()),
            },
            Bound::Unbounded => 0,
        };
        let from = index_key(start);
        let entries = self.db.db().iterator_cf(
            self.db.cf(LOGS)?,
            IteratorMode::From(&from, Direction::Forward),
        );
        let mut found = Vec::new();
        for item in entries {
            let (key, value) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let index = key_index(&key).ok_or_else(|| {
                StorageIOError::read_logs(AnyError::error("a log key is not 8 bytes long"))
            })?;
            if !range.contains(&index) {
                break;
            }
            let entry: Entry = serde_json::from_slice(&value)
                .map_err(|e| StorageIOError::read_log_at_index(index, &e))?;
            found.push(entry);
        }
        Ok(found)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> =
            self.read_meta(LAST_PURGED, StorageIOError::read_logs)?;
        let last_log_id = self.last_entry_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        self.write_meta(VOTE, vote, StorageIOError::write_vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        self.read_meta(VOTE, StorageIOError::read_vote)
    }

    /// Not synced: the committed index only saves a restarted node some re-replication, and
    /// a crash that loses the newest one loses nothing else (openraft learns it again).
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let json = serde_json::to_vec(&committed)
            .map_err(|e| StorageIOError::<NodeId>::write(AnyError::new(&e)))?;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.db.cf(META)?, COMMITTED, json);
        self.db
            .write_unsynced(batch)
            .map_err(|e| StorageIOError::<NodeId>::write(AnyError::new(&e)).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        // `save_committed` stores an `Option`, so an absent key and a stored `None` agree.
        Ok(self
            .read_meta::<Option<LogId>>(COMMITTED, StorageIOError::read)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let logs = self.db.cf(LOGS)?;
        let mut batch = WriteBatch::default();
        for entry in entries {
            let json = serde_json::to_vec(&entry)
                .map_err(|e| StorageIOError::write_log_entry(entry.log_id, &e))?;
            batch.put_cf(logs, index_key(entry.log_id.index), json);
        }
        // Readable at once (openraft may replicate them before they are durable here), but
        // reported durable only after a sync that covers them: openraft counts them towards a
        // quorum as soon as the callback fires, so they must survive a power cut by then.
        self.db
            .write_unsynced(batch)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        self.syncer.completed_after_sync(callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(from = log_id.index, "truncating the raft log");
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            self.db.cf(LOGS)?,
            index_key(log_id.index),
            index_key(u64::MAX),
        );
        self.db
            .write_synced(batch)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(upto = log_id.index, "purging the raft log");
        let json = serde_json::to_vec(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        // The marker and the deletion land together, so a crash never leaves a gap that
        // `get_log_state` cannot explain.
        let mut batch = WriteBatch::default();
        batch.put_cf(self.db.cf(META)?, LAST_PURGED, json);
        batch.delete_range_cf(
            self.db.cf(LOGS)?,
            index_key(0),
            index_key(log_id.index.saturating_add(1)),
        );
        self.db
            .write_synced(batch)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
