use super::fixture::*;
use crate::catalog::*;

fn submitted(track: ReviewTrack) -> (World, VersionId, ReviewSubmissionId) {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, track);
    (w, v, s)
}

#[test]
fn r5_external_approval_notifies_every_admin() {
    let (mut w, v, s) = submitted(ReviewTrack::ExternalBeta);
    let events = w.decide(&s, true);
    // The approval, then (in the same command) the version reaching external testers.
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].new_state.as_deref(), Some("READY_FOR_TESTING"));
    let e = &events[0];
    assert_eq!(
        e.kind,
        EventType::BackgroundAssetVersionExternalBetaReleaseStateUpdated
    );
    assert_eq!(e.old_state.as_deref(), Some("IN_REVIEW"));
    assert_eq!(e.new_state.as_deref(), Some("PROCESSING_FOR_TESTING"));
    assert_eq!(e.notify, [UserId::from("admin"), UserId::from("admin2")]);
    assert_eq!(e.instance.id, v.to_string());
    assert_eq!(
        w.catalog.submission(&s).unwrap().decided_by,
        Some(user("reviewer"))
    );
}

#[test]
fn r5_store_approval_notifies_every_admin() {
    let (mut w, v, s) = submitted(ReviewTrack::AppStore);
    let events = w.decide(&s, true);
    assert_eq!(w.store(&v), AppStoreState::Accepted);
    assert_eq!(
        events[0].notify,
        [UserId::from("admin"), UserId::from("admin2")]
    );
    assert!(
        events[0]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("approved by reviewer")
    );
}

#[test]
fn r5_rejection_stores_the_reasons_for_members_to_read() {
    let (mut w, v, s) = submitted(ReviewTrack::ExternalBeta);
    w.ok(user("reviewer"), start(&s));
    let reasons = vec!["  Textures are missing.  ".to_owned(), " ".to_owned()];
    let events = w.ok(user("reviewer"), decide(&s, false, reasons));
    assert_eq!(w.external(&v), ExternalBetaState::Rejected);
    let submission = w.catalog.submission(&s).unwrap();
    assert_eq!(submission.state, SubmissionState::Rejected);
    assert_eq!(submission.reasons, ["Textures are missing."]);
    assert!(events[0].notify.is_empty());
    assert!(
        events[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("Textures are missing.")
    );
    assert!(
        w.catalog
            .permits(&user("dev"), &app(), crate::role::Action::View)
            .is_ok()
    );
    let listed: Vec<_> = w.catalog.submissions_of(&v).map(|s| s.id.clone()).collect();
    assert_eq!(listed, [s]);
}

#[test]
fn r5_a_rejection_without_reasons_is_refused() {
    let (mut w, _, s) = submitted(ReviewTrack::ExternalBeta);
    w.ok(user("reviewer"), start(&s));
    let refusal = w.refused(user("reviewer"), decide(&s, false, vec!["   ".into()]));
    assert!(matches!(refusal, Refusal::Invalid { ref field, .. } if field == "reasons"));
}

#[test]
fn r5_a_review_is_started_before_it_is_decided_and_only_once() {
    let (mut w, _, s) = submitted(ReviewTrack::AppStore);
    let refusal = w.refused(user("reviewer"), decide(&s, true, vec![]));
    assert!(conflict(&refusal, None).contains("start the review"));
    w.ok(user("reviewer"), start(&s));
    let refusal = w.refused(user("reviewer"), start(&s));
    assert!(conflict(&refusal, None).contains("is IN_REVIEW"));
    w.ok(user("reviewer"), decide(&s, true, vec![]));
    let refusal = w.refused(user("reviewer"), decide(&s, false, vec!["late".into()]));
    assert!(conflict(&refusal, None).contains("is ACCEPTED"));
}

#[test]
fn r5_an_unknown_submission_is_not_found() {
    let mut w = World::new();
    let refusal = w.refused(user("reviewer"), start(&ReviewSubmissionId::from("nope")));
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
    assert_eq!(
        refusal.to_string(),
        "there is no reviewSubmissions record with id \"nope\""
    );
}
