//! [`plan`]: what to answer a GET or HEAD of an immutable representation, given its
//! conditional and range header fields. See the [module rules](super) for the order.

use serde::{Deserialize, Serialize};

use super::byte_range::ByteRange;
use super::entity_tag::{EntityTag, if_none_match_matches};
use super::parse::{ByteRangeSpec, is_ows, parse_range};

/// The parts of a request that [`plan`] reads: raw header field values, as received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conditions<'a> {
    /// Whether the method is GET or HEAD. Other methods get no range handling (RFC 9110
    /// §14.2), and a matching `If-None-Match` fails them with `412` instead of `304`.
    pub method_is_head_or_get: bool,
    /// The `If-None-Match` value, if present.
    pub if_none_match: Option<&'a str>,
    /// The `If-Range` value, if present.
    pub if_range: Option<&'a str>,
    /// The `Range` value, if present.
    pub range: Option<&'a str>,
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `304 Not Modified`, with the `ETag` and no body.
    NotModified,
    /// `412 Precondition Failed`: `If-None-Match` matched on a method other than GET or HEAD.
    PreconditionFailed,
    /// `200 OK` with the whole representation.
    Full,
    /// `206 Partial Content` with one range and `Content-Range: bytes FIRST-LAST/LEN`
    /// ([`ByteRange::content_range`]).
    Partial(ByteRange),
    /// `206 Partial Content` as `multipart/byteranges` ([`multipart_layout`]): at least two
    /// ranges, sorted, neither overlapping nor touching.
    ///
    /// [`multipart_layout`]: super::multipart_layout
    Multipart(Vec<ByteRange>),
    /// `416 Range Not Satisfiable` with `Content-Range: bytes */LEN`
    /// ([`unsatisfied_content_range`](super::unsatisfied_content_range)).
    Unsatisfiable,
}

/// Limits on what a `Range` field may ask for. Configuration: every field has the default
/// written next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RangeLimits {
    /// Ranges served as one `multipart/byteranges` response, counted after overlapping and
    /// touching ranges are merged; more are answered with the full representation. Default 16.
    pub max_ranges: usize,
    /// Length in bytes of a `Range` value that is parsed at all; a longer one is ignored
    /// unread. Default 4096.
    pub max_header_bytes: usize,
}

impl Default for RangeLimits {
    fn default() -> Self {
        Self {
            max_ranges: 16,
            max_header_bytes: 4096,
        }
    }
}

/// Why a [`RangeLimits`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeConfigError {
    /// A limit is zero, which would turn every range request into a full download.
    #[error("range limit `{0}` is 0; it must be at least 1")]
    Zero(&'static str),
}

impl RangeLimits {
    /// Checks the limits at start-up.
    pub fn validate(&self) -> Result<(), RangeConfigError> {
        if self.max_ranges == 0 {
            return Err(RangeConfigError::Zero("max_ranges"));
        }
        if self.max_header_bytes == 0 {
            return Err(RangeConfigError::Zero("max_header_bytes"));
        }
        Ok(())
    }
}

/// Decides the answer to `request` for a representation of `len` bytes whose strong entity
/// tag is `etag` (quotes included, as [`ChunkList::etag`] writes it).
///
/// [`ChunkList::etag`]: crate::chunk_list::ChunkList::etag
pub fn plan(request: &Conditions<'_>, len: u64, etag: &str, limits: &RangeLimits) -> Plan {
    let current = EntityTag::parse(etag);
    if let (Some(value), Some(current)) = (request.if_none_match, &current)
        && if_none_match_matches(value, current)
    {
        return if request.method_is_head_or_get {
            Plan::NotModified
        } else {
            Plan::PreconditionFailed
        };
    }
    let Some(range) = request.range else {
        return Plan::Full;
    };
    if !request.method_is_head_or_get || range.len() > limits.max_header_bytes {
        return Plan::Full;
    }
    if let Some(if_range) = request.if_range {
        let validated = match (EntityTag::parse(if_range.trim_matches(is_ows)), &current) {
            (Some(theirs), Some(ours)) => theirs.strong_eq(ours),
            _ => false,
        };
        if !validated {
            return Plan::Full;
        }
    }
    let Some(specs) = parse_range(range) else {
        return Plan::Full;
    };
    let mut ranges: Vec<ByteRange> = specs.iter().filter_map(|s| resolve(s, len)).collect();
    if ranges.is_empty() {
        return Plan::Unsatisfiable;
    }
    coalesce(&mut ranges);
    match ranges.as_slice() {
        [single] => Plan::Partial(*single),
        _ if ranges.len() > limits.max_ranges => Plan::Full,
        _ => Plan::Multipart(ranges),
    }
}

/// The bytes `spec` names in a representation of `len` bytes, or `None` if it names none.
fn resolve(spec: &ByteRangeSpec, len: u64) -> Option<ByteRange> {
    let end = len.checked_sub(1)?;
    match *spec {
        ByteRangeSpec::FromTo { first, last } if first <= end => {
            ByteRange::new(first, last.min(end))
        }
        ByteRangeSpec::From { first } if first <= end => ByteRange::new(first, end),
        ByteRangeSpec::Suffix { len: suffix } if suffix > 0 => {
            ByteRange::new(len - suffix.min(len), end)
        }
        _ => None,
    }
}

/// Sorts `ranges` and merges those that overlap or touch, so no byte is listed twice and
/// every gap between two ranges holds at least one byte.
fn coalesce(ranges: &mut Vec<ByteRange>) {
    ranges.sort_unstable();
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for &next in ranges.iter() {
        match merged.last_mut() {
            // Sorted, so `next` starts at or after `prev`; it touches `prev` if it starts no
            // later than the byte right after `prev`.
            Some(prev) if next.first() <= prev.last().saturating_add(1) => *prev = prev.hull(next),
            _ => merged.push(next),
        }
    }
    *ranges = merged;
}
