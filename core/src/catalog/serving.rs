//! [`ServedVersion`]: what each channel of an app serves to devices, for manifests and edges.

use serde::{Deserialize, Serialize};

use super::Catalog;
use super::ids::{AppId, PackId, VersionId};
use super::release::{AppStoreState, ExternalBetaState, InternalBetaState, ReleaseRecords};
use super::version::VersionMetadata;
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
    /// Whether this channel serves the version with these records.
    fn serves(self, r: &ReleaseRecords) -> bool {
        match self {
            Channel::Internal => r.internal == InternalBetaState::ReadyForTesting,
            Channel::External => r.external == ExternalBetaState::ReadyForTesting,
            Channel::Store => r.store == AppStoreState::ReadyForDistribution,
        }
    }
}

/// One pack as a channel serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedVersion {
    /// The pack.
    pub pack: PackId,
    /// Its identifier (`id` in the download manifest).
    pub identifier: AssetPackIdentifier,
    /// The version served.
    pub version: VersionId,
    /// Its number.
    pub number: u32,
    /// Its size in bytes.
    pub size: u64,
    /// Its chunks and archive hash.
    pub chunk_list: ChunkList,
    /// What its manifest says.
    pub metadata: VersionMetadata,
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
                let content = v.content.as_ref()?;
                Some(ServedVersion {
                    pack: pack.id.clone(),
                    identifier: pack.identifier.clone(),
                    version: v.id.clone(),
                    number: v.number,
                    size: content.size,
                    chunk_list: content.chunk_list.clone(),
                    metadata: content.metadata.clone(),
                })
            })
            .collect();
        served.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        served
    }
}
