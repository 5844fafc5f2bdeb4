//! [`ingest`]: one streaming pass over an archive that chunks it, names every chunk, hands
//! each to a sink and hashes the whole archive; [`Ingested`] is what it learns.

use std::cell::Cell;
use std::io::{self, Read};

use fastcdc::v2020::{Error as CdcError, StreamCDC};
use packyard_core::{Blake3Hash, ChunkList, ChunkRef};
use sha2::{Digest, Sha256};

use super::error::IngestError;
use super::params::ChunkingParams;

/// An ingested archive: its chunk list (with the BLAKE3 of the whole archive) and the
/// SHA-256 an uploader's checksum is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The ordered chunks and the archive's BLAKE3.
    pub chunk_list: ChunkList,
    /// The SHA-256 of the whole archive.
    pub sha256: [u8; 32],
    /// The archive's size in bytes.
    pub size: u64,
}

/// Reads `reader` to its end once, cutting it into content-defined chunks with `params`.
///
/// For each chunk, in archive order, `sink` gets the chunk's BLAKE3 id and its bytes (the
/// origin passes the chunk store's `put`; the sink sees a chunk once per occurrence, so a
/// chunk repeated in the archive arrives again). In the same pass the whole archive's
/// BLAKE3, SHA-256 and size are computed. Memory stays bounded by `params.max()` (the
/// chunker's buffer plus the chunk being handed over), whatever the archive's size.
///
/// The first failure ends the pass: a read error (with how far reading got) or the sink's
/// error (with the chunk it refused). Chunks handed over before a failure stay wherever the
/// sink put them.
pub fn ingest<R, E, S>(
    reader: R,
    params: &ChunkingParams,
    sink: &mut S,
) -> Result<Ingested, IngestError<E>>
where
    R: Read,
    S: FnMut(Blake3Hash, &[u8]) -> Result<(), E> + ?Sized,
{
    let bytes_read = Cell::new(0u64);
    let counted = Counted {
        inner: reader,
        read: &bytes_read,
    };
    let chunker = StreamCDC::new(
        counted,
        widen(params.min()),
        widen(params.avg()),
        widen(params.max()),
    );
    // The whole archive's BLAKE3 and SHA-256 are independent of the cutting, so a second
    // thread computes them from each chunk's buffer (moved, not copied) while this one cuts,
    // names and stores the next chunks. The bounded channel keeps memory to a few chunks.
    let (to_hasher, chunks_to_hash) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
    let (cut, (whole_blake3, whole_sha256)) = std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut blake3 = blake3::Hasher::new();
            let mut sha256 = Sha256::new();
            for data in chunks_to_hash {
                blake3.update(&data);
                sha256.update(&data);
            }
            (blake3, sha256)
        });
        let cut = cut_and_name(chunker, &bytes_read, sink, &to_hasher);
        // Closing the channel ends the hasher's loop, also after an error.
        drop(to_hasher);
        let hashes = hasher
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (cut, hashes)
    });
    let (chunks, size) = cut?;
    let archive_hash = Blake3Hash::from_bytes(*whole_blake3.finalize().as_bytes());
    let chunk_list = ChunkList::new(archive_hash, chunks).map_err(IngestError::ChunkList)?;
    Ok(Ingested {
        chunk_list,
        sha256: whole_sha256.finalize().into(),
        size,
    })
}

/// A reader that counts the bytes it has returned, so a read error can say where it struck.
/// Chunks queued for the whole-archive hasher before the cutter waits for it.
const HASH_QUEUE: usize = 8;

/// Cuts the archive, names each chunk, hands it to the sink, then passes its buffer on to the
/// whole-archive hasher. Returns the chunk list's entries and the archive's size.
fn cut_and_name<R, E, S>(
    chunker: StreamCDC<Counted<'_, R>>,
    bytes_read: &Cell<u64>,
    sink: &mut S,
    to_hasher: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<(Vec<ChunkRef>, u64), IngestError<E>>
where
    R: Read,
    S: FnMut(Blake3Hash, &[u8]) -> Result<(), E> + ?Sized,
{
    let mut chunks = Vec::new();
    let mut size = 0u64;
    for chunk in chunker {
        let chunk = chunk.map_err(|e| IngestError::Read {
            offset: bytes_read.get(),
            source: read_error(e),
        })?;
        let data = chunk.data;
        let id = Blake3Hash::of(&data);
        sink(id, &data).map_err(|source| IngestError::Sink {
            index: chunks.len(),
            id,
            offset: chunk.offset,
            len: data.len(),
            source,
        })?;
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        chunks.push(ChunkRef { id, len });
        size += u64::from(len);
        // The hasher only stops early if it panicked, which `join` reports.
        if to_hasher.send(data).is_err() {
            break;
        }
    }
    Ok((chunks, size))
}

struct Counted<'a, R> {
    inner: R,
    read: &'a Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn read_error(e: CdcError) -> io::Error {
    // `Other` is the chunker's own bookkeeping failing; report it as what stopped reading.
    e.into()
}

/// u32 → usize is lossless on every target Packyard builds for (32 and 64 bits).
fn widen(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// A file cut as the origin cuts archives, without storing anything: its chunks (id and
/// length, in order) and its SHA-256. What a client computes before sending a file as
/// chunks (`uploadChunksUrl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The chunks, in file order.
    pub chunks: Vec<(Blake3Hash, u32)>,
    /// The SHA-256 of the whole file.
    pub sha256: [u8; 32],
}

/// Cuts the file at `path` with the default parameters (see [`Cut`]).
pub fn cut_file(path: &std::path::Path) -> std::io::Result<Cut> {
    let file = std::fs::File::open(path)?;
    let mut sink = |_: Blake3Hash, _: &[u8]| Ok::<(), std::io::Error>(());
    let ingested = ingest(
        std::io::BufReader::new(file),
        &ChunkingParams::default(),
        &mut sink,
    )
    .map_err(std::io::Error::other)?;
    Ok(Cut {
        chunks: ingested
            .chunk_list
            .chunks()
            .iter()
            .map(|c| (c.id, c.len))
            .collect(),
        sha256: ingested.sha256,
    })
}
