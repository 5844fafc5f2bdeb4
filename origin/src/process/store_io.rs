//! How processing talks to the chunk store when the store is a bucket: several requests in
//! flight at once, because each one costs a round trip (and the store's own replication)
//! rather than a disk seek. On the embedded disk store everything stays on one thread.
//!
//! - [`Writers`]: the chunks ingest cuts, put by a few threads while ingest goes on cutting,
//!   in groups when the store groups them (and not put at all when they were just read from
//!   the store).
//! - [`ChunksReader`]: an archive sent as chunks, read back in order, a window of chunks
//!   fetched at once.
//! - [`still_there`]: the chunks found present, looked for again in the store itself.

use std::collections::{HashSet, VecDeque};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use packyard_chunk_store::{ChunkStore, ChunkStoreError, Put};
use packyard_core::Blake3Hash;

use crate::upload::chunks::Listed;
use packyard_chunk_store::windows::in_windows;

/// Requests in flight at once against a shared store (puts, reads, lookups).
pub(super) const IN_FLIGHT: usize = 8;

/// What the writer threads share: the chunks they found present, and the first failure.
#[derive(Default)]
struct Outcome {
    present: Vec<Blake3Hash>,
    error: Option<ChunkStoreError>,
    failed: bool,
}

fn stopped(detail: &str) -> ChunkStoreError {
    ChunkStoreError::Unavailable {
        store: "chunk store".into(),
        action: "writing to",
        detail: detail.into(),
    }
}

/// A group of chunks put together (one segment of a bucket).
type Batch = Vec<(Blake3Hash, Vec<u8>)>;

/// Puts chunks into the store from `IN_FLIGHT` threads, or inline when `threads` is 1. A
/// store that groups chunks ([`ChunkStore::batch_bytes`]) gets them in groups that size.
pub(super) struct Writers<S: ChunkStore + ?Sized + 'static> {
    store: Arc<S>,
    /// Chunks known to be in the store already (just read from it): not put again.
    held: HashSet<Blake3Hash>,
    /// The group being gathered, and its bytes.
    batch: Batch,
    batch_len: usize,
    queue: Option<SyncSender<Batch>>,
    threads: Vec<JoinHandle<()>>,
    outcome: Arc<Mutex<Outcome>>,
}

fn lock(outcome: &Mutex<Outcome>) -> std::sync::MutexGuard<'_, Outcome> {
    outcome
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Puts `batch` (one chunk on its own when the store does not group them) and records what
/// was present, or the failure.
fn put_batch<S: ChunkStore + ?Sized>(store: &S, batch: &Batch, outcome: &Mutex<Outcome>) {
    let put = match &batch[..] {
        [(id, bytes)] if store.batch_bytes() == 0 => store.put(id, bytes).map(|p| vec![p]),
        _ => {
            let refs: Vec<(Blake3Hash, &[u8])> =
                batch.iter().map(|(id, b)| (*id, &b[..])).collect();
            store.put_many(&refs)
        }
    };
    let mut outcome = lock(outcome);
    match put {
        Ok(puts) => {
            for ((id, _), put) in batch.iter().zip(puts) {
                if put == Put::AlreadyPresent {
                    outcome.present.push(*id);
                }
            }
        }
        Err(e) => {
            outcome.failed = true;
            outcome.error.get_or_insert(e);
        }
    }
}

