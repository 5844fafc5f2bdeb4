use super::fixture::*;
use crate::catalog::*;

#[test]
fn r4_external_submission_without_an_external_build_is_refused() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let id = ReviewSubmissionId::from("s");
    let refusal = w.refused(user("manager"), submit(&id, &v, ReviewTrack::ExternalBeta));
    assert!(conflict(&refusal, Some(Rule::R4)).contains("EXTERNAL channel"));
}

#[test]
fn r4_a_build_for_internal_or_store_only_is_not_enough() {
    let mut w = World::new();
    w.build(&[BuildChannel::Internal, BuildChannel::AppStore]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let id = ReviewSubmissionId::from("s");
    let refusal = w.refused(user("manager"), submit(&id, &v, ReviewTrack::ExternalBeta));
    assert_eq!(refusal.rule(), Some(Rule::R4));
    w.build(&[BuildChannel::External]);
    w.ok(user("manager"), submit(&id, &v, ReviewTrack::ExternalBeta));
}

#[test]
fn r4_store_submission_needs_no_external_build() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    w.submit(&v, ReviewTrack::AppStore);
    assert_eq!(w.store(&v), AppStoreState::WaitingForReview);
}

#[test]
fn r4_builds_need_a_number_a_channel_and_a_manager() {
    let mut w = World::new();
    let build = |number: &str, channels: &[BuildChannel]| {
        Command::RegisterBuild(RegisterBuild {
            id: BuildId::from("b"),
            app: app(),
            build_number: number.to_owned(),
            channels: channels.iter().copied().collect(),
        })
    };
    let refusal = w.refused(user("manager"), build("", &[BuildChannel::External]));
    assert!(matches!(refusal, Refusal::Invalid { ref field, .. } if field == "buildNumber"));
    let refusal = w.refused(user("manager"), build("42", &[]));
    assert!(matches!(refusal, Refusal::Invalid { ref field, .. } if field == "channels"));
    let refusal = w.refused(user("dev"), build("42", &[BuildChannel::External]));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    w.ok(user("manager"), build("42", &[BuildChannel::External]));
    let again = Command::RegisterBuild(RegisterBuild {
        id: BuildId::from("b2"),
        app: app(),
        build_number: "42".into(),
        channels: [BuildChannel::Internal].into(),
    });
    let refusal = w.refused(user("manager"), again);
    assert!(conflict(&refusal, None).contains("already has build number 42"));
}
