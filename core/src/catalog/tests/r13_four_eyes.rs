use super::fixture::*;
use crate::catalog::*;
use crate::role::Role;

/// A World where `manager` also holds the Reviewer role, as an operator may grant it.
fn manager_who_reviews() -> World {
    let mut w = World::new();
    w.ok(
        user("op"),
        Command::GrantRole(GrantRole {
            user: UserId::from("manager"),
            app: app(),
            role: Role::Reviewer,
        }),
    );
    w.build(&[BuildChannel::External]);
    w
}

#[test]
fn r13_the_submitter_never_starts_or_decides_their_own_review_on_either_track() {
    for track in [ReviewTrack::ExternalBeta, ReviewTrack::AppStore] {
        let mut w = manager_who_reviews();
        let pack = w.pack("level-2");
        let v = w.complete(&pack, 100);
        // The App Manager who holds the Reviewer role too submits...
        let s = w.submit(&v, track);
        // ...and may not pick up, approve or reject it.
        let refusal = w.refused(user("manager"), start(&s));
        assert_eq!(refusal.kind(), RefusalKind::Forbidden, "{track:?}");
        assert_eq!(refusal.rule(), Some(Rule::R13), "{track:?}");
        assert!(
            refusal.to_string().contains("another Reviewer"),
            "{refusal}"
        );
        w.ok(user("reviewer"), start(&s));
        for accepted in [true, false] {
            let reasons = vec!["no".to_owned()];
            let refusal = w.refused(user("manager"), decide(&s, accepted, reasons));
            assert_eq!(refusal.rule(), Some(Rule::R13), "{track:?} {accepted}");
        }
        // Another Reviewer decides it.
        w.ok(user("reviewer"), decide(&s, true, Vec::new()));
    }
}

#[test]
fn r13_a_reviewer_who_also_manages_the_app_reviews_others_submissions() {
    let mut w = manager_who_reviews();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = ReviewSubmissionId::from("by-holder");
    w.ok(user("holder"), submit(&s, &v, ReviewTrack::AppStore));
    w.ok(user("manager"), start(&s));
    w.ok(user("manager"), decide(&s, true, Vec::new()));
    assert_eq!(w.store(&v), AppStoreState::Accepted);
}

#[test]
fn r13_a_decision_records_who_made_it_and_when() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::ExternalBeta);
    assert_eq!(w.catalog.submission(&s).unwrap().decided_at, None);
    w.decide(&s, false);
    let decided = w.catalog.submission(&s).unwrap();
    assert_eq!(decided.submitted_by, user("manager"));
    assert_eq!(decided.decided_by, Some(user("reviewer")));
    assert_eq!(decided.decided_at, Some(Timestamp(w.clock)));
}
