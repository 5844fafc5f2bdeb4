//! [`LogSyncer`]: group commit for the Raft log. An append is written to RocksDB at once,
//! readable and in the write-ahead log's file buffer, and its completion is handed to this
//! thread; the thread syncs the write-ahead log once for every append that arrived while the
//! previous sync ran, and only then tells openraft each of them is durable. Under load one
//! `fdatasync` covers many appends, as etcd's batched WAL writes do; with one writer it costs
//! what a synced write did.
//!
//! Ordering holds because the write-ahead log is one sequential file: a sync that starts after
//! an append was written covers it, and every earlier write.

use std::sync::mpsc;

use openraft::storage::LogFlushed;

use super::raft_db::RaftDb;
use super::type_config::TypeConfig;

/// The sender side; dropping every clone ends the thread.
#[derive(Debug, Clone)]
pub(super) struct LogSyncer {
    tx: mpsc::Sender<LogFlushed<TypeConfig>>,
}

impl LogSyncer {
    /// Starts the syncing thread for `db`. The thread does not keep the database open: once
    /// the log stores are dropped it closes, and a sync it would still owe is reported failed.
    pub(super) fn start(db: &RaftDb) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<LogFlushed<TypeConfig>>();
        let db = db.downgrade();
        std::thread::Builder::new()
            .name("raft-log-sync".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter());
                    let synced = match RaftDb::upgrade(&db) {
                        Some(db) => db.sync_wal().map_err(|e| e.to_string()),
                        None => Err("the raft database is closed".to_owned()),
                    };
                    for callback in waiting {
                        let result = match &synced {
                            Ok(()) => Ok(()),
                            Err(e) => Err(std::io::Error::other(e.clone())),
                        };
                        callback.log_io_completed(result);
                    }
                }
            })?;
        Ok(Self { tx })
    }

    /// Tells openraft, once the write-ahead log is synced, that what was written before this
    /// call is durable. If the thread is gone, the append is reported failed.
    pub(super) fn completed_after_sync(&self, callback: LogFlushed<TypeConfig>) {
        if let Err(mpsc::SendError(callback)) = self.tx.send(callback) {
            callback.log_io_completed(Err(std::io::Error::other(
                "the raft log's sync thread has stopped",
            )));
        }
    }
}
