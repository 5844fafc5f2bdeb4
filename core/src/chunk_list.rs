//! [`ChunkList`]: what a pack version is made of, and [`Blake3Hash`], what names its parts.
//!
//! The origin splits an archive with content-defined chunking and names each chunk by the
//! BLAKE3 hash of its bytes. A version is the ordered list of those chunks plus the hash of
//! the whole archive. Edges assemble byte ranges from it; clients and edges that already hold
//! some chunks fetch only the others.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The largest chunk accepted, in bytes. Content-defined chunking caps chunks well below this
/// (SPEC: average 64 KiB to 1 MiB); the cap keeps one chunk's buffer bounded on every node.
pub const MAX_CHUNK_LEN: u32 = 16 << 20;

/// A BLAKE3 digest, written as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Blake3Hash([u8; 32]);

/// Why a string is not a [`Blake3Hash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a BLAKE3 hash: expected 64 hex digits")]
pub struct HashParseError(pub String);

impl Blake3Hash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps a digest computed elsewhere (for example by a streaming hasher).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits (either case).
    pub fn parse_hex(s: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError(s.to_owned()))?;
        Ok(Self(out))
    }

    /// The 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Blake3Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Blake3Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blake3Hash({}…)", &self.to_hex()[..12])
    }
}

impl Serialize for Blake3Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Blake3Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// One chunk of an archive: its name and its length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The BLAKE3 hash of the chunk's bytes.
    pub id: Blake3Hash,
    /// The chunk's length in bytes, 1 to [`MAX_CHUNK_LEN`].
    #[serde(rename = "length")]
    pub len: u32,
}

/// Why a list of chunks cannot describe an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkListError {
    /// A chunk has no bytes.
    #[error("chunk {index} is empty; every chunk holds at least one byte")]
    EmptyChunk {
        /// Position in the list.
        index: usize,
    },
    /// A chunk is larger than [`MAX_CHUNK_LEN`].
    #[error("chunk {index} is {len} bytes; at most {MAX_CHUNK_LEN} are allowed")]
    ChunkTooLarge {
        /// Position in the list.
        index: usize,
        /// Its length.
        len: u32,
    },
    /// The list's lengths do not add up to the size it claims.
    #[error("the chunks add up to {actual} bytes but the archive size is {claimed}")]
    SizeMismatch {
        /// The size written in the document.
        claimed: u64,
        /// The sum of the chunk lengths.
        actual: u64,
    },
}

/// The ordered chunks of one archive and the hash of the whole archive.
///
/// Serialized as `{"archiveHash", "size", "chunks": [{"id", "length"}]}`, the document that
/// `…/chunks` serves to delta-aware clients; deserializing checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChunkListDoc", into = "ChunkListDoc")]
pub struct ChunkList {
    archive_hash: Blake3Hash,
    chunks: Vec<ChunkRef>,
    /// `ends[i]` is the archive offset one past chunk `i`.
    ends: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChunkListDoc {
    archive_hash: Blake3Hash,
    size: u64,
    chunks: Vec<ChunkRef>,
}

impl ChunkList {
    /// Builds the list, checking every chunk's length.
    pub fn new(archive_hash: Blake3Hash, chunks: Vec<ChunkRef>) -> Result<Self, ChunkListError> {
        let mut ends = Vec::with_capacity(chunks.len());
        let mut end = 0u64;
        for (index, c) in chunks.iter().enumerate() {
            if c.len == 0 {
                return Err(ChunkListError::EmptyChunk { index });
            }
            if c.len > MAX_CHUNK_LEN {
                return Err(ChunkListError::ChunkTooLarge { index, len: c.len });
            }
            end += u64::from(c.len);
            ends.push(end);
        }
        Ok(Self {
            archive_hash,
            chunks,
            ends,
        })
    }

    /// The BLAKE3 hash of the whole archive.
    pub fn archive_hash(&self) -> Blake3Hash {
        self.archive_hash
    }