impl<S: ChunkStore + ?Sized + 'static> Writers<S> {
    /// Writers over `store`; `threads` of them (1: every put on the caller's thread).
    pub(super) fn new(store: Arc<S>, threads: usize) -> Self {
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let mut writers = Self {
            store,
            held: HashSet::new(),
            batch: Vec::new(),
            batch_len: 0,
            queue: None,
            threads: Vec::new(),
            outcome,
        };
        if threads <= 1 {
            return writers;
        }
        // Each group waiting is up to a segment of memory: as many waiting as writing.
        let (queue, jobs) = sync_channel::<Batch>(threads);
        let jobs = Arc::new(Mutex::new(jobs));
        writers.threads = (0..threads)
            .map(|_| {
                let (store, jobs, outcome) =
                    (writers.store.clone(), jobs.clone(), writers.outcome.clone());
                std::thread::spawn(move || {
                    loop {
                        let job = jobs
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok(batch) = job else { return };
                        if lock(&outcome).failed {
                            continue;
                        }
                        put_batch(&*store, &batch, &outcome);
                    }
                })
            })
            .collect();
        writers.queue = Some(queue);
        writers
    }

    /// The same writers, told that `held` are in the store already (an archive sent as
    /// chunks was just read from it): those count as present without a request.
    pub(super) fn holding(mut self, held: HashSet<Blake3Hash>) -> Self {
        self.held = held;
        self
    }

    /// Puts `bytes` as `id`, now or on a writer thread (once its group is full); an error is
    /// the first a writer met.
    pub(super) fn put(&mut self, id: Blake3Hash, bytes: &[u8]) -> Result<(), ChunkStoreError> {
        if self.held.contains(&id) {
            lock(&self.outcome).present.push(id);
            return Ok(());
        }
        self.batch.push((id, bytes.to_vec()));
        self.batch_len += bytes.len();
        if self.batch_len < self.store.batch_bytes() {
            return Ok(());
        }
        self.send()
    }

    /// Hands the gathered group to a writer (or writes it here).
    fn send(&mut self) -> Result<(), ChunkStoreError> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_len = 0;
        if batch.is_empty() {
            return Ok(());
        }
        let Some(queue) = &self.queue else {
            put_batch(&*self.store, &batch, &self.outcome);
            return self.failure().map_or(Ok(()), Err);
        };
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if queue.send(batch).is_err() {
            return Err(self
                .failure()
                .unwrap_or_else(|| stopped("the writer threads stopped")));
        }
        Ok(())
    }

    fn failure(&self) -> Option<ChunkStoreError> {
        let mut outcome = lock(&self.outcome);
        if outcome.failed {
            Some(
                outcome
                    .error
                    .take()
                    .unwrap_or_else(|| stopped("an earlier write failed")),
            )
        } else {
            None
        }
    }

    /// Waits for every put; returns the chunks that were already present, or the first
    /// error.
    pub(super) fn finish(mut self) -> Result<Vec<Blake3Hash>, ChunkStoreError> {
        self.send()?;
        self.queue = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(e) = self.failure() {
            return Err(e);
        }
        Ok(std::mem::take(&mut lock(&self.outcome).present))
    }
}

