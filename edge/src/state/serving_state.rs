//! [`ServingState`]: the apps, versions, channel pointers and active rollouts the edge
//! serves, kept from the watch stream, and which version a device in this edge's region gets.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use packyard_core::LanguageTag;
use packyard_core::device_manifest::ServedPack;
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use packyard_proto::catalog::v1::watch_event::Body;
use packyard_proto::convert::catalog::{self as convert, RolloutUpdate};

use super::{ActiveRollout, Channel, CompletedVersion};

/// The language tag used when an app's primary language is unknown or unreadable: it matches
/// no pack, so such an app's devices get only the localized packs their own languages pick.
const UNDETERMINED: &str = "und";

/// What the edge serves. Pure: [`apply`](Self::apply) takes watch events in log order and
/// the query methods answer the HTTP server.
#[derive(Debug, Default)]
pub struct ServingState {
    /// The last index handled; `None` before the first event.
    index: Option<u64>,
    /// The highest catalog index heard of (events, or a registration reply).
    latest: u64,
    synced: bool,
    /// Primary language by app id.
    apps: HashMap<String, Option<LanguageTag>>,
    /// Every COMPLETE version of a live pack, by (pack id, number).
    versions: HashMap<(String, u32), Arc<CompletedVersion>>,
    /// The pack id by (app id, identifier), for device URLs that name the identifier.
    identifiers: HashMap<(String, String), String>,
    /// The version each channel serves, by (app id, pack id, channel).
    channels: BTreeMap<(String, String, Channel), u32>,
    archived: HashSet<String>,
    /// The region this edge serves, which rollout stages name.
    region: String,
    /// The active rollout of each pack that has one, by pack id.
    rollouts: HashMap<String, ActiveRollout>,
    /// Tester tokens revoked, by id, with when they expire (Unix seconds).
    revoked_tokens: HashMap<String, u64>,
}

/// What one event changed that the sync task acts on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Versions a channel started serving whose download policy is essential or prefetch,
    /// and versions a rollout will give devices of this region (whatever their policy): the
    /// edge fetches their chunks before devices ask.
    pub to_prefetch: Vec<Arc<CompletedVersion>>,
    /// The generation of the tester token key that signs now, when the event says (a
    /// snapshot of a cluster that has one, or a rotation): the edge fetches the public keys
    /// if it holds only older ones.
    pub token_generation: Option<u64>,
}

impl ServingState {
    /// An empty state, which asks for a snapshot, for an edge in region `default`.
    pub fn new() -> Self {
        Self::for_region("default")
    }

