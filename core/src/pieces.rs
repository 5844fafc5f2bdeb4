//! Pieces: a chunk cut finer, for device delta updates.
//!
//! An update that rewrites a few files of a pack changes a few kilobytes inside each of the
//! 64 KiB chunks around them; a device that fetched those chunks whole would fetch several
//! times what changed. So a device may ask the edge for the *pieces* of the chunks it lacks:
//! each chunk's bytes cut again by content-defined chunking at [`PIECE_AVG`] bytes on average,
//! each piece named by the first [`NAME_LEN`] bytes of its BLAKE3 hash. The device cuts the
//! chunks of the version it holds the same way ([`split`]), copies every piece it finds by
//! name, and fetches only the rest as byte ranges.
//!
//! A piece found by its name is a guess, not a proof: the chunk it fills is checked against
//! the chunk's full BLAKE3 id, and a chunk that fails is fetched whole. That is why eight bytes
//! of name are enough, and why a wrong piece list can cost bytes but never correctness.
//!
//! The edge answers `…/versions/{n}/pieces?chunks=0-2,7` ([`Selection`]) with a small binary
//! document ([`encode`], [`decode`]): per chunk asked, its index, then each piece's length
//! and name.

use std::fmt;

use fastcdc::v2020::FastCDC;

/// Smallest piece (except a chunk's last), in bytes.
pub const PIECE_MIN: usize = 512;
/// Average piece, in bytes: about zsync's block for archives of tens of megabytes.
pub const PIECE_AVG: usize = 2048;
/// Largest piece, in bytes (fits the document's `u16` length).
pub const PIECE_MAX: usize = 8192;
/// Bytes of BLAKE3 hash that name a piece.
pub const NAME_LEN: usize = 8;
/// Chunks one request may ask pieces of: bounds the work of one answer (a few MiB of
/// chunks to cut) and its size.
pub const MAX_CHUNKS_PER_REQUEST: usize = 256;
/// The media type of the pieces document.
pub const MEDIA_TYPE: &str = "application/vnd.packyard.pieces";

const MAGIC: &[u8; 4] = b"PYP1";

/// What names a piece: the first [`NAME_LEN`] bytes of the BLAKE3 hash of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PieceName([u8; NAME_LEN]);

impl PieceName {
    /// The name of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut name = [0u8; NAME_LEN];
        name.copy_from_slice(&blake3::hash(bytes).as_bytes()[..NAME_LEN]);
        Self(name)
    }
}

impl fmt::Debug for PieceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PieceName({})", hex::encode(self.0))
    }
}

/// One piece of a chunk: its name and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// The name of its bytes.
    pub name: PieceName,
    /// Its length, 1 to [`PIECE_MAX`].
    pub len: u16,
}

/// Cuts a chunk's bytes into pieces, in order; their lengths add up to `chunk.len()`.
pub fn split(chunk: &[u8]) -> Vec<Piece> {
    FastCDC::new(chunk, PIECE_MIN, PIECE_AVG, PIECE_MAX)
        .map(|c| {
            let bytes = &chunk[c.offset..c.offset + c.length];
            Piece {
                name: PieceName::of(bytes),
                // FastCDC never cuts longer than PIECE_MAX, which fits.
                len: u16::try_from(c.length).unwrap_or(u16::MAX),
            }
        })
        .collect()
}

/// Which chunks of a version a request asks pieces of: ascending indices, written
/// `0-2,7,9-12`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(Vec<u32>);

/// Why a `chunks` parameter is not a [`Selection`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// Nothing was asked.
    #[error("names no chunk; write chunk indices like 0-2,7")]
    Empty,
    /// An item is not `N` or `A-B`.
    #[error("{0:?} is not a chunk index or a range A-B of them")]
    Malformed(String),
    /// An index past the version's last chunk.
    #[error("chunk {index} does not exist; this version has {count} chunks (0 to {last})", last = count.saturating_sub(1))]
    OutOfRange {
        /// The index asked.
        index: u32,
        /// The version's chunk count.
        count: usize,
    },
    /// Indices not in ascending order, or repeated.
    #[error(
        "chunk {0} comes after a larger or equal index; list chunks in ascending order, once each"
    )]
    NotAscending(u32),
    /// More than [`MAX_CHUNKS_PER_REQUEST`] chunks.
    #[error("asks {0} chunks; at most {MAX_CHUNKS_PER_REQUEST} a request")]
    TooMany(usize),
}

impl Selection {
    /// Reads `text` for a version of `count` chunks.
    pub fn parse(text: &str, count: usize) -> Result<Self, SelectionError> {
        let mut out: Vec<u32> = Vec::new();
        if text.trim().is_empty() {
            return Err(SelectionError::Empty);
        }
        for item in text.split(',') {
            let malformed = || SelectionError::Malformed(item.to_owned());
            let index = |s: &str| -> Result<u32, SelectionError> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed());
                }
                let i: u32 = s.parse().map_err(|_| malformed())?;
                if i as usize >= count {
                    return Err(SelectionError::OutOfRange { index: i, count });
                }
                Ok(i)
            };
            let (first, last) = match item.split_once('-') {
                Some((a, b)) => (index(a)?, index(b)?),
                None => {
                    let i = index(item)?;
                    (i, i)
                }
            };
            if last < first {
                return Err(malformed());
            }
            if out.last().is_some_and(|&prev| prev >= first) {
                return Err(SelectionError::NotAscending(first));
            }
            let adding = (last - first) as usize + 1;
            if out.len() + adding > MAX_CHUNKS_PER_REQUEST {
                return Err(SelectionError::TooMany(out.len() + adding));
            }
            out.extend(first..=last);
        }
        Ok(Self(out))
    }

    /// The selection of `indices`, which must be ascending and distinct (the caller's own
    /// list of chunks it lacks).
    pub fn of(indices: Vec<u32>) -> Self {
        Self(indices)
    }

    /// The indices, ascending.
    pub fn indices(&self) -> &[u32] {
        &self.0
    }

    /// The `chunks` parameter: runs of consecutive indices written `A-B`.
    pub fn to_query(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < self.0.len() {
            let start = self.0[i];
            let mut end = start;
            while i + 1 < self.0.len() && self.0[i + 1] == end + 1 {
                i += 1;
                end += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if end == start {
                out.push_str(&start.to_string());
            } else {
                out.push_str(&format!("{start}-{end}"));
            }
            i += 1;
        }
        out
    }
}

