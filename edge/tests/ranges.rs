//! Range and conditional requests against an edge over a filled state and a memory source,
//! every answer compared with the exact archive bytes (SPEC §6, RFC 9110).

#![allow(clippy::unwrap_used)]

mod support;

use packyard_proto::catalog::v1 as pb;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    IF_RANGE, RANGE,
};
use support::{Archive, LAZY, MemorySource, TestEdge, app_change, changes, channel, client};

const LEN: usize = 300_000;

async fn edge() -> (TestEdge, Archive, Archive) {
    let v1 = Archive::new(LEN, 1, 16 << 10);
    let v2 = Archive::new(LEN + 1000, 2, 16 << 10);
    let source = MemorySource::with(&[&v1, &v2]);
    let events = [
        support::empty_snapshot(),
        changes(
            2,
            vec![
                app_change(),
                pb::change::Change::VersionCompleted(v1.completed("p1", "level-1", 1, LAZY)),
                channel("p1", pb::Channel::Store, 1),
            ],
        ),
    ];
    (TestEdge::start(&events, source, None).await, v1, v2)
}

fn immutable(edge: &TestEdge, n: u32) -> String {
    format!("{}/apps/app1/packs/level-1/versions/{n}", edge.url)
}

async fn get(url: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = client().get(url);
    if let Some(r) = range {
        request = request.header(RANGE, r);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_full_get_returns_every_byte_with_the_validators() {
    let (edge, v1, _) = edge().await;
    let r = get(&immutable(&edge, 1), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[ETAG], v1.etag().as_str());
    assert_eq!(r.headers()[ACCEPT_RANGES], "bytes");
    assert_eq!(r.headers()[CONTENT_LENGTH], LEN.to_string().as_str());
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.bytes().await.unwrap(), v1.bytes);
}

#[tokio::test]
async fn single_open_ended_and_suffix_ranges_return_the_exact_bytes() {
    let (edge, v1, _) = edge().await;
    let url = immutable(&edge, 1);
    let cases: [(&str, usize, usize); 5] = [
        ("bytes=0-0", 0, 0),
        ("bytes=1000-70000", 1000, 70000),
        ("bytes=299000-", 299_000, LEN - 1),
        ("bytes=-5000", LEN - 5000, LEN - 1),
        ("bytes=250000-999999999", 250_000, LEN - 1),
    ];
    for (range, first, last) in cases {
        let r = get(&url, Some(range)).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            r.headers()[CONTENT_RANGE],
            format!("bytes {first}-{last}/{LEN}").as_str(),
            "{range}"
        );
        assert_eq!(r.bytes().await.unwrap(), &v1.bytes[first..=last], "{range}");
    }
}

/// Splits a `multipart/byteranges` body into (Content-Range, bytes) parts.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    loop {
        let at = find(rest, delimiter.as_bytes()).unwrap();
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            return parts;
        }
        rest = &rest[2..]; // CRLF after the delimiter
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = std::str::from_utf8(&rest[..head_end]).unwrap();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: "))
            .unwrap()
            .to_owned();
        rest = &rest[head_end + 4..];
        let (first, last) = range
            .strip_prefix("bytes ")
            .unwrap()
            .split_once('/')
            .unwrap()
            .0
            .split_once('-')
            .unwrap();
        let n: usize = last.parse::<usize>().unwrap() - first.parse::<usize>().unwrap() + 1;
        parts.push((range, rest[..n].to_vec()));
        rest = &rest[n..];
        assert!(rest.starts_with(b"\r\n"));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test]
