use super::fixture::*;
use crate::catalog::*;

#[test]
fn committing_the_archive_starts_processing() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    assert_eq!(w.v(&v).state, VersionState::AwaitingUpload);
    let file = w.reserve(&v, 100);
    assert_eq!(
        w.catalog.upload_file(&file).unwrap().state,
        UploadFileState::AwaitingUpload
    );
    let events = w.ok(user("dev"), commit(&file));
    assert_eq!(w.v(&v).state, VersionState::Processing);
    assert_eq!(events[0].old_state.as_deref(), Some("AWAITING_UPLOAD"));
    assert_eq!(events[0].new_state.as_deref(), Some("PROCESSING"));
    let f = w.catalog.upload_file(&file).unwrap();
    assert_eq!(
        (f.state, f.sha256),
        (UploadFileState::UploadComplete, Some(Sha256Digest([7; 32])))
    );
    w.ok(Actor::System, succeeded(&v, 100));
    assert_eq!(
        w.catalog.upload_file(&file).unwrap().state,
        UploadFileState::Complete
    );
}

#[test]
fn a_reserved_manifest_holds_processing_until_it_is_committed_too() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let manifest = UploadFileId::from("manifest");
    w.ok(
        user("dev"),
        reserve(&manifest, &v, 300, AssetType::Manifest),
    );
    let asset = w.reserve(&v, 100);
    assert!(w.ok(user("dev"), commit(&asset)).is_empty());
    assert_eq!(w.v(&v).state, VersionState::AwaitingUpload);
    w.ok(user("dev"), commit(&manifest));
    assert_eq!(w.v(&v).state, VersionState::Processing);
}

#[test]
fn a_version_has_one_file_of_each_type() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let first = w.reserve(&v, 100);
    let refusal = w.refused(
        user("dev"),
        reserve(&UploadFileId::from("2nd"), &v, 50, AssetType::Asset),
    );
    assert!(
        conflict(&refusal, None).contains(&format!("already has a ASSET upload file ({first})"))
    );
}

#[test]
fn files_are_added_only_while_the_version_awaits_upload() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let refusal = w.refused(
        user("dev"),
        reserve(&UploadFileId::from("late"), &v, 50, AssetType::Manifest),
    );
    assert!(conflict(&refusal, None).contains("only while it is AWAITING_UPLOAD"));
}

#[test]
fn a_file_is_committed_once() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let manifest = UploadFileId::from("manifest");
    w.ok(
        user("dev"),
        reserve(&manifest, &v, 300, AssetType::Manifest),
    );
    w.ok(user("dev"), commit(&manifest));
    let refusal = w.refused(user("dev"), commit(&manifest));
    assert!(conflict(&refusal, None).contains("already committed"));
    let refusal = w.refused(user("dev"), commit(&UploadFileId::from("nope")));
    assert_eq!(refusal.kind(), RefusalKind::NotFound);
}

#[test]
fn empty_names_and_sizes_are_invalid() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let refusal = w.refused(
        user("dev"),
        reserve(&UploadFileId::from("f"), &v, 0, AssetType::Asset),
    );
    assert_eq!(
        refusal.to_string(),
        "fileSize: is 0; a file holds at least one byte"
    );
    let nameless = Command::ReserveUploadFile(ReserveUploadFile {
        id: UploadFileId::from("f"),
        version: v,
        file_name: " ".into(),
        file_size: 1,
        asset_type: AssetType::Asset,
        key: None,
    });
    assert_eq!(
        w.refused(user("dev"), nameless).kind(),
        RefusalKind::Invalid
    );
}

