//! The checks every [`ChunkStore`] implementation must pass.
//!
//! Each check takes a fresh, empty store and panics, like a failed test, when the store
//! breaks a promise of the trait. [`conformance_tests!`](crate::conformance_tests) turns the
//! whole suite into one `#[test]` per check:
//!
//! ```text
//! // `fresh` returns (anything that must outlive the store, an empty store).
//! packyard_chunk_store::conformance_tests!(|| ((), MemoryChunkStore::new()));
//! ```

// A conformance check fails the way a test does: by panicking with the broken promise.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use packyard_core::chunk_list::{Blake3Hash, MAX_CHUNK_LEN};

use crate::gc::collect_garbage;
use crate::store::{ChunkStats, ChunkStore, Put};
use crate::{ChunkStoreError, store::Result};

/// Deterministic, distinct chunk bytes of `len` bytes.
pub fn chunk(seed: u8, len: usize) -> (Blake3Hash, Vec<u8>) {
    let mut x = u32::from(seed) + 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x.to_le_bytes()[3]
        })
        .collect();
    (Blake3Hash::of(&bytes), bytes)
}

fn ids<S: ChunkStore + ?Sized>(store: &S) -> HashSet<Blake3Hash> {
    store.ids().unwrap().collect::<Result<_>>().unwrap()
}

/// A chunk put is read back byte for byte; `contains` and `meta` see it.
pub fn put_then_get_round_trips<S: ChunkStore + ?Sized>(store: &S) {
    let (id, bytes) = chunk(1, 100_000);
    assert_eq!(store.put(&id, &bytes).unwrap(), Put::Stored);
    assert!(store.contains(&id).unwrap());
    assert_eq!(store.get(&id).unwrap().as_deref(), Some(&bytes[..]));
    assert_eq!(store.meta(&id).unwrap().unwrap().len, 100_000);
}

/// Putting a chunk twice stores it once and refreshes its write time.
pub fn put_is_idempotent<S: ChunkStore + ?Sized>(store: &S) {
    let (id, bytes) = chunk(2, 5_000);
    assert_eq!(store.put(&id, &bytes).unwrap(), Put::Stored);
    let first = store.meta(&id).unwrap().unwrap().written;
    assert_eq!(store.put(&id, &bytes).unwrap(), Put::AlreadyPresent);
    let second = store.meta(&id).unwrap().unwrap().written;
    assert!(
        second >= first,
        "a second put must not make a chunk look older"
    );
    assert_eq!(store.get(&id).unwrap().as_deref(), Some(&bytes[..]));
    assert_eq!(store.stats().unwrap().chunks, 1);
}

