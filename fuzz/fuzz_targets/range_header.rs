//! A device's `Range`, `If-Range` and `If-None-Match` fields, planned against an archive.
//!
//! A `Range` that parses is written back in its plain form and parses to the same specs.
//! The plan is checked against a model written here from RFC 9110: the bytes it serves are
//! exactly the requested bytes that lie inside the archive, as sorted ranges that neither
//! touch nor overlap, or the full archive when the field is ignored; `If-Range` with our
//! strong tag changes nothing and anything else turns ranges off; a matching
//! `If-None-Match` wins over all. A multipart body's length is the sum of its segments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::http_range::{
    Boundary, ByteRange, ByteRangeSpec, Conditions, Plan, RangeLimits, Segment, multipart_layout,
    parse_range, plan,
};

const ETAG: &str = "\"af1349b9f5f9a1a6a0404dea36dcc949af1349b9f5f9a1a6a0404dea36dcc949\"";

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes pick the archive's length; the rest splits on NUL into the fields.
    let Some((len, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let len = u64::from_le_bytes(*len);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut fields = text.split('\0');
    let range = fields.next().unwrap_or_default();
    let if_range = fields.next();
    let if_none_match = fields.next();
    let limits = RangeLimits::default();

    let specs = parse_range(range);
    if let Some(specs) = &specs {
        assert!(!specs.is_empty(), "an empty range set parsed");
        let plain = render(specs);
        assert_eq!(
            parse_range(&plain).as_ref(),
            Some(specs),
            "{plain} parses differently"
        );
    }

    // The range alone, against the model.
    let only_range = Conditions {
        method_is_head_or_get: true,
        range: Some(range),
        ..Conditions::default()
    };
    let alone = plan(&only_range, len, ETAG, &limits);
    let expected = match &specs {
        Some(specs) if range.len() <= limits.max_header_bytes => model(specs, len, &limits),
        _ => Plan::Full,
    };
    assert_eq!(alone, expected, "Range: {range:?} of {len} bytes");
    // Our own strong tag in If-Range changes nothing; the weak form of it disables ranges.
    let validated = Conditions {
        if_range: Some(ETAG),
        ..only_range
    };
    assert_eq!(plan(&validated, len, ETAG, &limits), alone);
    let weak = format!("W/{ETAG}");
    let weakly = Conditions {
        if_range: Some(&weak),
        ..only_range
    };
    assert_eq!(plan(&weakly, len, ETAG, &limits), Plan::Full);
    // `*` matches any representation.
    let any = Conditions {
        if_none_match: Some("*"),
        ..only_range
    };
    assert_eq!(plan(&any, len, ETAG, &limits), Plan::NotModified);
    let not_get = Conditions {
        method_is_head_or_get: false,
        ..only_range
    };
    assert_eq!(plan(&not_get, len, ETAG, &limits), Plan::Full);

    // All three fields as the device sent them.
    let request = Conditions {
        method_is_head_or_get: true,
        if_none_match,
        if_range,
        range: Some(range),
    };
    let planned = plan(&request, len, ETAG, &limits);
    if !matches!(planned, Plan::NotModified | Plan::Full) {
        assert_eq!(planned, alone, "If-Range made a range plan of its own");
    }
    let ranges = match planned {
        Plan::Partial(one) => vec![one],
        Plan::Multipart(many) => many,
        _ => return,
    };
    let layout = multipart_layout(
        &ranges,
        len,
        "application/octet-stream",
        &Boundary::from_etag(ETAG),
    );
    let sum = layout
        .segments
        .iter()
        .fold(0u64, |s, seg| s.saturating_add(seg.len()));
    assert_eq!(layout.content_length, sum);
    let served: Vec<ByteRange> = layout
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Bytes(r) => Some(*r),
            Segment::Literal(_) => None,
        })
        .collect();
    assert_eq!(
        served, ranges,
        "the body does not carry the planned ranges in order"
    );
});

/// `bytes=` and the specs, comma-separated, each in its plainest form.
fn render(specs: &[ByteRangeSpec]) -> String {
    let parts: Vec<String> = specs
        .iter()
        .map(|s| match *s {
            ByteRangeSpec::FromTo { first, last } => format!("{first}-{last}"),
            ByteRangeSpec::From { first } => format!("{first}-"),
            ByteRangeSpec::Suffix { len } => format!("-{len}"),
        })
        .collect();
    format!("bytes={}", parts.join(","))
}

/// RFC 9110 §14.1.2 and §14.3, written independently of `plan`: each spec's bytes inside the
/// representation, sorted, with overlapping or adjacent ranges merged.
fn model(specs: &[ByteRangeSpec], len: u64, limits: &RangeLimits) -> Plan {
    let Some(end) = len.checked_sub(1) else {
        return Plan::Unsatisfiable;
    };
    let mut wanted: Vec<(u64, u64)> = specs
        .iter()
        .filter_map(|s| match *s {
            ByteRangeSpec::FromTo { first, last } if first <= end => Some((first, last.min(end))),
            ByteRangeSpec::From { first } if first <= end => Some((first, end)),
            ByteRangeSpec::Suffix { len: n } if n > 0 => Some((len - n.min(len), end)),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Plan::Unsatisfiable;
    }
    wanted.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (first, last) in wanted {
        match merged.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    let ranges: Vec<ByteRange> = merged
        .into_iter()
        .map(|(a, b)| ByteRange::new(a, b).expect("first <= last"))
        .collect();
    match ranges.len() {
        1 => Plan::Partial(ranges[0]),
        n if n > limits.max_ranges => Plan::Full,
        _ => Plan::Multipart(ranges),
    }
}
