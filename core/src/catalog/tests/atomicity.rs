//! Random command sequences: a refused command never changes the catalog, and the
//! one-at-a-time rules hold after every step.

use proptest::prelude::*;

use super::fixture::*;
use super::serving_changes::{EdgeModel, views};
use crate::catalog::*;
use crate::quota::QuotaLimits;
use crate::rollout::{Regions, Stage};

const ACTORS: [&str; 7] = [
    "holder", "admin", "manager", "dev", "reviewer", "stranger", "system",
];

/// One random step: what to do, two picks among existing (or new) records, a size, a flag,
/// and whether the usual actor does it (most of the time) or a random one.
type Step = (u8, usize, usize, usize, bool, usize);

/// Picks the `n`-th of `existing` when there is one (three times in four), else a new id.
fn pick<T: Clone>(existing: &[T], n: usize, new: impl FnOnce() -> T) -> T {
    if existing.is_empty() || n % 4 == 3 {
        new()
    } else {
        existing[n % existing.len()].clone()
    }
}

/// The command of `step` on `catalog`, and the actor that would normally send it. Ids are
/// picked mostly among existing records, so long sequences reach deep states.
fn command(catalog: &Catalog, step: Step, fresh: usize) -> (Command, &'static str) {
    let (kind, a, b, size, flag, _) = step;
    let packs: Vec<PackId> = catalog.packs_of(&app()).map(|p| p.id.clone()).collect();
    let versions: Vec<&Version> = packs.iter().flat_map(|p| catalog.versions_of(p)).collect();
    let version_ids: Vec<VersionId> = versions.iter().map(|v| v.id.clone()).collect();
    let files: Vec<UploadFileId> = versions
        .iter()
        .flat_map(|v| v.upload_files.iter().cloned())
        .collect();
    let submissions: Vec<ReviewSubmissionId> = version_ids
        .iter()
        .flat_map(|v| catalog.submissions_of(v).map(|s| s.id.clone()))
        .collect();
    let pack = pick(&packs, a, || PackId::new(format!("p{fresh}")));
    let version = pick(&version_ids, b, || VersionId::new(format!("v{fresh}")));
    let file = pick(&files, b, || UploadFileId::new(format!("f{fresh}")));
    let submission = pick(&submissions, a, || {
        ReviewSubmissionId::new(format!("s{fresh}"))
    });
    let new_version = VersionId::new(format!("v{fresh}"));
    let new_file = UploadFileId::new(format!("f{fresh}"));
    let new_submission = ReviewSubmissionId::new(format!("s{fresh}"));
    let bytes = [0, 100, 300, 450, 600, 700][size % 6];
    let track = if flag {
        ReviewTrack::ExternalBeta
    } else {
        ReviewTrack::AppStore
    };
    let asset_type = if size % 5 == 0 {
        AssetType::Manifest
    } else {
        AssetType::Asset
    };
    match kind % 21 {
        0 if a % 3 == 0 => (
            create_pack(&PackId::new(format!("p{fresh}")), &format!("id-{}", b % 4)),
            "dev",
        ),
        1 if a % 2 == 0 => (
            Command::CreateVersion(CreateVersion {
                id: new_version,
                pack,
            }),
            "dev",
        ),
        2 => (reserve(&new_file, &version, bytes, asset_type), "dev"),
        3 => (commit(&file), "dev"),
        4 if size % 5 == 0 => (failed(&version, flag.then_some(&file), "broken"), "system"),
        4 => (succeeded(&version, bytes.max(1)), "system"),
        5 => (submit(&new_submission, &version, track), "manager"),
        6 => (start(&submission), "reviewer"),
        7 => {
            let reasons = if b % 4 == 0 {
                vec![]
            } else {
                vec!["why".into()]
            };
            (decide(&submission, size % 3 != 0, reasons), "reviewer")
        }
        8 => (Command::FinishExternalProcessing { version }, "system"),
        9 => (release(&version), "manager"),
        10 => (finish_distribution(&version), "system"),
        11 if size % 8 == 0 => (archive(&pack), "manager"),
        12 if size % 8 == 0 => {
            let transfer = Command::SetTransferInProgress(SetTransferInProgress {
                app: app(),
                in_progress: flag,
            });
            (transfer, "holder")
        }
        0 | 11 => (start(&submission), "reviewer"),
        1 | 12 => (decide(&submission, true, vec![]), "reviewer"),
        13 => (commit(&file), "dev"),
        14 => (submit(&new_submission, &version, track), "manager"),
        // Deadlines of a few commands (a second each), so some versions expire mid-sequence.
        15 => {
            let expire = Command::ExpireVersion(ExpireVersion {
                version,
                reservation_ms: [3_000, 8_000][b % 2],
                processing_ms: [5_000, 20_000][a % 2],
            });
            (expire, "system")
        }
        16 => (register_edge(a, b, size), "system"),
        17 => (heartbeat_edge(catalog, a, b, flag), "system"),
        18 => {
            // Mostly a version that may be rolled out (ACCEPTED on the store track).
            let accepted = versions.iter().find(|v| {
                v.releases
                    .as_ref()
                    .is_some_and(|r| r.store == AppStoreState::Accepted)
            });
            let version = match accepted {
                Some(v) if b % 4 != 3 => v.id.clone(),
                _ => version,
            };
            // A fresh id, or now and then one already used (refused).
            let used = rollout_ids(catalog);
            let id = match used.first() {
                Some(id) if size % 5 == 0 => id.clone(),
                _ => RolloutId::new(format!("r{fresh}")),
            };
            (start_rollout(&version, id, a, size), "manager")
        }
        19 => (change_rollout(catalog, a, b), "manager"),
        20 => (auto_advance(catalog, a, b), "system"),
        _ => (reserve(&new_file, &version, bytes, asset_type), "dev"),
    }
}

