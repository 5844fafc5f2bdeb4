//! [`copy_chunks`]: moving a store's chunks into another (an origin's disk into a bucket),
//! verified, resumable, while the source keeps serving.

use std::ops::ControlFlow;

use packyard_core::chunk_list::Blake3Hash;

use crate::ChunkStoreError;
use crate::store::{ChunkStore, Result};

/// What a copy did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Chunks written to the destination.
    pub copied: u64,
    /// Their bytes.
    pub copied_bytes: u64,
    /// Chunks the destination already held with the same length (an earlier run's).
    pub present: u64,
    /// Chunks read back from the destination and found whole (with `verify`).
    pub verified: u64,
    /// Chunks of the source whose bytes no longer hash to their id: not copied (the source
    /// removed them on reading; fetch them again from wherever they came from).
    pub corrupt: Vec<Blake3Hash>,
}

/// Copies every chunk of `from` that `to` lacks. Each is read from `from` verified against
/// its id and written to `to`, which checks it again; with `verify`, every chunk of `from`
/// is then read back from `to` and checked (a chunk found damaged there is written again). A
/// chunk `to` already holds with the same length is not written again, so a copy stopped
/// part-way (or by `progress` returning `Break`) goes on where it stopped when run again.
/// `progress` sees the report after each chunk.
pub fn copy_chunks<F, T>(
    from: &F,
    to: &T,
    verify: bool,
    mut progress: impl FnMut(&CopyReport) -> ControlFlow<()>,
) -> Result<CopyReport>
where
    F: ChunkStore + ?Sized,
    T: ChunkStore + ?Sized,
{
    let mut report = CopyReport::default();
    // Chunks read and not yet written: written together, as one of the destination's
    // groups when it groups them.
    let mut pending: Vec<(Blake3Hash, bytes::Bytes)> = Vec::new();
    let mut pending_bytes = 0;
    for id in from.ids()? {
        let id = id?;
        let Some(source) = from.meta(&id)? else {
            continue;
        };
        let held = to.meta(&id)?.is_some_and(|m| m.len == source.len);
        if held && !verify {
            report.present += 1;
        } else if held && read_back(to, &id)? {
            report.present += 1;
            report.verified += 1;
        } else {
            match from.get(&id) {
                Ok(Some(bytes)) => {
                    pending_bytes += bytes.len();
                    pending.push((id, bytes));
                    if pending_bytes < to.batch_bytes() {
                        continue;
                    }
                    write(to, &mut pending, verify, &mut report)?;
                    pending_bytes = 0;
                }
                Ok(None) => {}
                Err(ChunkStoreError::Corrupt { id }) => report.corrupt.push(id),
                Err(e) => return Err(e),
            }
        }
        if progress(&report).is_break() {
            return Ok(report);
        }
    }
    if !pending.is_empty() {
        write(to, &mut pending, verify, &mut report)?;
        let _ = progress(&report);
    }
    Ok(report)
}

/// Writes the `pending` chunks to `to` at once, and with `verify` reads each back.
fn write<T: ChunkStore + ?Sized>(
    to: &T,
    pending: &mut Vec<(Blake3Hash, bytes::Bytes)>,
    verify: bool,
    report: &mut CopyReport,
) -> Result<()> {
    let chunks: Vec<(Blake3Hash, &[u8])> = pending.iter().map(|(id, b)| (*id, &b[..])).collect();
    to.put_many(&chunks)?;
    for (id, bytes) in pending.drain(..) {
        report.copied += 1;
        report.copied_bytes += bytes.len() as u64;
        if verify {
            if !read_back(to, &id)? {
                return Err(ChunkStoreError::Corrupt { id });
            }
            report.verified += 1;
        }
    }
    Ok(())
}

/// Whether `to` holds `id` whole; a damaged copy is removed (the store's verified read) and
/// reported as not held.
fn read_back<T: ChunkStore + ?Sized>(to: &T, id: &Blake3Hash) -> Result<bool> {
    match to.get(id) {
        Ok(found) => Ok(found.is_some()),
        Err(ChunkStoreError::Corrupt { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
