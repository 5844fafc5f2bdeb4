//! Per-region rollout plans, as pure code: the [`Stage`]s of a plan and their checks, the
//! stable device [`bucket`], and [`gets_new`], the decision an edge makes for every store
//! request while a rollout runs.
//!
//! A device's bucket is a hash of app, pack and device id, so it never changes; a stage
//! gives the new version to the buckets below its percentage. As percentages only grow from
//! stage to stage (checked by [`check_stages`]), a device that has the new version keeps it
//! through every later stage, and a device keeps the old one until its bucket falls below
//! the new percentage.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How many buckets devices are spread over: a percentage step is 100 buckets.
pub const BUCKETS: u32 = 10_000;

/// The region list that names every region, present and future.
pub const ALL_REGIONS: &str = "*";

/// The most stages a plan may have.
pub const MAX_STAGES: usize = 20;

/// Which regions a stage covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub enum Regions {
    /// Every region, including regions whose first edge registers later (`["*"]`).
    All,
    /// These regions only.
    Only(BTreeSet<String>),
}

impl From<Vec<String>> for Regions {
    fn from(names: Vec<String>) -> Self {
        if names.iter().any(|n| n == ALL_REGIONS) {
            Regions::All
        } else {
            Regions::Only(names.into_iter().collect())
        }
    }
}

impl From<Regions> for Vec<String> {
    fn from(regions: Regions) -> Self {
        match regions {
            Regions::All => vec![ALL_REGIONS.to_owned()],
            Regions::Only(names) => names.into_iter().collect(),
        }
    }
}

impl Regions {
    /// Whether `region` is one of these.
    pub fn contains(&self, region: &str) -> bool {
        match self {
            Regions::All => true,
            Regions::Only(names) => names.contains(region),
        }
    }

    /// Whether every region in `other` is also in `self`.
    pub fn includes(&self, other: &Regions) -> bool {
        match (self, other) {
            (Regions::All, _) => true,
            (Regions::Only(_), Regions::All) => false,
            (Regions::Only(mine), Regions::Only(theirs)) => theirs.is_subset(mine),
        }
    }

    /// The names, `*` for every region.
    pub fn names(&self) -> Vec<String> {
        self.clone().into()
    }
}

impl fmt::Display for Regions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Regions::All => f.write_str("every region"),
            Regions::Only(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                f.write_str(&names.join(", "))
            }
        }
    }
}

/// One step of a rollout: these regions, this share of their devices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stage {
    /// The regions whose devices may get the new version.
    pub regions: Regions,
    /// The share of those devices that gets it, 1 to 100.
    pub percentage: u32,
}

impl Stage {
    /// Every region at 100 %: the plan of a rollout given no stages, which releases its
    /// version everywhere at once.
    pub fn everywhere() -> Self {
        Self {
            regions: Regions::All,
            percentage: 100,
        }
    }

    /// The share of `region`'s devices this stage gives the new version: its percentage in
    /// the regions it covers, 0 elsewhere.
    pub fn share(&self, region: &str) -> u32 {
        if self.regions.contains(region) {
            self.percentage.min(100)
        } else {
            0
        }
    }

    /// Whether this stage gives the new version to every device of every region in `known`
    /// (and, for `*`, of every region to come).
    pub fn is_full(&self, known: &BTreeSet<String>) -> bool {
        self.percentage == 100
            && match &self.regions {
                Regions::All => true,
                Regions::Only(names) => known.is_subset(names),
            }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} %", self.regions, self.percentage)
    }
}

/// The bucket of a device for one pack, 0 to [`BUCKETS`] − 1: the BLAKE3 of app, pack and
/// device id (each length-prefixed, so no two triples hash alike), reduced. Stable for ever.
pub fn bucket(app: &str, pack: &str, device: &str) -> u32 {
    let mut hasher = blake3::Hasher::new();
    for part in [app, pack, device] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    let reduced = u64::from_le_bytes(first) % u64::from(BUCKETS);
    u32::try_from(reduced).unwrap_or(0)
}

/// Whether a device in `region` gets the new version at `stage`. A device without an id
/// gets it only where the stage gives it to every device (100 %); one with an id gets it
/// when its bucket is below the stage's share.
pub fn gets_new(stage: &Stage, region: &str, app: &str, pack: &str, device: Option<&str>) -> bool {
    let share = stage.share(region);
    match device {
        None => share >= 100,
        Some(device) => bucket(app, pack, device) < share * (BUCKETS / 100),
    }
}

/// A running or paused rollout of one pack, as the servers that resolve it keep it (edges):
/// its stage decides, per region and device, whether the store channel gives `to` or the
/// version it pointed at before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRollout {
    /// The rollout's id.
    pub id: String,
    /// The app.
    pub app: String,
    /// The pack.
    pub pack: String,
    /// The version devices had; none for a first release.
    pub from: Option<u32>,
    /// The version rolled out.
    pub to: u32,
    /// The plan.
    stages: Vec<Stage>,
    /// The index of the stage in force, always within the plan.
    stage: usize,
}