/// The pieces document for chunks `(index, pieces)`, in the order given.
///
/// Little-endian: `PYP1`, the entry count (`u32`), then per entry the chunk's index and its
/// piece count (`u32` each) and per piece its length (`u16`) and name ([`NAME_LEN`] bytes).
pub fn encode<'a>(entries: impl IntoIterator<Item = (u32, &'a [Piece])>) -> Vec<u8> {
    let entries: Vec<(u32, &[Piece])> = entries.into_iter().collect();
    let mut out = Vec::with_capacity(
        8 + entries
            .iter()
            .map(|(_, p)| 8 + p.len() * (2 + NAME_LEN))
            .sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len_u32(entries.len()).to_le_bytes());
    for (index, pieces) in entries {
        out.extend_from_slice(&index.to_le_bytes());
        out.extend_from_slice(&len_u32(pieces.len()).to_le_bytes());
        for p in pieces {
            out.extend_from_slice(&p.len.to_le_bytes());
            out.extend_from_slice(&p.name.0);
        }
    }
    out
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Why a pieces document cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// It does not open with `PYP1`.
    #[error("not a pieces document (it does not open with PYP1)")]
    NotPieces,
    /// It ends inside a field.
    #[error("the pieces document ends at byte {0}, inside a field")]
    Truncated(usize),
    /// Bytes after the last entry.
    #[error("{0} bytes follow the last entry of the pieces document")]
    Trailing(usize),
    /// Not the chunks asked, or not in their order.
    #[error("entry {entry} is for chunk {got}; chunk {wanted} was asked there")]
    WrongChunk {
        /// Position in the document.
        entry: usize,
        /// The index it names.
        got: u32,
        /// The index asked at that position.
        wanted: u32,
    },
    /// Not as many entries as chunks asked.
    #[error("the document has {got} entries for {wanted} chunks asked")]
    WrongCount {
        /// Entries in the document.
        got: u32,
        /// Chunks asked.
        wanted: usize,
    },
    /// A piece of length 0 or over [`PIECE_MAX`].
    #[error("chunk {index} has a piece of {len} bytes; pieces hold 1 to {PIECE_MAX}")]
    BadPiece {
        /// The chunk's index.
        index: u32,
        /// The piece's length.
        len: u16,
    },
    /// The pieces do not add up to the chunk.
    #[error("the pieces of chunk {index} add up to {sum} bytes; the chunk has {len}")]
    WrongLength {
        /// The chunk's index.
        index: u32,
        /// Their sum.
        sum: u64,
        /// The chunk's length.
        len: u32,
    },
}

/// Reads a pieces document answering for `asked`: each chunk's index and length, in the
/// order asked. Every entry must be the chunk asked at its place, and its pieces must add
/// up to that chunk's length.
pub fn decode(bytes: &[u8], asked: &[(u32, u32)]) -> Result<Vec<Vec<Piece>>, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4)? != MAGIC {
        return Err(DecodeError::NotPieces);
    }
    let count = r.u32()?;
    if count as usize != asked.len() {
        return Err(DecodeError::WrongCount {
            got: count,
            wanted: asked.len(),
        });
    }
    let mut out = Vec::with_capacity(asked.len());
    for (entry, &(wanted, chunk_len)) in asked.iter().enumerate() {
        let index = r.u32()?;
        if index != wanted {
            return Err(DecodeError::WrongChunk {
                entry,
                got: index,
                wanted,
            });
        }
        let n = r.u32()? as usize;
        // Every piece holds at least one byte: more pieces than bytes is wrong already, and
        // checking first keeps a hostile count from reserving memory.
        if n > chunk_len as usize || n * (2 + NAME_LEN) > r.left() {
            return Err(DecodeError::Truncated(bytes.len()));
        }
        let mut pieces = Vec::with_capacity(n);
        let mut sum = 0u64;
        for _ in 0..n {
            let len = u16::from_le_bytes([r.byte()?, r.byte()?]);
            if len == 0 || usize::from(len) > PIECE_MAX {
                return Err(DecodeError::BadPiece { index, len });
            }
            let mut name = [0u8; NAME_LEN];
            name.copy_from_slice(r.take(NAME_LEN)?);
            sum += u64::from(len);
            pieces.push(Piece {
                name: PieceName(name),
                len,
            });
        }
        if sum != u64::from(chunk_len) {
            return Err(DecodeError::WrongLength {
                index,
                sum,
                len: chunk_len,
            });
        }
        out.push(pieces);
    }
    match r.left() {
        0 => Ok(out),
        n => Err(DecodeError::Trailing(n)),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let out = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or(DecodeError::Truncated(self.bytes.len()))?;
        self.at += n;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
#[path = "pieces_test.rs"]
mod tests;
