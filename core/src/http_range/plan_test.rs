use proptest::prelude::*;

use super::{ByteRange, ByteRangeSpec, Conditions, Plan, RangeConfigError, RangeLimits};
use super::{parse_range, plan};

const ETAG: &str = "\"af1349b9f5f9a1a6a0404dea36dcc949\"";
const LEN: u64 = 1000;

fn r(first: u64, last: u64) -> ByteRange {
    ByteRange::new(first, last).unwrap()
}

fn get(range: &str) -> Conditions<'_> {
    Conditions {
        method_is_head_or_get: true,
        range: Some(range),
        ..Conditions::default()
    }
}

fn plan_default(request: &Conditions<'_>, len: u64) -> Plan {
    plan(request, len, ETAG, &RangeLimits::default())
}

fn check(cases: &[(&str, Plan)]) {
    for (range, want) in cases {
        assert_eq!(&plan_default(&get(range), LEN), want, "Range: {range}");
    }
}

#[test]
fn a_single_range_is_served_as_one_part() {
    check(&[
        ("bytes=0-499", Plan::Partial(r(0, 499))),
        ("bytes=500-999", Plan::Partial(r(500, 999))),
        ("bytes=0-0", Plan::Partial(r(0, 0))),
        ("bytes=999-999", Plan::Partial(r(999, 999))),
        ("bytes=0-", Plan::Partial(r(0, 999))),
    ]);
}

#[test]
fn a_last_byte_past_the_end_is_clamped() {
    check(&[
        ("bytes=500-1000", Plan::Partial(r(500, 999))),
        ("bytes=500-18446744073709551615", Plan::Partial(r(500, 999))),
    ]);
}

#[test]
fn an_open_ended_range_runs_to_the_end() {
    check(&[
        ("bytes=900-", Plan::Partial(r(900, 999))),
        ("bytes=999-", Plan::Partial(r(999, 999))),
    ]);
}

#[test]
fn a_suffix_is_the_last_bytes_and_all_of_them_when_longer() {
    check(&[
        ("bytes=-100", Plan::Partial(r(900, 999))),
        ("bytes=-1", Plan::Partial(r(999, 999))),
        ("bytes=-1000", Plan::Partial(r(0, 999))),
        ("bytes=-5000", Plan::Partial(r(0, 999))),
        ("bytes=-18446744073709551615", Plan::Partial(r(0, 999))),
    ]);
}

#[test]
fn ranges_starting_at_or_past_the_end_or_empty_suffixes_are_unsatisfiable() {
    check(&[
        ("bytes=1000-", Plan::Unsatisfiable),
        ("bytes=1000-1000", Plan::Unsatisfiable),
        ("bytes=5000-6000", Plan::Unsatisfiable),
        ("bytes=-0", Plan::Unsatisfiable),
        ("bytes=1000-,2000-3000,-0", Plan::Unsatisfiable),
        ("bytes=18446744073709551615-", Plan::Unsatisfiable),
    ]);
}

#[test]
fn unsatisfiable_elements_are_dropped_when_others_are_satisfiable() {
    check(&[
        ("bytes=0-9,5000-", Plan::Partial(r(0, 9))),
        ("bytes=-0,10-19", Plan::Partial(r(10, 19))),
        (
            "bytes=1000-,0-9,-0,20-29",
            Plan::Multipart(vec![r(0, 9), r(20, 29)]),
        ),
    ]);
}

#[test]
fn several_ranges_are_sorted_into_a_multipart_answer() {
    check(&[
        ("bytes=0-9,20-29", Plan::Multipart(vec![r(0, 9), r(20, 29)])),
        ("bytes=20-29,0-9", Plan::Multipart(vec![r(0, 9), r(20, 29)])),
        (
            "bytes=-10,0-9,500-",
            Plan::Multipart(vec![r(0, 9), r(500, 999)]),
        ),
        ("bytes=0-0,2-2", Plan::Multipart(vec![r(0, 0), r(2, 2)])),
    ]);
}

#[test]
fn overlapping_ranges_are_merged() {
    check(&[
        ("bytes=0-9,5-14", Plan::Partial(r(0, 14))),
        ("bytes=5-14,0-9", Plan::Partial(r(0, 14))),
        ("bytes=0-99,10-19", Plan::Partial(r(0, 99))),
        ("bytes=990-,-5", Plan::Partial(r(990, 999))),
        ("bytes=0-,-5,10-20", Plan::Partial(r(0, 999))),
        (
            "bytes=0-9,5-14,100-199,150-",
            Plan::Multipart(vec![r(0, 14), r(100, 999)]),
        ),
        ("bytes=0-9,0-9,0-9", Plan::Partial(r(0, 9))),
    ]);
}

