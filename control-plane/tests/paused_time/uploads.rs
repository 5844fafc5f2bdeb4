//! The leader's upload timer (`expire_stale_uploads`): a version that will never be
//! processed as it stands expires at the first sweep once its time is over, and not before:
//! a file never committed at its reservation's lifetime (each file on its own), a lone
//! committed manifest at the lifetime of its reservation, a version processing for too long
//! only at the processing deadline, however long past the reservation's lifetime.

use std::time::Duration;

use packyard_control_plane::upload_expirer::{expire_stale_uploads, sweep_interval};
use packyard_core::catalog::{
    AssetType, Catalog, Command, ExpireVersion, ReserveUploadFile, UploadFileId, UploadFileState,
    VersionId, VersionState,
};
use packyard_core::upload_credential::UploadKey;
use packyard_core::upload_expiry::Deadlines;

use crate::fixture::{APP, World, operator, shutdown};

/// A day, as on a node by default.
const LIFETIME: Duration = Duration::from_secs(86_400);
/// Two days, as on a node by default.
const PROCESSING: Duration = Duration::from_secs(2 * 86_400);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap()
}

const DEADLINES: Deadlines = Deadlines {
    reservation_ms: 86_400_000,
    processing_ms: 2 * 86_400_000,
};

/// Starts the timer under test on `w`'s catalog, as a node does, and waits for its first look.
async fn start_timer(w: &World) -> tokio::sync::oneshot::Sender<()> {
    assert_eq!(
        (millis(LIFETIME), millis(PROCESSING)),
        (DEADLINES.reservation_ms, DEADLINES.processing_ms)
    );
    let (stop, stopped) = shutdown();
    tokio::spawn(expire_stale_uploads(
        w.task_store(),
        w.clock,
        DEADLINES,
        stopped,
    ));
    w.task_has_read(1).await;
    stop
}

/// What the timer proposes for `version`.
fn expire(version: &VersionId) -> Command {
    Command::ExpireVersion(ExpireVersion {
        version: version.clone(),
        reservation_ms: DEADLINES.reservation_ms,
        processing_ms: DEADLINES.processing_ms,
    })
}

fn file_state(id: &UploadFileId) -> impl Fn(&Catalog) -> UploadFileState + Clone + use<> {
    let id = id.clone();
    move |c| c.upload_file(&id).unwrap().state
}

fn version_state(
    id: &VersionId,
) -> impl Fn(&Catalog) -> (VersionState, Vec<String>) + Clone + use<> {
    let id = id.clone();
    move |c| {
        let v = c.version(&id).unwrap();
        let codes = v
            .state_details
            .errors
            .iter()
            .map(|e| e.code.clone())
            .collect();
        (v.state, codes)
    }
}

fn committed_bytes(c: &Catalog) -> u64 {
    c.committed_bytes(&APP.into())
}

