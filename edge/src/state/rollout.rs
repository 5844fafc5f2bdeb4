//! [`EdgeRollout`]: an active per-region rollout as the edge keeps it, and its conversion
//! from the watch stream's `Rollout` (the only place that reads that message).

use packyard_core::rollout::{self, Regions, Stage};
use packyard_proto::catalog::v1 as pb;

/// A running or paused rollout of one pack: its stage decides, per region and device,
/// whether a store request gets `to` or the store channel's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRollout {
    /// The rollout's id.
    pub id: String,
    /// The app.
    pub app_id: String,
    /// The pack.
    pub pack_id: String,
    /// The version devices had; none for a first release.
    pub from: Option<u32>,
    /// The version rolled out.
    pub to: u32,
    /// The plan.
    pub stages: Vec<Stage>,
    /// The index of the stage in force.
    pub stage: usize,
}

/// A watch-stream rollout, read: still deciding, or over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutUpdate {
    /// Running or paused: keep it (replacing the pack's previous one).
    Active(EdgeRollout),
    /// Completed or rolled back: forget the pack's rollout.
    Ended {
        /// The pack.
        pack_id: String,
    },
}

impl EdgeRollout {
    /// Reads a watch-stream message, checking what the edge relies on.
    pub fn from_proto(r: &pb::Rollout) -> Result<RolloutUpdate, String> {
        let state = pb::RolloutState::try_from(r.state).unwrap_or(pb::RolloutState::Unspecified);
        match state {
            pb::RolloutState::Running | pb::RolloutState::Paused => {}
            pb::RolloutState::Completed | pb::RolloutState::RolledBack => {
                return Ok(RolloutUpdate::Ended {
                    pack_id: r.pack_id.clone(),
                });
            }
            pb::RolloutState::Unspecified => {
                return Err(format!("rollout {} has no state", r.rollout_id));
            }
        }
        if r.to_version == 0 {
            return Err(format!("rollout {} names no version", r.rollout_id));
        }
        let stages: Vec<Stage> = r
            .stages
            .iter()
            .map(|s| Stage {
                regions: Regions::from(s.regions.clone()),
                percentage: s.percent.min(100),
            })
            .collect();
        let stage = usize::try_from(r.current_stage).unwrap_or(usize::MAX);
        if stage >= stages.len() {
            return Err(format!(
                "rollout {} is at stage {} of {}",
                r.rollout_id,
                r.current_stage,
                stages.len()
            ));
        }
        Ok(RolloutUpdate::Active(Self {
            id: r.rollout_id.clone(),
            app_id: r.app_id.clone(),
            pack_id: r.pack_id.clone(),
            from: (r.from_version != 0).then_some(r.from_version),
            to: r.to_version,
            stages,
            stage,
        }))
    }

    /// The stage in force.
    pub fn current(&self) -> &Stage {
        &self.stages[self.stage.min(self.stages.len().saturating_sub(1))]
    }

    /// Whether a device in `region` gets `to` now (see [`rollout::gets_new`]).
    pub fn gives_new(&self, region: &str, device: Option<&str>) -> bool {
        rollout::gets_new(self.current(), region, &self.app_id, &self.pack_id, device)
    }

    /// Whether this stage or a later one gives `to` to some devices of `region`: then the
    /// edge fetches its chunks before its stage turns it on.
    pub fn will_reach(&self, region: &str) -> bool {
        self.stages[self.stage..]
            .iter()
            .any(|s| s.share(region) > 0)
    }
}
