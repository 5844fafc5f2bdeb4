//! The watch stream's changes: what edges hear after each command, and that following them
//! from the start always ends where a fresh snapshot starts.

use std::collections::{BTreeMap, BTreeSet};

use super::fixture::*;
use crate::LanguageTag;
use crate::catalog::*;

/// What an edge holds after following changes: languages, known versions, channel pointers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct EdgeModel {
    languages: BTreeMap<AppId, LanguageTag>,
    versions: BTreeMap<(PackId, u32), u64>,
    channels: BTreeMap<(PackId, Channel), u32>,
    /// Active rollouts: (id, to, stage, state) per pack.
    rollouts: BTreeMap<PackId, (RolloutId, u32, u32, RolloutState)>,
    archived: Vec<PackId>,
    /// The tester token secret's generation.
    token_generation: u64,
    /// Tester tokens revoked.
    revoked: BTreeSet<TesterTokenId>,
}

impl EdgeModel {
    pub(super) fn follow(&mut self, changes: &[ServingChange]) {
        for change in changes {
            match change {
                ServingChange::TokenSecretRotated { generation } => {
                    assert!(
                        *generation > self.token_generation,
                        "generations only grow: {generation} after {}",
                        self.token_generation
                    );
                    self.token_generation = *generation;
                }
                ServingChange::TesterTokenRevoked { token, .. } => {
                    assert!(self.revoked.insert(token.clone()), "{token} revoked twice");
                }
                ServingChange::App {
                    app,
                    primary_language,
                } => {
                    self.languages.insert(app.clone(), primary_language.clone());
                }
                ServingChange::VersionCompleted(v) => {
                    self.versions.insert((v.pack.clone(), v.number), v.size);
                }
                ServingChange::ChannelUpdated {
                    pack,
                    channel,
                    number,
                    ..
                } => {
                    assert!(
                        number.is_none_or(|n| self.versions.contains_key(&(pack.clone(), n))),
                        "a channel points at version {number:?} of {pack} before it was announced"
                    );
                    match number {
                        Some(n) => self.channels.insert((pack.clone(), *channel), *n),
                        None => self.channels.remove(&(pack.clone(), *channel)),
                    };
                }
                ServingChange::Rollout {
                    pack,
                    rollout,
                    from,
                    to,
                    stage,
                    state,
                    ..
                } => {
                    for n in from.iter().chain([to]) {
                        assert!(
                            self.versions.contains_key(&(pack.clone(), *n)),
                            "a rollout names version {n} of {pack} before it was announced"
                        );
                    }
                    if state.is_active() {
                        let entry = (rollout.clone(), *to, *stage, *state);
                        self.rollouts.insert(pack.clone(), entry);
                    } else {
                        self.rollouts.remove(pack);
                    }
                }
                // For origins; edges ignore it.
                ServingChange::VersionProcessing { .. } => {}
                ServingChange::PackArchived { pack, .. } => {
                    self.channels.retain(|(p, _), _| p != pack);
                    self.versions.retain(|(p, _), _| p != pack);
                    self.rollouts.remove(pack);
                    self.archived.push(pack.clone());
                }
            }
        }
        self.archived.sort();
        self.archived.dedup();
    }
}

/// Every app's serving view.
pub(super) fn views(catalog: &Catalog) -> BTreeMap<AppId, ServingView> {
    catalog
        .apps()
        .filter_map(|a| Some((a.id.clone(), catalog.serving_view(&a.id)?)))
        .collect()
}

/// Applies `command` as `actor` the way the control plane does, returning the changes edges
/// hear: the touched app's view before and after, diffed.
pub(super) fn apply_and_diff(w: &mut World, actor: Actor, command: Command) -> Vec<ServingChange> {
    let touched = w.catalog.serving_app(&command);
    let before = touched.as_ref().and_then(|a| w.catalog.serving_view(a));
    if w.run(actor, command).is_err() {
        return Vec::new();
    }
    let Some(after) = touched.as_ref().and_then(|a| w.catalog.serving_view(a)) else {
        return Vec::new();
    };
    w.catalog.serving_changes(before.as_ref(), &after)
}

