//! [`ByteRange`]: a non-empty run of bytes inside a representation, as a `206` sends it.

use std::ops::Range;

/// The bytes `first..=last` of a representation (inclusive at both ends, as HTTP writes
/// them); never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteRange {
    first: u64,
    last: u64,
}

impl ByteRange {
    /// The bytes `first..=last`, or `None` if `last < first`.
    pub fn new(first: u64, last: u64) -> Option<Self> {
        (first <= last).then_some(Self { first, last })
    }

    /// The offset of the first byte.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The offset of the last byte (included).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// How many bytes the range holds; at least 1.
    pub fn len(&self) -> u64 {
        // Saturates only for `0..=u64::MAX`, which no representation of a `u64` length holds.
        (self.last - self.first).saturating_add(1)
    }

    /// Always `false`: a range holds at least one byte. Here for the `len`/`is_empty` pair.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The same bytes as a half-open range, the form [`ChunkList::covering`] takes.
    ///
    /// [`ChunkList::covering`]: crate::chunk_list::ChunkList::covering
    pub fn to_range(&self) -> Range<u64> {
        self.first..self.last.saturating_add(1)
    }

    /// The smallest range holding both `self` and `other` (and any gap between them).
    pub(super) fn hull(self, other: Self) -> Self {
        Self {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }

    /// The `Content-Range` value for this range of a representation of `complete_len` bytes:
    /// `bytes FIRST-LAST/LEN`.
    pub fn content_range(&self, complete_len: u64) -> String {
        format!("bytes {}-{}/{complete_len}", self.first, self.last)
    }
}

/// The `Content-Range` value of a `416`: `bytes */LEN`, telling the client the current length.
pub fn unsatisfied_content_range(complete_len: u64) -> String {
    format!("bytes */{complete_len}")
}
