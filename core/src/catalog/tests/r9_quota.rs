use super::fixture::*;
use crate::catalog::*;
use crate::quota::QuotaLimits;

fn small() -> World {
    World::with_limits(QuotaLimits {
        max_packs: 3,
        max_bytes: 1_000,
        max_file_bytes: 600,
        warn_ratio_percent: 80,
        ..QuotaLimits::default()
    })
}

#[test]
fn r9_an_upload_that_would_pass_the_quota_is_refused_before_any_byte() {
    let mut w = small();
    let a = w.pack("a");
    let b = w.pack("b");
    w.complete(&a, 500);
    w.complete(&b, 300);
    let v = w.version(&b);
    let file = UploadFileId::from("big");
    let refusal = w.refused(user("dev"), reserve(&file, &v, 501, AssetType::Asset));
    assert_eq!(
        conflict(&refusal, Some(Rule::R9)),
        "a 501 byte archive would bring this app to 1001 bytes (stored versions and uploads \
         not yet processed), over its limit of 1000 bytes; archive packs you no longer need, \
         or let unfinished uploads finish or expire"
    );
    assert!(w.catalog.upload_file(&file).is_none());
    w.ok(user("dev"), reserve(&file, &v, 500, AssetType::Asset));
}

#[test]
fn r9_a_file_larger_than_one_upload_may_be_is_refused() {
    let mut w = small();
    let a = w.pack("a");
    let v = w.version(&a);
    let refusal = w.refused(
        user("dev"),
        reserve(&UploadFileId::from("f"), &v, 601, AssetType::Asset),
    );
    assert_eq!(
        refusal.to_string(),
        "fileSize: is 601 bytes; one file may be at most 600 bytes"
    );
}

#[test]
fn r9_an_app_has_at_most_max_packs_live_packs() {
    let mut w = small();
    let a = w.pack("a");
    w.pack("b");
    w.pack("c");
    let refusal = w.refused(user("dev"), create_pack(&PackId::from("d"), "d"));
    assert!(conflict(&refusal, Some(Rule::R9)).contains("already has 3 packs"));
    w.ok(user("manager"), archive(&a));
    w.ok(user("dev"), create_pack(&PackId::from("d"), "d"));
}

#[test]
fn r9_used_bytes_count_each_packs_largest_eligible_version() {
    let mut w = small();
    let a = w.pack("a");
    w.complete(&a, 200);
    w.complete(&a, 100);
    w.processing(&a, 400);
    let failed_version = w.processing(&a, 500);
    w.ok(
        Actor::System,
        failed(&failed_version, None, "Not an archive."),
    );
    assert_eq!(w.catalog.used_bytes(&app()), 200);
    assert_eq!(w.catalog.pack_used(&a), 200);
}

#[test]
fn r9_a_version_superseded_on_every_track_stops_counting() {
    let mut w = small();
    w.build(&[BuildChannel::External]);
    let a = w.pack("a");
    let v1 = w.complete(&a, 300);
    w.in_external_testing(&v1);
    w.live_in_store(&v1);
    let v2 = w.complete(&a, 100);
    assert_eq!(
        w.catalog.used_bytes(&app()),
        300,
        "v1 still tested and live"
    );
    w.in_external_testing(&v2);
    w.live_in_store(&v2);
    assert!(w.records(&v1).superseded_everywhere());
    assert_eq!(w.catalog.used_bytes(&app()), 100);
}

#[test]
fn r9_crossing_80_percent_warns_the_admins_once() {
    let mut w = small();
    let a = w.pack("a");
    let b = w.pack("b");
    w.complete(&a, 500);
    let v = w.processing(&b, 300);
    let events = w.ok(Actor::System, succeeded(&v, 300));
    let warning = events.last().unwrap();
    assert_eq!(warning.kind, EventType::QuotaWarning);
    assert_eq!(
        warning.notify,
        [UserId::from("admin"), UserId::from("admin2")]
    );
    assert!(
        warning
            .detail
            .as_deref()
            .unwrap()
            .starts_with("this app uses 800 of its 1000 bytes")
    );
    let v = w.processing(&b, 350);
    let events = w.ok(Actor::System, succeeded(&v, 350));
    assert!(events.iter().all(|e| e.kind != EventType::QuotaWarning));
}