    /// The strong HTTP entity tag of the archive (rule R12): derived from the archive hash
    /// alone, so the same version always has the same tag on every edge, and different bytes
    /// never share one.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.archive_hash.to_hex())
    }

    /// The chunks, in archive order.
    pub fn chunks(&self) -> &[ChunkRef] {
        &self.chunks
    }

    /// The archive's size in bytes.
    pub fn size(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The chunks that hold the bytes of `range` (clamped to the archive), each with the part
    /// of that chunk to send: `(chunk, start..end within the chunk)`. Assembling those parts in
    /// order gives exactly the bytes of the range.
    pub fn covering(&self, range: Range<u64>) -> impl Iterator<Item = (ChunkRef, Range<u32>)> + '_ {
        let end = range.end.min(self.size());
        let start = range.start.min(end);
        // The first chunk whose end lies beyond `start`; none at all for an empty range.
        let first = if start < end {
            self.ends.partition_point(|&e| e <= start)
        } else {
            self.chunks.len()
        };
        self.chunks[first..]
            .iter()
            .zip(&self.ends[first..])
            .map_while(move |(c, &chunk_end)| {
                let chunk_start = chunk_end - u64::from(c.len);
                if chunk_start >= end {
                    return None;
                }
                let from = start.max(chunk_start) - chunk_start;
                let to = end.min(chunk_end) - chunk_start;
                // Both are at most `c.len`, a u32.
                Some((*c, narrow(from)..narrow(to)))
            })
    }

    /// Bytes of this list's chunks that `previous` does not have: what a node holding
    /// `previous` must fetch to hold this version too (each distinct chunk counted once).
    pub fn delta_bytes(&self, previous: &ChunkList) -> u64 {
        let have: HashSet<Blake3Hash> = previous.chunks.iter().map(|c| c.id).collect();
        let mut fetched = HashSet::new();
        self.chunks
            .iter()
            .filter(|c| !have.contains(&c.id) && fetched.insert(c.id))
            .map(|c| u64::from(c.len))
            .sum()
    }
}

/// The media type of a chunk list's compact form ([`ChunkList::to_compact`]), which a
/// device asks for with `Accept`: 36 bytes a chunk instead of the JSON's 90 or so.
pub const COMPACT_MEDIA_TYPE: &str = "application/vnd.packyard.chunks";

const COMPACT_MAGIC: &[u8; 4] = b"PYC1";
const COMPACT_HEAD: usize = 4 + 32 + 8 + 4;
const COMPACT_ENTRY: usize = 32 + 4;

/// Why bytes are not a chunk list's compact form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// It does not open with `PYC1`.
    #[error("not a compact chunk list (it does not open with PYC1)")]
    NotCompact,
    /// Not as many bytes as its chunk count needs.
    #[error("the compact chunk list is {got} bytes; {count} chunks need {wanted}")]
    WrongLength {
        /// Its length.
        got: usize,
        /// The chunk count it claims.
        count: u32,
        /// The length that count needs.
        wanted: usize,
    },
    /// What it describes is not a chunk list.
    #[error(transparent)]
    List(#[from] ChunkListError),
}

