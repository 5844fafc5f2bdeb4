//! The policies on small deterministic traces: no I/O, no clocks.

use super::*;

const CHUNK: u64 = 1_000;

fn id(n: u32) -> Blake3Hash {
    Blake3Hash::of(&n.to_le_bytes())
}

fn ids(ns: impl IntoIterator<Item = u32>) -> Vec<Blake3Hash> {
    ns.into_iter().map(id).collect()
}

/// Reads `n`: a hit touches it, a miss admits it. Returns what was evicted.
fn read(policy: &mut dyn ChunkPolicy, n: u32) -> Vec<Blake3Hash> {
    if policy.touch(&id(n)) {
        Vec::new()
    } else {
        policy.admit(id(n), CHUNK)
    }
}

fn resident(policy: &dyn ChunkPolicy, ns: impl IntoIterator<Item = u32>) -> Vec<u32> {
    ns.into_iter()
        .filter(|&n| policy.contains(&id(n)))
        .collect()
}

fn both(budget: u64) -> [Box<dyn ChunkPolicy>; 2] {
    [
        Box::new(LruPolicy::new(budget)),
        Box::new(S3FifoPolicy::with_typical_chunk(budget, CHUNK)),
    ]
}

#[test]
fn lru_evicts_the_chunk_read_longest_ago() {
    let mut lru = LruPolicy::new(4 * CHUNK);
    for n in 0..4 {
        assert!(read(&mut lru, n).is_empty());
    }
    assert!(lru.touch(&id(0)));
    assert_eq!(read(&mut lru, 4), ids([1]));
    assert_eq!(read(&mut lru, 5), ids([2]));
    assert!(lru.touch(&id(3)));
    assert_eq!(read(&mut lru, 6), ids([0]));
    assert_eq!(resident(&lru, 0..7), [3, 4, 5, 6]);
}

#[test]
fn lru_evicts_as_many_chunks_as_a_large_one_needs() {
    let mut lru = LruPolicy::new(4 * CHUNK);
    for n in 0..4 {
        read(&mut lru, n);
    }
    assert_eq!(lru.admit(id(9), 3 * CHUNK), ids([0, 1, 2]));
    assert_eq!(lru.bytes(), 4 * CHUNK);
}

#[test]
fn s3_fifo_keeps_chunks_read_twice_through_a_scan_of_chunks_read_once() {
    let mut s3 = S3FifoPolicy::with_typical_chunk(10 * CHUNK, CHUNK);
    let mut lru = LruPolicy::new(10 * CHUNK);
    for policy in [&mut s3 as &mut dyn ChunkPolicy, &mut lru] {
        // Five popular chunks, read three times each.
        for _ in 0..3 {
            for n in 0..5 {
                read(policy, n);
            }
        }
        // A pack nobody else downloads streams through: 30 chunks read once.
        for n in 100..130 {
            read(policy, n);
        }
    }
    assert_eq!(resident(&s3, 0..5), [0, 1, 2, 3, 4], "S3-FIFO keeps them");
    assert!(
        resident(&lru, 0..5).is_empty(),
        "LRU lets the scan flush them"
    );
}

#[test]
fn s3_fifo_evicts_newcomers_read_once_before_the_chunks_it_already_keeps() {
    let mut s3 = S3FifoPolicy::with_typical_chunk(10 * CHUNK, CHUNK);
    // Fill the cache: 0..9 fill the main queue (97 % of the budget), 9 the probation queue.
    // Then read 0..5 again so they are referenced.
    for n in 0..10 {
        read(&mut s3, n);
    }
    for n in 0..5 {
        assert!(s3.touch(&id(n)));
    }
    let mut evicted = Vec::new();
    for n in 10..15 {
        evicted.extend(read(&mut s3, n));
    }
    // Each newcomer read once displaces the previous one from probation; the main queue,
    // referenced or not, is only scanned once probation is empty.
    assert_eq!(evicted, ids(9..14));
    assert_eq!(resident(&s3, 0..15), [0, 1, 2, 3, 4, 5, 6, 7, 8, 14]);
}

#[test]
fn a_chunk_larger_than_the_budget_is_not_admitted_and_evicts_nothing() {
    for mut policy in both(4 * CHUNK) {
        read(policy.as_mut(), 1);
        assert_eq!(
            policy.admit(id(9), 5 * CHUNK),
            ids([9]),
            "{}",
            policy.name()
        );
        assert!(!policy.contains(&id(9)));
        assert!(policy.contains(&id(1)), "{}", policy.name());
    }
}

#[test]
fn no_policy_ever_holds_more_bytes_than_its_budget() {
    for mut policy in both(50 * CHUNK) {
        let mut x = 7u64;
        for _ in 0..5_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let n = u32::try_from((x >> 33) % 200).unwrap_or(0);
            let len = 1 + (x >> 20) % (5 * CHUNK);
            if !policy.touch(&id(n)) {
                policy.admit(id(n), len);
            }
            assert!(policy.bytes() <= policy.budget(), "{}", policy.name());
        }
        assert!(policy.forget(&id(policy_any(&*policy))) || policy.is_empty());
    }
}

fn policy_any(policy: &dyn ChunkPolicy) -> u32 {
    (0..200).find(|&n| policy.contains(&id(n))).unwrap_or(0)
}
