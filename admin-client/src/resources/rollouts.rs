//! Rollouts (`rollouts`): release an ACCEPTED store version, at once or region by region in
//! stages, and steer it (advance, pause, resume, roll back).

use packyard_core::catalog::{RolloutAction, RolloutState};
use serde_json::{Value, json};

use super::resource::Stateful;
use crate::client::AdminClient;
use crate::document::to_one;
use crate::error::AdminError;

/// One stage of a plan: these regions (`*` for every one), this share of their devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Region names, or `*`.
    pub regions: Vec<String>,
    /// Percent of their devices, 1 to 100.
    pub percentage: u32,
}

impl Stage {
    /// A stage of `regions` at `percentage`.
    pub fn new<S: Into<String>>(regions: impl IntoIterator<Item = S>, percentage: u32) -> Self {
        Self {
            regions: regions.into_iter().map(Into::into).collect(),
            percentage,
        }
    }

    /// The stage as the API spells it.
    pub fn document(&self) -> Value {
        json!({"regions": self.regions, "percentage": self.percentage})
    }
}

/// `POST /v1/rollouts`: without stages, the version is released everywhere at once.
#[derive(Debug, Clone)]
pub struct NewRollout {
    /// The version's id.
    pub version: String,
    /// The plan, in order; the last stage must be every region at 100 %.
    pub stages: Vec<Stage>,
    /// Seconds each stage runs before advancing by itself.
    pub soak_seconds: Option<u64>,
}

impl NewRollout {
    /// A release of `version` to every region at once.
    pub fn everywhere(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            stages: Vec::new(),
            soak_seconds: None,
        }
    }

    /// A rollout of `version` in `stages`.
    pub fn staged(version: impl Into<String>, stages: Vec<Stage>) -> Self {
        Self {
            stages,
            ..Self::everywhere(version)
        }
    }

    /// The request document.
    pub fn document(&self) -> Value {
        let mut attributes = json!({});
        if !self.stages.is_empty() {
            attributes["stages"] = self.stages.iter().map(Stage::document).collect();
        }
        if let Some(soak) = self.soak_seconds {
            attributes["soakSeconds"] = json!(soak);
        }
        json!({"data": {"type": "rollouts", "attributes": attributes,
            "relationships": {"backgroundAssetVersion":
                to_one("backgroundAssetVersions", &self.version)}}})
    }
}

/// A rollout, with its state.
pub type Rollout = Stateful<RolloutState>;

/// The `PATCH` that asks `action` of a rollout.
pub fn action_document(id: &str, action: RolloutAction) -> Value {
    json!({"data": {"type": "rollouts", "id": id, "attributes": {"action": action.as_str()}}})
}

impl AdminClient {
    /// Starts a rollout (or releases at once).
    pub async fn create_rollout(&self, rollout: &NewRollout) -> Result<Rollout, AdminError> {
        Rollout::from_document(self.post("/v1/rollouts", rollout.document()).await?)
    }

    /// The rollouts of an app, each with its status per region (resource objects).
    pub async fn rollouts(&self, app: &str) -> Result<Vec<Value>, AdminError> {
        self.get_all(&format!("/v1/apps/{app}/rollouts")).await
    }

    /// A rollout with its status per region.
    pub async fn rollout(&self, id: &str) -> Result<Rollout, AdminError> {
        Rollout::from_document(self.get(&format!("/v1/rollouts/{id}")).await?)
    }

    /// Asks `action` of a rollout.
    pub async fn steer_rollout(
        &self,
        id: &str,
        action: RolloutAction,
    ) -> Result<Rollout, AdminError> {
        let doc = self
            .patch(&format!("/v1/rollouts/{id}"), action_document(id, action))
            .await?;
        Rollout::from_document(doc)
    }
}
