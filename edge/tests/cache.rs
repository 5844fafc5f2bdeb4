//! The chunk cache's promises, checked over every configuration (memory only, memory over
//! disk), then the ones only a disk tier can break: corruption, restarts, its budget on disk.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use packyard_chunk_store::conformance::chunk;
use packyard_edge::cache::{CacheConfig, CacheCounters, CacheError, ChunkCache, DiskConfig};
use tempfile::TempDir;
use tokio::sync::watch;

/// A cache and the directory its disk tier lives in (if any).
struct Fixture {
    cache: ChunkCache,
    dir: Option<TempDir>,
}

fn memory_only(memory_bytes: u64) -> Fixture {
    let cache = ChunkCache::open(
        &CacheConfig::memory(memory_bytes),
        Arc::new(CacheCounters::new()),
    )
    .unwrap();
    Fixture { cache, dir: None }
}

fn disk_config(root: &Path, memory_bytes: u64, disk_bytes: u64) -> CacheConfig {
    CacheConfig {
        memory_bytes,
        disk: Some(DiskConfig {
            root: root.to_path_buf(),
            bytes: disk_bytes,
        }),
    }
}

fn memory_and_disk(memory_bytes: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = disk_config(dir.path(), memory_bytes, 4 * memory_bytes);
    let cache = ChunkCache::open(&config, Arc::new(CacheCounters::new())).unwrap();
    Fixture {
        cache,
        dir: Some(dir),
    }
}

/// A fetch that returns `bytes` and counts itself.
fn fetch_of(
    bytes: Vec<u8>,
    count: &Arc<AtomicUsize>,
) -> impl FnOnce() -> std::future::Ready<io::Result<Bytes>> + Send + 'static {
    let count = Arc::clone(count);
    move || {
        count.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Bytes::from(bytes)))
    }
}

fn len(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap()
}

/// The bytes of every chunk file under a disk tier's root.
fn bytes_on_disk(root: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|e| e.unwrap())
                .map(|e| {
                    let meta = e.metadata().unwrap();
                    if meta.is_dir() {
                        walk(&e.path())
                    } else {
                        meta.len()
                    }
                })
                .sum()
        })
    }
    walk(&root.join("chunks"))
}

/// The checks every configuration passes; each takes a fresh cache.
mod checks {
    use super::*;

    pub(crate) async fn a_chunk_never_filled_is_a_miss(f: Fixture) {
        let (id, _) = chunk(1, 1_000);
        assert!(f.cache.get(&id).await.unwrap().is_none());
        assert_eq!(f.cache.counters().snapshot().misses, 1);
    }

