//! [`Platform`]: the operating systems a pack version is built for.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A platform a pack version can target. The manifest spells them as the platform packaging
/// tool does (`iOS`, `macOS` …); the admin API spells them as the hosted API does (`IOS`,
/// `MAC_OS` …). Serde uses the manifest spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Platform {
    /// iOS.
    #[serde(rename = "iOS")]
    Ios,
    /// iPadOS.
    #[serde(rename = "iPadOS")]
    IpadOs,
    /// macOS.
    #[serde(rename = "macOS")]
    MacOs,
    /// tvOS.
    #[serde(rename = "tvOS")]
    TvOs,
    /// visionOS.
    #[serde(rename = "visionOS")]
    VisionOs,
}

impl Platform {
    /// Every platform, in declaration order.
    pub const ALL: [Platform; 5] = [
        Platform::Ios,
        Platform::IpadOs,
        Platform::MacOs,
        Platform::TvOs,
        Platform::VisionOs,
    ];

    /// The manifest (and device query) spelling: `iOS`, `iPadOS`, `macOS`, `tvOS`, `visionOS`.
    pub fn manifest_name(self) -> &'static str {
        match self {
            Platform::Ios => "iOS",
            Platform::IpadOs => "iPadOS",
            Platform::MacOs => "macOS",
            Platform::TvOs => "tvOS",
            Platform::VisionOs => "visionOS",
        }
    }

    /// The admin API spelling: `IOS`, `IPAD_OS`, `MAC_OS`, `TV_OS`, `VISION_OS`.
    pub fn api_name(self) -> &'static str {
        match self {
            Platform::Ios => "IOS",
            Platform::IpadOs => "IPAD_OS",
            Platform::MacOs => "MAC_OS",
            Platform::TvOs => "TV_OS",
            Platform::VisionOs => "VISION_OS",
        }
    }

    /// Parses the manifest spelling, exactly (case matters, as in the platform's tool).
    pub fn from_manifest_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.manifest_name() == s)
    }

    /// Parses the admin API spelling.
    pub fn from_api_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.api_name() == s)
    }

    /// Whether a device on `self` may install a version built for `target`. An iPad runs
    /// iPhone packs, as it runs iPhone apps; every other platform needs its own.
    pub fn runs(self, target: Platform) -> bool {
        self == target || (self == Platform::IpadOs && target == Platform::Ios)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.manifest_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_manifest_name(p.manifest_name()), Some(p));
            assert_eq!(Platform::from_api_name(p.api_name()), Some(p));
        }
        assert_eq!(Platform::from_manifest_name("ios"), None);
        assert_eq!(Platform::from_api_name("iOS"), None);
    }

    #[test]
    fn an_ipad_runs_iphone_packs_but_not_the_reverse() {
        assert!(Platform::IpadOs.runs(Platform::Ios));
        assert!(!Platform::Ios.runs(Platform::IpadOs));
        assert!(!Platform::MacOs.runs(Platform::Ios));
    }
}
