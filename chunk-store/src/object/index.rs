//! [`Index`]: what one process knows of the bucket's segments, in memory: which segments
//! there are and where each chunk is. Pure bookkeeping; the parent module keeps it in step
//! with the bucket.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use packyard_core::chunk_list::Blake3Hash;

use super::segment::Entry;

/// Where one copy of a chunk is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) segment: Arc<str>,
    pub(super) offset: u64,
    pub(super) len: u32,
    pub(super) written: SystemTime,
}

#[derive(Debug)]
struct Segment {
    written: SystemTime,
    entries: Vec<Entry>,
}

/// The segments known, and each chunk's copies in them (usually one; two writers can store
/// one chunk at once, and a chunk offered again after a while is written again).
#[derive(Debug, Default)]
pub(super) struct Index {
    segments: HashMap<Arc<str>, Segment>,
    chunks: HashMap<Blake3Hash, Vec<Loc>>,
    /// Objects under `segments/` that are not segments: not read again.
    unreadable: HashSet<String>,
}

/// What garbage collection does with one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fate {
    /// Nothing in it is live: delete it.
    Delete,
    /// Enough of it is dead: write these live entries into a new segment, then delete it.
    Rewrite(Vec<Entry>),
}

impl Index {
    pub(super) fn knows(&self, segment: &str) -> bool {
        self.segments.contains_key(segment) || self.unreadable.contains(segment)
    }

    pub(super) fn segment_names(&self) -> Vec<Arc<str>> {
        self.segments.keys().cloned().collect()
    }

    pub(super) fn mark_unreadable(&mut self, segment: &str) {
        self.unreadable.insert(segment.to_owned());
    }

    /// Adds a segment and its chunks (once: a segment known already is left as it is).
    pub(super) fn insert(&mut self, name: &str, written: SystemTime, entries: Vec<Entry>) {
        if self.segments.contains_key(name) {
            return;
        }
        let name: Arc<str> = name.into();
        for e in &entries {
            self.chunks.entry(e.id).or_default().push(Loc {
                segment: name.clone(),
                offset: e.offset,
                len: e.len,
                written,
            });
        }
        self.segments.insert(name, Segment { written, entries });
    }

    /// Forgets a segment that is gone from the bucket; whether it was known.
    pub(super) fn forget(&mut self, name: &str) -> bool {
        self.unreadable.remove(name);
        let Some(segment) = self.segments.remove(name) else {
            return false;
        };
        for e in &segment.entries {
            if let Some(locs) = self.chunks.get_mut(&e.id) {
                locs.retain(|l| &*l.segment != name);
                if locs.is_empty() {
                    self.chunks.remove(&e.id);
                }
            }
        }
        true
    }

    /// The newest copy of `id`: the one reads use and whose write time counts.
    pub(super) fn newest(&self, id: &Blake3Hash) -> Option<&Loc> {
        self.chunks
            .get(id)?
            .iter()
            .max_by(|a, b| (a.written, &a.segment).cmp(&(b.written, &b.segment)))
    }

    /// Every segment holding a copy of `id`.
    pub(super) fn holding(&self, id: &Blake3Hash) -> Vec<Arc<str>> {
        self.chunks
            .get(id)
            .map(|locs| locs.iter().map(|l| l.segment.clone()).collect())
            .unwrap_or_default()
    }