impl<S: ChunkStore + ?Sized + 'static> Drop for Writers<S> {
    fn drop(&mut self) {
        self.queue = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The chunks of a chunk list, read from the store in order as one stream, `window` fetched
/// at once; each is checked against its id (the store's verified read) and its listed
/// length.
pub(super) struct ChunksReader<S: ?Sized> {
    store: Arc<S>,
    /// The first listed chunk the store did not have, once one is met.
    absent: Arc<Mutex<Option<Blake3Hash>>>,
    chunks: Arc<[Listed]>,
    next: usize,
    window: usize,
    ready: VecDeque<bytes::Bytes>,
    current: io::Cursor<bytes::Bytes>,
    /// From a store that groups chunks: the next stretches, read on a thread of their own
    /// (each with the index it ends at), so that reading one overlaps checking the last.
    ahead: Option<Receiver<(usize, Fetched)>>,
}

/// Chunks read, each checked: its bytes, `None` if the store lacks it, or the failure.
type Fetched = Vec<io::Result<Option<bytes::Bytes>>>;

/// Where the stretch of `chunks` read at once from `next` ends: about `bytes` of them.
fn stretch_end(chunks: &[Listed], next: usize, bytes: usize) -> usize {
    let mut taken = 0;
    let mut end = next;
    while end < chunks.len() && taken < bytes {
        taken += chunks[end].length as usize;
        end += 1;
    }
    end
}

/// `stretch` read with one call (neighbours in one request each), each checked.
fn fetch_stretch<S: ChunkStore + ?Sized>(store: &S, stretch: &[Listed]) -> Fetched {
    let ids: Vec<Blake3Hash> = stretch.iter().map(|c| c.id).collect();
    match store.get_many(&ids) {
        Ok(found) => stretch
            .iter()
            .zip(found)
            .map(|(c, bytes)| checked(c, bytes))
            .collect(),
        Err(e) => vec![Err(io::Error::other(e))],
    }
}

impl<S: ChunkStore + ?Sized + 'static> ChunksReader<S> {
    /// A reader of `chunks` from `store`, `window` requests in flight. From a store that
    /// groups chunks, two groups' worth are read at once, one stretch ahead of the reader.
    pub(super) fn new(store: Arc<S>, chunks: Vec<Listed>, window: usize) -> Self {
        let chunks: Arc<[Listed]> = chunks.into();
        let grouped = store.batch_bytes();
        let ahead = (grouped > 0).then(|| {
            let (tx, rx) = sync_channel(1);
            let (store, chunks) = (store.clone(), chunks.clone());
            std::thread::spawn(move || {
                let mut next = 0;
                while next < chunks.len() {
                    let end = stretch_end(&chunks, next, 2 * grouped);
                    let fetched = fetch_stretch(&*store, &chunks[next..end]);
                    let failed = fetched.iter().any(|r| !matches!(r, Ok(Some(_))));
                    // Stops when the reader is dropped, or at the first failure.
                    if tx.send((end, fetched)).is_err() || failed {
                        return;
                    }
                    next = end;
                }
            });
            rx
        });
        Self {
            store,
            absent: Arc::default(),
            chunks,
            next: 0,
            window: window.max(1),
            ready: VecDeque::new(),
            current: io::Cursor::new(bytes::Bytes::new()),
            ahead,
        }
    }
}

impl<S: ChunkStore + ?Sized> ChunksReader<S> {
    /// Where the reader tells the first listed chunk the store lacks (then reading fails):
    /// a chunk nobody sent, which no retry will bring.
    pub(super) fn absent(&self) -> Arc<Mutex<Option<Blake3Hash>>> {
        self.absent.clone()
    }

    /// Fetches the next chunks into `ready`: from the read-ahead thread, or eight per
    /// request in flight, so that a slow answer costs one thread a wait, not every thread.
    fn fill(&mut self) -> io::Result<()> {
        let (end, fetched) = match &self.ahead {
            Some(ahead) => ahead
                .recv()
                .map_err(|_| io::Error::other("the thread reading chunks ahead stopped"))?,
            None => {
                let ahead = if self.window > 1 { 8 * self.window } else { 1 };
                let end = (self.next + ahead).min(self.chunks.len());
                let store = &*self.store;
                let batch = &self.chunks[self.next..end];
                (end, in_windows(batch, self.window, |c| fetch(store, c)))
            }
        };
        let batch = &self.chunks[self.next..end];
        for (c, bytes) in batch.iter().zip(fetched) {
            match bytes {
                Ok(Some(bytes)) => self.ready.push_back(bytes),
                Ok(None) => {
                    let mut absent = self
                        .absent
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    absent.get_or_insert(c.id);
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("chunk {} is not in the store", c.id),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        self.next = end;
        Ok(())
    }
}

/// Chunk `c`, checked against its listed length; `None` when the store lacks it.
fn fetch<S: ChunkStore + ?Sized>(store: &S, c: &Listed) -> io::Result<Option<bytes::Bytes>> {
    checked(c, store.get(&c.id).map_err(io::Error::other)?)
}

/// `bytes` read for `c`, checked against its listed length.
fn checked(c: &Listed, bytes: Option<bytes::Bytes>) -> io::Result<Option<bytes::Bytes>> {
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    if bytes.len() != c.length as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "chunk {} is {} bytes; the chunk list says {}",
                c.id,
                bytes.len(),
                c.length
            ),
        ));
    }
    Ok(Some(bytes))
}

