use proptest::prelude::*;

use super::{Boundary, ByteRange, MultipartLayout, Plan, RangeLimits, Segment};
use super::{Conditions, multipart_layout, plan};
use crate::chunk_list::{Blake3Hash, ChunkList};

fn r(first: u64, last: u64) -> ByteRange {
    ByteRange::new(first, last).unwrap()
}

/// What a server would send: the literals as they are, the ranges from `data`.
fn render(layout: &MultipartLayout, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for segment in &layout.segments {
        match segment {
            Segment::Literal(s) => body.extend_from_slice(s.as_bytes()),
            Segment::Bytes(range) => body.extend_from_slice(slice(data, range)),
        }
    }
    body
}

fn slice<'a>(data: &'a [u8], range: &ByteRange) -> &'a [u8] {
    let span = range.to_range();
    &data[usize::try_from(span.start).unwrap()..usize::try_from(span.end).unwrap()]
}

/// One part of a parsed multipart body.
#[derive(Debug, PartialEq)]
struct Part {
    content_type: String,
    content_range: String,
    bytes: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A small, strict `multipart/byteranges` reader, as a client would write one: it finds the
/// boundary in the `Content-Type` and splits the body on delimiters, not on `Content-Range`.
fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("multipart/byteranges content type");
    let delimiter = format!("--{boundary}");
    // An empty preamble: the body opens with CRLF and the first delimiter, as nginx's does.
    let mut rest = body
        .strip_prefix(format!("\r\n{delimiter}\r\n").as_bytes())
        .expect("body starts with CRLF and the first delimiter");
    let next_delimiter = format!("\r\n{delimiter}");
    let mut parts = Vec::new();
    loop {
        let headers_end = find(rest, b"\r\n\r\n").expect("end of part headers");
        let headers = std::str::from_utf8(&rest[..headers_end]).unwrap();
        let mut content_type = None;
        let mut content_range = None;
        for line in headers.split("\r\n") {
            let (name, value) = line.split_once(": ").expect("header line");
            match name {
                "Content-Type" => content_type = Some(value.to_owned()),
                "Content-Range" => content_range = Some(value.to_owned()),
                other => panic!("unexpected part header {other}"),
            }
        }
        rest = &rest[headers_end + 4..];
        let end = find(rest, next_delimiter.as_bytes()).expect("delimiter after the part");
        parts.push(Part {
            content_type: content_type.expect("Content-Type"),
            content_range: content_range.expect("Content-Range"),
            bytes: rest[..end].to_vec(),
        });
        rest = &rest[end + next_delimiter.len()..];
        if rest == b"--\r\n" {
            return parts;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after a delimiter");
    }
}

#[test]
fn the_body_is_exactly_the_rfc_shape() {
    let boundary = Boundary::new("THIS_STRING_SEPARATES").unwrap();
    let layout = multipart_layout(&[r(0, 3), r(6, 7)], 10, "application/x-pack", &boundary);
    let body = render(&layout, b"0123456789");
    let want = "\r\n\
                --THIS_STRING_SEPARATES\r\n\
                Content-Type: application/x-pack\r\n\
                Content-Range: bytes 0-3/10\r\n\
                \r\n\
                0123\r\n\
                --THIS_STRING_SEPARATES\r\n\
                Content-Type: application/x-pack\r\n\
                Content-Range: bytes 6-7/10\r\n\
                \r\n\
                67\r\n\
                --THIS_STRING_SEPARATES--\r\n";
    assert_eq!(String::from_utf8(body).unwrap(), want);
    assert_eq!(layout.content_length, u64::try_from(want.len()).unwrap());
    assert_eq!(
        layout.content_type,
        "multipart/byteranges; boundary=THIS_STRING_SEPARATES"
    );
    // Literals and ranges alternate, so a server streams without buffering.
    assert_eq!(layout.segments.len(), 5);
    assert_eq!(layout.segments[1], Segment::Bytes(r(0, 3)));
    assert_eq!(layout.segments[3], Segment::Bytes(r(6, 7)));
}

#[test]
fn a_planned_multipart_body_parses_back_into_its_parts() {
    let data: Vec<u8> = (0..5000u32)
        .map(|i| u8::try_from(i * 7 % 251).unwrap())
        .collect();
    let len = u64::try_from(data.len()).unwrap();
    let list = ChunkList::new(Blake3Hash::of(&data), Vec::new()).unwrap();
    let etag = list.etag();
    let request = Conditions {
        method_is_head_or_get: true,
        range: Some("bytes=4990-,100-199,150-299,-5,0-9"),
        ..Conditions::default()
    };
    let Plan::Multipart(ranges) = plan(&request, len, &etag, &RangeLimits::default()) else {
        panic!("expected a multipart plan");
    };
    assert_eq!(ranges, [r(0, 9), r(100, 299), r(4990, 4999)]);
    let layout = multipart_layout(
        &ranges,
        len,
        "application/octet-stream",
        &Boundary::from_etag(&etag),
    );
    let body = render(&layout, &data);
    assert_eq!(layout.content_length, u64::try_from(body.len()).unwrap());
    let parts = parse_multipart(&layout.content_type, &body);
    let want: Vec<Part> = ranges
        .iter()
        .map(|range| Part {
            content_type: "application/octet-stream".to_owned(),
            content_range: range.content_range(len),
            bytes: slice(&data, range).to_vec(),
        })
        .collect();
    assert_eq!(parts, want);
    assert_eq!(parts[1].content_range, "bytes 100-299/5000");
}

#[test]
fn boundaries_are_checked() {
    for ok in [
        "a",
        "THIS_STRING_SEPARATES",
        "packyard-0af3",
        "a.b+c-d_e",
        &"x".repeat(70),
    ] {
        assert_eq!(
            Boundary::new(ok).map(|b| b.to_string()),
            Some(ok.to_owned())
        );
    }
    for bad in [
        "",
        "a b",
        "a\r\nb",
        "a\"b",
        "a;b",
        "a/b",
        "é",
        &"x".repeat(71),
    ] {
        assert_eq!(Boundary::new(bad), None, "{bad:?}");
    }
}

#[test]
fn the_boundary_from_an_etag_is_valid_and_stable() {
    let etag = ChunkList::new(Blake3Hash::of(b"archive"), Vec::new())
        .unwrap()
        .etag();
    let boundary = Boundary::from_etag(&etag);
    assert_eq!(Boundary::new(boundary.as_str()), Some(boundary.clone()));
    assert_eq!(boundary, Boundary::from_etag(&etag));
    assert_eq!(boundary.as_str().len(), 70);
    assert!(boundary.as_str().starts_with("packyard-"));
    assert!(etag.contains(&boundary.as_str()["packyard-".len()..]));
    // Whatever the tag, the result is a valid boundary.
    for odd in ["", "W/\"x y\"", "\"\u{e9}\""] {
        let b = Boundary::from_etag(odd);
        assert_eq!(Boundary::new(b.as_str()), Some(b));
    }
}

fn ranges_within(len: u64) -> impl Strategy<Value = Vec<ByteRange>> {
    proptest::collection::vec((0..len, 0..len), 0..20).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(a, b)| ByteRange::new(a.min(b), a.max(b)).unwrap())
            .collect()
    })
}