#[test]
fn adjacent_ranges_are_merged() {
    check(&[
        ("bytes=0-9,10-19", Plan::Partial(r(0, 19))),
        ("bytes=10-19,0-9", Plan::Partial(r(0, 19))),
        ("bytes=0-0,1-1,2-2,3-3", Plan::Partial(r(0, 3))),
        (
            "bytes=0-9,10-19,30-39",
            Plan::Multipart(vec![r(0, 19), r(30, 39)]),
        ),
        ("bytes=0-989,-10", Plan::Partial(r(0, 999))),
    ]);
}

/// `n` one-byte ranges with a one-byte gap between each.
fn disjoint(n: u64) -> String {
    let set: Vec<String> = (0..n).map(|i| format!("{0}-{0}", 2 * i)).collect();
    format!("bytes={}", set.join(","))
}

#[test]
fn more_ranges_than_the_limit_get_the_full_representation() {
    assert_eq!(RangeLimits::default().max_ranges, 16);
    let sixteen = disjoint(16);
    let seventeen = disjoint(17);
    let cases = [
        (sixteen.as_str(), 16, Some(16)),
        (seventeen.as_str(), 16, None),
        ("bytes=0-0,2-2,4-4", 2, None),
        ("bytes=0-0,2-2", 2, Some(2)),
        // The limit counts ranges after merging: many specs of one run are one part.
        ("bytes=0-0,1-1,2-2,3-3,4-4,5-5", 2, Some(1)),
    ];
    for (range, max_ranges, parts) in cases {
        let limits = RangeLimits {
            max_ranges,
            ..RangeLimits::default()
        };
        let got = plan(&get(range), LEN, ETAG, &limits);
        let got_parts = match &got {
            Plan::Partial(_) => Some(1),
            Plan::Multipart(ranges) => Some(ranges.len()),
            Plan::Full => None,
            other => panic!("{range}: unexpected {other:?}"),
        };
        assert_eq!(got_parts, parts, "{range} with max_ranges {max_ranges}");
    }
}

#[test]
fn amplification_is_defeated_by_merging() {
    // The classic attack: many overlapping ranges that each ask for most of the file.
    let set = vec!["0-"; 1000].join(",");
    assert_eq!(
        plan_default(&get(&format!("bytes={set}")), LEN),
        Plan::Partial(r(0, 999))
    );
}

#[test]
fn a_range_field_longer_than_the_limit_is_ignored() {
    let limits = RangeLimits::default();
    assert_eq!(limits.max_header_bytes, 4096);
    let long = format!("bytes=0-0,{}", "0-0,".repeat(1100));
    assert!(long.len() > 4096);
    assert_eq!(plan(&get(&long), LEN, ETAG, &limits), Plan::Full);
    let at_limit = format!("bytes={}-0", "0".repeat(4096 - "bytes=-0".len()));
    assert_eq!(at_limit.len(), 4096);
    assert_eq!(
        plan(&get(&at_limit), LEN, ETAG, &limits),
        Plan::Partial(r(0, 0))
    );
}

#[test]
fn a_malformed_range_field_is_ignored() {
    for range in [
        "",
        "bytes=",
        "bytes=10-5",
        "bytes=0-9,10-5",
        "bytes=abc",
        "items=0-9",
        "bytes=0-9;",
        "bytes=18446744073709551616-",
        "bytes=-",
    ] {
        assert_eq!(
            plan_default(&get(range), LEN),
            Plan::Full,
            "Range: {range:?}"
        );
    }
}

#[test]
fn without_range_the_full_representation_is_served() {
    let request = Conditions {
        method_is_head_or_get: true,
        ..Conditions::default()
    };
    assert_eq!(plan_default(&request, LEN), Plan::Full);
}

#[test]
fn if_range_lets_ranges_apply_only_with_our_strong_etag() {
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let weak_ours = format!("W/{ETAG}");
    let padded = format!(" {ETAG} ");
    let cases = [
        (ETAG, Plan::Partial(r(0, 9))),
        (padded.as_str(), Plan::Partial(r(0, 9))),
        ("\"another\"", Plan::Full),
        (weak_ours.as_str(), Plan::Full),
        ("W/\"another\"", Plan::Full),
        (date, Plan::Full),
        ("", Plan::Full),
        ("garbage", Plan::Full),
        // A list is not a valid If-Range, even if it holds our tag.
        (&format!("{ETAG}, \"x\""), Plan::Full),
        // Our tag without its quotes is not our tag.
        (ETAG.trim_matches('"'), Plan::Full),
    ];
    for (if_range, want) in cases {
        let request = Conditions {
            if_range: Some(if_range),
            ..get("bytes=0-9")
        };
        assert_eq!(plan_default(&request, LEN), want, "If-Range: {if_range}");
    }
}