impl<S: ChunkStore + ?Sized> Read for ChunksReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if self.ready.is_empty() {
                if self.next == self.chunks.len() {
                    return Ok(0);
                }
                self.fill()?;
            }
            if let Some(bytes) = self.ready.pop_front() {
                self.current = io::Cursor::new(bytes);
            }
        }
    }
}

/// Checks that every chunk found present is still in the shared store, asking the store
/// itself ([`ChunkStore::recheck`]): another origin's garbage collection may have looked at
/// it (unreferenced, old) just before it was offered again, and removed it after. A missing
/// chunk fails this attempt; the next one stores it.
pub(super) fn still_there<S: ChunkStore + ?Sized>(
    store: &S,
    present: &[Blake3Hash],
) -> Result<(), String> {
    let found = store
        .recheck(present)
        .map_err(|e| format!("looking for the chunks found present again: {e}"))?;
    if let Some((id, _)) = present.iter().zip(found).find(|(_, found)| !found) {
        return Err(format!(
            "chunk {id} left the shared store while the version was processed \
             (garbage collection on another origin); processing again"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use packyard_chunk_store::MemoryChunkStore;

    fn chunk(n: u8) -> (Blake3Hash, Vec<u8>) {
        let bytes = vec![n; 1000 + usize::from(n)];
        (Blake3Hash::of(&bytes), bytes)
    }

    #[test]
    fn writers_on_threads_store_every_chunk_and_report_those_already_present() {
        let store = Arc::new(MemoryChunkStore::new());
        let (old, old_bytes) = chunk(0);
        store.put(&old, &old_bytes).unwrap();
        let mut writers = Writers::new(store.clone(), 4);
        for n in 0..40 {
            let (id, bytes) = chunk(n);
            writers.put(id, &bytes).unwrap();
        }
        assert_eq!(writers.finish().unwrap(), vec![old]);
        for n in 0..40 {
            assert!(store.contains(&chunk(n).0).unwrap());
        }
    }

    /// A memory store that says it groups chunks, and records the groups it is given.
    #[derive(Default)]
    struct Grouping {
        inner: MemoryChunkStore,
        groups: Mutex<Vec<usize>>,
    }

    impl ChunkStore for Grouping {
        fn contains(&self, id: &Blake3Hash) -> packyard_chunk_store::Result<bool> {
            self.inner.contains(id)
        }
        fn get(&self, id: &Blake3Hash) -> packyard_chunk_store::Result<Option<bytes::Bytes>> {
            self.inner.get(id)
        }
        fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> packyard_chunk_store::Result<Put> {
            self.put_many(&[(*id, bytes)]).map(|p| p[0])
        }
        fn put_many(
            &self,
            chunks: &[(Blake3Hash, &[u8])],
        ) -> packyard_chunk_store::Result<Vec<Put>> {
            self.groups.lock().unwrap().push(chunks.len());
            chunks.iter().map(|(id, b)| self.inner.put(id, b)).collect()
        }
        fn remove(&self, id: &Blake3Hash) -> packyard_chunk_store::Result<bool> {
            self.inner.remove(id)
        }
        fn remove_if_written_before(
            &self,
            id: &Blake3Hash,
            cutoff: std::time::SystemTime,
        ) -> packyard_chunk_store::Result<bool> {
            self.inner.remove_if_written_before(id, cutoff)
        }
        fn meta(
            &self,
            id: &Blake3Hash,
        ) -> packyard_chunk_store::Result<Option<packyard_chunk_store::ChunkMeta>> {
            self.inner.meta(id)
        }
        fn ids(&self) -> packyard_chunk_store::Result<packyard_chunk_store::ChunkIds<'_>> {
            self.inner.ids()
        }
        fn stats(&self) -> packyard_chunk_store::Result<packyard_chunk_store::ChunkStats> {
            self.inner.stats()
        }
        fn batch_bytes(&self) -> usize {
            10_000
        }
    }

    #[test]
    fn writers_hand_a_grouping_store_groups_of_its_size_and_the_rest_at_the_end() {
        let store = Arc::new(Grouping::default());
        let mut writers = Writers::new(store.clone(), 4);
        // 45 chunks of 1,000 to 1,044 bytes: the tenth of each group reaches 10,000 bytes.
        for n in 0..45 {
            let (id, bytes) = chunk(n);
            writers.put(id, &bytes).unwrap();
        }
        assert!(writers.finish().unwrap().is_empty());
        let mut groups = store.groups.lock().unwrap().clone();
        groups.sort_unstable();
        assert_eq!(
            groups,
            vec![5, 10, 10, 10, 10],
            "whole groups, then what was left"
        );
        for n in 0..45 {
            assert!(store.contains(&chunk(n).0).unwrap());
        }
    }

    #[test]
    fn a_grouping_store_is_read_ahead_in_stretches_in_list_order_and_a_gap_is_named() {
        let store = Arc::new(Grouping::default());
        let mut listed = Vec::new();
        let mut expected = Vec::new();
        // 60 chunks of about 1 KB: three stretches of 20 KB.
        for n in (0..60u16).map(|n| u8::try_from(n * 7 % 61).unwrap()) {
            let (id, bytes) = chunk(n);
            store.put(&id, &bytes).unwrap();
            listed.push(Listed {
                id,
                length: u32::try_from(bytes.len()).unwrap(),
            });
            expected.extend_from_slice(&bytes);
        }
        let mut out = Vec::new();
        ChunksReader::new(store.clone(), listed.clone(), 8)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, expected);

        // A chunk in the last stretch nobody sent: the reader names it.
        let (gap, gap_bytes) = chunk(200);
        listed.insert(
            50,
            Listed {
                id: gap,
                length: u32::try_from(gap_bytes.len()).unwrap(),
            },
        );
        let mut reader = ChunksReader::new(store, listed, 8);
        let absent = reader.absent();
        let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains(&gap.to_hex()), "{err}");
        assert_eq!(*absent.lock().unwrap(), Some(gap));
    }

    #[test]
    fn chunks_held_already_are_present_without_a_put() {
        let store = Arc::new(MemoryChunkStore::new());
        let (id, bytes) = chunk(3);
        let mut writers = Writers::new(store.clone(), 4).holding(HashSet::from([id]));
        writers.put(id, &bytes).unwrap();
        assert_eq!(writers.finish().unwrap(), vec![id]);
        assert!(!store.contains(&id).unwrap(), "no put was made");
    }

    #[test]
    fn a_writer_failure_reaches_the_caller() {
        let store = Arc::new(MemoryChunkStore::new());
        let mut writers = Writers::new(store, 4);
        let (id, _) = chunk(1);
        writers.put(id, b"not the bytes of that id").unwrap_or(());
        let err = writers.finish().unwrap_err();
        assert!(matches!(err, ChunkStoreError::HashMismatch { .. }), "{err}");
    }

    #[test]
    fn chunks_read_back_in_list_order_across_windows() {
        let store = Arc::new(MemoryChunkStore::new());
        let mut listed = Vec::new();
        let mut expected = Vec::new();
        for n in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5] {
            let (id, bytes) = chunk(n);
            store.put(&id, &bytes).unwrap();
            listed.push(Listed {
                id,
                length: u32::try_from(bytes.len()).unwrap(),
            });
            expected.extend_from_slice(&bytes);
        }
        for window in [1, 3, 8] {
            let mut out = Vec::new();
            ChunksReader::new(store.clone(), listed.clone(), window)
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, expected, "window {window}");
        }
    }

    #[test]
    fn a_chunk_gone_from_the_store_is_named_by_the_reader_and_by_still_there() {
        let store = Arc::new(MemoryChunkStore::new());
        let (id, bytes) = chunk(7);
        let listed = vec![Listed {
            id,
            length: u32::try_from(bytes.len()).unwrap(),
        }];
        let mut reader = ChunksReader::new(store.clone(), listed, 8);
        let absent = reader.absent();
        let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains(&id.to_hex()), "{err}");
        assert_eq!(*absent.lock().unwrap(), Some(id));
        let err = still_there(&*store, &[id]).unwrap_err();
        assert!(err.contains("left the shared store"), "{err}");
    }
}
