//! The segment object: chunks written together, grouped into one object with the index that
//! finds them in it. Pure encoding and decoding; the bucket calls are in the parent module.
//!
//! ```text
//! [chunk 0 bytes][chunk 1 bytes]…[id 0 (32 bytes)][len 0 (u32 LE)]…[count (u32 LE)]["PYS1"]
//! ```
//!
//! A segment is written once, whole, by one PUT, and never changed: a chunk is in the store
//! exactly when a segment that lists it is there. Its index sits at the end, so a reader
//! fetches the last bytes of the object (one ranged request) to learn what it holds. Its name,
//! `{unix millis:013}-{16 hex}`, says when it was written, and sorts by that.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use packyard_core::chunk_list::{Blake3Hash, MAX_CHUNK_LEN};

const MAGIC: &[u8; 4] = b"PYS1";
const ENTRY_LEN: usize = 32 + 4;
/// The fixed trailer: the entry count and the magic.
pub(super) const TRAILER_LEN: usize = 8;

/// One chunk of a segment: where its bytes are in the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) id: Blake3Hash,
    pub(super) offset: u64,
    pub(super) len: u32,
}

/// The bytes of a segment holding `chunks`, in order, and its entries.
pub(super) fn encode(chunks: &[(Blake3Hash, &[u8])]) -> (Vec<u8>, Vec<Entry>) {
    let data: usize = chunks.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(data + chunks.len() * ENTRY_LEN + TRAILER_LEN);
    let mut entries = Vec::with_capacity(chunks.len());
    for (id, bytes) in chunks {
        entries.push(Entry {
            id: *id,
            offset: out.len() as u64,
            len: u32::try_from(bytes.len()).expect("a chunk checked by check_put fits in u32"),
        });
        out.extend_from_slice(bytes);
    }
    for e in &entries {
        out.extend_from_slice(e.id.as_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
    }
    let count = u32::try_from(entries.len()).expect("a segment holds fewer than 2^32 chunks");
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(MAGIC);
    (out, entries)
}

/// What the end of a segment object says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Tail {
    /// The index, read whole.
    Entries(Vec<Entry>),
    /// The index is longer than the bytes read: read this many from the end.
    NeedLast(u64),
}

/// Decodes the index from `tail`, the last bytes of a segment object of `object_len` bytes.
/// An error says why the object is not a segment.
pub(super) fn decode_tail(tail: &[u8], object_len: u64) -> Result<Tail, String> {
    let Some(trailer) = tail.len().checked_sub(TRAILER_LEN).map(|at| &tail[at..]) else {
        return Err(format!("{object_len} bytes is too short for a segment"));
    };
    if &trailer[4..] != MAGIC {
        return Err("it does not end in a segment's trailer".into());
    }
    let count = u64::from(u32::from_le_bytes(
        trailer[..4].try_into().expect("4 bytes"),
    ));
    let index_len = count * ENTRY_LEN as u64 + TRAILER_LEN as u64;
    if index_len > object_len {
        return Err(format!(
            "its trailer counts {count} chunks, more than {object_len} bytes can hold"
        ));
    }
    if index_len > tail.len() as u64 {
        return Ok(Tail::NeedLast(index_len));
    }
    let index = &tail[tail.len() - usize::try_from(index_len).expect("fits: read into memory")..];
    let mut entries = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut offset = 0u64;
    for raw in index[..index.len() - TRAILER_LEN].chunks_exact(ENTRY_LEN) {
        let id = Blake3Hash::from_bytes(raw[..32].try_into().expect("32 bytes"));
        let len = u32::from_le_bytes(raw[32..].try_into().expect("4 bytes"));
        if len == 0 || len > MAX_CHUNK_LEN {
            return Err(format!("its index gives chunk {id} {len} bytes"));
        }
        entries.push(Entry { id, offset, len });
        offset += u64::from(len);
    }
    if offset + index_len != object_len {
        return Err(format!(
            "its index accounts for {} of its {object_len} bytes",
            offset + index_len
        ));
    }
    Ok(Tail::Entries(entries))
}