#[test]
fn if_range_without_range_changes_nothing() {
    let request = Conditions {
        method_is_head_or_get: true,
        if_range: Some(ETAG),
        ..Conditions::default()
    };
    assert_eq!(plan_default(&request, LEN), Plan::Full);
}

#[test]
fn if_range_mismatch_also_skips_the_416() {
    // The client's copy is stale: it gets the new bytes, not an error about its range.
    let request = Conditions {
        if_range: Some("\"stale\""),
        ..get("bytes=5000-")
    };
    assert_eq!(plan_default(&request, LEN), Plan::Full);
}

#[test]
fn if_none_match_answers_304_on_a_weak_match_in_any_form() {
    let weak = format!("W/{ETAG}");
    let list = format!("\"a\", {ETAG}, \"b\"");
    let weak_in_list = format!("\"a\",W/{ETAG}");
    let padded = format!("\t{ETAG} ");
    let with_empty_elements = format!(", ,{ETAG},");
    let cases = [
        (ETAG, Plan::NotModified),
        (weak.as_str(), Plan::NotModified),
        (list.as_str(), Plan::NotModified),
        (weak_in_list.as_str(), Plan::NotModified),
        (padded.as_str(), Plan::NotModified),
        (with_empty_elements.as_str(), Plan::NotModified),
        ("*", Plan::NotModified),
        (" * ", Plan::NotModified),
        ("\"other\"", Plan::Full),
        ("\"a\", W/\"b\"", Plan::Full),
        // A comma inside a tag does not split it.
        ("\"a,b\"", Plan::Full),
        // Malformed values never produce a 304.
        ("", Plan::Full),
        (ETAG.trim_matches('"'), Plan::Full),
        ("w/\"x\"", Plan::Full),
        (&format!("{ETAG} junk"), Plan::Full),
        (&format!("junk, {ETAG}"), Plan::Full),
        ("*, \"a\"", Plan::Full),
    ];
    for (if_none_match, want) in cases {
        let request = Conditions {
            method_is_head_or_get: true,
            if_none_match: Some(if_none_match),
            ..Conditions::default()
        };
        assert_eq!(
            plan_default(&request, LEN),
            want,
            "If-None-Match: {if_none_match}"
        );
    }
}

#[test]
fn if_none_match_is_evaluated_before_range_and_if_range() {
    let request = Conditions {
        method_is_head_or_get: true,
        if_none_match: Some(ETAG),
        if_range: Some("\"stale\""),
        range: Some("bytes=5000-"),
    };
    assert_eq!(plan_default(&request, LEN), Plan::NotModified);
    let request = Conditions {
        if_none_match: Some("\"other\""),
        ..get("bytes=0-9")
    };
    assert_eq!(plan_default(&request, LEN), Plan::Partial(r(0, 9)));
}

#[test]
fn other_methods_get_412_on_a_match_and_no_ranges() {
    let request = Conditions {
        method_is_head_or_get: false,
        if_none_match: Some("*"),
        if_range: None,
        range: Some("bytes=0-9"),
    };
    assert_eq!(plan_default(&request, LEN), Plan::PreconditionFailed);
    let request = Conditions {
        method_is_head_or_get: false,
        ..get("bytes=0-9")
    };
    assert_eq!(plan_default(&request, LEN), Plan::Full);
}

#[test]
fn a_zero_length_representation_satisfies_no_range() {
    for range in [
        "bytes=0-",
        "bytes=0-0",
        "bytes=-1",
        "bytes=-5",
        "bytes=-0",
        "bytes=0-9,-1",
    ] {
        assert_eq!(plan_default(&get(range), 0), Plan::Unsatisfiable, "{range}");
    }
    assert_eq!(plan_default(&get("bytes=oops"), 0), Plan::Full);
    let request = Conditions {
        method_is_head_or_get: true,
        if_none_match: Some(ETAG),
        range: Some("bytes=0-"),
        if_range: None,
    };
    assert_eq!(plan_default(&request, 0), Plan::NotModified);
}