/// Registers (or re-registers) one of a few edges; some regions and capacities are refused.
fn register_edge(a: usize, b: usize, size: usize) -> Command {
    Command::RegisterEdge(RegisterEdge {
        id: EdgeId::new(format!("e{}", a % 3)),
        region: ["eu-west", "us-east", "-bad", ""][b % 4].to_owned(),
        public_urls: vec![format!("https://e{}.example.com", a % 3)],
        capacity_bytes: [0, 1_000, 5_000][size % 3],
    })
}

/// A heartbeat from one of a few edges (maybe never registered), holding versions that exist.
fn heartbeat_edge(catalog: &Catalog, a: usize, b: usize, flag: bool) -> Command {
    let held: Vec<(PackId, u32)> = catalog
        .packs_of(&app())
        .flat_map(|p| catalog.versions_of(&p.id))
        .map(|v| (v.pack.clone(), v.number))
        .take(b)
        .collect();
    Command::EdgeHeartbeat(EdgeHeartbeat {
        id: EdgeId::new(format!("e{}", a % 4)),
        applied_index: u64::try_from(a).unwrap_or(0),
        cached_bytes: 100,
        ready: held.iter().cloned().collect(),
        served: held.iter().map(|k| (k.clone(), u64::from(flag))).collect(),
        requests: held.into_iter().map(|k| (k, 3)).collect(),
    })
}

/// Starts a rollout of `version` with one of a few plans, some refused (unknown region,
/// shrinking percentage, a soak time of 0).
fn start_rollout(version: &VersionId, id: RolloutId, a: usize, size: usize) -> Command {
    let stage = |regions: &[&str], percentage| Stage {
        regions: Regions::from(regions.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>()),
        percentage,
    };
    let stages = match a % 5 {
        0 => vec![stage(&["*"], 100)],
        1 => vec![
            stage(&["eu-west"], 10),
            stage(&["eu-west", "us-east"], 50),
            stage(&["*"], 100),
        ],
        2 => vec![stage(&["us-east"], 30), stage(&["*"], 100)],
        3 => vec![stage(&["mars"], 10), stage(&["*"], 100)],
        _ => vec![stage(&["*"], 50), stage(&["*"], 20)],
    };
    Command::StartRollout(StartRollout {
        id,
        version: version.clone(),
        stages,
        soak_seconds: [None, Some(1), Some(0)][size % 3],
    })
}

fn rollout_ids(catalog: &Catalog) -> Vec<RolloutId> {
    catalog.rollouts().map(|r| r.id.clone()).collect()
}

/// Advances, pauses, resumes or rolls back one of the rollouts (or an unknown one).
fn change_rollout(catalog: &Catalog, a: usize, b: usize) -> Command {
    let active: Vec<RolloutId> = catalog
        .rollouts()
        .filter(|r| r.state.is_active())
        .map(|r| r.id.clone())
        .collect();
    let rollout = match active.first() {
        Some(id) if a % 4 != 3 => id.clone(),
        _ => pick(&rollout_ids(catalog), a, || RolloutId::new("unknown")),
    };
    let action = [
        RolloutAction::Advance,
        RolloutAction::Pause,
        RolloutAction::Resume,
        RolloutAction::RollBack,
    ][b % 4];
    Command::ChangeRollout(ChangeRollout { rollout, action })
}