async fn multiple_ranges_come_back_as_multipart_with_the_exact_bytes() {
    let (edge, v1, _) = edge().await;
    let r = get(&immutable(&edge, 1), Some("bytes=0-99, 50000-60000, -10")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    let content_type = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap();
    let length: usize = r.headers()[CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    let parts = parse_multipart(&body, boundary);
    let expected = [(0, 99), (50_000, 60_000), (LEN - 10, LEN - 1)];
    assert_eq!(parts.len(), expected.len());
    for ((range, bytes), (first, last)) in parts.iter().zip(expected) {
        assert_eq!(range, &format!("bytes {first}-{last}/{LEN}"));
        assert_eq!(bytes.as_slice(), &v1.bytes[first..=last]);
    }
}

#[tokio::test]
async fn overlapping_ranges_are_merged_into_one() {
    let (edge, v1, _) = edge().await;
    let r = get(
        &immutable(&edge, 1),
        Some("bytes=100-200, 150-300, 301-400"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()[CONTENT_RANGE],
        format!("bytes 100-400/{LEN}").as_str()
    );
    assert_eq!(r.bytes().await.unwrap(), &v1.bytes[100..=400]);
}

#[tokio::test]
async fn an_unsatisfiable_range_is_416_with_the_length() {
    let (edge, _, _) = edge().await;
    let r = get(&immutable(&edge, 1), Some(&format!("bytes={LEN}-"))).await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        r.headers()[CONTENT_RANGE],
        format!("bytes */{LEN}").as_str()
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("range"));
}

#[tokio::test]
async fn a_malformed_range_is_ignored_and_the_whole_archive_served() {
    let (edge, v1, _) = edge().await;
    for bad in ["bytes=5-1", "bytes=abc", "items=0-10", "bytes=1-2,,x"] {
        let r = get(&immutable(&edge, 1), Some(bad)).await;
        assert_eq!(r.status(), StatusCode::OK, "{bad}");
        assert_eq!(r.bytes().await.unwrap(), v1.bytes, "{bad}");
    }
}

#[tokio::test]
async fn head_has_the_header_fields_of_get_and_no_body() {
    let (edge, v1, _) = edge().await;
    let r = client()
        .head(immutable(&edge, 1))
        .header(RANGE, "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()[CONTENT_LENGTH], "10");
    assert_eq!(r.headers()[ETAG], v1.etag().as_str());
    assert_eq!(
        r.headers()[CONTENT_RANGE],
        format!("bytes 10-19/{LEN}").as_str()
    );
    assert!(r.bytes().await.unwrap().is_empty());
    let full = client().head(immutable(&edge, 1)).send().await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()[CONTENT_LENGTH], LEN.to_string().as_str());
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304() {
    let (edge, v1, _) = edge().await;
    let r = client()
        .get(immutable(&edge, 1))
        .header(IF_NONE_MATCH, v1.etag())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()[ETAG], v1.etag().as_str());
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn if_range_with_the_old_etag_after_a_new_version_gives_the_whole_new_archive() {
    let (edge, v1, v2) = edge().await;
    let url = format!("{}/apps/app1/store/level-1", edge.url);
    let first = get(&url, Some("bytes=0-999")).await;
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    let old_etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert_eq!(old_etag, v1.etag());
    assert_eq!(first.bytes().await.unwrap(), &v1.bytes[..1000]);
    // The store moves to version 2 while the device is half-way.
    edge.apply(&changes(
        3,
        vec![
            pb::change::Change::VersionCompleted(v2.completed("p1", "level-1", 2, LAZY)),
            channel("p1", pb::Channel::Store, 2),
        ],
    ));
    let resumed = client()
        .get(&url)
        .header(RANGE, "bytes=1000-")
        .header(IF_RANGE, &old_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    assert_eq!(resumed.headers()[ETAG], v2.etag().as_str());
    assert_eq!(resumed.bytes().await.unwrap(), v2.bytes);
    // With the current tag the range applies.
    let ranged = client()
        .get(&url)
        .header(RANGE, "bytes=1000-")
        .header(IF_RANGE, v2.etag())
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.bytes().await.unwrap(), &v2.bytes[1000..]);
}

#[tokio::test]
async fn http2_serves_the_same_bytes_and_ranges() {
    let (edge, v1, _) = edge().await;
    let h2 = support::h2_client();
    let r = h2.get(immutable(&edge, 1)).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.bytes().await.unwrap(), v1.bytes);
    let r = h2
        .get(immutable(&edge, 1))
        .header(RANGE, "bytes=-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap(), &v1.bytes[LEN - 1..]);
}

#[tokio::test]
async fn unknown_paths_and_versions_are_404_with_a_detail_and_other_methods_405() {
    let (edge, _, _) = edge().await;
    for path in [
        "/apps/app1/packs/level-1/versions/9",
        "/apps/app1/store/nope",
        "/apps/app1/beta/manifest",
        "/nothing",
    ] {
        let r = client()
            .get(format!("{}{path}", edge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["detail"].is_string(), "{path}");
    }
    let r = client().post(immutable(&edge, 1)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
}
