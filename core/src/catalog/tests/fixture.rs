//! A small world to test rules in: one app with a member of every role, plus helpers that
//! walk a version through its life.

use std::collections::BTreeSet;

use crate::catalog::*;
use crate::chunk_list::{ChunkRef, MAX_CHUNK_LEN};
use crate::quota::QuotaLimits;
use crate::role::Role;
use crate::{AssetPackIdentifier, Blake3Hash, ChunkList, DownloadPolicy, LanguageTag};

/// The app every test works in.
pub(super) const APP: &str = "app-1";

pub(super) struct World {
    pub(super) catalog: Catalog,
    pub(super) clock: u64,
    ids: u64,
}

pub(super) fn user(name: &str) -> Actor {
    Actor::User(UserId::from(name))
}

pub(super) fn app() -> AppId {
    AppId::from(APP)
}

impl World {
    /// An app whose Account Holder is `holder`, with `admin`, `manager`, `dev` and `reviewer`
    /// holding the role their name says, a second Admin `admin2`, an operator `op`, and
    /// `stranger`, a user with a role on another app only.
    pub(super) fn new() -> Self {
        Self::with_limits(QuotaLimits::default())
    }

    pub(super) fn with_limits(limits: QuotaLimits) -> Self {
        let mut w = World {
            catalog: Catalog::new(limits),
            clock: 1_000,
            ids: 0,
        };
        w.ok(Actor::System, new_user("op", &[], true));
        w.ok(user("op"), new_user("holder", &[], false));
        w.ok(
            user("holder"),
            Command::CreateApp(CreateApp {
                id: app(),
                name: "Game".into(),
                bundle_id: "com.example.game".into(),
                primary_language: LanguageTag::parse("en").unwrap(),
            }),
        );
        for (name, role) in [
            ("admin", Role::Admin),
            ("admin2", Role::Admin),
            ("manager", Role::AppManager),
            ("dev", Role::Developer),
        ] {
            w.ok(user("holder"), new_user(name, &[(APP, role)], false));
        }
        // Reviewers belong to the operator's organisation: only an operator grants the role.
        w.ok(
            user("op"),
            new_user("reviewer", &[(APP, Role::Reviewer)], false),
        );
        w.ok(
            user("op"),
            Command::CreateApp(CreateApp {
                id: AppId::from("other-app"),
                name: "Other".into(),
                bundle_id: "com.example.other".into(),
                primary_language: LanguageTag::parse("fr").unwrap(),
            }),
        );
        w.ok(
            user("op"),
            new_user("stranger", &[("other-app", Role::AccountHolder)], false),
        );
        w
    }

