//! What a download needs besides the network: which chunks of the new version are lacking,
//! the pieces the held version offers for them, and the byte ranges left to fetch, merged
//! and cut into requests.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt as _;

use packyard_core::pieces::{self, PieceName};
use packyard_core::{Blake3Hash, ChunkList};

/// A chunk of the new version that is neither in place nor held.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lacking {
    pub(crate) index: u32,
    pub(crate) id: Blake3Hash,
    pub(crate) at: u64,
    pub(crate) len: u32,
}

impl Lacking {
    pub(crate) fn range(&self) -> Range<u64> {
        self.at..self.at + u64::from(self.len)
    }
}

/// Byte ranges to fetch, in archive order: neighbours share a range, and so do ranges a
/// few bytes apart (a gap smaller than a multipart part's header costs less fetched than
/// framed), up to a size whose loss a cut costs little.
#[derive(Debug, Default)]
pub(crate) struct Wanted(pub(crate) Vec<Range<u64>>);

impl Wanted {
    pub(crate) fn add(&mut self, r: Range<u64>) {
        match self.0.last_mut() {
            Some(last)
                if r.start <= last.end + MERGE_GAP && last.end - last.start < MAX_RANGE_BYTES =>
            {
                last.end = last.end.max(r.end);
            }
            _ => self.0.push(r),
        }
    }
}

/// The pieces of the held version's chunks that were not reused whole (the chunks the new
/// version changed, or a corrupt copy's), by name and length, with their offset in `pack`.
/// Their bytes are not trusted: whatever is copied is checked by name, and its chunk by id.
pub(crate) fn piece_index(
    pack: &File,
    held: &ChunkList,
    reused: &HashSet<Blake3Hash>,
) -> HashMap<(PieceName, u16), u64> {
    let mut have = HashMap::new();
    for (id, at, len) in layout(held) {
        if reused.contains(&id) {
            continue;
        }
        let mut buf = vec![0u8; len];
        if pack.read_exact_at(&mut buf, at).is_err() {
            continue;
        }
        let mut offset = at;
        for p in pieces::split(&buf) {
            have.entry((p.name, p.len)).or_insert(offset);
            offset += u64::from(p.len);
        }
    }
    have
}

/// A range grows over neighbouring missing bytes until it holds this much.
const MAX_RANGE_BYTES: u64 = 1 << 20;
/// Ranges this close share one request range: about what a multipart part's header costs.
const MERGE_GAP: u64 = 128;
/// A request asks for this much at most: what is received is written when the answer has
/// arrived, so a cut connection loses at most one request's bytes.
const MAX_REQUEST_BYTES: u64 = 4 << 20;

/// `ranges` in requests of at most `max_ranges` ranges and [`MAX_REQUEST_BYTES`] each.
pub(crate) fn batches(ranges: Vec<Range<u64>>, max_ranges: usize) -> Vec<Vec<Range<u64>>> {
    let mut out: Vec<Vec<Range<u64>>> = Vec::new();
    let mut bytes = 0;
    for r in ranges {
        let len = r.end - r.start;
        match out.last_mut() {
            Some(batch) if batch.len() < max_ranges && bytes + len <= MAX_REQUEST_BYTES => {
                bytes += len;
                batch.push(r);
            }
            _ => {
                bytes = len;
                out.push(vec![r]);
            }
        }
    }
    out
}

/// Each chunk with its offset in the archive.
pub(crate) fn offsets(list: &ChunkList) -> impl Iterator<Item = (Blake3Hash, u64)> + '_ {
    layout(list).map(|(id, at, _)| (id, at))
}

/// Each chunk: its id, offset and length.
pub(crate) fn layout(list: &ChunkList) -> impl Iterator<Item = (Blake3Hash, u64, usize)> + '_ {
    list.chunks().iter().scan(0u64, |at, c| {
        let here = *at;
        *at += u64::from(c.len);
        Some((c.id, here, c.len as usize))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_hold_at_most_so_many_ranges_and_bytes() {
        let mb = 1 << 20;
        let ranges: Vec<Range<u64>> = (0..10).map(|i| i * 2 * mb..i * 2 * mb + mb).collect();
        let b = batches(ranges.clone(), 3);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
        let b = batches(ranges, 16);
        assert!(
            b.iter()
                .all(|r| r.iter().map(|r| r.end - r.start).sum::<u64>() <= MAX_REQUEST_BYTES)
        );
        assert_eq!(b.len(), 3, "4 MiB a request");
    }

    #[test]
    fn ranges_a_few_bytes_apart_share_a_request_range_up_to_its_cap() {
        let mut w = Wanted::default();
        w.add(0..100);
        w.add(100..200);
        w.add(200 + MERGE_GAP..400);
        w.add(400 + MERGE_GAP + 1..800);
        assert_eq!(w.0, [0..400, 400 + MERGE_GAP + 1..800]);
        let mut big = Wanted::default();
        big.add(0..MAX_RANGE_BYTES);
        big.add(MAX_RANGE_BYTES..MAX_RANGE_BYTES + 1);
        assert_eq!(big.0.len(), 2, "a range stops growing at its cap");
    }
}
