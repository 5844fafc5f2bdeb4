//! [`ServingView`] and [`ServingChange`]: what edges must know about an app, and how one
//! command changes it.
//!
//! The control plane turns every applied command into the changes edges follow on the watch
//! stream: it takes the view of the app the command touches before and after applying it,
//! and sends the difference. A watcher starting from nothing gets [`Catalog::serving_snapshot`]
//! instead. Both are computed here, from the catalog alone, so every replica sends the same.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Catalog;
use super::command::{
    AutoAdvanceRollout, ChangeRollout, Command, CommitUploadFile, CreateApp, DecideReview,
    ExpireVersion, ProcessingFailed, ProcessingSucceeded, StartRollout,
};
use super::ids::{AppId, PackId, RolloutId, TesterTokenId, UploadFileId, VersionId};
use super::rollout::{Rollout, RolloutState};
use super::serving::{Channel, CompletedVersion};
use super::upload_file::{AssetType, Sha256Digest};
use super::version::VersionState;
use crate::LanguageTag;
use crate::rollout::Stage;

/// Everything about one app that decides what its edges serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingView {
    app: AppId,
    primary_language: LanguageTag,
    /// The version number each (pack, channel) serves.
    channels: BTreeMap<(PackId, Channel), u32>,
    /// Every COMPLETE version of a live pack: its bytes are final (rule R12) and reachable by
    /// its immutable URL.
    completed: BTreeSet<VersionId>,
    archived: BTreeSet<PackId>,
    /// Versions whose uploads are all committed and which await processing by an origin.
    processing: BTreeSet<VersionId>,
    /// The active (running or paused) rollout of each pack that has one.
    rollouts: BTreeMap<PackId, ActiveRollout>,
    /// Tester tokens revoked, with when they expire (Unix seconds).
    revoked_tokens: BTreeMap<TesterTokenId, u64>,
}

/// The cluster-wide part of what edges serve by (see [`Catalog::cluster_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    token_generation: u64,
}

/// What edges need of an active rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ActiveRollout {
    id: RolloutId,
    from: Option<u32>,
    to: u32,
    stages: Vec<Stage>,
    stage: u32,
    state: RolloutState,
}

/// One committed upload file of a version awaiting processing: what an origin needs to find
/// its parts and check them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedFile {
    /// The upload file.
    pub id: UploadFileId,
    /// What it holds: the archive, or a manifest for it.
    pub asset_type: AssetType,
    /// Its declared size in bytes.
    pub size: u64,
    /// The SHA-256 its uploader committed, which the bytes must match.
    pub sha256: Sha256Digest,
}

/// One change to what edges serve, or (for origins) to what awaits processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServingChange {
    /// An app exists, with the language devices fall back to.
    App {
        /// The app.
        app: AppId,
        /// Its primary language (rule R10).
        primary_language: LanguageTag,
    },
    /// A version's bytes are final; edges may fetch and keep its chunks.
    VersionCompleted(CompletedVersion),
    /// A channel now serves another version of a pack, or none (`number: None`).
    ChannelUpdated {
        /// The app.
        app: AppId,
        /// The pack.
        pack: PackId,
        /// The channel.
        channel: Channel,
        /// The version number it serves now.
        number: Option<u32>,
    },
    /// The tester token secret was set or replaced: edges holding another generation's
    /// secret fetch the new one from the control plane (the secret itself never travels on
    /// the watch stream, which origins follow too).
    TokenSecretRotated {
        /// The generation now in force ([`Catalog::tester_token_generation`]).
        generation: u64,
    },
    /// A tester token was revoked: edges refuse it until it expires.
    TesterTokenRevoked {
        /// The app it opened.
        app: AppId,
        /// The token (its `jti`).
        token: TesterTokenId,
        /// When it expires (Unix seconds), after which edges may forget it.
        expires_at: u64,
    },
    /// A pack is archived: edges drop it from every channel (rule R7).
    PackArchived {
        /// The app.
        app: AppId,
        /// The pack.
        pack: PackId,
    },
    /// A rollout of a pack started or changed (stage, pause, resume), or ended. While it is
    /// active (RUNNING or PAUSED) its stage decides, per region and device, whether a device
    /// gets `to` or the store channel's version; once it is COMPLETED or ROLLED_BACK the
    /// store channel alone decides again.
    Rollout {
        /// The app.
        app: AppId,
        /// The pack.
        pack: PackId,
        /// The rollout.
        rollout: RolloutId,
        /// The version devices had; none for a first release.
        from: Option<u32>,
        /// The version rolled out.
        to: u32,
        /// The plan.
        stages: Vec<Stage>,
        /// The index of the stage in force.
        stage: u32,
        /// Where it is.
        state: RolloutState,
    },
    /// Every upload file of a version is committed: an origin must now process it. Edges
    /// ignore this change.
    VersionProcessing {
        /// The app.
        app: AppId,
        /// The version.
        version: VersionId,
        /// Its committed files.
        files: Vec<CommittedFile>,
    },
}

