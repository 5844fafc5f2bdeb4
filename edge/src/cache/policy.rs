//! [`ChunkPolicy`]: which chunks a byte budget keeps, as plain data with no I/O.
//!
//! A tier asks its policy two questions: "was this chunk resident?" ([`touch`]) and "this chunk
//! arrived, which chunks must go to make room?" ([`admit`]); it then does the I/O the answer
//! asks for. Two policies implement it: [`S3FifoPolicy`] (the one the edge uses, backed by
//! `quick_cache`) and [`LruPolicy`] (the baseline it was measured against).
//!
//! [`touch`]: ChunkPolicy::touch
//! [`admit`]: ChunkPolicy::admit

use std::collections::{BTreeMap, HashMap};

use packyard_core::chunk_list::Blake3Hash;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter, unsync};

/// An eviction policy over chunk ids and byte lengths, with a byte budget.
///
/// After every call the bytes of the resident chunks are at most [`budget`](Self::budget).
pub trait ChunkPolicy: Send {
    /// The policy's name, as benchmarks print it.
    fn name(&self) -> &'static str;

    /// Records a read of `id`; whether it is resident.
    fn touch(&mut self, id: &Blake3Hash) -> bool;

    /// Makes `id` (of `len` bytes, not yet resident) resident; returns the ids that are no
    /// longer resident, in eviction order. That list holds `id` itself when the policy does
    /// not admit it (a chunk larger than the budget).
    fn admit(&mut self, id: Blake3Hash, len: u64) -> Vec<Blake3Hash>;

    /// Drops `id` (its bytes are gone); whether it was resident.
    fn forget(&mut self, id: &Blake3Hash) -> bool;

    /// Whether `id` is resident, without counting as a read.
    fn contains(&self, id: &Blake3Hash) -> bool;

    /// The bytes of the resident chunks.
    fn bytes(&self) -> u64;

    /// How many chunks are resident.
    fn len(&self) -> usize;

    /// Whether no chunk is resident.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most bytes the resident chunks may take.
    fn budget(&self) -> u64;
}

/// Weighs a cached chunk by its length in bytes, so the budget is a byte budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkWeighter;

impl Weighter<Blake3Hash, u64> for ChunkWeighter {
    fn weight(&self, _id: &Blake3Hash, len: &u64) -> u64 {
        *len
    }
}

impl Weighter<Blake3Hash, bytes::Bytes> for ChunkWeighter {
    fn weight(&self, _id: &Blake3Hash, bytes: &bytes::Bytes) -> u64 {
        bytes.len() as u64
    }
}

/// Collects the ids `quick_cache` evicts during one call, so the caller can act on them.
#[derive(Debug, Clone, Copy, Default)]
pub struct CollectEvicted;

impl<V> Lifecycle<Blake3Hash, V> for CollectEvicted {
    type RequestState = Vec<(Blake3Hash, V)>;

    fn on_evict(&self, evicted: &mut Self::RequestState, id: Blake3Hash, value: V) {
        evicted.push((id, value));
    }
}

/// The average chunk the origin cuts (64 KiB), for sizing `quick_cache`'s tables.
pub(crate) const TYPICAL_CHUNK: u64 = 64 << 10;

/// `quick_cache`'s options for a byte `budget` of chunks of about `typical_chunk` bytes (it
/// sizes its tables, and how many recently evicted ids it remembers, from the count).
pub(crate) fn quick_cache_options(
    budget: u64,
    typical_chunk: u64,
    shards: usize,
) -> quick_cache::Options {
    let items = budget / typical_chunk.max(1);
    let items = usize::try_from(items.max(1)).unwrap_or(usize::MAX);
    // Only fails when a field is unset; both are set here.
    OptionsBuilder::new()
        .estimated_items_capacity(items)
        .weight_capacity(budget)
        .shards(shards)
        .build()
        .unwrap_or_else(|e| unreachable!("quick_cache options are complete: {e}"))
}

