//! [`parse_range`]: the `Range` header field (RFC 9110 §14.1.1, §14.2) into [`ByteRangeSpec`]s.
//!
//! ```text
//! Range       = ranges-specifier
//! ranges-specifier = range-unit "=" range-set
//! range-set   = 1#range-spec
//! range-spec  = int-range / suffix-range
//! int-range   = first-pos "-" [ last-pos ]
//! suffix-range = "-" suffix-length
//! ```
//!
//! The parser is strict: one bad element makes the whole field invalid, and an invalid field
//! is ignored (the full representation is served), never half-used.

/// One element of a `Range: bytes=…` set, before it meets a representation's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteRangeSpec {
    /// `first-last`: bytes `first..=last`, with `first <= last`.
    FromTo {
        /// The first byte's offset.
        first: u64,
        /// The last byte's offset (included); may lie past the end.
        last: u64,
    },
    /// `first-`: from `first` to the end.
    From {
        /// The first byte's offset.
        first: u64,
    },
    /// `-len`: the last `len` bytes.
    Suffix {
        /// How many bytes from the end; `0` is valid syntax but never satisfiable.
        len: u64,
    },
}

/// Parses a `Range` field value. `None` means "ignore the field": another unit, a missing or
/// empty set, `last < first`, a number too large for `u64`, or anything else malformed.
///
/// The unit is case-insensitive; whitespace is allowed around the field and around each
/// comma, and empty list elements are skipped (RFC 9110 §5.6.1.2).
pub fn parse_range(header: &str) -> Option<Vec<ByteRangeSpec>> {
    let header = header.trim_matches(is_ows);
    let (unit, set) = header.split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let specs = set
        .split(',')
        .map(|element| element.trim_matches(is_ows))
        .filter(|element| !element.is_empty())
        .map(parse_spec)
        .collect::<Option<Vec<_>>>()?;
    (!specs.is_empty()).then_some(specs)
}

fn parse_spec(spec: &str) -> Option<ByteRangeSpec> {
    let (first, last) = spec.split_once('-')?;
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => Some(ByteRangeSpec::Suffix {
            len: parse_digits(last)?,
        }),
        (false, true) => Some(ByteRangeSpec::From {
            first: parse_digits(first)?,
        }),
        (false, false) => {
            let (first, last) = (parse_digits(first)?, parse_digits(last)?);
            (first <= last).then_some(ByteRangeSpec::FromTo { first, last })
        }
    }
}

/// `1*DIGIT` as a `u64`; no sign, no whitespace, `None` on overflow.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Optional whitespace in HTTP: space and horizontal tab.
pub(super) fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}