    /// An empty state for an edge in `region`.
    pub fn for_region(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            ..Self::default()
        }
    }

    /// The region this edge serves.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The `from_index` to watch from: the last index handled + 1, or 0 for a snapshot.
    pub fn resume_from(&self) -> u64 {
        self.index.map_or(0, |i| i + 1)
    }

    /// The last index handled (0 before any).
    pub fn applied_index(&self) -> u64 {
        self.index.unwrap_or(0)
    }

    /// Whether a snapshot has been applied.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Notes a catalog index heard of outside the stream (the registration reply).
    pub fn saw_index(&mut self, index: u64) {
        self.latest = self.latest.max(index);
    }

    /// Entries behind the last catalog index heard of.
    pub fn lag(&self) -> u64 {
        self.latest.saturating_sub(self.applied_index())
    }

    /// Applies one watch event. An event at or below the last index handled changes nothing
    /// (a resume that overlaps); a snapshot replaces everything.
    pub fn apply(&mut self, event: &pb::WatchEvent) -> Applied {
        self.saw_index(event.index);
        let mut applied = Applied::default();
        match &event.body {
            Some(Body::Snapshot(s)) => {
                *self = Self {
                    latest: self.latest,
                    region: std::mem::take(&mut self.region),
                    ..Self::default()
                };
                self.archived = s.archived_pack_ids.iter().cloned().collect();
                for app in &s.apps {
                    self.app(app);
                }
                for v in &s.versions {
                    self.complete(v);
                }
                for c in &s.channels {
                    self.channel(c, &mut applied);
                }
                for r in &s.rollouts {
                    self.follow_rollout(r, &mut applied);
                }
                applied.token_generation =
                    (s.token_secret_generation > 0).then_some(s.token_secret_generation);
                for t in &s.revoked_tester_tokens {
                    self.revoke(t);
                }
                self.synced = true;
            }
            Some(Body::Changes(c)) => {
                if self.index.is_some_and(|i| event.index <= i) {
                    return applied;
                }
                for change in c.items.iter().filter_map(|c| c.change.as_ref()) {
                    match change {
                        Change::App(app) => self.app(app),
                        Change::VersionCompleted(v) => self.complete(v),
                        Change::ChannelUpdated(c) => self.channel(c, &mut applied),
                        Change::PackArchived(a) => self.archive(&a.pack_id),
                        Change::Rollout(r) => self.follow_rollout(r, &mut applied),
                        Change::TokenSecretRotated(t) => {
                            applied.token_generation = Some(t.generation);
                        }
                        Change::TesterTokenRevoked(t) => self.revoke(t),
                        // Processing concerns origins only.
                        Change::VersionProcessing(_) => {}
                    }
                }
            }
            Some(Body::Heartbeat(_)) | None => {}
        }
        self.index = Some(self.index.map_or(event.index, |i| i.max(event.index)));
        applied
    }

    fn revoke(&mut self, t: &pb::TesterTokenRevoked) {
        self.revoked_tokens.insert(t.token_id.clone(), t.expires_at);
    }

    /// Whether the tester token `id` was revoked. (A revoked token that expired is refused
    /// for its expiry first, so none is ever forgotten too early; the control plane forgets
    /// expired ones, and the next snapshot drops them here.)
    pub fn is_revoked(&self, id: &str) -> bool {
        self.revoked_tokens.contains_key(id)
    }

    fn app(&mut self, app: &pb::App) {
        let primary = match LanguageTag::parse(&app.primary_language) {
            Ok(tag) => Some(tag),
            Err(e) => {
                tracing::warn!(app = %app.app_id, error = %e, "unreadable primary language");
                None
            }
        };
        self.apps.insert(app.app_id.clone(), primary);
    }

    fn complete(&mut self, v: &pb::VersionCompleted) {
        if self.archived.contains(&v.pack_id) {
            return;
        }
        match convert::completed_version(v) {
            Ok(version) => {
                self.identifiers.insert(
                    (version.app.to_string(), version.identifier.to_string()),
                    version.pack.to_string(),
                );
                self.versions.insert(
                    (version.pack.to_string(), version.number),
                    Arc::new(version),
                );
            }
            Err(e) => tracing::warn!(
                pack = %v.pack_id, version = v.version, error = %e,
                "a completed version cannot be served"
            ),
        }
    }

    fn channel(&mut self, c: &pb::ChannelUpdated, applied: &mut Applied) {
        let Some(channel) = convert::channel(c.channel()) else {
            return;
        };
        let key = (c.app_id.clone(), c.pack_id.clone(), channel);
        if c.version == 0 || self.archived.contains(&c.pack_id) {
            self.channels.remove(&key);
            return;
        }
        self.channels.insert(key, c.version);
        if let Some(v) = self.versions.get(&(c.pack_id.clone(), c.version))
            && v.metadata.download_policy.is_eager()
            && !applied.to_prefetch.contains(v)
        {
            applied.to_prefetch.push(Arc::clone(v));
        }
    }

    fn follow_rollout(&mut self, r: &pb::Rollout, applied: &mut Applied) {
        if self.archived.contains(&r.pack_id) {
            return;
        }
        match convert::rollout(r) {
            Ok(RolloutUpdate::Active(rollout)) => {
                if rollout.will_reach(&self.region)
                    && let Some(v) = self.versions.get(&(rollout.pack.clone(), rollout.to))
                    && !applied.to_prefetch.contains(v)
                {
                    applied.to_prefetch.push(Arc::clone(v));
                }
                self.rollouts.insert(rollout.pack.clone(), rollout);
            }
            Ok(RolloutUpdate::Ended { pack }) => {
                self.rollouts.remove(&pack);
            }
            Err(e) => tracing::warn!(
                rollout = r.rollout_id,
                error = %e,
                "a rollout cannot be followed"
            ),
        }
    }

    fn archive(&mut self, pack_id: &str) {
        self.rollouts.remove(pack_id);
        self.versions.retain(|(pack, _), _| pack != pack_id);
        self.identifiers.retain(|_, pack| pack != pack_id);
        self.channels.retain(|(_, pack, _), _| pack != pack_id);
        self.archived.insert(pack_id.to_owned());
    }

    /// Whether the edge knows app `app`.
    pub fn has_app(&self, app: &str) -> bool {
        self.apps.contains_key(app)
    }

    /// The app's primary language (the fallback of R10), or a tag that matches nothing.
    pub fn primary_language(&self, app: &str) -> LanguageTag {
        self.apps
            .get(app)
            .cloned()
            .flatten()
            .or_else(|| LanguageTag::parse(UNDETERMINED).ok())
            .unwrap_or_else(|| unreachable!("\"und\" is a well-formed language tag"))
    }

    /// Every version `channel` of `app` serves to a device without an id, as the download
    /// manifest lists them.
    pub fn served_packs(&self, app: &str, channel: Channel) -> Vec<ServedPack> {
        self.device_versions(app, channel, None)
            .iter()
            .map(|v| v.served_pack())
            .collect()
    }

    /// Every version `channel` of `app` serves to `device` (an id, or none) in this edge's
    /// region, one per pack: on the store channel an active rollout decides between its new
    /// version and the channel's.
    pub fn device_versions(
        &self,
        app: &str,
        channel: Channel,
        device: Option<&str>,
    ) -> Vec<Arc<CompletedVersion>> {
        let mut packs: BTreeSet<&str> = self
            .channels
            .keys()
            .filter(|(a, _, c)| a == app && *c == channel)
            .map(|(_, pack, _)| pack.as_str())
            .collect();
        if channel == Channel::Store {
            packs.extend(
                self.rollouts
                    .values()
                    .filter(|r| r.app == app)
                    .map(|r| r.pack.as_str()),
            );
        }
        packs
            .into_iter()
            .filter_map(|pack| self.pack_version(app, pack, channel, device))
            .collect()
    }

    /// The version of `pack` that `channel` serves to `device` in this edge's region.
    fn pack_version(
        &self,
        app: &str,
        pack: &str,
        channel: Channel,
        device: Option<&str>,
    ) -> Option<Arc<CompletedVersion>> {
        let pointer = || {
            self.channels
                .get(&(app.to_owned(), pack.to_owned(), channel))
                .copied()
        };
        let number = match self.rollouts.get(pack) {
            Some(r) if channel == Channel::Store && r.app == app => {
                r.store_version(&self.region, device, pointer())
            }
            _ => pointer(),
        }?;
        self.versions.get(&(pack.to_owned(), number)).cloned()
    }

    /// Every version some channel or rollout serves: what the edge holds ready and reports.
    pub fn served_versions(&self) -> Vec<Arc<CompletedVersion>> {
        let mut seen = HashSet::new();
        let pointers = self.channels.iter().map(|((_, pack, _), n)| (pack, *n));
        let rollouts = self.rollouts.values().map(|r| (&r.pack, r.to));
        pointers
            .chain(rollouts)
            .filter(|(pack, n)| seen.insert(((*pack).clone(), *n)))
            .filter_map(|(pack, n)| self.versions.get(&(pack.clone(), n)).cloned())
            .collect()
    }

    /// The version `channel` of `app` serves to `device` for the pack named `identifier`.
    pub fn channel_version(
        &self,
        app: &str,
        channel: Channel,
        identifier: &str,
        device: Option<&str>,
    ) -> Option<Arc<CompletedVersion>> {
        let pack = self
            .identifiers
            .get(&(app.to_owned(), identifier.to_owned()))?;
        self.pack_version(app, pack, channel, device)
    }

    /// Version `number` of the pack named `identifier` in `app`, if it is COMPLETE and live.
    pub fn version(
        &self,
        app: &str,
        identifier: &str,
        number: u32,
    ) -> Option<Arc<CompletedVersion>> {
        let pack = self
            .identifiers
            .get(&(app.to_owned(), identifier.to_owned()))?;
        self.versions.get(&(pack.clone(), number)).cloned()
    }

    /// Whether `version` is public: the store channel serves it, or a rollout gives it to
    /// store devices somewhere.
    pub fn is_public(&self, version: &CompletedVersion) -> bool {
        let store = self.channels.get(&(
            version.app.to_string(),
            version.pack.to_string(),
            Channel::Store,
        )) == Some(&version.number);
        store
            || self
                .rollouts
                .get(version.pack.as_str())
                .is_some_and(|r| r.to == version.number)
    }

    /// Whether `channel` serves `version` now: what a tester token for that channel opens
    /// (an external tester's token opens the approved version, never one that is only in
    /// internal testing; an internal tester's, the newest processed one).
    pub fn channel_serves(&self, version: &CompletedVersion, channel: Channel) -> bool {
        self.channels
            .get(&(version.app.to_string(), version.pack.to_string(), channel))
            == Some(&version.number)
    }

    /// The active rollout of `pack`, if one is.
    pub fn rollout(&self, pack: &str) -> Option<&ActiveRollout> {
        self.rollouts.get(pack)
    }
}
