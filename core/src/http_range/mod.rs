//! Range and conditional requests (RFC 9110 §13, §14) for one immutable representation of
//! known length and strong ETag: a pack version's archive (rule R12). Pure: the edge reads the
//! request's header fields, asks [`plan`] what to answer, and streams the bytes it names.
//!
//! # Rules
//!
//! - `If-None-Match` is evaluated first: `*`, or any listed tag that matches ours by weak
//!   comparison, answers [`Plan::NotModified`] (304) to GET and HEAD.
//! - `Range` is honoured only for GET and HEAD (HEAD gets the same header fields as GET), and
//!   only when it parses ([`parse_range`]); a malformed or oversized `Range` is ignored and the
//!   full representation is served, as the RFC says.
//! - `If-Range` lets ranges apply only if it carries a strong tag equal to ours. A weak tag, a
//!   different tag or an HTTP-date makes the server ignore `Range`: we validate with the
//!   strong ETag alone, so a date never proves the client holds these bytes.
//! - A range is satisfiable when its first byte lies inside the representation; a suffix of
//!   zero bytes is not, a suffix longer than the representation is all of it, and a last byte
//!   past the end is clamped. No satisfiable range: [`Plan::Unsatisfiable`] (416). A
//!   representation of zero bytes satisfies no range.
//! - Several ranges are sorted and those that overlap or touch are merged (RFC 9110 §14.3
//!   allows it), so a request cannot make us send any byte twice. One range left is a single
//!   part; more than [`RangeLimits::max_ranges`] left serves the full representation instead.
//!
//! # Entry points
//!
//! - [`parse_range`]: the `Range` field into [`ByteRangeSpec`]s, or `None` when malformed.
//! - [`plan`]: the whole decision, from [`Conditions`] to a [`Plan`].
//! - [`multipart_layout`]: the exact `multipart/byteranges` body of a [`Plan::Multipart`], as
//!   segments to stream, with its length and `Content-Type`.

mod byte_range;
mod entity_tag;
mod multipart;
mod parse;
mod plan;

#[cfg(test)]
mod multipart_test;
#[cfg(test)]
mod parse_test;
#[cfg(test)]
mod plan_test;

pub use byte_range::{ByteRange, unsatisfied_content_range};
pub use multipart::{Boundary, MultipartLayout, Segment, multipart_layout};
pub use parse::{ByteRangeSpec, parse_range};
pub use plan::{Conditions, Plan, RangeConfigError, RangeLimits, plan};
