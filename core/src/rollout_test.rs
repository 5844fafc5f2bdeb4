#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn only(names: &[&str]) -> Regions {
    Regions::Only(names.iter().map(|n| (*n).to_owned()).collect())
}

fn stage(regions: Regions, percentage: u32) -> Stage {
    Stage {
        regions,
        percentage,
    }
}

fn known() -> BTreeSet<String> {
    ["eu", "us", "ap"].iter().map(|n| (*n).to_owned()).collect()
}

fn three_stages() -> Vec<Stage> {
    vec![
        stage(only(&["eu"]), 10),
        stage(only(&["eu", "us"]), 50),
        stage(Regions::All, 100),
    ]
}

fn field(stages: &[Stage]) -> String {
    check_stages(stages, &known()).unwrap_err().field
}

#[test]
fn regions_serialize_as_names_with_a_star_for_all() {
    let json = serde_json::to_string(&three_stages()).unwrap();
    assert_eq!(
        json,
        r#"[{"regions":["eu"],"percentage":10},{"regions":["eu","us"],"percentage":50},{"regions":["*"],"percentage":100}]"#
    );
    let back: Vec<Stage> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, three_stages());
    let star_among_others: Regions = serde_json::from_str(r#"["eu","*"]"#).unwrap();
    assert_eq!(star_among_others, Regions::All);
}

#[test]
fn a_widening_plan_ending_everywhere_at_100_is_accepted() {
    check_stages(&three_stages(), &known()).unwrap();
    check_stages(&[stage(Regions::All, 100)], &known()).unwrap();
    // Naming every region that has edges is as good as `*` for the last stage.
    check_stages(
        &[
            stage(only(&["eu"]), 100),
            stage(only(&["eu", "us", "ap"]), 100),
        ],
        &known(),
    )
    .unwrap();
}

#[test]
fn bad_plans_are_refused_naming_the_member() {
    assert_eq!(field(&[]), "stages");
    let too_many: Vec<Stage> = (1..=21).map(|p| stage(only(&["eu"]), p)).collect();
    assert_eq!(field(&too_many), "stages");
    assert_eq!(
        field(&[stage(only(&["mars"]), 10), stage(Regions::All, 100)]),
        "stages[0].regions"
    );
    let err = check_stages(&[stage(only(&["mars"]), 10)], &known()).unwrap_err();
    assert!(
        err.reason.contains("\"mars\"") && err.reason.contains("ap, eu, us"),
        "{err}"
    );
    assert_eq!(
        field(&[stage(only(&[]), 10), stage(Regions::All, 100)]),
        "stages[0].regions"
    );
    assert_eq!(
        field(&[stage(only(&["eu"]), 0), stage(Regions::All, 100)]),
        "stages[0].percentage"
    );
    assert_eq!(field(&[stage(Regions::All, 101)]), "stages[0].percentage");
    assert_eq!(
        field(&[
            stage(only(&["eu"]), 50),
            stage(only(&["eu"]), 20),
            stage(Regions::All, 100)
        ]),
        "stages[1].percentage"
    );
    assert_eq!(
        field(&[
            stage(only(&["eu", "us"]), 10),
            stage(only(&["eu"]), 50),
            stage(Regions::All, 100)
        ]),
        "stages[1].regions"
    );
    assert_eq!(
        field(&[
            stage(only(&["eu"]), 10),
            stage(only(&["eu"]), 10),
            stage(Regions::All, 100)
        ]),
        "stages[1]"
    );
    assert_eq!(
        field(&[stage(Regions::All, 50), stage(only(&["eu"]), 100)]),
        "stages[1].regions"
    );
    let err = check_stages(&[stage(only(&["eu"]), 10)], &known()).unwrap_err();
    assert_eq!(err.field, "stages[0]");
    assert!(err.reason.contains("last stage"), "{err}");
}

#[test]
fn a_device_without_an_id_gets_the_new_version_only_at_100() {
    let s = stage(only(&["eu"]), 99);
    assert!(!gets_new(&s, "eu", "a", "p", None));
    let s = stage(only(&["eu"]), 100);
    assert!(gets_new(&s, "eu", "a", "p", None));
    assert!(
        !gets_new(&s, "us", "a", "p", None),
        "us is not in the stage"
    );
}

#[test]
fn buckets_spread_devices_evenly_and_differ_per_pack() {
    let n = 20_000;
    let under_10 = (0..n)
        .filter(|i| bucket("app", "pack", &format!("device-{i}")) < 1_000)
        .count();
    // 10 % of 20,000 is 2,000; a fair hash lands well within ±15 % of that.
    assert!((1_700..2_300).contains(&under_10), "{under_10}");
    let same = (0..1_000)
        .filter(|i| {
            let d = format!("device-{i}");
            bucket("app", "pack-a", &d) == bucket("app", "pack-b", &d)
        })
        .count();
    assert!(same < 10, "{same} devices share a bucket across packs");
    assert_ne!(bucket("ab", "c", "d"), bucket("a", "bc", "d"));
}

