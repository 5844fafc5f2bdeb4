//! [`ResourceType`]: the admin API's name for each kind of record, used in refusals and events.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of record, serialized as the admin API's resource type (`backgroundAssetVersions` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceType {
    /// `apps`.
    Apps,
    /// `users`.
    Users,
    /// `apiKeys`.
    ApiKeys,
    /// `builds`.
    Builds,
    /// `backgroundAssets`: asset packs.
    BackgroundAssets,
    /// `backgroundAssetVersions`.
    BackgroundAssetVersions,
    /// `backgroundAssetUploadFiles`.
    BackgroundAssetUploadFiles,
    /// `backgroundAssetVersionInternalBetaReleases`.
    BackgroundAssetVersionInternalBetaReleases,
    /// `backgroundAssetVersionExternalBetaReleases`.
    BackgroundAssetVersionExternalBetaReleases,
    /// `backgroundAssetVersionAppStoreReleases`.
    BackgroundAssetVersionAppStoreReleases,
    /// `reviewSubmissions`.
    ReviewSubmissions,
    /// `rollouts`.
    Rollouts,
    /// `webhooks`.
    Webhooks,
    /// `webhookDeliveries`: one event on its way to one webhook.
    WebhookDeliveries,
    /// `edges`: the edge nodes that serve devices.
    Edges,
    /// `regions`: named groups of edges.
    Regions,
    /// `testerTokens`: what opens a beta channel to a device.
    TesterTokens,
}

impl ResourceType {
    /// The admin API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Apps => "apps",
            ResourceType::Users => "users",
            ResourceType::ApiKeys => "apiKeys",
            ResourceType::Builds => "builds",
            ResourceType::BackgroundAssets => "backgroundAssets",
            ResourceType::BackgroundAssetVersions => "backgroundAssetVersions",
            ResourceType::BackgroundAssetUploadFiles => "backgroundAssetUploadFiles",
            ResourceType::BackgroundAssetVersionInternalBetaReleases => {
                "backgroundAssetVersionInternalBetaReleases"
            }
            ResourceType::BackgroundAssetVersionExternalBetaReleases => {
                "backgroundAssetVersionExternalBetaReleases"
            }
            ResourceType::BackgroundAssetVersionAppStoreReleases => {
                "backgroundAssetVersionAppStoreReleases"
            }
            ResourceType::ReviewSubmissions => "reviewSubmissions",
            ResourceType::Rollouts => "rollouts",
            ResourceType::Webhooks => "webhooks",
            ResourceType::WebhookDeliveries => "webhookDeliveries",
            ResourceType::Edges => "edges",
            ResourceType::Regions => "regions",
            ResourceType::TesterTokens => "testerTokens",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
