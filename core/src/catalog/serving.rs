//! [`Channel`], [`CompletedVersion`] and [`ServedVersion`]: what each channel of an app
//! serves to devices, for manifests and edges.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Catalog;
use super::ids::{AppId, PackId, VersionId};
use super::pack::Pack;
use super::release::{AppStoreState, ExternalBetaState, InternalBetaState, ReleaseRecords};
use super::version::{Version, VersionMetadata};
use crate::device_manifest::ServedPack;
use crate::tester_token::BetaChannel;
use crate::{AssetPackIdentifier, ChunkList};

/// A device channel (`{channel}` in device URLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Internal testers: the newest COMPLETE version (rule R1).
    Internal,
    /// External testers: the version approved for external testing (rule R3).
    External,
    /// Everyone: the distributed store version (rule R6).
    Store,
}

impl Channel {
    /// Parses the path segment of device URLs (`internal`, `external`, `store`).
    pub fn from_path(s: &str) -> Option<Self> {
        match s {
            "internal" => Some(Self::Internal),
            "external" => Some(Self::External),
            "store" => Some(Self::Store),
            _ => None,
        }
    }

    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
            Self::Store => "store",
        }
    }

    /// The beta channel a tester token must open, or `None` for the public store channel.
    pub fn beta(self) -> Option<BetaChannel> {
        match self {
            Self::Internal => Some(BetaChannel::Internal),
            Self::External => Some(BetaChannel::External),
            Self::Store => None,
        }
    }

    /// Whether this channel serves the version with these records.
    fn serves(self, r: &ReleaseRecords) -> bool {
        match self {
            Channel::Internal => r.internal == InternalBetaState::ReadyForTesting,
            Channel::External => r.external == ExternalBetaState::ReadyForTesting,
            Channel::Store => r.store == AppStoreState::ReadyForDistribution,
        }
    }
}

impl From<BetaChannel> for Channel {
    /// The channel a tester token for `beta` opens.
    fn from(beta: BetaChannel) -> Self {
        match beta {
            BetaChannel::Internal => Self::Internal,
            BetaChannel::External => Self::External,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A COMPLETE version as every edge serves it, whichever channels serve it: its bytes never
/// change (R12), so an edge may keep its chunks forever. The watch stream carries it to edges
/// (`ServingChange::VersionCompleted`), and the origin reports it when processing succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedVersion {
    /// The app.
    pub app: AppId,
    /// The pack.
    pub pack: PackId,
    /// The pack's identifier, as device URLs and the download manifest name it.
    pub identifier: AssetPackIdentifier,
    /// The version's number.
    pub number: u32,
    /// The archive's size in bytes: what its chunks add up to.
    pub size: u64,
    /// Its chunks and the BLAKE3 of the whole archive.
    pub chunk_list: ChunkList,
    /// What its manifest says.
    pub metadata: VersionMetadata,
}

impl CompletedVersion {
    /// Version `v` of `pack` as edges serve it, if it is COMPLETE.
    pub(crate) fn of(pack: &Pack, v: &Version) -> Option<Self> {
        let content = v.content.as_ref()?;
        Some(Self {
            app: v.app.clone(),
            pack: pack.id.clone(),
            identifier: pack.identifier.clone(),
            number: v.number,
            size: content.size,
            chunk_list: content.chunk_list.clone(),
            metadata: content.metadata.clone(),
        })
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
            size: self.size,
            archive_hash: self.chunk_list.archive_hash(),
            download_policy: self.metadata.download_policy.clone(),
            platforms: self.metadata.platforms.clone(),
            language: self.metadata.language.clone(),
        }
    }
}

/// One pack as a channel serves it: the version's id, for the admin API, and what edges
/// serve of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedVersion {
    /// The version served.
    pub version: VersionId,
    /// What edges serve.
    pub completed: CompletedVersion,
}

impl Catalog {
    /// What `channel` of `app` serves: one version per live pack that has one on that channel,
    /// ordered by identifier. Archived packs are never served (rule R7).
    pub fn serving(&self, app: &AppId, channel: Channel) -> Vec<ServedVersion> {
        let mut served: Vec<ServedVersion> = self
            .packs_of(app)
            .filter(|p| !p.is_archived())
            .filter_map(|pack| {
                let v = pack
                    .versions
                    .iter()
                    .rev()
                    .filter_map(|v| self.versions.get(v))
                    .find(|v| v.releases.as_ref().is_some_and(|r| channel.serves(r)))?;
                Some(ServedVersion {
                    version: v.id.clone(),
                    completed: CompletedVersion::of(pack, v)?,
                })
            })
            .collect();
        served.sort_by(|a, b| a.completed.identifier.cmp(&b.completed.identifier));
        served
    }
}