const CHANNELS: [Channel; 3] = [Channel::Internal, Channel::External, Channel::Store];

impl Catalog {
    /// The app whose serving view `command` may change, if any. Every command that changes
    /// what a channel serves, completes a version, archives a pack or creates an app is
    /// listed here; a property test holds every other command to leaving all views alone.
    pub fn serving_app(&self, command: &Command) -> Option<AppId> {
        use Command as C;
        let version_app = |v: &VersionId| self.versions.get(v).map(|v| v.app.clone());
        match command {
            C::CreateApp(CreateApp { id, .. }) => Some(id.clone()),
            C::ArchivePack { pack } => self.packs.get(pack).map(|p| p.app.clone()),
            C::CommitUploadFile(CommitUploadFile { id, .. }) => self
                .upload_files
                .get(id)
                .and_then(|f| version_app(&f.version)),
            C::ProcessingSucceeded(ProcessingSucceeded { version, .. })
            | C::ProcessingFailed(ProcessingFailed { version, .. })
            | C::ExpireVersion(ExpireVersion { version, .. })
            | C::FinishExternalProcessing { version }
            | C::FinishDistribution { version }
            | C::StartRollout(StartRollout { version, .. }) => version_app(version),
            C::ChangeRollout(ChangeRollout { rollout, .. })
            | C::AutoAdvanceRollout(AutoAdvanceRollout { rollout, .. }) => {
                self.rollouts.get(rollout).map(|r| r.app.clone())
            }
            C::RevokeTesterToken { id } => self.tester_token_app(id),
            // Accepting an external beta submission changes what external testers get.
            C::DecideReview(DecideReview { submission, .. }) => {
                self.submissions.get(submission).map(|s| s.app.clone())
            }
            _ => None,
        }
    }

    /// The serving view of `app`, or none for an unknown app.
    pub fn serving_view(&self, app: &AppId) -> Option<ServingView> {
        let a = self.apps.get(app)?;
        let mut view = ServingView {
            app: app.clone(),
            primary_language: a.primary_language.clone(),
            channels: BTreeMap::new(),
            completed: BTreeSet::new(),
            archived: BTreeSet::new(),
            processing: BTreeSet::new(),
            rollouts: BTreeMap::new(),
            revoked_tokens: self
                .tester_tokens_of(app)
                .filter_map(|t| {
                    Some((
                        t.id.clone(),
                        t.revoked_at.and(Some(t.expires_at.0 / 1_000))?,
                    ))
                })
                .collect(),
        };
        for pack in self.packs_of(app) {
            if pack.is_archived() {
                view.archived.insert(pack.id.clone());
                continue;
            }
            view.processing.extend(
                pack.versions
                    .iter()
                    .filter(|v| {
                        self.versions
                            .get(*v)
                            .is_some_and(|v| v.state == VersionState::Processing)
                    })
                    .cloned(),
            );
            view.completed.extend(
                pack.versions
                    .iter()
                    .filter(|v| {
                        self.versions
                            .get(*v)
                            .is_some_and(|v| v.state == VersionState::Complete)
                    })
                    .cloned(),
            );
        }
        for channel in CHANNELS {
            for served in self.serving(app, channel) {
                view.channels
                    .insert((served.completed.pack, channel), served.completed.number);
            }
        }
        for r in self.rollouts.values() {
            if &r.app == app && r.state.is_active() && !view.archived.contains(&r.pack) {
                view.rollouts
                    .insert(r.pack.clone(), self.active_rollout_view(r));
            }
        }
        Some(view)
    }

