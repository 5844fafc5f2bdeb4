//! `ExpireVersion`: versions that will never be processed as they stand are failed, their
//! files closed and their quota freed; versions that may still be processed are left alone.

use super::fixture::*;
use crate::catalog::*;
use crate::upload_expiry::Deadlines;

const DEADLINES: Deadlines = Deadlines {
    reservation_ms: 60_000,
    processing_ms: 600_000,
};

fn expire(version: &VersionId) -> Command {
    Command::ExpireVersion(ExpireVersion {
        version: version.clone(),
        reservation_ms: DEADLINES.reservation_ms,
        processing_ms: DEADLINES.processing_ms,
    })
}

/// The versions the control plane would expire if it looked `ahead_ms` after the last command.
fn stalled(w: &World, ahead_ms: u64) -> Vec<VersionId> {
    w.catalog
        .stalled_versions(Timestamp(w.clock + ahead_ms), DEADLINES)
}

fn error(w: &World, v: &VersionId) -> (String, String) {
    let e = &w.v(v).state_details.errors[0];
    (e.code.clone(), e.description.clone())
}

#[test]
fn case_4_a_version_whose_only_file_is_a_committed_manifest_expires_and_frees_its_quota() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let manifest = UploadFileId::from("manifest");
    w.ok(
        user("dev"),
        reserve(&manifest, &v, 300, AssetType::Manifest),
    );
    let reserved_at = w.clock;
    w.ok(user("dev"), commit(&manifest));
    assert_eq!(
        w.v(&v).state,
        VersionState::AwaitingUpload,
        "no archive: no processing"
    );
    assert_eq!(
        w.catalog.upload_file(&manifest).unwrap().committed_at,
        Some(Timestamp(w.clock))
    );

    // Before the reservation's lifetime is over, the uploader may still reserve the archive.
    let lifetime_left = reserved_at + DEADLINES.reservation_ms - w.clock;
    assert!(stalled(&w, lifetime_left - 1).is_empty());
    assert_eq!(stalled(&w, lifetime_left), std::slice::from_ref(&v));
    w.clock += lifetime_left - 1_000;
    let events = w.ok(Actor::System, expire(&v));
    assert_eq!(events[0].old_state.as_deref(), Some("AWAITING_UPLOAD"));
    assert_eq!(events[0].new_state.as_deref(), Some("FAILED"));
    let (code, why) = error(&w, &v);
    assert_eq!(code, "UPLOAD_EXPIRED");
    assert!(why.contains("has no archive"), "{why}");
    let f = w.catalog.upload_file(&manifest).unwrap();
    assert_eq!(f.state, UploadFileState::Failed, "its staged parts may go");
    assert_eq!(f.failure.as_deref(), Some(why.as_str()));
    assert_eq!(w.catalog.committed_bytes(&app()), 0);
    assert!(
        stalled(&w, u64::MAX / 2).is_empty(),
        "a FAILED version never expires again"
    );
}

#[test]
fn an_archive_reserved_after_a_committed_manifest_gets_a_lifetime_of_its_own() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let manifest = UploadFileId::from("manifest");
    w.ok(
        user("dev"),
        reserve(&manifest, &v, 300, AssetType::Manifest),
    );
    w.ok(user("dev"), commit(&manifest));
    w.clock += 50_000;
    let archive = w.reserve(&v, 100);
    assert!(stalled(&w, DEADLINES.reservation_ms - 1).is_empty());
    assert_eq!(
        stalled(&w, DEADLINES.reservation_ms),
        std::slice::from_ref(&v)
    );
    w.clock += DEADLINES.reservation_ms - 1_000;
    w.ok(Actor::System, expire(&v));
    let (code, why) = error(&w, &v);
    assert_eq!(code, "UPLOAD_EXPIRED");
    assert!(why.contains(&format!(
        "upload file {archive} (pack.aar) was not committed"
    )));
    for file in [&manifest, &archive] {
        assert_eq!(
            w.catalog.upload_file(file).unwrap().state,
            UploadFileState::Failed,
            "{file}: every file the version held open is closed"
        );
    }
}

#[test]
fn a_processing_version_expires_at_the_processing_deadline_not_at_the_reservation_lifetime() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let committed_at = w.clock;
    assert!(
        stalled(&w, DEADLINES.reservation_ms * 5).is_empty(),
        "a slow origin is not failed at the reservation's lifetime"
    );
    let refusal = w.refused(Actor::System, expire(&v));
    assert!(
        conflict(&refusal, None).contains("is PROCESSING and not past"),
        "{refusal}"
    );
    let left = committed_at + DEADLINES.processing_ms - w.clock;
    assert!(stalled(&w, left - 1).is_empty());
    assert_eq!(stalled(&w, left), std::slice::from_ref(&v));
    w.clock += left - 1_000;
    let events = w.ok(Actor::System, expire(&v));
    assert_eq!(events[0].old_state.as_deref(), Some("PROCESSING"));
    let (code, why) = error(&w, &v);
    assert_eq!(code, "PROCESSING_EXPIRED");
    assert!(why.contains("was not reported within 0.17 h"), "{why}");
    assert_eq!(w.catalog.committed_bytes(&app()), 0, "the quota is free");
    // The origin's report, should it come after all, is refused: the version stays FAILED.
    let late = w.refused(Actor::System, succeeded(&v, 100));
    assert!(conflict(&late, None).contains("FAILED"), "{late}");
}

#[test]
fn versions_without_files_and_settled_versions_never_expire() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let empty = w.version(&pack);
    let done = w.complete(&pack, 100);
    assert!(stalled(&w, u64::MAX / 2).is_empty());
    for v in [&empty, &done] {
        w.clock += u64::MAX / 4;
        let refusal = w.refused(Actor::System, expire(v));
        assert_eq!(refusal.kind(), RefusalKind::Conflict);
    }
    let refusal = w.refused(Actor::System, expire(&VersionId::from("nope")));
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn only_packyard_itself_expires_a_version() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    w.reserve(&v, 100);
    w.clock += DEADLINES.reservation_ms;
    for actor in [user("op"), user("holder"), user("dev")] {
        let refusal = w.refused(actor, expire(&v));
        assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    }
    w.ok(Actor::System, expire(&v));
}