/// Bytes that do not hash to the id named are refused and nothing is stored.
pub fn put_refuses_bytes_that_do_not_hash_to_the_id<S: ChunkStore + ?Sized>(store: &S) {
    let (id, _) = chunk(3, 1_000);
    let (other, wrong) = chunk(4, 1_000);
    match store.put(&id, &wrong) {
        Err(ChunkStoreError::HashMismatch { id: named, actual }) => {
            assert_eq!((named, actual), (id, other));
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    assert!(!store.contains(&id).unwrap());
    assert!(!store.contains(&other).unwrap());
    assert_eq!(store.stats().unwrap(), ChunkStats::default());
}

/// A chunk over [`MAX_CHUNK_LEN`] is refused, even though its id is right.
pub fn put_refuses_oversize_chunks<S: ChunkStore + ?Sized>(store: &S) {
    let too_big = vec![7u8; MAX_CHUNK_LEN as usize + 1];
    let id = Blake3Hash::of(&too_big);
    assert!(matches!(
        store.put(&id, &too_big),
        Err(ChunkStoreError::TooLarge { len, .. }) if len == too_big.len()
    ));
    assert!(!store.contains(&id).unwrap());
    let largest = &too_big[..MAX_CHUNK_LEN as usize];
    assert_eq!(
        store.put(&Blake3Hash::of(largest), largest).unwrap(),
        Put::Stored
    );
}

/// An empty chunk is refused: chunk lists never name one.
pub fn put_refuses_empty_chunks<S: ChunkStore + ?Sized>(store: &S) {
    let id = Blake3Hash::of(b"");
    assert!(matches!(
        store.put(&id, b""),
        Err(ChunkStoreError::Empty { .. })
    ));
    assert!(!store.contains(&id).unwrap());
}

/// A chunk never stored is absent everywhere, without an error.
pub fn a_missing_chunk_is_absent<S: ChunkStore + ?Sized>(store: &S) {
    let (id, _) = chunk(5, 10);
    assert!(!store.contains(&id).unwrap());
    assert!(store.get(&id).unwrap().is_none());
    assert!(store.meta(&id).unwrap().is_none());
    assert!(!store.remove(&id).unwrap());
}

/// `remove` removes one chunk, once, and leaves the others.
pub fn remove_removes_one_chunk<S: ChunkStore + ?Sized>(store: &S) {
    let (a, a_bytes) = chunk(6, 10);
    let (b, b_bytes) = chunk(7, 10);
    store.put(&a, &a_bytes).unwrap();
    store.put(&b, &b_bytes).unwrap();
    assert!(store.remove(&a).unwrap());
    assert!(!store.remove(&a).unwrap());
    assert!(store.get(&a).unwrap().is_none());
    assert_eq!(store.get(&b).unwrap().as_deref(), Some(&b_bytes[..]));
    // A removed chunk can be stored again.
    assert_eq!(store.put(&a, &a_bytes).unwrap(), Put::Stored);
}

/// `remove_if_written_before` removes only chunks written before the cutoff.
pub fn remove_if_written_before_respects_the_cutoff<S: ChunkStore + ?Sized>(store: &S) {
    let (id, bytes) = chunk(8, 10);
    store.put(&id, &bytes).unwrap();
    let written = store.meta(&id).unwrap().unwrap().written;
    assert!(!store.remove_if_written_before(&id, written).unwrap());
    assert!(store.contains(&id).unwrap());
    let later = written + Duration::from_secs(1);
    assert!(store.remove_if_written_before(&id, later).unwrap());
    assert!(!store.contains(&id).unwrap());
    assert!(!store.remove_if_written_before(&id, later).unwrap());
}

/// `ids` lists every chunk exactly once.
pub fn ids_lists_every_chunk_once<S: ChunkStore + ?Sized>(store: &S) {
    assert!(ids(store).is_empty());
    let mut expected = HashSet::new();
    for seed in 0..50 {
        let (id, bytes) = chunk(seed, 64 + usize::from(seed));
        store.put(&id, &bytes).unwrap();
        expected.insert(id);
    }
    let listed: Vec<Blake3Hash> = store.ids().unwrap().collect::<Result<_>>().unwrap();
    assert_eq!(listed.len(), 50, "each chunk is listed once");
    assert_eq!(listed.into_iter().collect::<HashSet<_>>(), expected);
}

/// `stats` counts chunks and bytes, and nothing corrupt in a healthy store.
pub fn stats_count_chunks_and_bytes<S: ChunkStore + ?Sized>(store: &S) {
    assert_eq!(store.stats().unwrap(), ChunkStats::default());
    for (seed, len) in [(10, 100), (11, 2_000), (12, 30_000)] {
        let (id, bytes) = chunk(seed, len);
        store.put(&id, &bytes).unwrap();
    }
    let (dup, dup_bytes) = chunk(10, 100);
    store.put(&dup, &dup_bytes).unwrap();
    let expected = ChunkStats {
        chunks: 3,
        bytes: 32_100,
        corrupt_found: 0,
    };
    assert_eq!(store.stats().unwrap(), expected);
}

/// Garbage collection removes old unreferenced chunks and keeps live and recent ones.
pub fn collect_garbage_keeps_live_and_recent_chunks<S: ChunkStore + ?Sized>(store: &S) {
    let (live, live_bytes) = chunk(20, 1_000);
    let (dead, dead_bytes) = chunk(21, 2_000);
    store.put(&live, &live_bytes).unwrap();
    store.put(&dead, &dead_bytes).unwrap();
    let live_set = HashSet::from([live]);
    let grace = Duration::from_secs(3600);

    let now = SystemTime::now();
    let report = collect_garbage(store, &live_set, grace, now).unwrap();
    assert!(
        report.removed.is_empty(),
        "both were written within the grace period"
    );
    assert_eq!(report.kept_recent, 1);

    let later = now + 2 * grace;
    let report = collect_garbage(store, &live_set, grace, later).unwrap();
    assert_eq!((report.removed, report.bytes_removed), (vec![dead], 2_000));
    assert_eq!(ids(store), live_set);
}

/// Many threads putting the same chunk at once all succeed and leave one good copy.
pub fn concurrent_puts_of_one_chunk_agree<S: ChunkStore + ?Sized>(store: &S) {
    let (id, bytes) = chunk(30, 200_000);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| store.put(&id, &bytes).unwrap());
        }
    });
    assert_eq!(store.get(&id).unwrap().as_deref(), Some(&bytes[..]));
    assert_eq!(store.stats().unwrap().chunks, 1);
}

/// A conformance check and its name.
pub type Check<S> = (&'static str, fn(&S));

/// Every check, by name, for a store that is slow to make fresh (one of a real object
/// store, say): the caller runs each on a fresh prefix of one store.
pub fn checks<S: ChunkStore + ?Sized>() -> Vec<Check<S>> {
    macro_rules! named {
        ($($check:ident),* $(,)?) => { vec![$((stringify!($check), $check::<S> as fn(&S))),*] };
    }
    named![
        put_then_get_round_trips,
        put_is_idempotent,
        put_refuses_bytes_that_do_not_hash_to_the_id,
        put_refuses_oversize_chunks,
        put_refuses_empty_chunks,
        a_missing_chunk_is_absent,
        remove_removes_one_chunk,
        remove_if_written_before_respects_the_cutoff,
        ids_lists_every_chunk_once,
        stats_count_chunks_and_bytes,
        collect_garbage_keeps_live_and_recent_chunks,
        concurrent_puts_of_one_chunk_agree,
    ]
}

/// One `#[test]` per conformance check. `$fresh` is a closure returning `(guard, store)`:
/// an empty store and whatever must live as long as it (a temporary directory, or `()`).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@tests $fresh;
            put_then_get_round_trips,
            put_is_idempotent,
            put_refuses_bytes_that_do_not_hash_to_the_id,
            put_refuses_oversize_chunks,
            put_refuses_empty_chunks,
            a_missing_chunk_is_absent,
            remove_removes_one_chunk,
            remove_if_written_before_respects_the_cutoff,
            ids_lists_every_chunk_once,
            stats_count_chunks_and_bytes,
            collect_garbage_keeps_live_and_recent_chunks,
            concurrent_puts_of_one_chunk_agree,
        );
    };
    (@tests $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let (_guard, store) = ($fresh)();
                $crate::conformance::$check(&store);
            }
        )*
    };
}