#[tokio::test(start_paused = true)]
async fn an_upload_never_committed_expires_at_the_first_sweep_after_its_lifetime_and_not_before() {
    let sweep = sweep_interval(LIFETIME);
    assert_eq!(sweep, Duration::from_secs(60));
    let mut w = World::new().await;
    let first_pack = w.pack("level-1").await;
    let first_version = w.version(&first_pack).await;
    let first = w.reserve(&first_version).await;
    let _stop = start_timer(&w).await;

    // An hour later, a second file is reserved: it has a lifetime of its own.
    w.advance_until_task_reads(Duration::from_secs(3_600)).await;
    let second_pack = w.pack("level-2").await;
    let second_version = w.version(&second_pack).await;
    let second = w.reserve(&second_version).await;

    // One sweep before the first file's lifetime is over: both still await their upload.
    w.advance_until_task_reads(LIFETIME - Duration::from_secs(3_600) - sweep)
        .await;
    assert_eq!(
        w.read(file_state(&first)).await,
        UploadFileState::AwaitingUpload
    );
    assert_eq!(
        w.read(file_state(&second)).await,
        UploadFileState::AwaitingUpload
    );

    // The sweep at which it is over: the first expires, the second does not.
    w.advance_until_task_reads(sweep).await;
    assert_eq!(w.elapsed(), LIFETIME);
    w.until("the first upload expires", {
        let f = file_state(&first);
        move |c| f(c) == UploadFileState::Failed
    })
    .await;
    assert_eq!(
        w.read(version_state(&first_version)).await,
        (VersionState::Failed, vec!["UPLOAD_EXPIRED".to_owned()])
    );
    assert_eq!(
        w.read(file_state(&second)).await,
        UploadFileState::AwaitingUpload
    );

    // The second, a sweep before its own lifetime is over and at it.
    w.advance_until_task_reads(Duration::from_secs(3_600) - sweep)
        .await;
    assert_eq!(
        w.read(file_state(&second)).await,
        UploadFileState::AwaitingUpload
    );
    w.advance_until_task_reads(sweep).await;
    assert_eq!(w.elapsed(), LIFETIME + Duration::from_secs(3_600));
    w.until("the second upload expires", {
        let f = file_state(&second);
        move |c| f(c) == UploadFileState::Failed
    })
    .await;
    assert_eq!(
        w.read(version_state(&second_version)).await,
        (VersionState::Failed, vec!["UPLOAD_EXPIRED".to_owned()])
    );
    assert_eq!(
        w.task_proposals(),
        [
            (millis(LIFETIME), expire(&first_version)),
            (millis(LIFETIME) + 3_600_000, expire(&second_version)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn case_4_a_version_whose_only_file_is_a_committed_manifest_expires_at_the_reservation_lifetime()
 {
    let sweep = sweep_interval(LIFETIME);
    let mut w = World::new().await;
    let pack = w.pack("level-1").await;
    let version = w.version(&pack).await;
    let manifest = UploadFileId::new(w.id("file"));
    w.ok(
        operator(),
        Command::ReserveUploadFile(ReserveUploadFile {
            id: manifest.clone(),
            version: version.clone(),
            file_name: "Manifest.json".into(),
            file_size: 300,
            asset_type: AssetType::Manifest,
            key: Some(UploadKey([2; 32])),
        }),
    )
    .await;
    w.commit(&manifest).await;
    let _stop = start_timer(&w).await;
    assert_eq!(
        w.read(version_state(&version)).await,
        (VersionState::AwaitingUpload, vec![]),
        "committed, but no archive: nothing will process it"
    );

    w.advance_until_task_reads(LIFETIME - sweep).await;
    assert_eq!(
        w.read(file_state(&manifest)).await,
        UploadFileState::UploadComplete
    );
    w.advance_until_task_reads(sweep).await;
    w.until("the version expires", {
        let v = version_state(&version);
        move |c| v(c).0 == VersionState::Failed
    })
    .await;
    assert_eq!(
        w.read(version_state(&version)).await,
        (VersionState::Failed, vec!["UPLOAD_EXPIRED".to_owned()])
    );
    assert_eq!(
        w.read(file_state(&manifest)).await,
        UploadFileState::Failed,
        "the origin's sweep removes what it staged"
    );
    assert_eq!(w.task_proposals(), [(millis(LIFETIME), expire(&version))]);
}

#[tokio::test(start_paused = true)]
async fn a_version_processing_past_the_reservation_lifetime_is_failed_only_at_the_processing_deadline()
 {
    let sweep = sweep_interval(LIFETIME);
    let mut w = World::new().await;
    let pack = w.pack("level-1").await;
    let version = w.version(&pack).await;
    let archive = w.reserve(&version).await;
    w.commit(&archive).await;
    let _stop = start_timer(&w).await;
    assert_eq!(w.read(committed_bytes).await, 1_000);

    // A slow origin: a day and more after the commit, the version is still processing.
    w.advance_until_task_reads(LIFETIME + sweep).await;
    assert_eq!(
        w.read(version_state(&version)).await,
        (VersionState::Processing, vec![])
    );
    w.advance_until_task_reads(PROCESSING - LIFETIME - 2 * sweep)
        .await;
    assert_eq!(
        w.read(version_state(&version)).await,
        (VersionState::Processing, vec![])
    );
    assert!(w.task_proposals().is_empty(), "nothing proposed early");

    // At the processing deadline, it fails and frees its quota.
    w.advance_until_task_reads(sweep).await;
    assert_eq!(w.elapsed(), PROCESSING);
    w.until("the version expires", {
        let v = version_state(&version);
        move |c| v(c).0 == VersionState::Failed
    })
    .await;
    assert_eq!(
        w.read(version_state(&version)).await,
        (VersionState::Failed, vec!["PROCESSING_EXPIRED".to_owned()])
    );
    assert_eq!(w.read(file_state(&archive)).await, UploadFileState::Failed);
    assert_eq!(w.read(committed_bytes).await, 0);
    assert_eq!(w.task_proposals(), [(millis(PROCESSING), expire(&version))]);
}
