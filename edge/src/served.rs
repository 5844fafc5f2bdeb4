//! [`ServedCounter`]: how many devices and requests each version was served to since the
//! edge started, reported in every heartbeat so the control plane can show, per region,
//! which version devices actually get during a rollout.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use crate::state::CompletedVersion;

/// The most distinct devices remembered per version. Past it, new devices are no longer
/// told apart (the count stays a lower bound) so memory stays bounded: 8 bytes a device.
pub const MAX_DEVICES_PER_VERSION: usize = 200_000;

/// Devices and requests per version (pack id, number). Cheap to clone; shared by the HTTP
/// service (which records) and the registration task (which reports).
#[derive(Debug, Clone, Default)]
pub struct ServedCounter(Arc<Mutex<HashMap<(String, u32), Tally>>>);

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    /// The first 8 bytes of each device id's BLAKE3: distinct ids, without keeping the ids.
    devices: HashSet<u64>,
}

/// What one version was served to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The pack.
    pub pack_id: String,
    /// The version number.
    pub number: u32,
    /// Distinct device ids (a lower bound past [`MAX_DEVICES_PER_VERSION`]).
    pub devices: u64,
    /// Requests that resolved to it.
    pub requests: u64,
}

impl ServedCounter {
    /// Nothing served yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes that `version` was served (listed in a manifest, or downloaded) to `device`.
    pub fn record(&self, version: &CompletedVersion, device: Option<&str>) {
        let mut tallies = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let tally = tallies
            .entry((version.pack.to_string(), version.number))
            .or_default();
        tally.requests += 1;
        if let Some(device) = device
            && tally.devices.len() < MAX_DEVICES_PER_VERSION
        {
            let hash = packyard_core::Blake3Hash::of(device.as_bytes());
            let mut first = [0u8; 8];
            first.copy_from_slice(&hash.as_bytes()[..8]);
            tally.devices.insert(u64::from_le_bytes(first));
        }
    }

    /// Every version served so far, in (pack, number) order.
    pub fn snapshot(&self) -> Vec<Served> {
        let tallies = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut served: Vec<Served> = tallies
            .iter()
            .map(|((pack_id, number), t)| Served {
                pack_id: pack_id.clone(),
                number: *number,
                devices: t.devices.len() as u64,
                requests: t.requests,
            })
            .collect();
        served.sort_by(|a, b| (&a.pack_id, a.number).cmp(&(&b.pack_id, b.number)));
        served
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use packyard_core::catalog::VersionMetadata;
    use packyard_core::{Blake3Hash, ChunkList, ChunkRef, DownloadPolicy};

    use super::*;

    fn version(number: u32) -> CompletedVersion {
        let id = Blake3Hash::of(&number.to_le_bytes());
        CompletedVersion {
            app: "a".into(),
            pack: "p".into(),
            identifier: packyard_core::AssetPackIdentifier::parse("level-1").unwrap(),
            number,
            size: 4,
            chunk_list: ChunkList::new(id, vec![ChunkRef { id, len: 4 }]).unwrap(),
            metadata: VersionMetadata {
                download_policy: DownloadPolicy::OnDemand {},
                platforms: std::collections::BTreeSet::new(),
                language: None,
            },
        }
    }

    #[test]
    fn devices_are_counted_once_and_requests_every_time() {
        let served = ServedCounter::new();
        let (v1, v2) = (version(1), version(2));
        for device in ["d1", "d2", "d1"] {
            served.record(&v1, Some(device));
        }
        served.record(&v1, None);
        served.record(&v2, Some("d3"));
        let snapshot = served.snapshot();
        assert_eq!(
            snapshot,
            [
                Served {
                    pack_id: "p".into(),
                    number: 1,
                    devices: 2,
                    requests: 4
                },
                Served {
                    pack_id: "p".into(),
                    number: 2,
                    devices: 1,
                    requests: 1
                },
            ]
        );
    }
}
