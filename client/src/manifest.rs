//! [`DeviceManifest`]: the download manifest an edge answers a device with
//! (`GET /apps/{app}/{channel}/manifest`, SPEC §6), read back the way the platform reads it,
//! plus Packyard's fields (`archiveHash`, `chunksUrl`, `piecesUrl`, `language`).

use packyard_core::{Blake3Hash, DownloadPolicy};
use serde::Deserialize;

/// The packs a device should have, for its platform, OS version and languages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceManifest {
    /// One entry per pack, sorted by identifier.
    pub asset_packs: Vec<ManifestPack>,
}

/// One pack of a [`DeviceManifest`]: which version, where its bytes and chunk list are.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestPack {
    /// The pack's identifier, which the app names it by.
    pub id: String,
    /// The version's immutable URL (a beta channel's carries the tester token).
    pub url: String,
    /// The version number.
    pub version: u32,
    /// The archive's size in bytes.
    pub download_size: u64,
    /// When the device downloads it.
    pub download_policy: DownloadPolicy,
    /// The BLAKE3 hash of the whole archive: what a finished download must hash to.
    #[serde(deserialize_with = "hex_hash")]
    pub archive_hash: Blake3Hash,
    /// The version's chunk list, for delta updates.
    pub chunks_url: String,
    /// The pieces of the version's chunks, for delta updates below chunk granularity; an
    /// edge that does not offer them leaves it out, and updates fetch lacking chunks whole.
    #[serde(default)]
    pub pieces_url: Option<String>,
    /// The language chosen for this device, for a localized pack.
    #[serde(default)]
    pub language: Option<String>,
}

fn hex_hash<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Blake3Hash, D::Error> {
    let hex = String::deserialize(d)?;
    Blake3Hash::parse_hex(&hex).map_err(serde::de::Error::custom)
}

/// A manifest that is not the document an edge sends, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("the download manifest is not valid: {0}")]
pub struct ManifestError(String);

impl DeviceManifest {
    /// Reads the edge's JSON; a missing or malformed field is named.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de)
            .map_err(|e| ManifestError(format!("{}: {}", e.path(), e.inner())))
    }

    /// The entry for pack `id`, if the manifest lists it.
    pub fn pack(&self, id: &str) -> Option<&ManifestPack> {
        self.asset_packs.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGE: &str = r#"{"assetPacks":[{"id":"level-1","url":"https://e/apps/a/packs/level-1/versions/3",
        "version":3,"downloadSize":1200,"downloadPolicy":{"prefetch":{"installationEventTypes":["firstInstallation"]}},
        "host":{"thirdParty":{}},"archiveHash":"0000000000000000000000000000000000000000000000000000000000000000",
        "chunksUrl":"https://e/apps/a/packs/level-1/versions/3/chunks"}]}"#;

    #[test]
    fn the_edges_document_reads_back_with_packyards_fields() {
        let m = DeviceManifest::from_json(EDGE.as_bytes()).unwrap();
        let p = m.pack("level-1").unwrap();
        assert_eq!(p.version, 3);
        assert_eq!(p.download_size, 1200);
        assert!(p.download_policy.is_eager());
        assert_eq!(p.archive_hash, Blake3Hash::from_bytes([0; 32]));
        assert_eq!(p.language, None);
        assert!(m.pack("level-2").is_none());
    }

    #[test]
    fn a_malformed_manifest_names_the_field() {
        let bad = EDGE.replace(r#""version":3"#, r#""version":"3""#);
        let err = DeviceManifest::from_json(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("assetPacks[0].version"), "{err}");
        let bad = EDGE.replace("00000000000000000000000000000000", "zz");
        let err = DeviceManifest::from_json(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("archiveHash"), "{err}");
    }
}
