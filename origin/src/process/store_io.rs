//! How processing talks to the chunk store when the store is a bucket: several requests in
//! flight at once, because each one costs a round trip (and the store's own replication)
//! rather than a disk seek. On the embedded disk store everything stays on one thread.
//!
//! - [`Writers`]: the chunks ingest cuts, put by a few threads while ingest goes on cutting
//!   (and not put at all when they were just read from the store).
//! - [`ChunksReader`]: an archive sent as chunks, read back in order, a window of chunks
//!   fetched at once.
//! - [`still_there`]: the chunks found present, looked for again, several at once.

use std::collections::{HashSet, VecDeque};
use std::io::{self, Read};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use packyard_chunk_store::{ChunkStore, ChunkStoreError, Put};
use packyard_core::Blake3Hash;

use crate::upload::chunks::Listed;
use crate::windows::in_windows;

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

/// Puts chunks into the store from `IN_FLIGHT` threads, or inline when `threads` is 1.
pub(super) struct Writers<S: ChunkStore + ?Sized + 'static> {
    store: Arc<S>,
    /// Chunks known to be in the store already (just read from it): not put again.
    held: HashSet<Blake3Hash>,
    queue: Option<SyncSender<(Blake3Hash, Vec<u8>)>>,
    threads: Vec<JoinHandle<()>>,
    outcome: Arc<Mutex<Outcome>>,
}

fn lock(outcome: &Mutex<Outcome>) -> std::sync::MutexGuard<'_, Outcome> {
    outcome
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S: ChunkStore + ?Sized + 'static> Writers<S> {
    /// Writers over `store`; `threads` of them (1: every put on the caller's thread).
    pub(super) fn new(store: Arc<S>, threads: usize) -> Self {
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        if threads <= 1 {
            return Self {
                store,
                held: HashSet::new(),
                queue: None,
                threads: Vec::new(),
                outcome,
            };
        }
        let (queue, jobs) = sync_channel::<(Blake3Hash, Vec<u8>)>(threads * 2);
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = (0..threads)
            .map(|_| {
                let (store, jobs, outcome) = (store.clone(), jobs.clone(), outcome.clone());
                std::thread::spawn(move || {
                    loop {
                        let job = jobs
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok((id, bytes)) = job else { return };
                        if lock(&outcome).failed {
                            continue;
                        }
                        let put = store.put(&id, &bytes);
                        let mut outcome = lock(&outcome);
                        match put {
                            Ok(Put::AlreadyPresent) => outcome.present.push(id),
                            Ok(Put::Stored) => {}
                            Err(e) => {
                                outcome.failed = true;
                                outcome.error.get_or_insert(e);
                            }
                        }
                    }
                })
            })
            .collect();
        Self {
            store,
            held: HashSet::new(),
            queue: Some(queue),
            threads,
            outcome,
        }
    }

    /// The same writers, told that `held` are in the store already (an archive sent as
    /// chunks was just read from it): those count as present without a request.
    pub(super) fn holding(mut self, held: HashSet<Blake3Hash>) -> Self {
        self.held = held;
        self
    }

    /// Puts `bytes` as `id`, now or on a writer thread; an error is the first a writer met.
    pub(super) fn put(&mut self, id: Blake3Hash, bytes: &[u8]) -> Result<(), ChunkStoreError> {
        if self.held.contains(&id) {
            lock(&self.outcome).present.push(id);
            return Ok(());
        }
        let Some(queue) = &self.queue else {
            if self.store.put(&id, bytes)? == Put::AlreadyPresent {
                lock(&self.outcome).present.push(id);
            }
            return Ok(());
        };
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if queue.send((id, bytes.to_vec())).is_err() {
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
    chunks: Vec<Listed>,
    next: usize,
    window: usize,
    ready: VecDeque<bytes::Bytes>,
    current: io::Cursor<bytes::Bytes>,
}

impl<S: ChunkStore + ?Sized> ChunksReader<S> {
    /// A reader of `chunks` from `store`, `window` requests in flight.
    pub(super) fn new(store: Arc<S>, chunks: Vec<Listed>, window: usize) -> Self {
        Self {
            store,
            absent: Arc::default(),
            chunks,
            next: 0,
            window: window.max(1),
            ready: VecDeque::new(),
            current: io::Cursor::new(bytes::Bytes::new()),
        }
    }

    /// Where the reader tells the first listed chunk the store lacks (then reading fails):
    /// a chunk nobody sent, which no retry will bring.
    pub(super) fn absent(&self) -> Arc<Mutex<Option<Blake3Hash>>> {
        self.absent.clone()
    }

    /// Fetches the next chunks into `ready`: eight per request in flight, so that a slow
    /// answer costs one thread a wait, not every thread.
    fn fill(&mut self) -> io::Result<()> {
        let ahead = if self.window > 1 { 8 * self.window } else { 1 };
        let end = (self.next + ahead).min(self.chunks.len());
        let batch = &self.chunks[self.next..end];
        let store = &*self.store;
        let fetched = in_windows(batch, self.window, |c| fetch(store, c));
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
    let Some(bytes) = store.get(&c.id).map_err(io::Error::other)? else {
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

/// Checks that every chunk found present is still in the shared store, `window` lookups at
/// once: another origin's garbage collection may have looked at it (unreferenced, old) just
/// before it was offered again, and removed it after. A missing chunk fails this attempt;
/// the next one stores it.
pub(super) fn still_there<S: ChunkStore + ?Sized>(
    store: &S,
    present: &[Blake3Hash],
    window: usize,
) -> Result<(), String> {
    let found = in_windows(present, window, |id| store.contains(id));
    for (id, found) in present.iter().zip(found) {
        match found {
            Ok(true) => {}
            Ok(false) => {
                return Err(format!(
                    "chunk {id} left the shared store while the version was processed \
                     (garbage collection on another origin); processing again"
                ));
            }
            Err(e) => return Err(format!("looking for chunk {id} again: {e}")),
        }
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
        let err = still_there(&*store, &[id], 8).unwrap_err();
        assert!(err.contains("left the shared store"), "{err}");
    }
}
