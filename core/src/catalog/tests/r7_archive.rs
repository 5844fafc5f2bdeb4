use super::fixture::*;
use crate::catalog::*;
use crate::role::Role;

#[test]
fn r7_archive_removes_the_pack_from_every_channel_and_frees_its_quota() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let other = w.pack("level-3");
    let v1 = w.complete(&pack, 100);
    w.complete(&other, 7);
    w.in_external_testing(&v1);
    w.live_in_store(&v1);
    assert_eq!(w.served(Channel::Store), [("level-2".to_owned(), 1)]);
    assert_eq!(w.catalog.used_bytes(&app()), 107);

    let events = w.ok(user("manager"), archive(&pack));
    assert_eq!(w.served(Channel::Internal), [("level-3".to_owned(), 1)]);
    assert!(w.served(Channel::External).is_empty());
    assert!(
        w.served(Channel::Store).is_empty(),
        "even the live store version goes"
    );
    assert_eq!(w.catalog.used_bytes(&app()), 7);
    assert_eq!(w.catalog.pack_used(&pack), 0);
    let archived = w.catalog.pack(&pack).unwrap().archived.clone().unwrap();
    assert_eq!(archived.by, user("manager"));
    assert_eq!(events[0].kind, EventType::BackgroundAssetArchived);
}

#[test]
fn r7_members_with_notifications_are_told_who_archived_the_pack() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.ok(
        user("admin2"),
        Command::SetNotifications(SetNotifications {
            user: UserId::from("admin2"),
            enabled: false,
        }),
    );
    let events = w.ok(user("admin"), archive(&pack));
    let e = &events[0];
    let told: Vec<&str> = e.notify.iter().map(UserId::as_str).collect();
    assert_eq!(told, ["admin", "dev", "holder", "manager", "reviewer"]);
    assert_eq!(
        e.detail.as_deref(),
        Some("asset pack level-2 was archived by admin (admin)")
    );
}

#[test]
fn r7_archived_identifier_is_never_reused() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.ok(user("manager"), archive(&pack));
    let refusal = w.refused(user("dev"), create_pack(&PackId::from("again"), "level-2"));
    assert!(conflict(&refusal, Some(Rule::R7)).contains("can never be used again"));
    let live = w.pack("level-3");
    let refusal = w.refused(user("dev"), create_pack(&PackId::from("dup"), "level-3"));
    assert!(conflict(&refusal, None).contains(&format!("with identifier level-3 ({live})")));
}

#[test]
fn r7_the_same_identifier_is_fine_in_another_app() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.ok(user("manager"), archive(&pack));
    w.ok(
        user("stranger"),
        Command::CreatePack(CreatePack {
            id: PackId::from("p-other"),
            app: AppId::from("other-app"),
            identifier: crate::AssetPackIdentifier::parse("level-2").unwrap(),
        }),
    );
}

#[test]
fn r7_archive_is_refused_while_a_version_is_processing() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.processing(&pack, 100);
    let refusal = w.refused(user("manager"), archive(&pack));
    assert_eq!(
        conflict(&refusal, Some(Rule::R7)),
        "pack level-2 cannot be archived while version 1 is PROCESSING; wait until it is over"
    );
}

#[test]
fn r7_archive_is_refused_while_external_review_is_pending() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::ExternalBeta);
    let refusal = w.refused(user("manager"), archive(&pack));
    assert!(
        conflict(&refusal, Some(Rule::R7))
            .contains("external beta release of version 1 is WAITING_FOR_REVIEW")
    );
    w.ok(user("reviewer"), start(&s));
    let refusal = w.refused(user("manager"), archive(&pack));
    assert!(conflict(&refusal, Some(Rule::R7)).contains("IN_REVIEW"));
    w.ok(user("reviewer"), decide(&s, false, vec!["No.".into()]));
    w.ok(user("manager"), archive(&pack));
}

#[test]
fn r7_archive_is_refused_in_every_blocking_store_state() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let blocked = |w: &mut World, state: &str| {
        let refusal = w.refused(user("manager"), archive(&pack));
        let detail = conflict(&refusal, Some(Rule::R7));
        assert!(
            detail.contains(&format!("app store release of version 1 is {state}")),
            "{detail}"
        );
    };
    let s = w.submit(&v, ReviewTrack::AppStore);
    blocked(&mut w, "WAITING_FOR_REVIEW");
    w.ok(user("reviewer"), start(&s));
    blocked(&mut w, "IN_REVIEW");
    w.ok(user("reviewer"), decide(&s, false, vec!["No.".into()]));
    blocked(&mut w, "REJECTED");
    let s = w.submit(&v, ReviewTrack::AppStore);
    w.decide(&s, true);
    blocked(&mut w, "ACCEPTED");
    w.ok(user("manager"), release(&v));
    blocked(&mut w, "PROCESSING_FOR_DISTRIBUTION");
    w.ok(Actor::System, finish_distribution(&v));
    w.ok(user("manager"), archive(&pack));
}

