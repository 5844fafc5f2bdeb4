use super::fixture::*;
use crate::catalog::*;

#[test]
fn r3_an_approved_version_replaces_the_one_in_external_testing() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v1 = w.complete(&pack, 100);
    let v2 = w.complete(&pack, 120);
    w.in_external_testing(&v1);
    assert_eq!(w.external(&v1), ExternalBetaState::ReadyForTesting);
    assert_eq!(w.served(Channel::External), [("level-2".to_owned(), 1)]);

    // The approval moves v2 through PROCESSING_FOR_TESTING to READY_FOR_TESTING and
    // supersedes v1, all in one command.
    let s = w.submit(&v2, ReviewTrack::ExternalBeta);
    let events = w.decide(&s, true);
    assert_eq!(w.external(&v1), ExternalBetaState::Superseded);
    assert_eq!(w.external(&v2), ExternalBetaState::ReadyForTesting);
    assert_eq!(w.served(Channel::External), [("level-2".to_owned(), 2)]);
    let changes: Vec<_> = events
        .iter()
        .map(|e| (e.instance.id.clone(), e.new_state.clone().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            (v2.to_string(), "PROCESSING_FOR_TESTING".to_owned()),
            (v1.to_string(), "SUPERSEDED".to_owned()),
            (v2.to_string(), "READY_FOR_TESTING".to_owned())
        ]
    );
}

#[test]
fn r3_an_external_approval_that_cannot_reach_testers_changes_nothing() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::ExternalBeta);
    w.ok(user("reviewer"), start(&s));
    // The pack goes while the review is under way (archive is refused during a review, so
    // the catalog is edited the way only a bug could; the command must still be atomic).
    w.catalog.packs.get_mut(&pack).unwrap().archived = Some(Archival {
        by: Actor::System,
        at: Timestamp(0),
    });
    let before = w.catalog.clone();
    let refusal = w.refused(user("reviewer"), decide(&s, true, Vec::new()));
    assert!(
        conflict(&refusal, Some(Rule::R7)).contains("archived"),
        "{refusal:?}"
    );
    assert_eq!(w.catalog, before, "nothing changed");
}

#[test]
fn r3_only_a_version_processing_for_testing_becomes_ready_for_testing() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let finish = Command::FinishExternalProcessing { version: v.clone() };
    let refusal = w.refused(Actor::System, finish.clone());
    assert!(conflict(&refusal, None).contains("READY_FOR_BETA_SUBMISSION"));
    let refusal = w.refused(user("manager"), finish);
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
}

#[test]
fn r3_the_external_channel_serves_nothing_before_approval() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    w.submit(&v, ReviewTrack::ExternalBeta);
    assert!(w.served(Channel::External).is_empty());
    assert_eq!(w.served(Channel::Internal), [("level-2".to_owned(), 1)]);
}
