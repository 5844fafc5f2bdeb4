//! The download manifest a device fetches (SPEC §6), built from what a channel serves.
//!
//! The document has the shape devices already parse,
//! `{"assetPacks":[{"id","url","version","downloadSize","downloadPolicy","host":{"thirdParty":{}}}]}`,
//! plus Packyard's own fields (`language`, `archiveHash`, `chunksUrl`). Which packs a device
//! sees depends on its platform, OS version and languages: that choice is made here.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::language::{self, LanguageTag};
use crate::{AssetPackIdentifier, Blake3Hash, DownloadPolicy, Platform};

/// The OS major version from which devices receive localized packs, unless configured
/// otherwise (rule R10).
pub const DEFAULT_LOCALIZATION_MIN_OS: u32 = 27;

/// A device's OS version, `major[.minor[.patch]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OsVersion {
    /// The major version (`27` in `27.0.1`).
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The patch version.
    pub patch: u32,
}

/// Why a string is not an [`OsVersion`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an OS version; expected major[.minor[.patch]], for example \"27.0\"")]
pub struct OsVersionError(pub String);

impl FromStr for OsVersion {
    type Err = OsVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || OsVersionError(s.to_owned());
        let mut parts = s.split('.');
        let mut next = |required: bool| -> Result<u32, OsVersionError> {
            match parts.next() {
                None if !required => Ok(0),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map_err(|_| err())
                }
                _ => Err(err()),
            }
        };
        let version = OsVersion {
            major: next(true)?,
            minor: next(false)?,
            patch: next(false)?,
        };
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(version)
    }
}

impl fmt::Display for OsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What a device says about itself when it asks for its manifest.
#[derive(Debug, Clone)]
pub struct DeviceQuery {
    /// The device's platform.
    pub platform: Platform,
    /// The device's OS version.
    pub os: OsVersion,
    /// The device's languages, most preferred first.
    pub languages: Vec<LanguageTag>,
}

/// A pack version a channel serves to this device, as the manifest needs it.
#[derive(Debug, Clone)]
pub struct ServedPack {
    /// The pack's identifier, which apps use to name it.
    pub identifier: AssetPackIdentifier,
    /// The version number.
    pub version: u32,
    /// The archive's size in bytes.
    pub size: u64,
    /// The BLAKE3 hash of the archive.
    pub archive_hash: Blake3Hash,
    /// When devices download it.
    pub download_policy: DownloadPolicy,
    /// The platforms the version is built for.
    pub platforms: BTreeSet<Platform>,
    /// The version's language, if it is localized.
    pub language: Option<LanguageTag>,
}

/// Where the manifest's URLs point, and how beta URLs carry the tester token forward.
#[derive(Debug, Clone)]
pub struct UrlBase<'a> {
    /// The edge's public base URL, without a trailing slash (`https://edge.example.com`).
    pub origin: &'a str,
    /// The app's id in the admin API.
    pub app: &'a str,
    /// A tester token to append as `?token=` (beta channels), already URL-safe.
    pub token: Option<&'a str>,
}

impl UrlBase<'_> {
    /// The immutable URL of a version (SPEC §6), token appended.
    fn version_url(&self, identifier: &AssetPackIdentifier, version: u32, tail: &str) -> String {
        let mut url = format!(
            "{}/apps/{}/packs/{}/versions/{}{}",
            self.origin, self.app, identifier, version, tail
        );
        if let Some(token) = self.token {
            url.push_str("?token=");
            url.push_str(token);
        }
        url
    }
}

/// The download manifest document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadManifest {
    /// The packs this device should have, sorted by identifier.
    pub asset_packs: Vec<ManifestEntry>,
}

/// One pack in a [`DownloadManifest`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    /// The pack identifier.
    pub id: String,
    /// The immutable URL of the version's bytes.
    pub url: String,
    /// The version number.
    pub version: u32,
    /// The archive's size in bytes.
    pub download_size: u64,
    /// When the device downloads it, in the packaging manifest's shape.
    pub download_policy: DownloadPolicy,
    /// Where the pack is hosted: by a third party (this Packyard), always.
    pub host: Host,
    /// The version's language, for localized packs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The BLAKE3 hash of the archive, hex.
    pub archive_hash: String,
    /// The URL of the version's chunk list, for delta-aware clients.
    pub chunks_url: String,
    /// The URL of the pieces of the version's chunks (`crate::pieces`), for delta updates
    /// below chunk granularity; a device adds `chunks=…`.
    pub pieces_url: String,
}

