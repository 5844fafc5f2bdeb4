//! The RocksDB Raft store passes openraft's own storage conformance suite, and keeps what
//! it acknowledged across a reopen.

use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{RaftLogReader, RaftSnapshotBuilder};
use packyard_control_plane::raft::proposal::Proposal;
use packyard_control_plane::raft::type_config::StorageError;
use packyard_control_plane::raft::{LogStore, StateMachineStore, TypeConfig, open_storage};
use packyard_core::catalog::Catalog;
use packyard_core::quota::QuotaLimits;
use tempfile::TempDir;

/// Opens a fresh database in its own temporary directory, removed when the test drops it.
struct FreshRocksDb;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for FreshRocksDb {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (log, sm) = open_storage(dir.path(), Catalog::new(QuotaLimits::default())).await?;
        Ok((dir, log, sm))
    }
}

#[test]
fn rocksdb_raft_store_passes_openraft_storage_suite() {
    Suite::test_all(FreshRocksDb).unwrap();
}

fn log_id(term: u64, index: u64) -> openraft::LogId<u64> {
    openraft::LogId::new(openraft::CommittedLeaderId::new(term, 1), index)
}

fn create_user(index: u64) -> openraft::Entry<TypeConfig> {
    use packyard_core::catalog::{Actor, Command, CreateUser, Envelope, Timestamp, UserId};
    openraft::Entry {
        log_id: log_id(1, index),
        payload: openraft::EntryPayload::Normal(Proposal::from(Envelope {
            actor: Actor::System,
            at: Timestamp(index),
            command: Command::CreateUser(CreateUser {
                id: UserId::from(format!("u{index}").as_str()),
                name: format!("User {index}"),
                email: format!("u{index}@example.com"),
                roles: vec![],
                operator: false,
            }),
            key: None,
        })),
    }
}

#[tokio::test]
async fn a_reopened_store_keeps_its_vote_log_and_snapshot_catalog() {
    use openraft::storage::RaftLogStorageExt;
    use packyard_core::catalog::UserId;

    let dir = tempfile::tempdir().unwrap();
    let empty = || Catalog::new(QuotaLimits::default());
    {
        let (mut log, mut sm) = open_storage(dir.path(), empty()).await.unwrap();
        log.save_vote(&openraft::Vote::new_committed(1, 1))
            .await
            .unwrap();
        log.blocking_append([create_user(1), create_user(2), create_user(3)])
            .await
            .unwrap();
        log.save_committed(Some(log_id(1, 3))).await.unwrap();
        let answers = sm.apply([create_user(1), create_user(2)]).await.unwrap();
        assert!(answers.iter().flatten().all(Result::is_ok), "{answers:?}");
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        // Applied after the snapshot: a reopened node gets it back from the log, not here.
        sm.apply([create_user(3)]).await.unwrap();
    }

    let (mut log, mut sm) = open_storage(dir.path(), empty()).await.unwrap();
    assert_eq!(
        log.read_vote().await.unwrap(),
        Some(openraft::Vote::new_committed(1, 1))
    );
    assert_eq!(log.read_committed().await.unwrap(), Some(log_id(1, 3)));
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(1, 3)));
    assert_eq!(log.try_get_log_entries(1..4).await.unwrap().len(), 3);

    let (applied, _) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(log_id(1, 2)), "restored from the snapshot");
    let catalog = sm.catalog();
    let catalog = catalog.read().await;
    assert!(catalog.user(&UserId::from("u2")).is_some());
    assert!(catalog.user(&UserId::from("u3")).is_none());
}