    pub(crate) async fn a_filled_chunk_is_then_served_without_fetching(f: Fixture) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let (id, bytes) = chunk(2, 70_000);
        for _ in 0..3 {
            let got = f
                .cache
                .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
                .await
                .unwrap();
            assert_eq!(got, bytes);
        }
        assert_eq!(f.cache.get(&id).await.unwrap().unwrap(), bytes);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let c = f.cache.counters().snapshot();
        assert_eq!((c.fills, c.misses, c.memory_hits), (1, 1, 3));
        assert!(f.cache.residence(&id).memory);
        assert_eq!(f.cache.residence(&id).disk, f.dir.is_some());
    }

    pub(crate) async fn bytes_that_are_not_the_chunk_are_refused_and_not_cached(f: Fixture) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let (id, bytes) = chunk(3, 5_000);
        let (other, wrong) = chunk(4, 5_000);
        match f
            .cache
            .get_or_fetch(id, len(&bytes), fetch_of(wrong, &fetches))
            .await
        {
            Err(CacheError::HashMismatch { id: named, actual }) => {
                assert_eq!((named, actual), (id, other));
            }
            other => panic!("expected HashMismatch, got {other:?}"),
        }
        assert_eq!(f.cache.residence(&id), Default::default());
        assert_eq!(f.cache.residence(&other), Default::default());
        // The right bytes with the wrong length from the chunk list are refused too.
        let refused = f
            .cache
            .get_or_fetch(id, 4_999, fetch_of(bytes.clone(), &fetches))
            .await;
        assert!(matches!(refused, Err(CacheError::LengthMismatch { .. })));
        let c = f.cache.counters().snapshot();
        assert_eq!((c.fill_errors, c.fill_mismatches), (2, 2));
        assert_eq!((f.cache.memory_bytes(), f.cache.disk_bytes()), (0, 0));
        // Nothing was cached, so a good fetch is tried and kept.
        let got = f
            .cache
            .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
            .await
            .unwrap();
        assert_eq!(got, bytes);
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    pub(crate) async fn a_failed_fetch_is_not_cached(f: Fixture) {
        let (id, bytes) = chunk(5, 3_000);
        let failed = f
            .cache
            .get_or_fetch(id, len(&bytes), || async {
                Err::<Bytes, _>(io::Error::other("origin unreachable"))
            })
            .await;
        match failed {
            Err(e @ CacheError::Fetch { .. }) => {
                assert!(e.to_string().contains("origin unreachable"), "{e}");
            }
            other => panic!("expected Fetch, got {other:?}"),
        }
        assert_eq!(f.cache.counters().snapshot().fill_errors, 1);
        let fetches = Arc::new(AtomicUsize::new(0));
        let got = f
            .cache
            .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
            .await
            .unwrap();
        assert_eq!(
            (got.as_ref(), fetches.load(Ordering::SeqCst)),
            (&bytes[..], 1)
        );
        assert_eq!(f.cache.fills_in_flight(), 0);
    }

    pub(crate) async fn budgets_are_never_exceeded(f: Fixture) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let memory_budget = f.cache.memory_budget();
        for round in 0..2u8 {
            for seed in 0..60u8 {
                let size = 1_000 + 997 * usize::from(seed % 50);
                let (id, bytes) = chunk(seed.wrapping_add(round * 7), size);
                f.cache
                    .get_or_fetch(id, len(&bytes), fetch_of(bytes, &fetches))
                    .await
                    .unwrap();
                assert!(f.cache.memory_bytes() <= memory_budget);
                assert!(f.cache.disk_bytes() <= f.cache.disk_budget());
                if let Some(dir) = &f.dir {
                    assert!(bytes_on_disk(dir.path()) <= f.cache.disk_budget());
                }
            }
        }
        let c = f.cache.counters().snapshot();
        assert!(c.memory_evictions > 0, "the trace must overflow memory");
        assert_eq!(c.disk_evictions > 0, f.dir.is_some());
    }

    /// 1,000 requests for 20 chunks, all queued before any fetch may finish: 20 fetches.
    pub(crate) async fn concurrent_misses_share_one_fetch_per_chunk(f: Fixture) {
        const CHUNKS: u8 = 20;
        const REQUESTS: usize = 1_000;
        let fetches = Arc::new(AtomicUsize::new(0));
        let (open, gate) = watch::channel(false);
        let chunks: Vec<_> = (0..CHUNKS).map(|s| chunk(100 + s, 10_000)).collect();
        let mut tasks = Vec::new();
        for i in 0..REQUESTS {
            let (id, bytes) = chunks[i % usize::from(CHUNKS)].clone();
            let (cache, fetches, mut gate) = (f.cache.clone(), fetches.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                let want = bytes.clone();
                let got = cache
                    .get_or_fetch(id, len(&bytes), move || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        gate.wait_for(|open| *open).await.unwrap();
                        Ok::<_, io::Error>(Bytes::from(bytes))
                    })
                    .await
                    .unwrap();
                assert_eq!(got, want);
            }));
        }
        // Every request has either started a fill or joined one before the gate opens.
        let queued = || {
            let c = f.cache.counters().snapshot();
            fetches.load(Ordering::SeqCst) == usize::from(CHUNKS)
                && c.joined_fills == (REQUESTS - usize::from(CHUNKS)) as u64
        };
        while !queued() {
            tokio::task::yield_now().await;
        }
        open.send_replace(true);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), usize::from(CHUNKS));
        let c = f.cache.counters().snapshot();
        assert_eq!((c.fills, c.misses), (u64::from(CHUNKS), u64::from(CHUNKS)));
        assert_eq!(f.cache.fills_in_flight(), 0);
    }

    pub(crate) async fn a_cancelled_request_does_not_cancel_the_fill_for_others(f: Fixture) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let (open, gate) = watch::channel(false);
        let (id, bytes) = chunk(7, 9_000);
        let request = |cache: ChunkCache, bytes: Vec<u8>| {
            let (fetches, mut gate) = (fetches.clone(), gate.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch(id, len(&bytes), move || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        gate.wait_for(|open| *open).await.unwrap();
                        Ok::<_, io::Error>(Bytes::from(bytes))
                    })
                    .await
            })
        };
        let first = request(f.cache.clone(), bytes.clone());
        while fetches.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = request(f.cache.clone(), bytes.clone());
        while f.cache.counters().snapshot().joined_fills == 0 {
            tokio::task::yield_now().await;
        }
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        open.send_replace(true);
        assert_eq!(second.await.unwrap().unwrap(), bytes);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}

/// One `#[tokio::test]` per check, for a configuration built by `$fresh`.
macro_rules! suite {
    ($name:ident, $fresh:expr) => {
        mod $name {
            use super::*;
            suite!(@tests $fresh;
                a_chunk_never_filled_is_a_miss,
                a_filled_chunk_is_then_served_without_fetching,
                bytes_that_are_not_the_chunk_are_refused_and_not_cached,
                a_failed_fetch_is_not_cached,
                budgets_are_never_exceeded,
                concurrent_misses_share_one_fetch_per_chunk,
                a_cancelled_request_does_not_cancel_the_fill_for_others,
            );
        }
    };
    (@tests $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                checks::$check(($fresh)(256_000)).await;
            }
        )*
    };
}