proptest! {
    #[test]
    fn the_declared_length_is_the_sum_of_the_segments(
        (len, ranges) in (1u64..1_000_000_000_000).prop_flat_map(|len| (Just(len), ranges_within(len))),
        content_type in "[a-z]{1,10}/[a-z.+-]{1,20}",
        boundary in "[A-Za-z0-9_.+-]{1,70}",
    ) {
        let boundary = Boundary::new(&boundary).unwrap();
        let layout = multipart_layout(&ranges, len, &content_type, &boundary);
        let sum: u64 = layout.segments.iter().map(Segment::len).sum();
        prop_assert_eq!(layout.content_length, sum);
        prop_assert!(layout.segments.iter().all(|s| !s.is_empty()));
        let bytes = layout.segments.iter().filter(|s| matches!(s, Segment::Bytes(_))).count();
        prop_assert_eq!(bytes, ranges.len());
    }

    #[test]
    fn any_planned_multipart_body_parses_back(
        data in proptest::collection::vec(any::<u8>(), 2..400),
        specs in proptest::collection::vec((0u64..450, 0u64..450), 2..10),
    ) {
        let len = u64::try_from(data.len()).unwrap();
        let set: Vec<String> = specs.iter().map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))).collect();
        let header = format!("bytes={}", set.join(","));
        let etag = format!("\"{}\"", Blake3Hash::of(&data).to_hex());
        let request = Conditions { method_is_head_or_get: true, range: Some(&header), ..Conditions::default() };
        if let Plan::Multipart(ranges) = plan(&request, len, &etag, &RangeLimits::default()) {
            let layout = multipart_layout(&ranges, len, "application/octet-stream", &Boundary::from_etag(&etag));
            let body = render(&layout, &data);
            prop_assert_eq!(layout.content_length, u64::try_from(body.len()).unwrap());
            let parts = parse_multipart(&layout.content_type, &body);
            prop_assert_eq!(parts.len(), ranges.len());
            for (part, range) in parts.iter().zip(&ranges) {
                prop_assert_eq!(&part.content_range, &range.content_range(len));
                prop_assert_eq!(&part.bytes[..], slice(&data, range));
            }
        }
    }
}
