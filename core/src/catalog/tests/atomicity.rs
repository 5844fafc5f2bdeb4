//! Random command sequences: a refused command never changes the catalog, and the
//! one-at-a-time rules hold after every step.

use proptest::prelude::*;

use super::fixture::*;
use crate::catalog::*;
use crate::quota::QuotaLimits;

const ACTORS: [&str; 7] = [
    "holder", "admin", "manager", "dev", "reviewer", "stranger", "system",
];

/// One random step: what to do, small indices into pools of ids, a size, a flag, and whether
/// the right actor does it (most of the time) or a random one.
type Step = (u8, usize, usize, usize, bool, usize);

/// The command of `step`, and the actor that would normally send it.
fn command(step: Step) -> (Command, &'static str) {
    let (kind, a, b, size, flag, _) = step;
    let pack = PackId::new(format!("p{}", a % 2));
    let version = VersionId::new(format!("v{}", b % 4));
    let asset = UploadFileId::new(format!("f{}-asset", b % 4));
    let manifest = UploadFileId::new(format!("f{}-manifest", b % 4));
    let submission = ReviewSubmissionId::new(format!("s{}-{flag}-{}", b % 4, size % 2));
    let bytes = [1, 100, 300, 450, 600, 700][size % 6];
    let track = if flag {
        ReviewTrack::ExternalBeta
    } else {
        ReviewTrack::AppStore
    };
    // Weighted towards the steps of a version's life, so long sequences reach deep states.
    match kind % 20 {
        0 => (create_pack(&pack, &format!("id-{}", b % 3)), "dev"),
        1 | 2 => (Command::CreateVersion { id: version, pack }, "dev"),
        3 | 4 => (reserve(&asset, &version, bytes, AssetType::Asset), "dev"),
        5 => (
            reserve(&manifest, &version, bytes, AssetType::Manifest),
            "dev",
        ),
        6 | 7 => (commit(&asset), "dev"),
        8 => (commit(&manifest), "dev"),
        9 | 10 => (succeeded(&version, bytes), "system"),
        11 if size % 4 == 0 => (failed(&version, flag.then_some(&asset), "broken"), "system"),
        11 => (succeeded(&version, bytes), "system"),
        12 => (submit(&submission, &version, track), "manager"),
        13 => (start(&submission), "reviewer"),
        14 => {
            let reasons = if a % 4 == 0 {
                vec![]
            } else {
                vec!["why".into()]
            };
            (decide(&submission, a % 3 != 0, reasons), "reviewer")
        }
        15 => (Command::FinishExternalProcessing { version }, "system"),
        16 => (release(&version), "manager"),
        17 => (finish_distribution(&version), "system"),
        18 if size % 3 == 0 => (archive(&pack), "manager"),
        18 => (create_pack(&pack, &format!("id-{}", b % 3)), "dev"),
        19 if size % 4 != 0 => (commit(&asset), "dev"),
        _ => {
            let transfer = Command::SetTransferInProgress {
                app: app(),
                in_progress: flag && size % 3 == 0,
            };
            (transfer, "holder")
        }
    }
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
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_refused_command_leaves_the_catalog_unchanged(
        steps in proptest::collection::vec(
            (any::<u8>(), 0usize..12, 0usize..8, 0usize..12, any::<bool>(), 0usize..50),
            1..160,
        )
    ) {
        let mut w = World::with_limits(QuotaLimits {
            max_packs: 2,
            max_bytes: 1_000,
            max_file_bytes: 650,
            warn_ratio_percent: 80,
        });
        w.build(&[BuildChannel::External]);
        for step in steps {
            let (command, usual) = command(step);
            let who = match step.5 {
                n @ 0..7 => ACTORS[n],
                _ => usual,
            };
            let before = w.catalog.clone();
            let r = w.run(actor(who), command);
            if r.is_err() {
                prop_assert_eq!(&w.catalog, &before);
            }
            check_rules(&w.catalog)?;
        }
    }
}
