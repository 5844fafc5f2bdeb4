use super::fixture::*;
use crate::catalog::*;
use crate::quota::QuotaLimits;

fn small() -> World {
    World::with_limits(QuotaLimits {
        max_packs: 3,
        max_bytes: 1_000,
        max_file_bytes: 600,
        warn_ratio_percent: 80,
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
        "a 501 byte archive would bring this app to 1001 bytes, over its limit of 1000 bytes; \
         archive packs you no longer need to make room"
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