#[test]
fn limits_default_and_validate() {
    assert_eq!(RangeLimits::default().validate(), Ok(()));
    let zero_ranges = RangeLimits {
        max_ranges: 0,
        ..RangeLimits::default()
    };
    assert_eq!(
        zero_ranges.validate(),
        Err(RangeConfigError::Zero("max_ranges"))
    );
    let zero_bytes = RangeLimits {
        max_header_bytes: 0,
        ..RangeLimits::default()
    };
    assert_eq!(
        zero_bytes.validate(),
        Err(RangeConfigError::Zero("max_header_bytes"))
    );
    let from_config: RangeLimits = serde_json::from_str(r#"{"max_ranges": 4}"#).unwrap();
    assert_eq!(from_config.max_ranges, 4);
    assert_eq!(from_config.max_header_bytes, 4096);
}

#[test]
fn content_range_values() {
    assert_eq!(r(0, 499).content_range(1000), "bytes 0-499/1000");
    assert_eq!(super::unsatisfied_content_range(1000), "bytes */1000");
    assert_eq!(r(10, 19).len(), 10);
    assert_eq!(r(10, 19).to_range(), 10..20);
    assert_eq!(ByteRange::new(2, 1), None);
}

/// The bytes a set of specs names in a representation of `len` bytes, by brute force.
fn covered_by_specs(specs: &[ByteRangeSpec], len: u64) -> Vec<bool> {
    (0..len)
        .map(|b| {
            specs.iter().any(|s| match *s {
                ByteRangeSpec::FromTo { first, last } => first <= b && b <= last,
                ByteRangeSpec::From { first } => first <= b,
                ByteRangeSpec::Suffix { len: n } => n > 0 && b >= len.saturating_sub(n),
            })
        })
        .collect()
}

fn small_spec(max: u64) -> impl Strategy<Value = String> {
    prop_oneof![
        (0..max, 0..max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (0..max).prop_map(|a| format!("{a}-")),
        (0..max).prop_map(|n| format!("-{n}")),
    ]
}

proptest! {
    #[test]
    fn planned_ranges_lie_inside_never_overlap_and_cover_exactly_what_was_asked(
        specs in proptest::collection::vec(small_spec(300), 1..24),
        len in 0u64..260,
        max_ranges in 1usize..20,
    ) {
        let header = format!("bytes={}", specs.join(","));
        let parsed = parse_range(&header).unwrap();
        let limits = RangeLimits { max_ranges, ..RangeLimits::default() };
        let want = covered_by_specs(&parsed, len);
        let ranges = match plan(&get(&header), len, ETAG, &limits) {
            Plan::Partial(range) => vec![range],
            Plan::Multipart(ranges) => {
                prop_assert!(ranges.len() >= 2 && ranges.len() <= max_ranges);
                ranges
            }
            Plan::Unsatisfiable => {
                prop_assert!(want.iter().all(|b| !b));
                return Ok(());
            }
            Plan::Full => {
                let runs = want.iter().enumerate().filter(|&(i, &b)| b && (i == 0 || !want[i - 1]));
                prop_assert!(runs.count() > max_ranges);
                return Ok(());
            }
            other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        };
        for pair in ranges.windows(2) {
            // Sorted, and at least one byte between neighbours.
            prop_assert!(pair[0].last() + 1 < pair[1].first());
        }
        let mut got = vec![false; usize::try_from(len).unwrap()];
        for range in &ranges {
            prop_assert!(range.last() < len);
            for b in range.first()..=range.last() {
                got[usize::try_from(b).unwrap()] = true;
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_plan_serves_only_bytes_inside_the_archive_sorted_and_apart(
        range in any::<String>(),
        if_range in any::<Option<String>>(),
        if_none_match in any::<Option<String>>(),
        method_is_head_or_get in any::<bool>(),
        len in any::<u64>(),
    ) {
        let request = Conditions {
            method_is_head_or_get,
            if_none_match: if_none_match.as_deref(),
            if_range: if_range.as_deref(),
            range: Some(&range),
        };
        let limits = RangeLimits::default();
        match plan(&request, len, ETAG, &limits) {
            Plan::Partial(r) => prop_assert!(r.first() <= r.last() && r.last() < len, "{r:?} of {len}"),
            Plan::Multipart(ranges) => {
                prop_assert!(ranges.len() >= 2 && ranges.len() <= limits.max_ranges);
                for r in &ranges {
                    prop_assert!(r.first() <= r.last() && r.last() < len, "{r:?} of {len}");
                }
                for pair in ranges.windows(2) {
                    prop_assert!(pair[0].last() + 1 < pair[1].first(), "{pair:?} touch or overlap");
                }
            }
            Plan::Unsatisfiable => prop_assert!(method_is_head_or_get),
            Plan::NotModified | Plan::PreconditionFailed | Plan::Full => {}
        }
    }
}
