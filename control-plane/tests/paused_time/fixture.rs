//! A catalog to test timers in: an app with an operator and a Reviewer, commands stamped by a
//! clock that follows Tokio's time, and a store wrapper that says when a task has read.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packyard_control_plane::api::{Bootstrapped, OPERATOR_ID, bootstrap};
use packyard_control_plane::store::Applied;
use packyard_control_plane::{CatalogStore, Clock, MemoryStore, StoreError};
use packyard_core::catalog::{
    Actor, AppId, AssetType, Catalog, Command, CommitUploadFile, CreateApp, CreatePack, CreateUser,
    CreateVersion, DecideReview, EdgeId, Envelope, PackId, ProcessingSucceeded, RegisterEdge,
    ReserveUploadFile, ReviewSubmissionId, ReviewTrack, Sha256Digest, SubmitForReview, Timestamp,
    UploadFileId, UserId, VersionId, VersionMetadata,
};
use packyard_core::quota::QuotaLimits;
use packyard_core::role::Role;
use packyard_core::{
    AssetPackIdentifier, Blake3Hash, ChunkList, ChunkRef, DownloadPolicy, LanguageTag, Platform,
};
use tokio::sync::{oneshot, watch};

/// What the clock reads when a test starts: 2026-01-01T00:00:00Z.
pub(crate) const START: Timestamp = Timestamp(1_767_225_600_000);

/// The app every test works in.
pub(crate) const APP: &str = "app-1";

/// How many times a condition is checked, yielding in between, before a test fails. Paused
/// time does not move while the test yields, so this bounds work, not time.
const YIELDS: usize = 10_000;

/// The catalog, the clock that stamps its commands, and what the task under test did.
pub(crate) struct World {
    pub(crate) store: MemoryStore,
    pub(crate) clock: Clock,
    /// The operator's API key.
    pub(crate) key: String,
    /// Counts the reads of the task under test (see [`World::task_store`]).
    reads: watch::Sender<u64>,
    /// What the task under test proposed, in order.
    writes: Arc<Mutex<Vec<Envelope>>>,
    ids: u64,
}

impl World {
    /// A catalog whose operator is bootstrapped as a node does it, with app [`APP`] and a
    /// Reviewer, all at [`START`]. Call it on a runtime with paused time.
    pub(crate) async fn new() -> Self {
        let clock = Clock::tokio_from(START);
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        let Bootstrapped::Created { key, .. } = bootstrap(&store, None, clock).await.unwrap()
        else {
            panic!("a new catalog has no operator yet");
        };
        let w = Self {
            store,
            clock,
            key,
            reads: watch::Sender::new(0),
            writes: Arc::default(),
            ids: 0,
        };
        w.ok(
            operator(),
            Command::CreateApp(CreateApp {
                id: AppId::from(APP),
                name: "Game".into(),
                bundle_id: "com.example.game".into(),
                primary_language: LanguageTag::parse("en").unwrap(),
            }),
        )
        .await;
        w.ok(
            operator(),
            Command::CreateUser(CreateUser {
                id: UserId::from("reviewer"),
                name: "Reviewer".into(),
                email: "reviewer@example.com".into(),
                roles: vec![(AppId::from(APP), Role::Reviewer)],
                operator: false,
            }),
        )
        .await;
        w
    }

