use super::fixture::*;
use crate::catalog::*;

#[test]
fn r1_a_completed_version_is_ready_for_internal_testing() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let events = w.ok(Actor::System, succeeded(&v, 100));
    assert_eq!(w.v(&v).state, VersionState::Complete);
    assert_eq!(w.records(&v), ReleaseRecords::new());
    let kinds: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.new_state.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                EventType::BackgroundAssetVersionStateUpdated,
                Some("COMPLETE".into())
            ),
            (
                EventType::BackgroundAssetVersionInternalBetaReleaseCreated,
                Some("READY_FOR_TESTING".into())
            ),
            (
                EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated,
                Some("READY_FOR_BETA_SUBMISSION".into())
            ),
            (
                EventType::BackgroundAssetVersionAppStoreReleaseStateUpdated,
                Some("PREPARE_FOR_SUBMISSION".into())
            ),
        ]
    );
}

#[test]
fn r1_the_next_completed_version_supersedes_the_previous_internal_release() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v1 = w.complete(&pack, 100);
    let v2 = w.complete(&pack, 120);
    assert_eq!(w.internal(&v1), InternalBetaState::Superseded);
    assert_eq!(w.internal(&v2), InternalBetaState::ReadyForTesting);
    assert_eq!(w.served(Channel::Internal), [("level-2".to_owned(), 2)]);
}

#[test]
fn r1_internal_testers_get_the_latest_processed_not_the_highest_number() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v1 = w.processing(&pack, 100);
    let v2 = w.complete(&pack, 120);
    w.ok(Actor::System, succeeded(&v1, 100));
    assert_eq!(w.internal(&v2), InternalBetaState::Superseded);
    assert_eq!(w.internal(&v1), InternalBetaState::ReadyForTesting);
    assert_eq!(w.served(Channel::Internal), [("level-2".to_owned(), 1)]);
}

#[test]
fn r1_a_failed_version_leaves_internal_testing_alone() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v1 = w.complete(&pack, 100);
    let v2 = w.processing(&pack, 120);
    w.ok(
        Actor::System,
        failed(&v2, None, "The archive is not a zip file."),
    );
    assert_eq!(w.internal(&v1), InternalBetaState::ReadyForTesting);
    assert_eq!(w.served(Channel::Internal), [("level-2".to_owned(), 1)]);
}