/// The leader's automatic advance, with the stage in force or a stale one.
fn auto_advance(catalog: &Catalog, a: usize, b: usize) -> Command {
    let rollout = pick(&rollout_ids(catalog), a, || RolloutId::new("unknown"));
    let current = catalog.rollout(&rollout).map_or(0, |r| r.stage);
    Command::AutoAdvanceRollout(AutoAdvanceRollout {
        rollout,
        stage: if b.is_multiple_of(3) {
            current.saturating_sub(1)
        } else {
            current
        },
    })
}

fn actor(name: &str) -> Actor {
    match name {
        "system" => Actor::System,
        name => user(name),
    }
}

/// At most one version per pack in each one-at-a-time state (R1, R2, R3, R6), and version
/// numbers 1..=n in order (R11).
fn check_rules(catalog: &Catalog) -> Result<(), TestCaseError> {
    for pack in catalog.packs_of(&app()) {
        let versions: Vec<&Version> = catalog.versions_of(&pack.id).collect();
        let numbers: Vec<u32> = versions.iter().map(|v| v.number).collect();
        let expected: Vec<u32> = (1..=u32::try_from(versions.len()).unwrap()).collect();
        prop_assert_eq!(numbers, expected);
        let records: Vec<&ReleaseRecords> = versions
            .iter()
            .filter_map(|v| v.releases.as_ref())
            .collect();
        let count =
            |pick: &dyn Fn(&ReleaseRecords) -> bool| records.iter().filter(|r| pick(r)).count();
        prop_assert!(count(&|r| r.internal == InternalBetaState::ReadyForTesting) <= 1);
        prop_assert!(count(&|r| r.external == ExternalBetaState::ReadyForTesting) <= 1);
        prop_assert!(
            count(&|r| matches!(
                r.external,
                ExternalBetaState::WaitingForReview | ExternalBetaState::InReview
            )) <= 1
        );
        prop_assert!(
            count(&|r| matches!(
                r.store,
                AppStoreState::WaitingForReview | AppStoreState::InReview
            )) <= 1
        );
        prop_assert!(count(&|r| r.store == AppStoreState::ReadyForDistribution) <= 1);
        // A rollout in progress: at most one per pack, its new version on its way and its old
        // one (if any) still the live one (R6).
        let active: Vec<&Rollout> = catalog
            .rollouts()
            .filter(|r| r.pack == pack.id && r.state.is_active())
            .collect();
        prop_assert!(active.len() <= 1);
        for r in active {
            let store = |v: &VersionId| {
                catalog
                    .version(v)
                    .and_then(|v| v.releases.clone())
                    .map(|r| r.store)
            };
            prop_assert_eq!(store(&r.to), Some(AppStoreState::ProcessingForDistribution));
            if let Some(from) = &r.from {
                prop_assert_eq!(store(from), Some(AppStoreState::ReadyForDistribution));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_refused_command_leaves_the_catalog_unchanged(
        steps in proptest::collection::vec(
            (any::<u8>(), 0usize..12, 0usize..8, 0usize..12, any::<bool>(), 0usize..60),
            1..200,
        )
    ) {
        let mut w = World::with_limits(QuotaLimits {
            max_packs: 2,
            max_bytes: 1_000,
            max_file_bytes: 650,
            warn_ratio_percent: 80,
            ..QuotaLimits::default()
        });
        w.build(&[BuildChannel::External]);
        let mut edge = EdgeModel::default();
        edge.follow(&w.catalog.serving_snapshot());
        for (fresh, step) in steps.into_iter().enumerate() {
            let (command, usual) = command(&w.catalog, step, fresh);
            let who = match step.5 {
                n @ 0..7 => ACTORS[n],
                _ => usual,
            };
            let before = w.catalog.clone();
            let touched = w.catalog.serving_app(&command);
            let views_before = views(&w.catalog);
            let r = w.run(actor(who), command);
            if r.is_err() {
                prop_assert_eq!(&w.catalog, &before);
            }
            check_rules(&w.catalog)?;
            // Only the app the command names may serve anything new; edges follow its diff.
            let views_after = views(&w.catalog);
            for (app, view) in &views_after {
                if Some(app) != touched.as_ref() {
                    prop_assert_eq!(Some(view), views_before.get(app));
                }
            }
            if let Some((app, after)) = touched.as_ref().and_then(|a| Some((a, views_after.get(a)?))) {
                edge.follow(&w.catalog.serving_changes(views_before.get(app), after));
            }
        }
        // Following every change from the start ends exactly where a fresh snapshot starts.
        let mut fresh = EdgeModel::default();
        fresh.follow(&w.catalog.serving_snapshot());
        prop_assert_eq!(edge, fresh);
    }
}
