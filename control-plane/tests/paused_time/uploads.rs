//! The leader's reservation timer (`expire_stale_uploads`): an upload file reserved and never
//! committed expires at the first sweep once its lifetime is over, each file on its own
//! lifetime, and its version fails `UPLOAD_EXPIRED`.

use std::time::Duration;

use packyard_control_plane::upload_expirer::{expire_stale_uploads, sweep_interval};
use packyard_core::catalog::{
    Catalog, Command, ExpireUploadFile, UploadFileId, UploadFileState, VersionId, VersionState,
};

use crate::fixture::{World, shutdown};

/// A day, as on a node by default.
const LIFETIME: Duration = Duration::from_secs(86_400);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap()
}

/// What the timer proposes for `file`.
fn expire(file: &UploadFileId) -> Command {
    Command::ExpireUploadFile(ExpireUploadFile {
        id: file.clone(),
        ttl_ms: millis(LIFETIME),
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

#[tokio::test(start_paused = true)]
async fn an_upload_never_committed_expires_at_the_first_sweep_after_its_lifetime_and_not_before() {
    let sweep = sweep_interval(LIFETIME);
    assert_eq!(sweep, Duration::from_secs(60));
    let mut w = World::new().await;
    let first_pack = w.pack("level-1").await;
    let first_version = w.version(&first_pack).await;
    let first = w.reserve(&first_version).await;

    let (_stop, stopped) = shutdown();
    tokio::spawn(expire_stale_uploads(
        w.task_store(),
        w.clock,
        LIFETIME,
        stopped,
    ));
    w.task_has_read(1).await;

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
            (millis(LIFETIME), expire(&first)),
            (millis(LIFETIME) + 3_600_000, expire(&second)),
        ]
    );
}
