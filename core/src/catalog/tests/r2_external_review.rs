use super::fixture::*;
use crate::catalog::*;

fn two_complete_versions() -> (World, VersionId, VersionId) {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v1 = w.complete(&pack, 100);
    let v2 = w.complete(&pack, 120);
    (w, v1, v2)
}

#[test]
fn r2_submitting_puts_the_external_release_in_waiting_for_review() {
    let (mut w, v1, _) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    assert_eq!(w.external(&v1), ExternalBetaState::WaitingForReview);
    let submission = w.catalog.submission(&s).unwrap();
    assert_eq!(submission.state, SubmissionState::WaitingForReview);
    assert_eq!(submission.submitted_by, user("manager"));
}

#[test]
fn r2_second_external_submission_is_refused() {
    let (mut w, v1, v2) = two_complete_versions();
    w.submit(&v1, ReviewTrack::ExternalBeta);
    let id = ReviewSubmissionId::from("second");
    let refusal = w.refused(user("manager"), submit(&id, &v2, ReviewTrack::ExternalBeta));
    let detail = conflict(&refusal, Some(Rule::R2));
    assert!(
        detail.contains("version 1 of pack level-2 is already WAITING_FOR_REVIEW"),
        "{detail}"
    );
    assert!(refusal.to_string().ends_with("(rule R2)"), "{refusal}");
}

#[test]
fn r2_second_external_submission_is_refused_while_the_first_is_in_review() {
    let (mut w, v1, v2) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    w.ok(user("reviewer"), start(&s));
    let id = ReviewSubmissionId::from("second");
    let refusal = w.refused(user("manager"), submit(&id, &v2, ReviewTrack::ExternalBeta));
    assert!(conflict(&refusal, Some(Rule::R2)).contains("IN_REVIEW"));
}

#[test]
fn r2_a_new_submission_is_accepted_once_the_first_is_rejected_or_approved() {
    let (mut w, v1, v2) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    w.decide(&s, false);
    w.submit(&v2, ReviewTrack::ExternalBeta);
    assert_eq!(w.external(&v2), ExternalBetaState::WaitingForReview);

    let (mut w, v1, v2) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    w.decide(&s, true);
    w.submit(&v2, ReviewTrack::ExternalBeta);
    assert_eq!(w.external(&v2), ExternalBetaState::WaitingForReview);
}

#[test]
fn r2_a_rejected_version_may_be_submitted_again() {
    let (mut w, v1, _) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    w.decide(&s, false);
    assert_eq!(w.external(&v1), ExternalBetaState::Rejected);
    w.submit(&v1, ReviewTrack::ExternalBeta);
    assert_eq!(w.external(&v1), ExternalBetaState::WaitingForReview);
}

#[test]
fn r2_a_version_already_submitted_or_approved_cannot_be_submitted_again() {
    let (mut w, v1, _) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    let again = ReviewSubmissionId::from("again");
    let refusal = w.refused(
        user("manager"),
        submit(&again, &v1, ReviewTrack::ExternalBeta),
    );
    assert!(conflict(&refusal, None).contains("is WAITING_FOR_REVIEW; only a version"));
    w.decide(&s, true);
    let refusal = w.refused(
        user("manager"),
        submit(&again, &v1, ReviewTrack::ExternalBeta),
    );
    assert!(conflict(&refusal, None).contains("READY_FOR_TESTING"));
}

#[test]
fn r2_only_complete_versions_can_be_submitted() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let id = ReviewSubmissionId::from("early");
    let refusal = w.refused(user("manager"), submit(&id, &v, ReviewTrack::ExternalBeta));
    assert!(conflict(&refusal, None).contains("version 1 is PROCESSING"));
}

#[test]
fn r2_a_submission_id_is_used_once() {
    let (mut w, v1, _) = two_complete_versions();
    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    let refusal = w.refused(user("manager"), submit(&s, &v1, ReviewTrack::AppStore));
    assert!(conflict(&refusal, None).contains("already used"));
}