    /// A fresh id with `prefix`.
    pub(super) fn id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}-{}", self.ids)
    }

    /// Applies `command` as `actor`, a second after the previous one.
    pub(super) fn run(&mut self, actor: Actor, command: Command) -> Result<Vec<Event>, Refusal> {
        self.clock += 1_000;
        self.catalog.apply(Envelope {
            actor,
            at: Timestamp(self.clock),
            command,
            key: None,
        })
    }

    /// Applies `command`, which must be accepted.
    pub(super) fn ok(&mut self, actor: Actor, command: Command) -> Vec<Event> {
        let shown = format!("{command:?}");
        self.run(actor, command)
            .unwrap_or_else(|e| panic!("{shown} was refused: {e}"))
    }

    /// Applies `command`, which must be refused, and checks nothing changed.
    pub(super) fn refused(&mut self, actor: Actor, command: Command) -> Refusal {
        let before = self.catalog.clone();
        let refusal = self
            .run(actor, command)
            .expect_err("the command was accepted");
        assert_eq!(
            self.catalog, before,
            "a refused command changed the catalog"
        );
        refusal
    }

    /// Registers a build available on `channels`.
    pub(super) fn build(&mut self, channels: &[BuildChannel]) {
        let id = self.id("build");
        self.ok(
            user("manager"),
            Command::RegisterBuild(RegisterBuild {
                id: BuildId::new(id.clone()),
                app: app(),
                build_number: id,
                channels: channels.iter().copied().collect(),
            }),
        );
    }

    /// A new pack, created by the Developer.
    pub(super) fn pack(&mut self, identifier: &str) -> PackId {
        let id = PackId::new(self.id("pack"));
        self.ok(user("dev"), create_pack(&id, identifier));
        id
    }

    /// A new version of `pack`, awaiting upload.
    pub(super) fn version(&mut self, pack: &PackId) -> VersionId {
        let id = VersionId::new(self.id("version"));
        self.ok(
            user("dev"),
            Command::CreateVersion(CreateVersion {
                id: id.clone(),
                pack: pack.clone(),
            }),
        );
        id
    }

    /// Reserves the ASSET file of `version`.
    pub(super) fn reserve(&mut self, version: &VersionId, size: u64) -> UploadFileId {
        let id = UploadFileId::new(self.id("file"));
        self.ok(user("dev"), reserve(&id, version, size, AssetType::Asset));
        id
    }

    /// A version of `pack` whose archive of `size` bytes is uploaded: PROCESSING.
    pub(super) fn processing(&mut self, pack: &PackId, size: u64) -> VersionId {
        let v = self.version(pack);
        let file = self.reserve(&v, size);
        self.ok(user("dev"), commit(&file));
        v
    }

    /// A COMPLETE version of `pack` of `size` bytes.
    pub(super) fn complete(&mut self, pack: &PackId, size: u64) -> VersionId {
        let v = self.processing(pack, size);
        self.ok(Actor::System, succeeded(&v, size));
        v
    }

    /// Submits `version` for review on `track`, as the App Manager.
    pub(super) fn submit(&mut self, version: &VersionId, track: ReviewTrack) -> ReviewSubmissionId {
        let id = ReviewSubmissionId::new(self.id("review"));
        self.ok(user("manager"), submit(&id, version, track));
        id
    }

    /// The Reviewer starts and decides `submission`.
    pub(super) fn decide(&mut self, submission: &ReviewSubmissionId, accepted: bool) -> Vec<Event> {
        self.ok(user("reviewer"), start(submission));
        let reasons = if accepted {
            vec![]
        } else {
            vec!["The pack crashes the app on launch.".to_owned()]
        };
        self.ok(user("reviewer"), decide(submission, accepted, reasons))
    }

    /// Takes `version` through external review into external testing (the approval does
    /// both, in one command).
    pub(super) fn in_external_testing(&mut self, version: &VersionId) {
        let s = self.submit(version, ReviewTrack::ExternalBeta);
        self.decide(&s, true);
    }

    /// Takes `version` through store review to ACCEPTED.
    pub(super) fn accepted_for_store(&mut self, version: &VersionId) {
        let s = self.submit(version, ReviewTrack::AppStore);
        self.decide(&s, true);
    }

    /// Takes `version` through store review and release to READY_FOR_DISTRIBUTION.
    pub(super) fn live_in_store(&mut self, version: &VersionId) {
        self.accepted_for_store(version);
        self.ok(user("manager"), release(version));
        self.ok(Actor::System, finish_distribution(version));
    }

    pub(super) fn v(&self, version: &VersionId) -> &Version {
        self.catalog.version(version).expect("the version exists")
    }

    pub(super) fn records(&self, version: &VersionId) -> ReleaseRecords {
        self.v(version)
            .releases
            .clone()
            .expect("the version is COMPLETE")
    }

    pub(super) fn external(&self, version: &VersionId) -> ExternalBetaState {
        self.records(version).external
    }

    pub(super) fn store(&self, version: &VersionId) -> AppStoreState {
        self.records(version).store
    }

    pub(super) fn internal(&self, version: &VersionId) -> InternalBetaState {
        self.records(version).internal
    }

    /// The version numbers `channel` serves, per pack identifier.
    pub(super) fn served(&self, channel: Channel) -> Vec<(String, u32)> {
        self.catalog
            .serving(&app(), channel)
            .into_iter()
            .map(|s| (s.completed.identifier.to_string(), s.completed.number))
            .collect()
    }
}