proptest! {
    /// A device keeps its version across stage changes unless its bucket crosses the new
    /// percentage: once it has the new version, no later stage takes it away, and it moves to
    /// the new version exactly when the new share passes its bucket.
    #[test]
    fn a_device_keeps_its_version_unless_its_bucket_crosses_the_new_percentage(
        device in "[a-zA-Z0-9-]{1,40}",
        mut percentages in proptest::collection::vec(1u32..=100, 2..8),
        region_in_first in any::<bool>(),
    ) {
        percentages.sort_unstable();
        let b = bucket("app-1", "pack-1", &device);
        let first = if region_in_first { only(&["eu", "us"]) } else { only(&["us"]) };
        let mut stages: Vec<Stage> = vec![stage(first, percentages[0])];
        for p in &percentages[1..] {
            stages.push(stage(only(&["eu", "us"]), *p));
        }
        let mut had_new = false;
        for s in &stages {
            let now_new = gets_new(s, "eu", "app-1", "pack-1", Some(&device));
            prop_assert_eq!(now_new, b < s.share("eu") * 100);
            prop_assert!(!had_new || now_new, "stage {} took the new version away", s);
            had_new = now_new;
        }
    }
}

#[test]
fn the_plan_of_a_rollout_without_stages_is_every_region_at_100_and_is_full() {
    let plan = [Stage::everywhere()];
    assert_eq!(check_stages(&plan, &known()), Ok(()));
    assert!(plan[0].is_full(&known()));
    assert_eq!(plan[0].share("a-region-added-later"), 100);
}

fn active(stages: Vec<Stage>, stage: usize) -> Result<ActiveRollout, PlanError> {
    ActiveRollout::new(
        "r1".into(),
        ("app".into(), "pack".into()),
        (Some(1), 2),
        stages,
        stage,
    )
}

#[test]
fn an_active_rollout_names_its_version_a_stage_of_its_plan_and_shares_of_1_to_100() {
    assert!(active(three_stages(), 2).is_ok());
    assert_eq!(active(three_stages(), 3).unwrap_err().field, "stage");
    let mut too_much = three_stages();
    too_much[1].percentage = 150;
    let refused = active(too_much, 0).unwrap_err();
    assert_eq!(refused.field, "stages[1].percentage", "{refused}");
    let mut nothing = three_stages();
    nothing[0].percentage = 0;
    assert_eq!(
        active(nothing, 0).unwrap_err().field,
        "stages[0].percentage"
    );
    let no_version = ActiveRollout::new(
        "r1".into(),
        ("app".into(), "pack".into()),
        (None, 0),
        three_stages(),
        0,
    );
    assert_eq!(no_version.unwrap_err().field, "to");
}

#[test]
fn the_store_gives_the_new_version_where_the_stage_does_and_the_pointer_elsewhere() {
    // Stage 0: eu at 10 %.
    let rollout = active(three_stages(), 0).unwrap();
    let in_bucket = (0..10_000)
        .map(|i| format!("device-{i}"))
        .find(|d| bucket("app", "pack", d) < 10 * (BUCKETS / 100))
        .unwrap();
    let outside = (0..10_000)
        .map(|i| format!("device-{i}"))
        .find(|d| bucket("app", "pack", d) >= 10 * (BUCKETS / 100))
        .unwrap();
    assert_eq!(
        rollout.store_version("eu", Some(&in_bucket), Some(1)),
        Some(2)
    );
    assert_eq!(
        rollout.store_version("eu", Some(&outside), Some(1)),
        Some(1)
    );
    assert_eq!(
        rollout.store_version("us", Some(&in_bucket), Some(1)),
        Some(1)
    );
    // A device without an id gets the new version only where every device does.
    assert_eq!(rollout.store_version("eu", None, Some(1)), Some(1));
    assert_eq!(
        rollout.store_version("eu", None, None),
        None,
        "a first release"
    );
    let last = active(three_stages(), 2).unwrap();
    assert_eq!(last.store_version("ap", None, Some(1)), Some(2));
}

#[test]
fn a_rollout_reaches_a_region_that_this_stage_or_a_later_one_covers() {
    let first = active(three_stages(), 0).unwrap();
    assert!(first.will_reach("eu"));
    assert!(first.will_reach("us"), "stage 1 covers us");
    assert!(first.will_reach("ap"), "the last stage covers every region");
    let only_eu = active(
        vec![Stage {
            regions: Regions::Only(["eu".to_owned()].into()),
            percentage: 100,
        }],
        0,
    )
    .unwrap();
    assert!(only_eu.will_reach("eu"));
    assert!(!only_eu.will_reach("us"));
}