suite!(memory_only_cache, memory_only);
suite!(memory_and_disk_cache, memory_and_disk);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_evicted_from_memory_is_read_back_from_disk_and_promoted() {
    let f = memory_and_disk(256_000);
    let fetches = Arc::new(AtomicUsize::new(0));
    let (id, bytes) = chunk(8, 40_000);
    f.cache
        .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
        .await
        .unwrap();
    f.cache.evict_from_memory(&id);
    assert!(!f.cache.residence(&id).memory);
    let got = f
        .cache
        .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
        .await
        .unwrap();
    assert_eq!(
        (got.as_ref(), fetches.load(Ordering::SeqCst)),
        (&bytes[..], 1)
    );
    assert_eq!(f.cache.counters().snapshot().disk_hits, 1);
    assert!(f.cache.residence(&id).memory, "a disk hit is promoted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_on_disk_is_dropped_refetched_and_never_served() {
    let f = memory_and_disk(256_000);
    let fetches = Arc::new(AtomicUsize::new(0));
    let (id, bytes) = chunk(9, 70_000);
    f.cache
        .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
        .await
        .unwrap();
    f.cache.evict_from_memory(&id);
    let path = f.cache.disk_path_of(&id).unwrap();
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[54_321] ^= 0x10;
    std::fs::write(&path, on_disk).unwrap();

    let got = f
        .cache
        .get_or_fetch(id, len(&bytes), fetch_of(bytes.clone(), &fetches))
        .await
        .unwrap();
    assert_eq!(got, bytes, "the refetched bytes, not the corrupt ones");
    let c = f.cache.counters().snapshot();
    assert_eq!(
        (c.corrupt_dropped, c.disk_hits, c.fills),
        (1, 0, 2),
        "{c:?}"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the good copy is on disk again"
    );
    assert_eq!(f.cache.disk_bytes(), 70_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_cache_finds_its_disk_chunks_without_fetching() {
    let dir = tempfile::tempdir().unwrap();
    let config = disk_config(dir.path(), 256_000, 1_000_000);
    let chunks: Vec<_> = (0..10).map(|s| chunk(40 + s, 20_000)).collect();
    {
        let cache = ChunkCache::open(&config, Arc::new(CacheCounters::new())).unwrap();
        let fetches = Arc::new(AtomicUsize::new(0));
        for (id, bytes) in &chunks {
            cache
                .get_or_fetch(*id, len(bytes), fetch_of(bytes.clone(), &fetches))
                .await
                .unwrap();
        }
    }
    let cache = ChunkCache::open(&config, Arc::new(CacheCounters::new())).unwrap();
    assert_eq!((cache.disk_chunks(), cache.disk_bytes()), (10, 200_000));
    for (id, bytes) in &chunks {
        let got = cache
            .get_or_fetch(*id, len(bytes), || async {
                Err::<Bytes, _>(io::Error::other("a reopened cache must not fetch"))
            })
            .await
            .unwrap();
        assert_eq!(got, *bytes);
    }
    let c = cache.counters().snapshot();
    assert_eq!((c.disk_hits, c.fills), (10, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_cache_with_a_smaller_budget_keeps_the_newest_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let chunks: Vec<_> = (0..10).map(|s| chunk(60 + s, 20_000)).collect();
    {
        let config = disk_config(dir.path(), 256_000, 1_000_000);
        let cache = ChunkCache::open(&config, Arc::new(CacheCounters::new())).unwrap();
        let fetches = Arc::new(AtomicUsize::new(0));
        for (id, bytes) in &chunks {
            cache
                .get_or_fetch(*id, len(bytes), fetch_of(bytes.clone(), &fetches))
                .await
                .unwrap();
            // Distinct write times, oldest first (file times are the only order kept).
            let path = cache.disk_path_of(id).unwrap();
            let n = chunks.iter().position(|(c, _)| c == id).unwrap();
            let when = std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(1_700_000_000 + 60 * n as u64);
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
    }
    let config = disk_config(dir.path(), 256_000, 100_000);
    let counters = Arc::new(CacheCounters::new());
    let cache = ChunkCache::open(&config, Arc::clone(&counters)).unwrap();
    assert!(cache.disk_bytes() <= 100_000);
    assert!(bytes_on_disk(dir.path()) <= 100_000);
    let kept: Vec<usize> = (0..10)
        .filter(|&n| cache.residence(&chunks[n].0).disk)
        .collect();
    assert_eq!(kept, [5, 6, 7, 8, 9], "the newest that fit");
    assert_eq!(counters.snapshot().disk_evictions, 5);
}

#[test]
fn a_zero_budget_is_refused_with_a_reason() {
    let counters = Arc::new(CacheCounters::new());
    let e = ChunkCache::open(&CacheConfig::memory(0), Arc::clone(&counters)).unwrap_err();
    assert!(e.to_string().contains("memory_bytes is 0"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = ChunkCache::open(&disk_config(dir.path(), 1_000, 0), counters).unwrap_err();
    assert!(e.to_string().contains("disk tier's budget is 0"), "{e}");
}
