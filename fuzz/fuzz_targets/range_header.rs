//! A device's `Range`, `If-Range` and `If-None-Match` fields, planned against an archive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard_core::http_range::{
    Boundary, Conditions, Plan, RangeLimits, multipart_layout, parse_range, plan,
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

    let _ = parse_range(range);
    let limits = RangeLimits::default();
    let request = Conditions {
        method_is_head_or_get: true,
        if_none_match,
        if_range,
        range: Some(range),
    };
    let ranges = match plan(&request, len, ETAG, &limits) {
        Plan::Partial(one) => vec![one],
        Plan::Multipart(many) => {
            assert!(many.len() >= 2 && many.len() <= limits.max_ranges);
            many
        }
        _ => return,
    };
    for pair in ranges.windows(2) {
        assert!(
            pair[0].last() + 1 < pair[1].first(),
            "ranges touch or overlap"
        );
    }
    assert!(ranges.iter().all(|r| r.last() < len), "range past the end");
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
});
