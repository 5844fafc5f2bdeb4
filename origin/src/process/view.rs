//! [`CatalogView`]: what the origin keeps from the watch stream: which versions await
//! processing, and which chunks the kept versions name.

use std::collections::{BTreeMap, HashMap, HashSet};

use packyard_core::Blake3Hash;
use packyard_core::catalog::VersionId;
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use packyard_proto::catalog::v1::watch_event::Body;

use crate::control::{self, ProcessingVersion};

/// The origin's view of the catalog, built from watch events. Pure: it applies events and
/// answers questions; the follower does the I/O.
#[derive(Debug, Default)]
pub struct CatalogView {
    /// The last index handled; `None` before the first event.
    index: Option<u64>,
    /// The chunks of every COMPLETE version of a live pack, by (pack, version number).
    versions: HashMap<(String, u32), Vec<Blake3Hash>>,
    archived: HashSet<String>,
    /// Versions whose files are all committed and which no report has settled yet.
    processing: BTreeMap<VersionId, ProcessingVersion>,
    /// Whether a snapshot has been applied: only then is [`live_chunks`](Self::live_chunks)
    /// the whole truth.
    synced: bool,
}

impl CatalogView {
    /// An empty view, which asks for a snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `from_index` to watch from: the last index handled + 1, or 0 for a snapshot.
    pub fn resume_from(&self) -> u64 {
        self.index.map_or(0, |i| i + 1)
    }

    /// Whether the view has had its snapshot, so it knows every kept version.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Applies one event; returns the versions it says await processing (all of them for a
    /// snapshot, the newly committed ones for a change).
    pub fn apply(&mut self, event: &pb::WatchEvent) -> Vec<ProcessingVersion> {
        let mut announced = Vec::new();
        match &event.body {
            Some(Body::Snapshot(s)) => {
                self.versions.clear();
                self.archived = s.archived_pack_ids.iter().cloned().collect();
                self.processing.clear();
                for v in &s.versions {
                    self.complete(v);
                }
                for p in &s.processing {
                    announced.push(self.announce(p));
                }
                self.synced = true;
            }
            Some(Body::Changes(c)) => {
                if self.index.is_some_and(|i| event.index <= i) {
                    return announced;
                }
                for change in c.items.iter().filter_map(|c| c.change.as_ref()) {
                    match change {
                        Change::VersionProcessing(p) => announced.push(self.announce(p)),
                        Change::VersionCompleted(v) => self.complete(v),
                        Change::PackArchived(a) => {
                            self.versions.retain(|(pack, _), _| *pack != a.pack_id);
                            self.archived.insert(a.pack_id.clone());
                        }
                        Change::App(_)
                        | Change::ChannelUpdated(_)
                        | Change::Rollout(_)
                        | Change::TokenSecretRotated(_)
                        | Change::TesterTokenRevoked(_) => {}
                    }
                }
            }
            Some(Body::Heartbeat(_)) | None => {}
        }
        self.index = Some(self.index.map_or(event.index, |i| i.max(event.index)));
        announced
    }

    fn announce(&mut self, p: &pb::VersionProcessing) -> ProcessingVersion {
        let v = control::processing_version(p);
        self.processing.insert(v.version.clone(), v.clone());
        v
    }

    fn complete(&mut self, v: &pb::VersionCompleted) {
        if !self.archived.contains(&v.pack_id) {
            self.versions
                .insert((v.pack_id.clone(), v.version), control::chunk_ids(v));
        }
    }

    /// The version has been settled by a report; it no longer awaits processing.
    pub fn settled(&mut self, version: &VersionId) {
        self.processing.remove(version);
    }

    /// The versions awaiting processing.
    pub fn processing(&self) -> impl Iterator<Item = &ProcessingVersion> {
        self.processing.values()
    }

    /// Every chunk the kept versions of `pack` name.
    pub fn pack_chunks(&self, pack: &str) -> HashSet<Blake3Hash> {
        self.versions
            .iter()
            .filter(|((p, _), _)| p == pack)
            .flat_map(|(_, chunks)| chunks.iter().copied())
            .collect()
    }

    /// Every chunk a kept version names: what garbage collection must spare.
    pub fn live_chunks(&self) -> HashSet<Blake3Hash> {
        self.versions.values().flatten().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completed(pack: &str, version: u32, chunk: u8) -> pb::VersionCompleted {
        pb::VersionCompleted {
            pack_id: pack.into(),
            version,
            chunks: vec![pb::Chunk {
                id: vec![chunk; 32],
                length: 1,
            }],
            ..Default::default()
        }
    }

    fn changes(index: u64, items: Vec<Change>) -> pb::WatchEvent {
        pb::WatchEvent {
            index,
            body: Some(Body::Changes(pb::Changes {
                items: items
                    .into_iter()
                    .map(|c| pb::Change { change: Some(c) })
                    .collect(),
            })),
        }
    }

    fn processing(version: &str) -> pb::VersionProcessing {
        pb::VersionProcessing {
            version_id: version.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_snapshot_then_changes_keep_live_chunks_and_archiving_drops_them() {
        let mut view = CatalogView::new();
        assert_eq!(view.resume_from(), 0);
        assert!(!view.is_synced());
        let snapshot = pb::WatchEvent {
            index: 7,
            body: Some(Body::Snapshot(pb::Snapshot {
                versions: vec![completed("p1", 1, 1)],
                processing: vec![processing("v2")],
                ..Default::default()
            })),
        };
        let announced = view.apply(&snapshot);
        assert_eq!(announced.len(), 1);
        assert!(view.is_synced());
        assert_eq!(view.resume_from(), 8);
        let e = changes(
            8,
            vec![
                Change::VersionCompleted(completed("p2", 1, 2)),
                Change::VersionProcessing(processing("v3")),
            ],
        );
        assert_eq!(view.apply(&e).len(), 1);
        // The same entry again (a resume that overlaps) changes nothing.
        assert!(view.apply(&e).is_empty());
        assert_eq!(view.live_chunks().len(), 2);
        view.apply(&changes(
            9,
            vec![Change::PackArchived(pb::PackArchived {
                app_id: "a".into(),
                pack_id: "p1".into(),
            })],
        ));
        let live = view.live_chunks();
        assert_eq!(live, HashSet::from([Blake3Hash::from_bytes([2; 32])]));
        assert_eq!(view.processing().count(), 2);
        view.settled(&VersionId::new("v2".to_owned()));
        assert_eq!(view.processing().count(), 1);
        let beat = pb::WatchEvent {
            index: 12,
            body: Some(Body::Heartbeat(pb::Heartbeat {})),
        };
        view.apply(&beat);
        assert_eq!(view.resume_from(), 13);
    }
}