    /// The segments known that were written before `before`.
    pub(super) fn written_before(&self, before: SystemTime) -> Vec<Arc<str>> {
        self.segments
            .iter()
            .filter(|(_, s)| s.written < before)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Every chunk, once.
    pub(super) fn ids(&self) -> Vec<Blake3Hash> {
        self.chunks.keys().copied().collect()
    }

    /// How many chunks, and their bytes (each chunk once, however many copies).
    pub(super) fn totals(&self) -> (u64, u64) {
        let bytes = self
            .chunks
            .values()
            .filter_map(|locs| locs.first())
            .map(|l| u64::from(l.len))
            .sum();
        (self.chunks.len() as u64, bytes)
    }

    /// Whether an entry of `segment` is the copy of its chunk that counts: not `dead`, and
    /// not superseded by a newer copy elsewhere.
    fn is_live(&self, segment: &str, e: &Entry, dead: &HashSet<Blake3Hash>) -> bool {
        !dead.contains(&e.id) && self.newest(&e.id).is_some_and(|l| &*l.segment == segment)
    }

    /// What to do with `segment` when `dead` chunks are to go, if anything: delete it when
    /// nothing in it is live; rewrite its live entries when at least `1/rewrite_share` of its
    /// bytes are dead (or always, with `force`); otherwise leave it, dead bytes and all, until
    /// more of it dies.
    pub(super) fn fate(
        &self,
        segment: &str,
        dead: &HashSet<Blake3Hash>,
        rewrite_share: u64,
        force: bool,
    ) -> Option<Fate> {
        let s = self.segments.get(segment)?;
        let total: u64 = s.entries.iter().map(|e| u64::from(e.len)).sum();
        let live: Vec<Entry> = s
            .entries
            .iter()
            .filter(|e| self.is_live(segment, e, dead))
            .copied()
            .collect();
        let live_bytes: u64 = live.iter().map(|e| u64::from(e.len)).sum();
        if live.is_empty() {
            Some(Fate::Delete)
        } else if live.len() == s.entries.len() {
            None
        } else if force || (total - live_bytes) * rewrite_share >= total {
            Some(Fate::Rewrite(live))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn id(n: u8) -> Blake3Hash {
        Blake3Hash::of(&[n])
    }

    fn entries(ids: &[(u8, u32)]) -> Vec<Entry> {
        let mut offset = 0;
        ids.iter()
            .map(|&(n, len)| {
                let e = Entry {
                    id: id(n),
                    offset,
                    len,
                };
                offset += u64::from(len);
                e
            })
            .collect()
    }

    #[test]
    fn the_newest_copy_counts_and_forgetting_a_segment_leaves_the_others() {
        let mut index = Index::default();
        index.insert("a", at(1), entries(&[(1, 10), (2, 20)]));
        index.insert("b", at(5), entries(&[(2, 20)]));
        assert_eq!(&*index.newest(&id(2)).unwrap().segment, "b");
        assert_eq!(index.newest(&id(2)).unwrap().written, at(5));
        assert_eq!(index.totals(), (2, 30));
        assert!(index.forget("b"));
        assert_eq!(&*index.newest(&id(2)).unwrap().segment, "a");
        assert!(index.forget("a"));
        assert!(index.newest(&id(1)).is_none());
        assert_eq!(index.totals(), (0, 0));
        assert!(!index.forget("a"));
    }

    #[test]
    fn a_segment_is_deleted_when_nothing_in_it_is_live_and_rewritten_past_the_share() {
        let mut index = Index::default();
        index.insert("a", at(1), entries(&[(1, 10), (2, 10), (3, 10), (4, 70)]));
        let dead = |ids: &[u8]| ids.iter().map(|&n| id(n)).collect::<HashSet<_>>();
        assert_eq!(index.fate("a", &dead(&[]), 4, false), None);
        // 10 of 100 bytes dead: under a quarter, left alone; forced, rewritten.
        assert_eq!(index.fate("a", &dead(&[1]), 4, false), None);
        assert!(matches!(
            index.fate("a", &dead(&[1]), 4, true),
            Some(Fate::Rewrite(live)) if live.len() == 3
        ));
        // 30 of 100: rewritten with what lives.
        let Some(Fate::Rewrite(live)) = index.fate("a", &dead(&[1, 2, 3]), 4, false) else {
            panic!("a segment 30 % dead is rewritten");
        };
        assert_eq!(live.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id(4)]);
        assert_eq!(
            index.fate("a", &dead(&[1, 2, 3, 4]), 4, false),
            Some(Fate::Delete)
        );
    }

    #[test]
    fn a_copy_superseded_by_a_newer_one_is_dead_in_the_older_segment() {
        let mut index = Index::default();
        index.insert("old", at(1), entries(&[(1, 50)]));
        index.insert("new", at(9), entries(&[(1, 50)]));
        let none = HashSet::new();
        assert_eq!(index.fate("old", &none, 4, false), Some(Fate::Delete));
        assert_eq!(index.fate("new", &none, 4, false), None);
    }
}