    /// What changed between two views of the same app (`before` is none for a new app), in a
    /// fixed order: the app, completed versions, channel pointers, rollouts, archived packs.
    /// Completed versions come before the channels and rollouts that serve them, so an edge
    /// never serves a version it has not heard of.
    pub fn serving_changes(
        &self,
        before: Option<&ServingView>,
        after: &ServingView,
    ) -> Vec<ServingChange> {
        let app = &after.app;
        let mut changes = Vec::new();
        if before.is_none_or(|b| b.primary_language != after.primary_language) {
            changes.push(ServingChange::App {
                app: app.clone(),
                primary_language: after.primary_language.clone(),
            });
        }
        let empty = BTreeSet::new();
        let old_completed = before.map_or(&empty, |b| &b.completed);
        for v in after.completed.difference(old_completed) {
            changes.extend(self.version_completed(v));
        }
        let no_channels = BTreeMap::new();
        let old_channels = before.map_or(&no_channels, |b| &b.channels);
        let keys: BTreeSet<&(PackId, Channel)> =
            old_channels.keys().chain(after.channels.keys()).collect();
        for key in keys {
            let (old, new) = (old_channels.get(key), after.channels.get(key));
            let archived_now = after.archived.contains(&key.0);
            if old != new && !archived_now {
                changes.push(ServingChange::ChannelUpdated {
                    app: app.clone(),
                    pack: key.0.clone(),
                    channel: key.1,
                    number: new.copied(),
                });
            }
        }
        let no_rollouts = BTreeMap::new();
        let old_rollouts = before.map_or(&no_rollouts, |b| &b.rollouts);
        let packs: BTreeSet<&PackId> = old_rollouts.keys().chain(after.rollouts.keys()).collect();
        for pack in packs {
            let (old, new) = (old_rollouts.get(pack), after.rollouts.get(pack));
            if old == new || after.archived.contains(pack) {
                continue;
            }
            if let Some(old) = old.filter(|o| new.is_none_or(|n| n.id != o.id)) {
                changes.extend(self.rollout_ended(app, pack, old));
            }
            if let Some(new) = new {
                changes.push(rollout_change(app, pack, new));
            }
        }
        let no_archived = BTreeSet::new();
        let old_archived = before.map_or(&no_archived, |b| &b.archived);
        for pack in after.archived.difference(old_archived) {
            changes.push(ServingChange::PackArchived {
                app: app.clone(),
                pack: pack.clone(),
            });
        }
        let no_revoked = BTreeMap::new();
        let old_revoked = before.map_or(&no_revoked, |b| &b.revoked_tokens);
        for (token, expires_at) in &after.revoked_tokens {
            if !old_revoked.contains_key(token) {
                changes.push(ServingChange::TesterTokenRevoked {
                    app: app.clone(),
                    token: token.clone(),
                    expires_at: *expires_at,
                });
            }
        }
        let no_processing = BTreeSet::new();
        let old_processing = before.map_or(&no_processing, |b| &b.processing);
        for v in after.processing.difference(old_processing) {
            changes.extend(self.version_processing(v));
        }
        changes
    }

    fn version_processing(&self, id: &VersionId) -> Option<ServingChange> {
        let v = self.versions.get(id)?;
        let files = v
            .upload_files
            .iter()
            .filter_map(|f| self.upload_files.get(f))
            .filter_map(|f| {
                Some(CommittedFile {
                    id: f.id.clone(),
                    asset_type: f.asset_type,
                    size: f.file_size,
                    sha256: f.sha256?,
                })
            })
            .collect();
        Some(ServingChange::VersionProcessing {
            app: v.app.clone(),
            version: v.id.clone(),
            files,
        })
    }

    /// Everything edges need, as if every app had just been created: what a watcher that
    /// starts from nothing receives.
    pub fn serving_snapshot(&self) -> Vec<ServingChange> {
        let secret =
            (self.tester_token_secret.is_some()).then(|| ServingChange::TokenSecretRotated {
                generation: self.tester_token_generation(),
            });
        secret
            .into_iter()
            .chain(
                self.apps
                    .keys()
                    .filter_map(|app| self.serving_view(app))
                    .flat_map(|view| self.serving_changes(None, &view)),
            )
            .collect()
    }

    /// What edges must know beyond any one app: taken before a command, compared after it
    /// by [`Catalog::cluster_changes`].
    pub fn cluster_view(&self) -> ClusterView {
        ClusterView {
            token_generation: self.tester_token_generation(),
        }
    }

    /// The cluster-wide changes since `before`: a new tester token secret.
    pub fn cluster_changes(&self, before: &ClusterView) -> Vec<ServingChange> {
        let generation = self.tester_token_generation();
        if generation == before.token_generation {
            return Vec::new();
        }
        vec![ServingChange::TokenSecretRotated { generation }]
    }

    fn active_rollout_view(&self, r: &Rollout) -> ActiveRollout {
        let number = |v: &VersionId| self.versions.get(v).map_or(0, |v| v.number);
        ActiveRollout {
            id: r.id.clone(),
            from: r.from.as_ref().map(number),
            to: number(&r.to),
            stages: r.stages.clone(),
            stage: r.stage,
            state: r.state,
        }
    }

    /// The change that tells edges a rollout is over, with the state it ended in.
    fn rollout_ended(
        &self,
        app: &AppId,
        pack: &PackId,
        old: &ActiveRollout,
    ) -> Option<ServingChange> {
        let r = self.rollouts.get(&old.id)?;
        let mut ended = self.active_rollout_view(r);
        ended.state = r.state;
        Some(rollout_change(app, pack, &ended))
    }

    fn version_completed(&self, id: &VersionId) -> Option<ServingChange> {
        let v = self.versions.get(id)?;
        let pack = self.packs.get(&v.pack)?;
        CompletedVersion::of(pack, v).map(ServingChange::VersionCompleted)
    }
}

fn rollout_change(app: &AppId, pack: &PackId, r: &ActiveRollout) -> ServingChange {
    ServingChange::Rollout {
        app: app.clone(),
        pack: pack.clone(),
        rollout: r.id.clone(),
        from: r.from,
        to: r.to,
        stages: r.stages.clone(),
        stage: r.stage,
        state: r.state,
    }
}