#[test]
fn a_checksum_mismatch_fails_the_file_with_its_reason_and_the_version() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let file = w.reserve(&v, 100);
    w.ok(user("dev"), commit(&file));
    let why = "The SHA-256 of the uploaded bytes does not match the checksum you sent.";
    let events = w.ok(Actor::System, failed(&v, Some(&file), why));
    let f = w.catalog.upload_file(&file).unwrap();
    assert_eq!(
        (f.state, f.failure.as_deref()),
        (UploadFileState::Failed, Some(why))
    );
    assert_eq!(w.v(&v).state, VersionState::Failed);
    assert_eq!(w.v(&v).state_details.errors[0].code, "CHECKSUM_MISMATCH");
    assert_eq!(events[0].new_state.as_deref(), Some("FAILED"));
    let refusal = w.refused(Actor::System, failed(&v, None, "again"));
    assert!(conflict(&refusal, None).contains("already FAILED"));
}

#[test]
fn a_failure_needs_an_error_and_a_file_of_that_version() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.processing(&pack, 100);
    let silent = Command::ProcessingFailed(ProcessingFailed {
        version: v.clone(),
        upload_file: None,
        details: StateDetails::default(),
    });
    let refusal = w.refused(Actor::System, silent);
    assert!(
        matches!(refusal, Refusal::Invalid { ref field, .. } if field == "stateDetails.errors")
    );
    let other = w.version(&pack);
    let foreign = w.reserve(&other, 10);
    let refusal = w.refused(Actor::System, failed(&v, Some(&foreign), "x"));
    assert!(matches!(refusal, Refusal::Invalid { ref field, .. } if field == "uploadFile"));
}

#[test]
fn a_sha256_is_64_hex_digits() {
    let hex = "ab".repeat(32);
    assert_eq!(Sha256Digest::parse_hex(&hex).unwrap().to_hex(), hex);
    let refusal = Sha256Digest::parse_hex("abc").unwrap_err();
    assert_eq!(refusal.kind(), RefusalKind::Invalid);
}

#[test]
fn case_4_a_manifest_reservation_past_the_manifest_size_limit_is_refused_naming_it() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let eight_gb = 8_000_000_000;
    let refusal = w.refused(
        user("dev"),
        reserve(&UploadFileId::from("m"), &v, eight_gb, AssetType::Manifest),
    );
    assert_eq!(refusal.kind(), RefusalKind::Invalid);
    assert_eq!(
        refusal.to_string(),
        "fileSize: is 8000000000 bytes; a MANIFEST file may be at most 1048576 bytes (1 MiB), \
         the largest packaging manifest Packyard reads"
    );
    let refusal = w.refused(
        user("dev"),
        reserve(
            &UploadFileId::from("m"),
            &v,
            MAX_MANIFEST_FILE_BYTES + 1,
            AssetType::Manifest,
        ),
    );
    assert_eq!(refusal.kind(), RefusalKind::Invalid);
    w.ok(
        user("dev"),
        reserve(
            &UploadFileId::from("m"),
            &v,
            MAX_MANIFEST_FILE_BYTES,
            AssetType::Manifest,
        ),
    );
    // The archive is held to the quota's file limit, not the manifest's.
    w.ok(
        user("dev"),
        reserve(
            &UploadFileId::from("a"),
            &v,
            MAX_MANIFEST_FILE_BYTES + 1,
            AssetType::Asset,
        ),
    );
}

#[test]
fn a_reservation_keeps_the_key_its_urls_are_signed_with() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let file = w.reserve(&v, 100);
    let f = w.catalog.upload_file(&file).unwrap();
    assert_eq!(f.key, Some(crate::upload_credential::UploadKey([9; 32])));
    assert_eq!(f.committed_at, None);
}

#[test]
fn a_file_takes_parts_only_while_awaiting_upload_and_keeps_them_until_processed() {
    use UploadFileState as S;
    let states = [S::AwaitingUpload, S::UploadComplete, S::Complete, S::Failed];
    let takes: Vec<bool> = states.iter().map(|s| s.takes_parts()).collect();
    assert_eq!(takes, [true, false, false, false]);
    let keeps: Vec<bool> = states.iter().map(|s| s.keeps_parts()).collect();
    assert_eq!(keeps, [true, true, false, false]);
}
