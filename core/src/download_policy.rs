//! [`DownloadPolicy`]: when a device downloads a pack.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// An app lifecycle event that triggers the download of an essential or prefetch pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InstallationEventType {
    /// The app is installed for the first time.
    FirstInstallation,
    /// The app is updated to a new version.
    SubsequentUpdate,
}

impl InstallationEventType {
    /// Every event type, as the manifest spells them.
    pub const ALL: [(InstallationEventType, &'static str); 2] = [
        (
            InstallationEventType::FirstInstallation,
            "firstInstallation",
        ),
        (InstallationEventType::SubsequentUpdate, "subsequentUpdate"),
    ];

    /// Parses the manifest spelling.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|(_, n)| *n == s).map(|(e, _)| e)
    }
}

/// When devices download a pack: before first launch (`essential`), in the background
/// without blocking launch (`prefetch`), or only when the app asks (`onDemand`).
///
/// Serialized exactly as the packaging manifest writes it, for example
/// `{"prefetch":{"installationEventTypes":["firstInstallation"]}}` or `{"onDemand":{}}`;
/// the download manifest repeats that shape so devices parse one form. The manifest parser
/// guarantees that `essential` and `prefetch` carry at least one event type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DownloadPolicy {
    /// Downloaded before the app can launch.
    Essential {
        /// The events that trigger the download.
        #[serde(rename = "installationEventTypes")]
        installation_event_types: BTreeSet<InstallationEventType>,
    },
    /// Downloaded in the background after install or update, without blocking launch.
    Prefetch {
        /// The events that trigger the download.
        #[serde(rename = "installationEventTypes")]
        installation_event_types: BTreeSet<InstallationEventType>,
    },
    /// Downloaded only when the app requests it.
    OnDemand {},
}

impl DownloadPolicy {
    /// Whether edges should hold this pack's chunks before any device asks
    /// (essential and prefetch packs are fetched by many devices at once).
    pub fn is_eager(&self) -> bool {
        !matches!(self, DownloadPolicy::OnDemand {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_in_the_manifest_shape() {
        let p = DownloadPolicy::Prefetch {
            installation_event_types: [InstallationEventType::FirstInstallation].into(),
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#
        );
        assert_eq!(
            serde_json::to_string(&DownloadPolicy::OnDemand {}).unwrap(),
            r#"{"onDemand":{}}"#
        );
        let back: DownloadPolicy = serde_json::from_str(r#"{"onDemand":{}}"#).unwrap();
        assert_eq!(back, DownloadPolicy::OnDemand {});
    }
}
