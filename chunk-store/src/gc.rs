//! Garbage collection: removing chunks no version needs any more.
//!
//! The decision, [`is_garbage`], is a pure function of a chunk's id and write time; the
//! caller says which chunks are live (every chunk of every version that is kept) and how long
//! a chunk may be unreferenced before it goes. The grace period protects chunks of a version
//! still processing: they are written before the version that names them is registered, so
//! they are not live yet, but they are recent.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use packyard_core::chunk_list::Blake3Hash;

use crate::store::{ChunkStore, Result};

/// Whether a chunk should be removed: no live version names it, and it was last written
/// before `cutoff` (see [`cutoff`]).
pub fn is_garbage(
    id: &Blake3Hash,
    written: SystemTime,
    live: &HashSet<Blake3Hash>,
    cutoff: SystemTime,
) -> bool {
    !live.contains(id) && written < cutoff
}

/// The write time before which unreferenced chunks are garbage: `grace` before `now`. `None`
/// when that is earlier than the platform's clock can say, so nothing is old enough.
pub fn cutoff(now: SystemTime, grace: Duration) -> Option<SystemTime> {
    now.checked_sub(grace)
}

/// What one garbage collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// The chunks removed.
    pub removed: Vec<Blake3Hash>,
    /// Their total size in bytes.
    pub bytes_removed: u64,
    /// Chunks kept only because they were written within the grace period.
    pub kept_recent: u64,
    /// Garbage kept because it shares an object with chunks that live (a bucket's
    /// segments), until enough of that object is garbage; or written again meanwhile.
    pub kept_grouped: u64,
}

/// Removes every chunk of `store` that is not in `live` and was last written more than
/// `grace` before `now`.
///
/// A chunk written again while the collection runs is kept: the removal itself re-checks the
/// write time ([`ChunkStore::remove_garbage`]).
pub fn collect_garbage<S: ChunkStore + ?Sized>(
    store: &S,
    live: &HashSet<Blake3Hash>,
    grace: Duration,
    now: SystemTime,
) -> Result<GcReport> {
    let mut report = GcReport::default();
    let Some(cutoff) = cutoff(now, grace) else {
        return Ok(report);
    };
    let mut garbage = Vec::new();
    for id in store.ids()? {
        let id = id?;
        if live.contains(&id) {
            continue;
        }
        let Some(meta) = store.meta(&id)? else {
            continue;
        };
        if is_garbage(&id, meta.written, live, cutoff) {
            garbage.push(id);
        } else {
            report.kept_recent += 1;
        }
    }
    let removed = store.remove_garbage(&garbage, cutoff)?;
    report.kept_grouped = (garbage.len() - removed.len()) as u64;
    for (id, len) in removed {
        report.removed.push(id);
        report.bytes_removed += len;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_live_chunk_is_never_garbage_however_old() {
        let id = Blake3Hash::of(b"live");
        let live = HashSet::from([id]);
        assert!(!is_garbage(&id, at(0), &live, at(1_000_000)));
    }

    #[test]
    fn an_unreferenced_chunk_older_than_the_cutoff_is_garbage() {
        let id = Blake3Hash::of(b"old");
        assert!(is_garbage(&id, at(10), &HashSet::new(), at(11)));
    }

    #[test]
    fn an_unreferenced_chunk_written_within_the_grace_period_is_kept() {
        let id = Blake3Hash::of(b"processing");
        let now = at(10 * 3600);
        let cutoff = cutoff(now, HOUR).unwrap();
        assert!(!is_garbage(
            &id,
            at(10 * 3600 - 60),
            &HashSet::new(),
            cutoff
        ));
        // Exactly at the cutoff is still within the grace period.
        assert!(!is_garbage(&id, cutoff, &HashSet::new(), cutoff));
        assert!(is_garbage(&id, at(8 * 3600), &HashSet::new(), cutoff));
    }

    #[test]
    fn a_chunk_dated_in_the_future_is_kept() {
        let id = Blake3Hash::of(b"clock skew");
        assert!(!is_garbage(&id, at(100), &HashSet::new(), at(50)));
    }

    #[test]
    fn the_cutoff_is_the_grace_period_before_now_and_an_endless_one_keeps_everything() {
        assert_eq!(cutoff(at(7200), HOUR), Some(at(3600)));
        assert_eq!(cutoff(at(7200), Duration::MAX), None);
    }
}
