use proptest::prelude::*;

use super::ByteRangeSpec::{self, From, FromTo, Suffix};
use super::parse_range;

#[test]
fn each_form_of_range_spec_parses() {
    let cases: &[(&str, &[ByteRangeSpec])] = &[
        (
            "bytes=0-499",
            &[FromTo {
                first: 0,
                last: 499,
            }],
        ),
        ("bytes=0-0", &[FromTo { first: 0, last: 0 }]),
        ("bytes=9500-", &[From { first: 9500 }]),
        ("bytes=-500", &[Suffix { len: 500 }]),
        ("bytes=-0", &[Suffix { len: 0 }]),
        ("bytes=007-010", &[FromTo { first: 7, last: 10 }]),
        (
            "bytes=0-0,-1",
            &[FromTo { first: 0, last: 0 }, Suffix { len: 1 }],
        ),
        (
            "bytes=500-600,601-999,0-",
            &[
                FromTo {
                    first: 500,
                    last: 600,
                },
                FromTo {
                    first: 601,
                    last: 999,
                },
                From { first: 0 },
            ],
        ),
        ("bytes=18446744073709551615-", &[From { first: u64::MAX }]),
    ];
    for (header, want) in cases {
        assert_eq!(parse_range(header).as_deref(), Some(*want), "{header:?}");
    }
}

#[test]
fn unit_is_case_insensitive_and_whitespace_around_elements_is_allowed() {
    let want = [FromTo { first: 1, last: 2 }, Suffix { len: 3 }];
    for header in [
        "BYTES=1-2,-3",
        "Bytes=1-2,-3",
        "bytes=1-2 , -3",
        "bytes=1-2,\t-3",
        "  bytes=1-2,-3  ",
        "bytes= 1-2,-3 ",
        "bytes=1-2,,-3",
        "bytes=,1-2, ,-3,",
    ] {
        assert_eq!(
            parse_range(header).as_deref(),
            Some(&want[..]),
            "{header:?}"
        );
    }
}

#[test]
fn anything_malformed_is_ignored() {
    for header in [
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes= , ",
        "bytes=-",
        "bytes=5",
        "bytes=10-5",
        "bytes=1-2,10-5",
        "bytes=1-2,x",
        "bytes=a-b",
        "bytes=+1-2",
        "bytes=1-+2",
        "bytes=-+2",
        "bytes=--2",
        "bytes=1--2",
        "bytes=1-2-3",
        "bytes=1 -2",
        "bytes=1- 2",
        "bytes = 1-2",
        "bytes =1-2",
        "bites=1-2",
        "items=1-2",
        "bytes:1-2",
        "1-2",
        "bytes=0x10-0x20",
        "bytes=1.5-2",
        "bytes=18446744073709551616-",
        "bytes=0-18446744073709551616",
        "bytes=-18446744073709551616",
        "bytes=99999999999999999999999-",
        "bytes=１-2",
        "bytes=1-2;q=1",
        "bytes=1-2\r\n",
    ] {
        assert_eq!(parse_range(header), None, "{header:?}");
    }
}

fn spec() -> impl Strategy<Value = ByteRangeSpec> {
    prop_oneof![
        (any::<u64>(), any::<u64>()).prop_map(|(a, b)| FromTo {
            first: a.min(b),
            last: a.max(b),
        }),
        any::<u64>().prop_map(|first| From { first }),
        any::<u64>().prop_map(|len| Suffix { len }),
    ]
}

fn write_spec(spec: &ByteRangeSpec) -> String {
    match spec {
        FromTo { first, last } => format!("{first}-{last}"),
        From { first } => format!("{first}-"),
        Suffix { len } => format!("-{len}"),
    }
}

/// What the fuzz target asserts of any field: if it parses, the set is not empty and its
/// plain form (`bytes=` and the specs joined by commas) parses to the same specs.
fn round_trips(header: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    if let Some(specs) = parse_range(header) {
        prop_assert!(!specs.is_empty(), "{header:?} parsed to no range");
        let plain = format!(
            "bytes={}",
            specs.iter().map(write_spec).collect::<Vec<_>>().join(",")
        );
        prop_assert_eq!(parse_range(&plain), Some(specs));
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_field_that_parses_is_a_nonempty_set_that_reads_back_from_its_plain_form(
        header in any::<String>(),
    ) {
        round_trips(&header)?;
    }

    #[test]
    fn near_misses_that_parse_read_back_from_their_plain_form(
        header in "[bBytesYTES]{0,6}[= ]{0,2}[0-9, \\t-]{0,40}",
    ) {
        round_trips(&header)?;
    }

    #[test]
    fn what_a_client_writes_parses_back(
        specs in proptest::collection::vec(spec(), 1..20),
        unit in prop_oneof![Just("bytes"), Just("BYTES"), Just("Bytes")],
        sep in prop_oneof![Just(","), Just(", "), Just(" ,\t"), Just(",,")],
    ) {
        let set: Vec<String> = specs.iter().map(write_spec).collect();
        let header = format!("{unit}={}", set.join(sep));
        prop_assert_eq!(parse_range(&header), Some(specs));
    }
}
