//! [`multipart_layout`]: the exact `multipart/byteranges` body (RFC 9110 §14.6) of a
//! multi-range `206`, as segments a server streams without buffering.
//!
//! ```text
//! --BOUNDARY CRLF
//! Content-Type: TYPE CRLF
//! Content-Range: bytes FIRST-LAST/LEN CRLF
//! CRLF
//! <bytes> CRLF
//! --BOUNDARY CRLF
//! ...
//! <bytes> CRLF
//! --BOUNDARY-- CRLF
//! ```

use std::fmt;

use super::byte_range::ByteRange;

/// The longest boundary RFC 2046 §5.1.1 allows.
const MAX_BOUNDARY_LEN: usize = 70;

/// A multipart boundary: 1 to 70 ASCII letters, digits, `-`, `_`, `.` and `+`. Those are
/// valid in a boundary (RFC 2046) and in a token (RFC 9110), so the `Content-Type` parameter
/// needs no quoting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Boundary(String);

impl Boundary {
    /// Checks `s`, or `None` if it is empty, too long or holds another character.
    pub fn new(s: &str) -> Option<Self> {
        let ok = (1..=MAX_BOUNDARY_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
        ok.then(|| Self(s.to_owned()))
    }

    /// The boundary for a representation with entity tag `etag`: `packyard-` and the tag's
    /// letters and digits (at most 61 of them), so the same bytes always get the same body.
    ///
    /// A part's bytes must not contain the boundary. With the tag derived from the archive's
    /// hash (rule R12), an archive holding its own boundary would have to contain a prefix
    /// of its own hash, which nobody can construct.
    pub fn from_etag(etag: &str) -> Self {
        const PREFIX: &str = "packyard-";
        let mut s = String::from(PREFIX);
        s.extend(
            etag.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(MAX_BOUNDARY_LEN - PREFIX.len()),
        );
        Self(s)
    }

    /// The boundary itself, without the leading `--`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One piece of a multipart body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Delimiters and part headers, sent as they are (ASCII).
    Literal(String),
    /// These bytes of the representation.
    Bytes(ByteRange),
}

impl Segment {
    /// How many bytes this segment puts on the wire.
    pub fn len(&self) -> u64 {
        match self {
            // A `usize` always fits in a `u64` on the targets we build for.
            Segment::Literal(s) => u64::try_from(s.len()).unwrap_or(u64::MAX),
            Segment::Bytes(range) => range.len(),
        }
    }

    /// Whether the segment puts no bytes on the wire (never the case for a built layout).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole `multipart/byteranges` body, ready to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartLayout {
    /// The response's `Content-Type`: `multipart/byteranges; boundary=…`.
    pub content_type: String,
    /// The body, in order: literals between the representation's byte ranges.
    pub segments: Vec<Segment>,
    /// The response's `Content-Length`: the sum of the segments' lengths.
    pub content_length: u64,
}

/// Lays out the body of a `206` holding `ranges` (from [`Plan::Multipart`]) of a
/// representation of `len` bytes whose own type is `content_type`, which each part names.
///
/// `content_type` must be a valid field value (no CR or LF); the server chooses it. The
/// layout is a function of its inputs alone, so every edge sends the same bytes.
///
/// [`Plan::Multipart`]: super::Plan::Multipart
pub fn multipart_layout(
    ranges: &[ByteRange],
    len: u64,
    content_type: &str,
    boundary: &Boundary,
) -> MultipartLayout {
    let mut segments = Vec::with_capacity(2 * ranges.len() + 1);
    for range in ranges {
        // The CRLF ending the previous part's bytes belongs to this delimiter (RFC 2046). The
        // first delimiter gets one too, an empty preamble, as nginx and Apache send it: both
        // are valid, and some multi-range clients (zsync 0.6) read only this form.
        segments.push(Segment::Literal(format!(
            "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
            range.content_range(len)
        )));
        segments.push(Segment::Bytes(*range));
    }
    let lead = if ranges.is_empty() { "" } else { "\r\n" };
    segments.push(Segment::Literal(format!("{lead}--{boundary}--\r\n")));
    let content_length = segments
        .iter()
        .fold(0u64, |sum, s| sum.saturating_add(s.len()));
    MultipartLayout {
        content_type: format!("multipart/byteranges; boundary={boundary}"),
        segments,
        content_length,
    }
}
