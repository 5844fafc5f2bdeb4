use super::fixture::*;
use crate::catalog::*;

fn two_complete_versions() -> (World, VersionId, VersionId) {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v1 = w.complete(&pack, 100);
    let v2 = w.complete(&pack, 120);
    (w, v1, v2)
}

#[test]
fn r6_second_store_submission_is_refused_while_one_is_in_review() {
    let (mut w, v1, v2) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::AppStore);
    w.ok(user("reviewer"), start(&s));
    let id = ReviewSubmissionId::from("second");
    let refusal = w.refused(user("manager"), submit(&id, &v2, ReviewTrack::AppStore));
    let detail = conflict(&refusal, Some(Rule::R6));
    assert!(detail.contains("version 1 of pack level-2 is already IN_REVIEW for app store review"));
}

#[test]
fn r6_external_and_store_reviews_do_not_block_each_other() {
    let (mut w, v1, v2) = two_complete_versions();
    w.build(&[BuildChannel::External]);
    w.submit(&v1, ReviewTrack::ExternalBeta);
    w.submit(&v1, ReviewTrack::AppStore);
    assert_eq!(w.external(&v1), ExternalBetaState::WaitingForReview);
    assert_eq!(w.store(&v1), AppStoreState::WaitingForReview);
    assert_eq!(w.store(&v2), AppStoreState::PrepareForSubmission);
}

#[test]
fn r6_a_distributed_version_replaces_the_previous_one() {
    let (mut w, v1, v2) = two_complete_versions();
    w.live_in_store(&v1);
    assert_eq!(w.store(&v1), AppStoreState::ReadyForDistribution);
    assert_eq!(w.served(Channel::Store), [("level-2".to_owned(), 1)]);

    w.accepted_for_store(&v2);
    let events = w.ok(user("manager"), release(&v2));
    assert_eq!(
        events[0].new_state.as_deref(),
        Some("PROCESSING_FOR_DISTRIBUTION")
    );
    assert_eq!(
        w.served(Channel::Store),
        [("level-2".to_owned(), 1)],
        "until distributed"
    );
    w.ok(Actor::System, finish_distribution(&v2));
    assert_eq!(w.store(&v1), AppStoreState::Superseded);
    assert_eq!(w.store(&v2), AppStoreState::ReadyForDistribution);
    assert_eq!(w.served(Channel::Store), [("level-2".to_owned(), 2)]);
}

#[test]
fn r6_only_an_accepted_version_is_released() {
    let (mut w, v1, _) = two_complete_versions();
    let refusal = w.refused(user("manager"), release(&v1));
    assert!(conflict(&refusal, None).contains("only an ACCEPTED version"));
    w.accepted_for_store(&v1);
    let refusal = w.refused(user("dev"), release(&v1));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let refusal = w.refused(Actor::System, finish_distribution(&v1));
    assert!(conflict(&refusal, None).contains("ACCEPTED"));
    w.ok(user("manager"), release(&v1));
    let refusal = w.refused(user("manager"), finish_distribution(&v1));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
}

#[test]
fn r6_a_store_rejection_can_be_resubmitted() {
    let (mut w, v1, _) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::AppStore);
    w.decide(&s, false);
    assert_eq!(w.store(&v1), AppStoreState::Rejected);
    w.submit(&v1, ReviewTrack::AppStore);
    assert_eq!(w.store(&v1), AppStoreState::WaitingForReview);
    let id = ReviewSubmissionId::from("dup");
    let refusal = w.refused(user("manager"), submit(&id, &v1, ReviewTrack::AppStore));
    assert!(
        conflict(&refusal, None).contains("PREPARE_FOR_SUBMISSION, READY_FOR_REVIEW or REJECTED")
    );
}