#[test]
fn r9_reservations_not_yet_processed_count_until_the_quota_is_full() {
    let mut w = small();
    let a = w.pack("a");
    let b = w.pack("b");
    // 400 + 400 reserved in two packs, nothing processed yet: a third 400 does not fit.
    let v1 = w.version(&a);
    w.reserve(&v1, 400);
    let v2 = w.version(&b);
    w.reserve(&v2, 400);
    let v3 = w.version(&a);
    let file = UploadFileId::from("third");
    let refusal = w.refused(user("dev"), reserve(&file, &v3, 400, AssetType::Asset));
    assert!(
        conflict(&refusal, Some(Rule::R9)).contains("1200 bytes"),
        "{refusal}"
    );
    // Reservations in one pack add up too: each is staged whole until processed.
    w.ok(user("dev"), reserve(&file, &v3, 200, AssetType::Asset));
    assert_eq!(w.catalog.committed_bytes(&app()), 1_000);
    assert_eq!(
        w.catalog.used_bytes(&app()),
        0,
        "used bytes count stored versions only"
    );
}

#[test]
fn r9_a_processed_reservation_counts_as_its_version_and_an_update_of_the_same_size_fits() {
    let mut w = small();
    let a = w.pack("a");
    w.complete(&a, 600);
    // Replacing the 600-byte version with another 600 bytes: only the largest counts.
    let v = w.version(&a);
    w.reserve(&v, 600);
    assert_eq!(w.catalog.committed_bytes(&app()), 600);
    let b = w.pack("b");
    let vb = w.version(&b);
    w.reserve(&vb, 400);
    let vb2 = w.version(&b);
    let refusal = w.refused(
        user("dev"),
        reserve(&UploadFileId::from("x"), &vb2, 1, AssetType::Asset),
    );
    assert_eq!(refusal.kind(), RefusalKind::Conflict);
}

#[test]
fn r9_a_reservation_never_committed_expires_and_frees_its_quota() {
    let mut w = small();
    let a = w.pack("a");
    let v = w.version(&a);
    let file = w.reserve(&v, 600);
    let other = w.version(&a);
    let blocked = w.refused(
        user("dev"),
        reserve(
            &UploadFileId::from("blocked"),
            &other,
            500,
            AssetType::Asset,
        ),
    );
    assert_eq!(blocked.kind(), RefusalKind::Conflict, "600 + 500 pass 1000");
    let deadlines = crate::upload_expiry::Deadlines {
        reservation_ms: 60_000,
        processing_ms: 120_000,
    };
    let expire = |version: &VersionId| {
        Command::ExpireVersion(ExpireVersion {
            version: version.clone(),
            reservation_ms: deadlines.reservation_ms,
            processing_ms: deadlines.processing_ms,
        })
    };
    let early = w.refused(Actor::System, expire(&v));
    assert!(
        conflict(&early, None).contains("not past any upload or processing deadline"),
        "{early}"
    );
    assert!(
        w.catalog
            .stalled_versions(Timestamp(w.clock), deadlines)
            .is_empty()
    );
    w.clock += deadlines.reservation_ms;
    assert_eq!(
        w.catalog.stalled_versions(Timestamp(w.clock), deadlines),
        std::slice::from_ref(&v)
    );
    let refusal = w.refused(user("op"), expire(&v));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
    let events = w.ok(Actor::System, expire(&v));
    assert_eq!(events.len(), 1);
    let version = w.v(&v);
    assert_eq!(version.state, VersionState::Failed);
    assert_eq!(version.state_details.errors[0].code, "UPLOAD_EXPIRED");
    assert!(
        version.state_details.errors[0]
            .description
            .contains(&format!("upload file {file} (pack.aar) was not committed")),
        "{:?}",
        version.state_details
    );
    assert_eq!(
        w.catalog.upload_file(&file).unwrap().state,
        UploadFileState::Failed
    );
    assert_eq!(
        w.catalog.committed_bytes(&app()),
        0,
        "the quota is free again"
    );
    let again = w.refused(Actor::System, expire(&v));
    assert_eq!(again.kind(), RefusalKind::Conflict);
    w.ok(
        user("dev"),
        reserve(
            &UploadFileId::from("blocked"),
            &other,
            500,
            AssetType::Asset,
        ),
    );
}

/// `ExpireUploadFile`, which control planes proposed before `ExpireVersion`, still applies
/// from the entries in logs.
#[test]
fn r9_an_upload_expiry_logged_before_version_expiries_still_applies() {
    let mut w = small();
    let a = w.pack("a");
    let v = w.version(&a);
    let file = w.reserve(&v, 600);
    let expire = Command::ExpireUploadFile(ExpireUploadFile {
        id: file.clone(),
        ttl_ms: 60_000,
    });
    let early = w.refused(Actor::System, expire.clone());
    assert!(
        conflict(&early, None).contains("reserved less than"),
        "{early}"
    );
    w.clock += 60_000;
    w.ok(Actor::System, expire);
    assert_eq!(w.v(&v).state_details.errors[0].code, "UPLOAD_EXPIRED");
    assert_eq!(w.catalog.committed_bytes(&app()), 0);
}
