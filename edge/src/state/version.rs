//! [`ServedVersion`]: one COMPLETE pack version as the edge serves it, and its conversion
//! from the watch stream's `VersionCompleted` (the only place that reads that message).

use std::collections::BTreeSet;

use packyard_core::device_manifest::ServedPack;
use packyard_core::{
    AssetPackIdentifier, Blake3Hash, ChunkList, ChunkRef, DownloadPolicy, LanguageTag, Platform,
};
use packyard_proto::catalog::v1 as pb;

/// A COMPLETE version: its bytes never change (R12), so the edge may cache them forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedVersion {
    /// The app's id.
    pub app_id: String,
    /// The pack's id in the admin API.
    pub pack_id: String,
    /// The identifier devices and URLs name the pack by.
    pub identifier: AssetPackIdentifier,
    /// The version number.
    pub number: u32,
    /// The archive's chunks and hash; its size is the archive's size.
    pub chunk_list: ChunkList,
    /// When devices download it.
    pub download_policy: DownloadPolicy,
    /// The platforms it is built for.
    pub platforms: BTreeSet<Platform>,
    /// Its language, for localized packs.
    pub language: Option<LanguageTag>,
}

/// Why a `VersionCompleted` message cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version {number} of pack {pack_id}: {reason}")]
pub struct VersionError {
    /// The pack.
    pub pack_id: String,
    /// The version number.
    pub number: u32,
    /// What is wrong.
    pub reason: String,
}

impl ServedVersion {
    /// The archive's size in bytes.
    pub fn size(&self) -> u64 {
        self.chunk_list.size()
    }

    /// The strong ETag of the archive (R12).
    pub fn etag(&self) -> String {
        self.chunk_list.etag()
    }

    /// The version as a download manifest lists it.
    pub fn served_pack(&self) -> ServedPack {
        ServedPack {
            identifier: self.identifier.clone(),
            version: self.number,
            size: self.size(),
            archive_hash: self.chunk_list.archive_hash(),
            download_policy: self.download_policy.clone(),
            platforms: self.platforms.clone(),
            language: self.language.clone(),
        }
    }

    /// Converts a watch-stream message, checking everything an edge relies on.
    pub fn from_proto(v: &pb::VersionCompleted) -> Result<Self, VersionError> {
        let err = |reason: String| VersionError {
            pack_id: v.pack_id.clone(),
            number: v.version,
            reason,
        };
        let identifier = AssetPackIdentifier::parse(&v.asset_pack_identifier)
            .map_err(|e| err(format!("identifier: {e}")))?;
        let hash = |bytes: &[u8], what: &str| {
            <[u8; 32]>::try_from(bytes)
                .map(Blake3Hash::from_bytes)
                .map_err(|_| err(format!("{what} is {} bytes, not 32", bytes.len())))
        };
        let archive_hash = hash(&v.archive_hash, "the archive hash")?;
        let chunks = v
            .chunks
            .iter()
            .map(|c| {
                Ok(ChunkRef {
                    id: hash(&c.id, "a chunk id")?,
                    len: c.length,
                })
            })
            .collect::<Result<Vec<_>, VersionError>>()?;
        let chunk_list =
            ChunkList::new(archive_hash, chunks).map_err(|e| err(format!("chunk list: {e}")))?;
        if chunk_list.size() != v.size {
            return Err(err(format!(
                "the chunks add up to {} bytes, the version says {}",
                chunk_list.size(),
                v.size
            )));
        }
        let download_policy = serde_json::from_str(&v.download_policy_json)
            .map_err(|e| err(format!("download policy: {e}")))?;
        let platforms = v
            .platforms
            .iter()
            .map(|p| Platform::from_manifest_name(p).ok_or_else(|| err(format!("platform {p:?}"))))
            .collect::<Result<_, _>>()?;
        let language = match v.language.as_str() {
            "" => None,
            tag => Some(LanguageTag::parse(tag).map_err(|e| err(format!("language: {e}")))?),
        };
        Ok(Self {
            app_id: v.app_id.clone(),
            pack_id: v.pack_id.clone(),
            identifier,
            number: v.version,
            chunk_list,
            download_policy,
            platforms,
            language,
        })
    }
}
