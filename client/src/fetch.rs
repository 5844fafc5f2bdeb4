//! Asking an edge for byte ranges of one version: several ranges in one request (the answer a
//! `206` with one range or a `multipart/byteranges` body), under `If-Range` with the
//! version's strong ETag, so bytes of another version are never taken for these.

use std::ops::Range;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, IF_RANGE, RANGE};

use crate::error::ClientError;

/// Byte ranges, each with its bytes.
pub(crate) type Parts = Vec<(Range<u64>, Vec<u8>)>;

/// The byte ranges of `url` in `ranges` (sorted, disjoint), each with its bytes; also the
/// length of the whole body received (a multipart answer's framing included).
pub(crate) async fn ranges(
    http: &reqwest::Client,
    url: &str,
    etag: &str,
    ranges: &[Range<u64>],
) -> Result<(Parts, u64), ClientError> {
    let spec = ranges
        .iter()
        .map(|r| format!("{}-{}", r.start, r.end - 1))
        .collect::<Vec<_>>()
        .join(",");
    let response = http
        .get(url)
        .header(RANGE, format!("bytes={spec}"))
        .header(IF_RANGE, etag)
        .send()
        .await
        .map_err(|e| ClientError::unreachable(url, &e))?;
    let status = response.status();
    if status == StatusCode::OK {
        // If-Range did not match: the URL serves other bytes now.
        return Err(ClientError::Changed(url.to_owned()));
    }
    if status != StatusCode::PARTIAL_CONTENT {
        let body = response.text().await.unwrap_or_default();
        return Err(ClientError::refused(url, status.as_u16(), &body));
    }
    let content_type = header(&response, CONTENT_TYPE);
    let content_range = header(&response, CONTENT_RANGE);
    let body = response
        .bytes()
        .await
        .map_err(|e| ClientError::unreachable(url, &e))?;
    let parts = match content_type.strip_prefix("multipart/byteranges") {
        Some(params) => multipart(params, &body)?,
        None => vec![(content_range_of(&content_range)?, body.to_vec())],
    };
    for (range, bytes) in &parts {
        if bytes.len() as u64 != range.end - range.start {
            return Err(ClientError::Protocol(format!(
                "a part says bytes {}-{} but holds {} bytes",
                range.start,
                range.end - 1,
                bytes.len()
            )));
        }
    }
    Ok((parts, body.len() as u64))
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `bytes A-B/LEN` as `A..B+1`.
fn content_range_of(value: &str) -> Result<Range<u64>, ClientError> {
    let bad = || ClientError::Protocol(format!("Content-Range {value:?} is not bytes A-B/LEN"));
    let spec = value.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (span, _len) = spec.split_once('/').ok_or_else(bad)?;
    let (a, b) = span.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if b < a {
        return Err(bad());
    }
    Ok(a..b + 1)
}

/// The parts of a `multipart/byteranges` body; `params` is what follows the media type.
fn multipart(params: &str, body: &[u8]) -> Result<Parts, ClientError> {
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .ok_or_else(|| ClientError::Protocol("a multipart answer without a boundary".into()))?;
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes(), 0)
        .ok_or_else(|| ClientError::Protocol("no boundary in the multipart body".into()))?;
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        let head_end = find(body, b"\r\n\r\n", at)
            .ok_or_else(|| ClientError::Protocol("a part without its header's end".into()))?;
        let head = String::from_utf8_lossy(&body[at..head_end]);
        let range = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-range")
                    .then(|| value.trim().to_owned())
            })
            .ok_or_else(|| ClientError::Protocol("a part without Content-Range".into()))?;
        let range = content_range_of(&range)?;
        let start = head_end + 4;
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| ClientError::Protocol("a part too large".into()))?;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= body.len())
            .ok_or_else(|| ClientError::Protocol("a part longer than the body".into()))?;
        parts.push((range, body[start..end].to_vec()));
        at = find(body, delimiter.as_bytes(), end)
            .ok_or_else(|| ClientError::Protocol("the multipart body does not end".into()))?;
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_gives_each_part_its_range_with_or_without_a_preamble() {
        for preamble in ["", "\r\n"] {
            let body = format!(
                "{preamble}--XY\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-2/10\r\n\r\nabc\
                 \r\n--XY\r\nContent-Range: bytes 7-9/10\r\n\r\nhij\r\n--XY--\r\n"
            );
            let parts = multipart("; boundary=XY", body.as_bytes()).unwrap();
            assert_eq!(
                parts,
                [(0..3, b"abc".to_vec()), (7..10, b"hij".to_vec())],
                "{preamble:?}"
            );
        }
    }

    #[test]
    fn a_truncated_or_mislabelled_part_is_refused() {
        let body = "--XY\r\nContent-Range: bytes 0-9/10\r\n\r\nabc\r\n--XY--";
        assert!(multipart("; boundary=XY", body.as_bytes()).is_err());
        assert!(content_range_of("bytes 5-2/10").is_err());
        assert!(content_range_of("items 0-1/2").is_err());
        assert_eq!(content_range_of("bytes 2-5/10").unwrap(), 2..6);
    }
}