/// A segment's name: when it was written, and a random part so that two writers never pick
/// the same one.
pub(super) fn name(at: SystemTime) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut seed = Vec::with_capacity(32);
    seed.extend_from_slice(&since.as_nanos().to_le_bytes());
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    seed.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let hash = Blake3Hash::of(&seed);
    let random = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
    format!("{:013}-{random:016x}", since.as_millis())
}

/// When the segment `name` was written; `None` if the name is not a segment's.
pub(super) fn written(name: &str) -> Option<SystemTime> {
    let (millis, random) = name.split_once('-')?;
    if millis.len() != 13 || random.len() != 16 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let millis: u64 = millis.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(millis))
}

/// The name a listing of segments written after `at` may start after.
pub(super) fn listed_after(at: SystemTime) -> String {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("{millis:013}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seed: u8, len: usize) -> (Blake3Hash, Vec<u8>) {
        let bytes: Vec<u8> = (0..len)
            .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap_or(0)))
            .collect();
        (Blake3Hash::of(&bytes), bytes)
    }

    #[test]
    fn a_segment_decodes_to_the_entries_it_was_encoded_with() {
        let chunks = [chunk(1, 10), chunk(2, 3000), chunk(3, 1)];
        let refs: Vec<(Blake3Hash, &[u8])> = chunks.iter().map(|(i, b)| (*i, &b[..])).collect();
        let (bytes, entries) = encode(&refs);
        assert_eq!(entries[1].offset, 10);
        assert_eq!(entries[2].offset, 3010);
        for e in &entries {
            let at = usize::try_from(e.offset).unwrap();
            let got = &bytes[at..at + e.len as usize];
            assert_eq!(Blake3Hash::of(got), e.id);
        }
        let len = bytes.len() as u64;
        assert_eq!(decode_tail(&bytes, len), Ok(Tail::Entries(entries.clone())));
        // Only the last bytes, as a reader fetches them.
        let tail = &bytes[bytes.len() - 120..];
        assert_eq!(decode_tail(tail, len), Ok(Tail::Entries(entries)));
    }

    #[test]
    fn a_tail_shorter_than_the_index_asks_for_the_whole_index() {
        let chunks: Vec<_> = (0..10).map(|s| chunk(s, 5)).collect();
        let refs: Vec<(Blake3Hash, &[u8])> = chunks.iter().map(|(i, b)| (*i, &b[..])).collect();
        let (bytes, _) = encode(&refs);
        let tail = &bytes[bytes.len() - 20..];
        assert_eq!(
            decode_tail(tail, bytes.len() as u64),
            Ok(Tail::NeedLast(10 * 36 + 8))
        );
    }

    #[test]
    fn an_object_that_is_not_a_segment_is_refused_with_the_reason() {
        let err = decode_tail(b"not a segment at all", 20).unwrap_err();
        assert!(err.contains("trailer"), "{err}");
        let err = decode_tail(b"PYS1", 4).unwrap_err();
        assert!(err.contains("too short"), "{err}");
        // A trailer that claims more chunks than the object holds.
        let mut lying = vec![0u8; 40];
        lying.extend_from_slice(&1000u32.to_le_bytes());
        lying.extend_from_slice(MAGIC);
        let err = decode_tail(&lying, 48).unwrap_err();
        assert!(err.contains("1000 chunks"), "{err}");
        // An index whose lengths do not add up to the object.
        let (id, bytes) = chunk(1, 10);
        let (mut seg, _) = encode(&[(id, &bytes[..])]);
        seg.insert(0, 0);
        let err = decode_tail(&seg, seg.len() as u64).unwrap_err();
        assert!(err.contains("accounts for"), "{err}");
    }

    #[test]
    fn names_sort_by_write_time_and_give_it_back() {
        let t = UNIX_EPOCH + Duration::from_millis(1_765_000_000_123);
        let a = name(t);
        let b = name(t + Duration::from_millis(1));
        assert!(a < b);
        assert_ne!(
            name(t),
            name(t),
            "two writers at one instant pick different names"
        );
        assert_eq!(written(&a), Some(t));
        assert!(listed_after(t) < a && listed_after(t + Duration::from_millis(1)) > a);
        assert_eq!(written("chunks"), None);
        assert_eq!(written("0000000000001-xyz"), None);
    }
}