/// `quick_cache`'s policy (a CLOCK-Pro variant close to S3-FIFO): new chunks enter a small
/// probationary ("cold") queue and move to the main ("hot") one only when read again while
/// there or soon after leaving it (a "ghost" hit); so a burst of chunks read once (a rarely
/// downloaded pack streaming through) evicts other one-time chunks, not the popular ones.
#[derive(Debug)]
pub struct S3FifoPolicy {
    index: unsync::Cache<Blake3Hash, u64, ChunkWeighter, DefaultHashBuilder, CollectEvicted>,
    budget: u64,
}

impl S3FifoPolicy {
    /// An empty policy with a `budget` in bytes, for chunks of the origin's default size.
    pub fn new(budget: u64) -> Self {
        Self::with_typical_chunk(budget, TYPICAL_CHUNK)
    }

    /// An empty policy with a `budget` in bytes, for chunks of about `typical_chunk` bytes.
    pub fn with_typical_chunk(budget: u64, typical_chunk: u64) -> Self {
        let index = unsync::Cache::with_options(
            quick_cache_options(budget, typical_chunk, 1),
            ChunkWeighter,
            DefaultHashBuilder::default(),
            CollectEvicted,
        );
        Self { index, budget }
    }
}

impl ChunkPolicy for S3FifoPolicy {
    fn name(&self) -> &'static str {
        "S3-FIFO (quick_cache)"
    }

    fn touch(&mut self, id: &Blake3Hash) -> bool {
        self.index.get(id).is_some()
    }

    fn admit(&mut self, id: Blake3Hash, len: u64) -> Vec<Blake3Hash> {
        let mut evicted = Vec::new();
        self.index.insert_with_lifecycle(id, len, &mut evicted);
        evicted.into_iter().map(|(id, _)| id).collect()
    }

    fn forget(&mut self, id: &Blake3Hash) -> bool {
        self.index.remove(id).is_some()
    }

    fn contains(&self, id: &Blake3Hash) -> bool {
        self.index.contains_key(id)
    }

    fn bytes(&self) -> u64 {
        self.index.weight()
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn budget(&self) -> u64 {
        self.budget
    }
}

/// Least recently used: evicts the chunk read longest ago. The baseline; not scan-resistant.
#[derive(Debug, Default)]
pub struct LruPolicy {
    /// Each resident chunk's length and the tick of its last read.
    chunks: HashMap<Blake3Hash, (u64, u64)>,
    /// Resident chunks by the tick of their last read, oldest first.
    by_age: BTreeMap<u64, Blake3Hash>,
    tick: u64,
    bytes: u64,
    budget: u64,
}

impl LruPolicy {
    /// An empty policy with a `budget` in bytes.
    pub fn new(budget: u64) -> Self {
        Self {
            budget,
            ..Self::default()
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

impl ChunkPolicy for LruPolicy {
    fn name(&self) -> &'static str {
        "LRU"
    }

    fn touch(&mut self, id: &Blake3Hash) -> bool {
        let tick = self.next_tick();
        let Some((_, last)) = self.chunks.get_mut(id) else {
            return false;
        };
        self.by_age.remove(last);
        *last = tick;
        self.by_age.insert(tick, *id);
        true
    }

    fn admit(&mut self, id: Blake3Hash, len: u64) -> Vec<Blake3Hash> {
        if len > self.budget {
            return vec![id];
        }
        self.forget(&id);
        let mut evicted = Vec::new();
        while self.bytes + len > self.budget {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((old_len, _)) = self.chunks.remove(&oldest) {
                self.bytes -= old_len;
            }
            evicted.push(oldest);
        }
        let tick = self.next_tick();
        self.chunks.insert(id, (len, tick));
        self.by_age.insert(tick, id);
        self.bytes += len;
        evicted
    }

    fn forget(&mut self, id: &Blake3Hash) -> bool {
        let Some((len, last)) = self.chunks.remove(id) else {
            return false;
        };
        self.by_age.remove(&last);
        self.bytes -= len;
        true
    }

    fn contains(&self, id: &Blake3Hash) -> bool {
        self.chunks.contains_key(id)
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn len(&self) -> usize {
        self.chunks.len()
    }

    fn budget(&self) -> u64 {
        self.budget
    }
}

#[cfg(test)]
#[path = "policy_test.rs"]
mod tests;