/// The `host` member: `{"thirdParty":{}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Host {
    /// Always empty: the pack is hosted by the app's own servers, not the platform's.
    pub third_party: ThirdParty,
}

/// The empty `thirdParty` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThirdParty {}

/// Settings that shape every manifest.
#[derive(Debug, Clone, Copy)]
pub struct ManifestPolicy {
    /// Devices below this OS major version get no localized packs (R10).
    pub localization_min_os: u32,
}

impl Default for ManifestPolicy {
    fn default() -> Self {
        Self {
            localization_min_os: DEFAULT_LOCALIZATION_MIN_OS,
        }
    }
}

/// Builds the manifest for one device from the packs its channel serves.
///
/// - Packs not built for the device's platform are left out.
/// - Packs without a language are always in.
/// - Localized packs (R10): none below `localization_min_os`; otherwise one language is chosen
///   for the device among the languages the localized packs carry ([`language::select`]:
///   exact tag, then the same language with another region or script, then the app's
///   `primary` language, else none) and every localized pack in that language is in.
pub fn build(
    served: &[ServedPack],
    device: &DeviceQuery,
    primary: &LanguageTag,
    policy: ManifestPolicy,
    urls: &UrlBase<'_>,
) -> DownloadManifest {
    let for_platform: Vec<&ServedPack> = served
        .iter()
        .filter(|p| {
            p.platforms
                .iter()
                .any(|&target| device.platform.runs(target))
        })
        .collect();
    let localized_ok = device.os.major >= policy.localization_min_os;
    let available: Vec<LanguageTag> = for_platform
        .iter()
        .filter_map(|p| p.language.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let chosen = if localized_ok {
        language::select(&available, &device.languages, primary)
    } else {
        None
    };
    let mut asset_packs: Vec<ManifestEntry> = for_platform
        .into_iter()
        .filter(|p| match &p.language {
            None => true,
            Some(lang) => Some(lang) == chosen,
        })
        .map(|p| ManifestEntry {
            id: p.identifier.to_string(),
            url: urls.version_url(&p.identifier, p.version, ""),
            version: p.version,
            download_size: p.size,
            download_policy: p.download_policy.clone(),
            host: Host {
                third_party: ThirdParty {},
            },
            language: p.language.as_ref().map(ToString::to_string),
            archive_hash: p.archive_hash.to_hex(),
            chunks_url: urls.version_url(&p.identifier, p.version, "/chunks"),
            pieces_url: urls.version_url(&p.identifier, p.version, "/pieces"),
        })
        .collect();
    asset_packs.sort_by(|a, b| a.id.cmp(&b.id));
    DownloadManifest { asset_packs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(id: &str, lang: Option<&str>, platforms: &[Platform]) -> ServedPack {
        ServedPack {
            identifier: AssetPackIdentifier::parse(id).unwrap(),
            version: 3,
            size: 1234,
            archive_hash: Blake3Hash::of(id.as_bytes()),
            download_policy: DownloadPolicy::OnDemand {},
            platforms: platforms.iter().copied().collect(),
            language: lang.map(|l| LanguageTag::parse(l).unwrap()),
        }
    }

    fn device(os: &str, langs: &[&str]) -> DeviceQuery {
        DeviceQuery {
            platform: Platform::Ios,
            os: os.parse().unwrap(),
            languages: langs
                .iter()
                .map(|l| LanguageTag::parse(l).unwrap())
                .collect(),
        }
    }

    const URLS: UrlBase<'static> = UrlBase {
        origin: "https://edge.test",
        app: "app1",
        token: None,
    };

    fn ids(m: &DownloadManifest) -> Vec<&str> {
        m.asset_packs.iter().map(|p| p.id.as_str()).collect()
    }

    fn en() -> LanguageTag {
        LanguageTag::parse("en").unwrap()
    }

    #[test]
    fn os_versions_parse_strictly() {
        assert_eq!(
            "27".parse(),
            Ok(OsVersion {
                major: 27,
                minor: 0,
                patch: 0
            })
        );
        assert_eq!(
            "26.4.1".parse(),
            Ok(OsVersion {
                major: 26,
                minor: 4,
                patch: 1
            })
        );
        for bad in ["", "27.", ".1", "a.b", "1.2.3.4", "27.-1", "99999999999"] {
            assert!(bad.parse::<OsVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn document_has_the_shape_devices_parse() {
        let m = build(
            &[pack("level-2", None, &[Platform::Ios])],
            &device("27.0", &["en"]),
            &en(),
            ManifestPolicy::default(),
            &UrlBase {
                token: Some("tok"),
                ..URLS
            },
        );
        let json: serde_json::Value = serde_json::to_value(&m).unwrap();
        let hash = Blake3Hash::of(b"level-2").to_hex();
        assert_eq!(
            json,
            serde_json::json!({"assetPacks": [{
                "id": "level-2",
                "url": "https://edge.test/apps/app1/packs/level-2/versions/3?token=tok",
                "version": 3,
                "downloadSize": 1234,
                "downloadPolicy": {"onDemand": {}},
                "host": {"thirdParty": {}},
                "archiveHash": hash,
                "chunksUrl": "https://edge.test/apps/app1/packs/level-2/versions/3/chunks?token=tok",
                "piecesUrl": "https://edge.test/apps/app1/packs/level-2/versions/3/pieces?token=tok",
            }]})
        );
    }

    #[test]
    fn packs_for_other_platforms_are_left_out() {
        let served = [
            pack("mac-only", None, &[Platform::MacOs]),
            pack("both", None, &Platform::ALL),
        ];
        let m = build(
            &served,
            &device("27", &[]),
            &en(),
            ManifestPolicy::default(),
            &URLS,
        );
        assert_eq!(ids(&m), ["both"]);
    }

    #[test]
    fn r10_devices_below_the_localization_os_get_no_localized_packs() {
        let served = [
            pack("base", None, &[Platform::Ios]),
            pack("voice-fr", Some("fr"), &[Platform::Ios]),
        ];
        let old = build(
            &served,
            &device("26.9", &["fr"]),
            &en(),
            ManifestPolicy::default(),
            &URLS,
        );
        assert_eq!(ids(&old), ["base"]);
        let new = build(
            &served,
            &device("27.0", &["fr"]),
            &en(),
            ManifestPolicy::default(),
            &URLS,
        );
        assert_eq!(ids(&new), ["base", "voice-fr"]);
        let strict = ManifestPolicy {
            localization_min_os: 28,
        };
        let configured = build(&served, &device("27.0", &["fr"]), &en(), strict, &URLS);
        assert_eq!(ids(&configured), ["base"]);
    }

    #[test]
    fn r10_fr_ca_device_gets_the_fr_fr_pack_when_only_that_exists() {
        let served = [
            pack("voice-fr-FR", Some("fr-FR"), &[Platform::Ios]),
            pack("voice-en", Some("en"), &[Platform::Ios]),
        ];
        let m = build(
            &served,
            &device("27", &["fr-CA"]),
            &en(),
            ManifestPolicy::default(),
            &URLS,
        );
        assert_eq!(ids(&m), ["voice-fr-FR"]);
        assert_eq!(m.asset_packs[0].language.as_deref(), Some("fr-FR"));
    }

    #[test]
    fn r10_unmatched_device_falls_back_to_the_primary_language() {
        let served = [
            pack("voice-de", Some("de"), &[Platform::Ios]),
            pack("voice-en", Some("en-US"), &[Platform::Ios]),
        ];
        let m = build(
            &served,
            &device("27", &["ja-JP"]),
            &en(),
            ManifestPolicy::default(),
            &URLS,
        );
        assert_eq!(ids(&m), ["voice-en"]);
        let none = build(
            &served[..1],
            &device("27", &["ja-JP"]),
            &en(),
            ManifestPolicy::default(),
            &URLS,
        );
        assert!(none.asset_packs.is_empty());
    }
}