    /// A fresh id with `prefix`.
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}-{}", self.ids)
    }

    /// Applies `command` as `actor`, stamped by the clock; it must be accepted.
    pub(crate) async fn ok(&self, actor: Actor, command: Command) {
        let shown = format!("{command:?}");
        let applied = self
            .store
            .write(Envelope {
                actor,
                at: self.clock.now(),
                command,
                key: None,
            })
            .await
            .unwrap();
        assert!(applied.is_ok(), "{shown} was refused: {applied:?}");
    }

    /// Reads the catalog as it is now.
    pub(crate) async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Catalog) -> R + Send + 'static,
    ) -> R {
        self.store.read(f).await.unwrap()
    }

    /// Registers edge `id` in `region`.
    pub(crate) async fn edge(&self, id: &str, region: &str) {
        self.ok(
            Actor::System,
            Command::RegisterEdge(RegisterEdge {
                id: EdgeId::from(id),
                region: region.into(),
                public_urls: vec![format!("http://{id}.example.com")],
                capacity_bytes: 1 << 30,
            }),
        )
        .await;
    }

    /// A new pack of the app.
    pub(crate) async fn pack(&mut self, identifier: &str) -> PackId {
        let id = PackId::new(self.id("pack"));
        self.ok(
            operator(),
            Command::CreatePack(CreatePack {
                id: id.clone(),
                app: AppId::from(APP),
                identifier: AssetPackIdentifier::parse(identifier).unwrap(),
            }),
        )
        .await;
        id
    }

    /// A new version of `pack`, awaiting its upload.
    pub(crate) async fn version(&mut self, pack: &PackId) -> VersionId {
        let id = VersionId::new(self.id("version"));
        self.ok(
            operator(),
            Command::CreateVersion(CreateVersion {
                id: id.clone(),
                pack: pack.clone(),
            }),
        )
        .await;
        id
    }

    /// Reserves the archive of `version`: it holds quota until it is committed or expires.
    pub(crate) async fn reserve(&mut self, version: &VersionId) -> UploadFileId {
        let id = UploadFileId::new(self.id("file"));
        self.ok(
            operator(),
            Command::ReserveUploadFile(ReserveUploadFile {
                id: id.clone(),
                version: version.clone(),
                file_name: "pack.aar".into(),
                file_size: 1_000,
                asset_type: AssetType::Asset,
                key: Some(packyard_core::upload_credential::UploadKey([1; 32])),
            }),
        )
        .await;
        id
    }

    /// Commits upload file `file`: its version goes PROCESSING.
    pub(crate) async fn commit(&self, file: &UploadFileId) {
        self.ok(
            operator(),
            Command::CommitUploadFile(CommitUploadFile {
                id: file.clone(),
                sha256: Sha256Digest([7; 32]),
            }),
        )
        .await;
    }

    /// A new version of `pack`, uploaded, processed and accepted for the store.
    pub(crate) async fn accepted_version(&mut self, pack: &PackId) -> VersionId {
        let version = self.version(pack).await;
        let file = self.reserve(&version).await;
        self.commit(&file).await;
        let chunk = ChunkRef {
            id: Blake3Hash::of(version.as_str().as_bytes()),
            len: 1_000,
        };
        self.ok(
            Actor::System,
            Command::ProcessingSucceeded(ProcessingSucceeded {
                version: version.clone(),
                size: 1_000,
                chunk_list: ChunkList::new(chunk.id, vec![chunk]).unwrap(),
                metadata: VersionMetadata {
                    download_policy: DownloadPolicy::OnDemand {},
                    platforms: BTreeSet::from([Platform::Ios]),
                    language: None,
                },
            }),
        )
        .await;
        let submission = ReviewSubmissionId::new(self.id("review"));
        self.ok(
            operator(),
            Command::SubmitForReview(SubmitForReview {
                id: submission.clone(),
                version: version.clone(),
                track: ReviewTrack::AppStore,
            }),
        )
        .await;
        let reviewer = Actor::User(UserId::from("reviewer"));
        self.ok(
            reviewer.clone(),
            Command::StartReview {
                submission: submission.clone(),
            },
        )
        .await;
        self.ok(
            reviewer,
            Command::DecideReview(DecideReview {
                submission,
                accepted: true,
                reasons: vec![],
            }),
        )
        .await;
        version
    }

    /// The store to hand the task under test: this catalog, counting the task's reads, so a
    /// test knows when the task has looked at the catalog at the current time, and keeping
    /// what it proposed.
    pub(crate) fn task_store(&self) -> Observed {
        Observed {
            inner: self.store.clone(),
            reads: self.reads.clone(),
            writes: Arc::clone(&self.writes),
        }
    }

    /// What the task under test proposed so far: each command's time, in milliseconds since
    /// the test began, and the command.
    pub(crate) fn task_proposals(&self) -> Vec<(u64, Command)> {
        let writes = self.writes.lock().unwrap();
        writes
            .iter()
            .map(|e| (e.at.0 - START.0, e.command.clone()))
            .collect()
    }

    /// Waits until the task under test has made `n` reads in all.
    pub(crate) async fn task_has_read(&self, n: u64) {
        let mut reads = self.reads.subscribe();
        reads.wait_for(|r| *r >= n).await.unwrap();
    }

    /// Moves Tokio's time, and with it the clock, forward by `by`, then waits until the task
    /// under test has read the catalog at the new time: its timer fired and it looked. Fails
    /// if the task read only later (`by` did not reach its next tick, and the runtime moved
    /// time on to it), so every check after this one is of the time the test chose.
    pub(crate) async fn advance_until_task_reads(&self, by: Duration) {
        let seen = *self.reads.borrow();
        let target = tokio::time::Instant::now() + by;
        tokio::time::advance(by).await;
        self.task_has_read(seen + 1).await;
        assert_eq!(
            tokio::time::Instant::now(),
            target,
            "the task looked only after time had moved past the time asked for"
        );
    }

    /// Yields to the other tasks until `check` holds of the catalog, without moving time.
    pub(crate) async fn until(
        &self,
        what: &str,
        check: impl Fn(&Catalog) -> bool + Clone + Send + 'static,
    ) {
        for _ in 0..YIELDS {
            if self.read(check.clone()).await {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("never came to pass: {what}");
    }

    /// How long since the test started, by the clock.
    pub(crate) fn elapsed(&self) -> Duration {
        Duration::from_millis(self.clock.now().0 - START.0)
    }
}

/// The bootstrapped operator.
pub(crate) fn operator() -> Actor {
    Actor::User(UserId::from(OPERATOR_ID))
}

/// A shutdown signal for a task: it stops when the sender is dropped.
pub(crate) fn shutdown() -> (oneshot::Sender<()>, impl Future<Output = ()> + Send) {
    let (stop, stopped) = oneshot::channel::<()>();
    (stop, async {
        let _ = stopped.await;
    })
}

/// A [`MemoryStore`] that counts the reads made through it and keeps what was proposed.
#[derive(Clone)]
pub(crate) struct Observed {
    inner: MemoryStore,
    reads: watch::Sender<u64>,
    writes: Arc<Mutex<Vec<Envelope>>>,
}

impl CatalogStore for Observed {
    async fn write_at(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        self.writes.lock().unwrap().push(envelope.clone());
        self.inner.write_at(envelope).await
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        let read = self.inner.read(f).await;
        self.reads.send_modify(|n| *n += 1);
        read
    }

    async fn read_local<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.read(f).await
    }

    async fn read_applied<R, F>(&self, _index: u64, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.read(f).await
    }

    async fn is_leader(&self) -> bool {
        true
    }
}