impl ActiveRollout {
    /// A rollout of `to` at stage `stage` of `stages`. Refused, naming the member, when it
    /// names no version, a stage the plan does not have, or a share outside 1 to 100: a
    /// server never guesses what a rollout meant.
    pub fn new(
        id: String,
        (app, pack): (String, String),
        (from, to): (Option<u32>, u32),
        stages: Vec<Stage>,
        stage: usize,
    ) -> Result<Self, PlanError> {
        if to == 0 {
            return Err(plan_error("to".into(), "is 0; a rollout names its version"));
        }
        if stage >= stages.len() {
            return Err(plan_error(
                "stage".into(),
                format!("is {stage}, but the plan has {} stages", stages.len()),
            ));
        }
        if let Some((i, s)) = stages
            .iter()
            .enumerate()
            .find(|(_, s)| !(1..=100).contains(&s.percentage))
        {
            return Err(plan_error(
                format!("stages[{i}].percentage"),
                format!("is {}; a percentage is 1 to 100", s.percentage),
            ));
        }
        Ok(Self {
            id,
            app,
            pack,
            from,
            to,
            stages,
            stage,
        })
    }

    /// The plan.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage in force.
    pub fn current(&self) -> &Stage {
        &self.stages[self.stage]
    }

    /// Whether a device in `region` gets `to` now (see [`gets_new`]).
    pub fn gives_new(&self, region: &str, device: Option<&str>) -> bool {
        gets_new(self.current(), region, &self.app, &self.pack, device)
    }

    /// Whether this stage or a later one gives `to` to some devices of `region`: then a
    /// server of that region fetches its chunks before its stage turns it on.
    pub fn will_reach(&self, region: &str) -> bool {
        self.stages[self.stage..]
            .iter()
            .any(|s| s.share(region) > 0)
    }

    /// The version the store channel gives a device of `region` while this rollout runs:
    /// `to` where its stage gives the new version, else what the channel points at
    /// (`pointer`; none before a first release).
    pub fn store_version(
        &self,
        region: &str,
        device: Option<&str>,
        pointer: Option<u32>,
    ) -> Option<u32> {
        if self.gives_new(region, device) {
            Some(self.to)
        } else {
            pointer
        }
    }
}

/// What is wrong with a plan: the member at fault (`stages[1].percentage`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct PlanError {
    /// The member, as the admin API names it.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

fn plan_error(field: String, reason: impl Into<String>) -> PlanError {
    PlanError {
        field,
        reason: reason.into(),
    }
}

/// Checks a plan against the regions that exist (`known`: every region with an edge):
/// 1 to [`MAX_STAGES`] stages; each names known regions (or `*`) and a percentage from 1 to
/// 100; each stage widens the one before (covers its regions, at least its percentage, and
/// more of one or the other), so no device ever goes back; and the last stage gives the new
/// version to every device of every region, which is what completes a rollout.
pub fn check_stages(stages: &[Stage], known: &BTreeSet<String>) -> Result<(), PlanError> {
    if stages.is_empty() {
        return Err(plan_error(
            "stages".into(),
            "is empty; give at least one stage, such as {\"regions\":[\"*\"],\"percentage\":100}",
        ));
    }
    if stages.len() > MAX_STAGES {
        return Err(plan_error(
            "stages".into(),
            format!("has {} stages; at most {MAX_STAGES}", stages.len()),
        ));
    }
    for (i, stage) in stages.iter().enumerate() {
        check_stage(i, stage, known)?;
        if let Some(prev) = i.checked_sub(1).map(|p| &stages[p]) {
            check_widens(i, prev, stage)?;
        }
    }
    let last = stages.len() - 1;
    if !stages[last].is_full(known) {
        return Err(plan_error(
            format!("stages[{last}]"),
            format!(
                "is {}; the last stage must give the new version to every device, so end \
                 with {{\"regions\":[\"*\"],\"percentage\":100}}",
                stages[last]
            ),
        ));
    }
    Ok(())
}

fn check_stage(i: usize, stage: &Stage, known: &BTreeSet<String>) -> Result<(), PlanError> {
    if !(1..=100).contains(&stage.percentage) {
        return Err(plan_error(
            format!("stages[{i}].percentage"),
            format!("is {}; a percentage is 1 to 100", stage.percentage),
        ));
    }
    if let Regions::Only(names) = &stage.regions {
        if names.is_empty() {
            return Err(plan_error(
                format!("stages[{i}].regions"),
                "is empty; name at least one region, or \"*\" for every region",
            ));
        }
        if let Some(unknown) = names.iter().find(|n| !known.contains(*n)) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            let listed = if known.is_empty() {
                "no region has an edge yet".to_owned()
            } else {
                format!("the regions with edges are {}", known.join(", "))
            };
            return Err(plan_error(
                format!("stages[{i}].regions"),
                format!(
                    "names the unknown region {unknown:?}; {listed} (or \"*\" for every region)"
                ),
            ));
        }
    }
    Ok(())
}

fn check_widens(i: usize, prev: &Stage, stage: &Stage) -> Result<(), PlanError> {
    if !stage.regions.includes(&prev.regions) {
        return Err(plan_error(
            format!("stages[{i}].regions"),
            format!(
                "covers {} but stage {} covered {}; a later stage keeps every region of the \
                 one before, so no device goes back to the old version",
                stage.regions,
                i - 1,
                prev.regions
            ),
        ));
    }
    if stage.percentage < prev.percentage {
        return Err(plan_error(
            format!("stages[{i}].percentage"),
            format!(
                "is {} but stage {} gave {} %; percentages may not decrease",
                stage.percentage,
                i - 1,
                prev.percentage
            ),
        ));
    }
    if stage.percentage == prev.percentage && stage.regions == prev.regions {
        return Err(plan_error(
            format!("stages[{i}]"),
            format!(
                "repeats stage {} ({prev}); each stage adds regions or raises the percentage",
                i - 1
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "rollout_test.rs"]
mod tests;