#[test]
fn r7_archive_is_refused_during_an_app_transfer() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let transfer = |on| {
        Command::SetTransferInProgress(SetTransferInProgress {
            app: app(),
            in_progress: on,
        })
    };
    let refusal = w.refused(user("admin"), transfer(true));
    assert_eq!(
        refusal,
        Refusal::Forbidden {
            action: crate::role::Action::Transfer,
            needed: vec![Role::AccountHolder]
        }
    );
    w.ok(user("holder"), transfer(true));
    let refusal = w.refused(user("manager"), archive(&pack));
    assert!(conflict(&refusal, Some(Rule::R7)).contains("being transferred"));
    w.ok(user("holder"), transfer(false));
    w.ok(user("manager"), archive(&pack));
}

#[test]
fn r7_archiving_cannot_be_undone_or_repeated_and_freezes_the_pack() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    w.ok(user("manager"), archive(&pack));
    let refusal = w.refused(user("manager"), archive(&pack));
    assert!(conflict(&refusal, None).contains("already archived"));
    let new_version = Command::CreateVersion(CreateVersion {
        id: VersionId::from("late"),
        pack: pack.clone(),
    });
    let refusal = w.refused(user("dev"), new_version);
    assert!(conflict(&refusal, Some(Rule::R7)).contains("archived"));
    let file = UploadFileId::from("late-file");
    let refusal = w.refused(user("dev"), reserve(&file, &v, 10, AssetType::Asset));
    assert_eq!(refusal.rule(), Some(Rule::R7));
}

#[test]
fn r7_developers_cannot_archive() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let refusal = w.refused(user("dev"), archive(&pack));
    assert_eq!(
        refusal.to_string(),
        "you need one of the roles Account Holder, Admin, App Manager on this app to archive \
         asset packs"
    );
    let refusal = w.refused(user("dev"), archive(&PackId::from("nope")));
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn r7_archiving_cannot_be_undone_so_archived_false_is_refused_naming_the_field() {
    let pack = PackId::from("p");
    assert_eq!(
        set_archived(pack.clone(), true),
        Ok(Command::ArchivePack { pack: pack.clone() })
    );
    let refusal = set_archived(pack, false).unwrap_err();
    assert!(
        matches!(&refusal, Refusal::Invalid { field, reason }
            if field == "archived" && reason.contains("cannot be undone")),
        "{refusal}"
    );
}

#[test]
fn r7_a_withdrawn_submission_no_longer_stops_the_archive_and_can_be_submitted_again() {
    let mut w = World::new();
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::ExternalBeta);
    assert!(w.refused(user("manager"), archive(&pack)).rule() == Some(Rule::R7));
    // A Developer may not submit, so may not withdraw either.
    let refusal = w.refused(user("dev"), withdraw(&s));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let events = w.ok(user("manager"), withdraw(&s));
    assert_eq!(
        w.catalog.submission(&s).unwrap().state,
        SubmissionState::Withdrawn
    );
    assert_eq!(
        w.records(&v).external,
        ExternalBetaState::ReadyForBetaSubmission
    );
    assert!(
        events.iter().any(|e| e
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("withdrawn by"))),
        "{events:?}"
    );
    // Withdrawn is final: not again, and no reviewer can pick it up.
    let again = w.refused(user("manager"), withdraw(&s));
    assert!(conflict(&again, None).contains("WITHDRAWN"), "{again}");
    assert_eq!(
        w.refused(user("reviewer"), start(&s)).kind(),
        RefusalKind::Conflict
    );
    // The version can be submitted again; the pack can be archived once nothing waits.
    let s2 = w.submit(&v, ReviewTrack::ExternalBeta);
    w.ok(user("manager"), withdraw(&s2));
    w.ok(user("manager"), archive(&pack));
}

#[test]
fn a_submission_a_reviewer_picked_up_cannot_be_withdrawn() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::AppStore);
    w.ok(user("reviewer"), start(&s));
    let refusal = w.refused(user("manager"), withdraw(&s));
    assert!(conflict(&refusal, None).contains("IN_REVIEW"), "{refusal}");
    assert_eq!(w.records(&v).store, AppStoreState::InReview);
}

#[test]
fn a_withdrawn_store_submission_goes_back_to_prepare_for_submission() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.complete(&pack, 100);
    let s = w.submit(&v, ReviewTrack::AppStore);
    w.ok(user("holder"), withdraw(&s));
    assert_eq!(w.records(&v).store, AppStoreState::PrepareForSubmission);
}