impl ChunkList {
    /// The compact form: little-endian `PYC1`, the archive hash, the size (`u64`), the chunk
    /// count (`u32`), then each chunk's id and length (`u32`).
    pub fn to_compact(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(COMPACT_HEAD + self.chunks.len() * COMPACT_ENTRY);
        out.extend_from_slice(COMPACT_MAGIC);
        out.extend_from_slice(self.archive_hash.as_bytes());
        out.extend_from_slice(&self.size().to_le_bytes());
        out.extend_from_slice(
            &u32::try_from(self.chunks.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for c in &self.chunks {
            out.extend_from_slice(c.id.as_bytes());
            out.extend_from_slice(&c.len.to_le_bytes());
        }
        out
    }

    /// Reads the compact form, checking it as the JSON document is checked.
    pub fn from_compact(bytes: &[u8]) -> Result<Self, CompactError> {
        if bytes.len() < COMPACT_HEAD || &bytes[..4] != COMPACT_MAGIC {
            return Err(CompactError::NotCompact);
        }
        let archive_hash = Blake3Hash(word_at(&bytes[4..]));
        let mut size = [0u8; 8];
        size.copy_from_slice(&bytes[36..44]);
        let claimed = u64::from_le_bytes(size);
        let count = u32::from_le_bytes([bytes[44], bytes[45], bytes[46], bytes[47]]);
        let wanted = (count as usize)
            .checked_mul(COMPACT_ENTRY)
            .and_then(|n| n.checked_add(COMPACT_HEAD));
        if wanted != Some(bytes.len()) {
            return Err(CompactError::WrongLength {
                got: bytes.len(),
                count,
                wanted: wanted.unwrap_or(usize::MAX),
            });
        }
        let chunks = bytes[COMPACT_HEAD..]
            .chunks_exact(COMPACT_ENTRY)
            .map(|e| ChunkRef {
                id: Blake3Hash(word_at(e)),
                len: u32::from_le_bytes([e[32], e[33], e[34], e[35]]),
            })
            .collect();
        let list = ChunkList::new(archive_hash, chunks)?;
        if list.size() != claimed {
            return Err(ChunkListError::SizeMismatch {
                claimed,
                actual: list.size(),
            }
            .into());
        }
        Ok(list)
    }
}

/// The 32 bytes `bytes` opens with (the caller checked there are as many).
fn word_at(bytes: &[u8]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w.copy_from_slice(&bytes[..32]);
    w
}

fn narrow(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl TryFrom<ChunkListDoc> for ChunkList {
    type Error = ChunkListError;
    fn try_from(doc: ChunkListDoc) -> Result<Self, Self::Error> {
        let list = ChunkList::new(doc.archive_hash, doc.chunks)?;
        if list.size() != doc.size {
            return Err(ChunkListError::SizeMismatch {
                claimed: doc.size,
                actual: list.size(),
            });
        }
        Ok(list)
    }
}

impl From<ChunkList> for ChunkListDoc {
    fn from(list: ChunkList) -> Self {
        ChunkListDoc {
            archive_hash: list.archive_hash,
            size: list.size(),
            chunks: list.chunks,
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test archives are a few hundred bytes"
)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Splits `data` at `cuts` into a chunk list.
    fn list_of(data: &[u8], cuts: &[usize]) -> ChunkList {
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        bounds.extend([0, data.len()]);
        bounds.sort_unstable();
        bounds.dedup();
        let chunks = bounds
            .windows(2)
            .map(|w| ChunkRef {
                id: Blake3Hash::of(&data[w[0]..w[1]]),
                len: u32::try_from(w[1] - w[0]).unwrap(),
            })
            .collect();
        ChunkList::new(Blake3Hash::of(data), chunks).unwrap()
    }

    #[test]
    fn hash_hex_round_trips_and_rejects_junk() {
        let h = Blake3Hash::of(b"abc");
        assert_eq!(Blake3Hash::parse_hex(&h.to_hex()), Ok(h));
        assert_eq!(Blake3Hash::parse_hex(&h.to_hex().to_uppercase()), Ok(h));
        assert!(Blake3Hash::parse_hex("abc").is_err());
        assert!(Blake3Hash::parse_hex(&"g".repeat(64)).is_err());
    }

    #[test]
    fn refuses_empty_and_oversized_chunks() {
        let id = Blake3Hash::of(b"");
        assert_eq!(
            ChunkList::new(id, vec![ChunkRef { id, len: 0 }]),
            Err(ChunkListError::EmptyChunk { index: 0 })
        );
        let len = MAX_CHUNK_LEN + 1;
        assert_eq!(
            ChunkList::new(id, vec![ChunkRef { id, len: 1 }, ChunkRef { id, len }]),
            Err(ChunkListError::ChunkTooLarge { index: 1, len })
        );
    }

    #[test]
    fn document_round_trips_and_checks_its_size() {
        let list = list_of(b"hello, chunked world", &[3, 9]);
        let json = serde_json::to_string(&list).unwrap();
        assert!(json.contains("\"size\":20"), "{json}");
        let back: ChunkList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list);
        let lying = json.replace("\"size\":20", "\"size\":21");
        let err = serde_json::from_str::<ChunkList>(&lying).unwrap_err();
        assert!(
            err.to_string()
                .contains("add up to 20 bytes but the archive size is 21"),
            "{err}"
        );
    }

    #[test]
    fn r12_etag_is_strong_and_follows_the_archive_hash_only() {
        let a = list_of(b"same bytes here", &[4]);
        let b = list_of(b"same bytes here", &[9]);
        let c = list_of(b"other bytes....", &[4]);
        assert_eq!(
            a.etag(),
            b.etag(),
            "chunking differently must not change the tag"
        );
        assert_ne!(a.etag(), c.etag());
        assert!(a.etag().starts_with('"') && !a.etag().starts_with("W/"));
        assert_eq!(
            a.etag(),
            format!("\"{}\"", Blake3Hash::of(b"same bytes here"))
        );
    }

    #[test]
    fn delta_counts_only_new_chunks_once() {
        let a = list_of(b"aaaabbbbcccc", &[4, 8]);
        let b = list_of(b"aaaaddddcccc", &[4, 8]);
        assert_eq!(b.delta_bytes(&a), 4);
        assert_eq!(a.delta_bytes(&a), 0);
        let repeated = list_of(b"zzzzzzzz", &[4]);
        assert_eq!(repeated.delta_bytes(&a), 4);
    }

    #[test]
    fn the_compact_form_reads_back_and_a_damaged_one_is_refused_naming_why() {
        let data: Vec<u8> = (0..5_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let list = list_of(&data, &[100, 2_000, 4_321]);
        let compact = list.to_compact();
        assert_eq!(compact.len(), 48 + 4 * 36);
        assert_eq!(ChunkList::from_compact(&compact), Ok(list.clone()));
        assert_eq!(
            ChunkList::from_compact(b"{\"archiveHash\"}"),
            Err(CompactError::NotCompact)
        );
        assert!(matches!(
            ChunkList::from_compact(&compact[..compact.len() - 1]),
            Err(CompactError::WrongLength { count: 4, .. })
        ));
        let mut wrong_size = compact.clone();
        wrong_size[36] ^= 1;
        assert!(matches!(
            ChunkList::from_compact(&wrong_size),
            Err(CompactError::List(ChunkListError::SizeMismatch { .. }))
        ));
        let mut empty_chunk = compact;
        empty_chunk[48 + 32..48 + 36].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            ChunkList::from_compact(&empty_chunk),
            Err(CompactError::List(ChunkListError::EmptyChunk { index: 0 }))
        ));
    }

    proptest! {
        #[test]
        fn covering_reassembles_any_range_exactly(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            a in any::<u64>(), b in any::<u64>(),
        ) {
            let list = list_of(&data, &cuts);
            prop_assert_eq!(list.size(), data.len() as u64);
            let (lo, hi) = (a.min(b) % (data.len() as u64 + 2), a.max(b) % (data.len() as u64 + 2));
            let mut chunk_start = std::collections::HashMap::new();
            let mut off = 0usize;
            for c in list.chunks() {
                chunk_start.entry(c.id).or_insert(off);
                off += c.len as usize;
            }
            let mut out = Vec::new();
            for (c, part) in list.covering(lo..hi) {
                prop_assert!(part.start < part.end && part.end <= c.len);
                let s = chunk_start[&c.id];
                out.extend_from_slice(&data[s + part.start as usize..s + part.end as usize]);
            }
            let (lo, hi) = (lo.min(data.len() as u64) as usize, hi.min(data.len() as u64) as usize);
            prop_assert_eq!(&out[..], &data[lo..hi.max(lo)]);
        }
    }
}