pub(super) fn new_user(name: &str, roles: &[(&str, Role)], operator: bool) -> Command {
    Command::CreateUser(CreateUser {
        id: UserId::from(name),
        name: name.to_owned(),
        email: format!("{name}@example.com"),
        roles: roles.iter().map(|(a, r)| (AppId::from(*a), *r)).collect(),
        operator,
    })
}

pub(super) fn create_pack(id: &PackId, identifier: &str) -> Command {
    Command::CreatePack(CreatePack {
        id: id.clone(),
        app: app(),
        identifier: AssetPackIdentifier::parse(identifier).unwrap(),
    })
}

pub(super) fn reserve(id: &UploadFileId, version: &VersionId, size: u64, t: AssetType) -> Command {
    Command::ReserveUploadFile(ReserveUploadFile {
        id: id.clone(),
        version: version.clone(),
        file_name: "pack.aar".into(),
        file_size: size,
        asset_type: t,
        key: Some(crate::upload_credential::UploadKey([9; 32])),
    })
}

pub(super) fn commit(id: &UploadFileId) -> Command {
    Command::CommitUploadFile(CommitUploadFile {
        id: id.clone(),
        sha256: Sha256Digest([7; 32]),
    })
}

/// A chunk list of `size` bytes, named after `size` so different sizes differ.
pub(super) fn chunks(size: u64) -> ChunkList {
    let mut refs = Vec::new();
    let mut left = size;
    while left > 0 {
        let len = u32::try_from(left.min(u64::from(MAX_CHUNK_LEN))).unwrap();
        let seed = [size.to_le_bytes(), (refs.len() as u64).to_le_bytes()].concat();
        refs.push(ChunkRef {
            id: Blake3Hash::of(&seed),
            len,
        });
        left -= u64::from(len);
    }
    ChunkList::new(Blake3Hash::of(&size.to_le_bytes()), refs).unwrap()
}

pub(super) fn metadata() -> VersionMetadata {
    VersionMetadata {
        download_policy: DownloadPolicy::OnDemand {},
        platforms: BTreeSet::from([crate::Platform::Ios]),
        language: None,
    }
}

pub(super) fn succeeded(version: &VersionId, size: u64) -> Command {
    Command::ProcessingSucceeded(ProcessingSucceeded {
        version: version.clone(),
        size,
        chunk_list: chunks(size),
        metadata: metadata(),
    })
}

pub(super) fn failed(version: &VersionId, file: Option<&UploadFileId>, why: &str) -> Command {
    Command::ProcessingFailed(ProcessingFailed {
        version: version.clone(),
        upload_file: file.cloned(),
        details: StateDetails {
            errors: vec![StateDetail {
                code: "CHECKSUM_MISMATCH".into(),
                description: why.into(),
            }],
            ..StateDetails::default()
        },
    })
}

pub(super) fn submit(id: &ReviewSubmissionId, version: &VersionId, track: ReviewTrack) -> Command {
    Command::SubmitForReview(SubmitForReview {
        id: id.clone(),
        version: version.clone(),
        track,
    })
}

pub(super) fn start(submission: &ReviewSubmissionId) -> Command {
    Command::StartReview {
        submission: submission.clone(),
    }
}

pub(super) fn withdraw(submission: &ReviewSubmissionId) -> Command {
    Command::WithdrawSubmission {
        submission: submission.clone(),
    }
}

pub(super) fn decide(
    submission: &ReviewSubmissionId,
    accepted: bool,
    reasons: Vec<String>,
) -> Command {
    Command::DecideReview(DecideReview {
        submission: submission.clone(),
        accepted,
        reasons,
    })
}

pub(super) fn release(version: &VersionId) -> Command {
    Command::Release {
        version: version.clone(),
    }
}

pub(super) fn finish_distribution(version: &VersionId) -> Command {
    Command::FinishDistribution {
        version: version.clone(),
    }
}

pub(super) fn archive(pack: &PackId) -> Command {
    Command::ArchivePack { pack: pack.clone() }
}

/// The detail of a conflict, checking its rule.
pub(super) fn conflict(refusal: &Refusal, rule: Option<Rule>) -> String {
    match refusal {
        Refusal::Conflict { rule: r, detail } => {
            assert_eq!(*r, rule, "{refusal}");
            detail.clone()
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}
