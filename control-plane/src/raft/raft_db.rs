//! [`RaftDb`]: the RocksDB database a node keeps its Raft log, vote and snapshot in.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use openraft::{AnyError, ErrorSubject, ErrorVerb, StorageIOError};
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

use super::type_config::{NodeId, StorageError};

/// Log entries, keyed by [`index_key`] so RocksDB's byte order is log order.
pub(super) const LOGS: &str = "logs";
/// The vote, the committed log id and the last purged log id, one key each.
pub(super) const META: &str = "meta";
/// The latest snapshot of the state machine: its metadata and its data, one key each.
pub(super) const SNAPSHOT: &str = "snapshot";

/// One RocksDB database with the `logs`, `meta` and `snapshot` column families, shared by a
/// node's log store and state machine.
///
/// Raft may only count a vote or an entry once it survives a crash: votes and snapshots go
/// through [`RaftDb::write_synced`]; log entries are written unsynced and reported durable
/// only after a [`RaftDb::sync_wal`] that began after them (group commit, `LogSyncer`).
#[derive(Clone)]
pub struct RaftDb {
    db: Arc<DB>,
}

impl fmt::Debug for RaftDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaftDb")
            .field("path", &self.db.path())
            .finish()
    }
}

impl RaftDb {
    /// Opens (creating if needed) the database in directory `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let families = [LOGS, META, SNAPSHOT]
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&options, path, families).map_err(|e| {
            StorageIOError::<NodeId>::new(ErrorSubject::Store, ErrorVerb::Read, AnyError::new(&e))
        })?;
        Ok(Self { db: Arc::new(db) })
    }

    /// The underlying database, for reads.
    pub(super) fn db(&self) -> &DB {
        &self.db
    }

    /// The column family `name`; opening created all of them, so a missing one means the
    /// directory holds some other database.
    pub(super) fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StorageError> {
        self.db.cf_handle(name).ok_or_else(|| {
            StorageIOError::<NodeId>::new(
                ErrorSubject::Store,
                ErrorVerb::Read,
                AnyError::error(format!("column family {name} is missing")),
            )
            .into()
        })
    }

    /// Writes `batch` atomically into the memtable and the write-ahead log's file, without
    /// waiting for the disk: durable only after the next [`RaftDb::sync_wal`].
    pub(super) fn write_unsynced(&self, batch: WriteBatch) -> Result<(), rocksdb::Error> {
        self.db.write(batch)
    }

    /// Syncs the write-ahead log to disk: every write made before the call survives a crash.
    pub(super) fn sync_wal(&self) -> Result<(), rocksdb::Error> {
        self.db.flush_wal(true)
    }

    /// A handle that does not keep the database open (a background thread's).
    pub(super) fn downgrade(&self) -> std::sync::Weak<DB> {
        Arc::downgrade(&self.db)
    }

    /// The database behind a [`RaftDb::downgrade`] handle, while it is open.
    pub(super) fn upgrade(weak: &std::sync::Weak<DB>) -> Option<Self> {
        weak.upgrade().map(|db| Self { db })
    }

    /// Writes `batch` atomically and returns once the write-ahead log is synced to disk.
    pub(super) fn write_synced(&self, batch: WriteBatch) -> Result<(), rocksdb::Error> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options)
    }
}

/// The key of log entry `index`: big-endian, so keys sort in index order.
pub(super) fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The log index a key of the `logs` family names, or `None` if it is not 8 bytes long.
pub(super) fn key_index(key: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(key).ok().map(u64::from_be_bytes)
}