fn snapshot_model(catalog: &Catalog) -> EdgeModel {
    let mut m = EdgeModel::default();
    m.follow(&catalog.serving_snapshot());
    m
}

#[test]
fn each_step_of_a_release_is_one_change_in_order() {
    let mut w = World::new();
    let mut edge = snapshot_model(&w.catalog);
    w.build(&[BuildChannel::External]);
    let pack = w.pack("level-2");
    let v1 = w.processing(&pack, 100);
    let changes = apply_and_diff(&mut w, Actor::System, succeeded(&v1, 100));
    assert!(
        matches!(
            &changes[..],
            [
                ServingChange::VersionCompleted(CompletedVersion {
                    number: 1,
                    size: 100,
                    ..
                }),
                ServingChange::ChannelUpdated {
                    channel: Channel::Internal,
                    number: Some(1),
                    ..
                },
            ]
        ),
        "{changes:?}"
    );
    edge.follow(&changes);

    let s = w.submit(&v1, ReviewTrack::ExternalBeta);
    w.ok(user("reviewer"), start(&s));
    let changes = apply_and_diff(&mut w, user("reviewer"), decide(&s, true, Vec::new()));
    assert!(
        matches!(
            &changes[..],
            [ServingChange::ChannelUpdated {
                channel: Channel::External,
                number: Some(1),
                ..
            }]
        ),
        "{changes:?}"
    );
    edge.follow(&changes);

    w.accepted_for_store(&v1);
    w.ok(user("manager"), release(&v1));
    let changes = apply_and_diff(&mut w, Actor::System, finish_distribution(&v1));
    assert!(
        matches!(
            &changes[..],
            [ServingChange::ChannelUpdated {
                channel: Channel::Store,
                number: Some(1),
                ..
            }]
        ),
        "{changes:?}"
    );
    edge.follow(&changes);
    assert_eq!(edge, snapshot_model(&w.catalog));

    let changes = apply_and_diff(&mut w, user("manager"), archive(&pack));
    assert!(
        matches!(&changes[..], [ServingChange::PackArchived { .. }]),
        "{changes:?}"
    );
    edge.follow(&changes);
    assert!(edge.channels.is_empty() && edge.versions.is_empty());
    assert_eq!(edge, snapshot_model(&w.catalog));
}

#[test]
fn a_new_app_is_announced_with_its_primary_language() {
    let mut w = World::new();
    let changes = apply_and_diff(
        &mut w,
        user("op"),
        Command::CreateApp(CreateApp {
            id: AppId::from("app-new"),
            name: "New".into(),
            bundle_id: "com.example.new".into(),
            primary_language: LanguageTag::parse("de-AT").unwrap(),
        }),
    );
    assert_eq!(
        changes,
        [ServingChange::App {
            app: AppId::from("app-new"),
            primary_language: LanguageTag::parse("de-AT").unwrap()
        }]
    );
}

#[test]
fn commands_that_serve_nothing_new_change_nothing() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    assert!(
        apply_and_diff(
            &mut w,
            user("dev"),
            reserve(&UploadFileId::from("f1"), &v, 10, AssetType::Asset)
        )
        .is_empty()
    );
}

#[test]
fn a_version_whose_uploads_are_committed_is_announced_to_origins_until_it_is_processed() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    let v = w.version(&pack);
    let file = w.reserve(&v, 1_000);
    let changes = apply_and_diff(&mut w, user("dev"), commit(&file));
    let [ServingChange::VersionProcessing { version, files, .. }] = &changes[..] else {
        panic!("{changes:?}")
    };
    assert_eq!(version, &v);
    assert_eq!(files.len(), 1);
    assert_eq!(
        (&files[0].id, files[0].asset_type, files[0].size),
        (&file, AssetType::Asset, 1_000)
    );

    let processing = |c: &Catalog| {
        c.serving_snapshot()
            .into_iter()
            .filter(|c| matches!(c, ServingChange::VersionProcessing { .. }))
            .count()
    };
    assert_eq!(
        processing(&w.catalog),
        1,
        "a restarted origin finds it in a snapshot"
    );
    w.ok(Actor::System, succeeded(&v, 1_000));
    assert_eq!(processing(&w.catalog), 0, "nothing left to process");
}
