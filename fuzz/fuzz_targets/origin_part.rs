//! The origin's upload endpoint: the request line of a part `PUT` or a status `GET`
//! (`packyard_origin::upload::Endpoint`), and the part layout it checks parts against
//! (`packyard_origin::staging::PartLayout`).
//!
//! The input is text, three lines: a request line (`PUT /v1/uploads/f1/parts/3?expires=…`),
//! a file size and a part size (`10485760 4194304`), and the stored parts as `number=length`
//! pairs (`1=4194304 3=17`). The endpoint: nothing panics, every refusal is a 400, 404 or 405
//! whose path parses with the right method when it is a 405, and an endpoint written back
//! parses to itself. The upload credential in the query
//! (`packyard_core::upload_credential::Credential`): reading it never panics, and one that
//! reads is written back the same way. The layout: the parts cover every byte of the file exactly once, all but the
//! last are full and the last is not empty, there is no part 0 or part past the last, and
//! `missing` lists, in order, exactly the parts not stored with their expected length.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Component, Path};

use http::{Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use packyard_core::upload_credential::Credential;
use packyard_origin::staging::{PartLayout, is_valid_file_id};
use packyard_origin::upload::{Endpoint, UploadError};

/// Layouts with at most this many parts are walked part by part, and `missing` is called
/// on them; larger ones are checked around sampled bytes only, to keep each run fast.
const WALK_PARTS: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let request = lines.next().unwrap_or_default();
    let (method, target) = request.split_once(' ').unwrap_or(("PUT", request));
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    check_credential(query);
    let number = match Method::from_bytes(method.as_bytes()) {
        Ok(method) => check_endpoint(&method, path),
        Err(_) => None,
    };

    let mut sizes = lines.next().unwrap_or_default().split(' ');
    let (Some(Ok(file_size)), Some(Ok(part_bytes))) = (
        sizes.next().map(str::parse::<u64>),
        sizes.next().map(str::parse::<u64>),
    ) else {
        return;
    };
    let present: BTreeMap<u64, u64> = lines
        .next()
        .unwrap_or_default()
        .split(' ')
        .filter_map(|pair| {
            let (n, len) = pair.split_once('=')?;
            Some((n.parse().ok()?, len.parse().ok()?))
        })
        .take(256)
        .collect();
    let layout = PartLayout::new(file_size, part_bytes);
    assert_eq!(layout.part_bytes, part_bytes.max(1));
    check_layout(&layout, &present, number);
});

/// Reads the upload credential of a query: no panic, and what reads writes back alike.
fn check_credential(query: Option<&str>) {
    if let Ok(Some(credential)) = Credential::from_query(query) {
        let again = Credential::from_query(Some(&credential.query()));
        assert_eq!(
            again,
            Ok(Some(credential)),
            "{query:?} reads back differently"
        );
    }
}

/// Checks one request line; returns the part number of a `PutPart`.
fn check_endpoint(method: &Method, path: &str) -> Option<u64> {
    let parsed = Endpoint::parse(method, path);
    let writes = |e: &Endpoint| {
        matches!(
            e,
            Endpoint::PutPart { .. }
                | Endpoint::PutChunkList { .. }
                | Endpoint::PutChunk { .. }
                | Endpoint::PutChunkBundle { .. }
        )
    };
    let wanted = |e: &Endpoint| if writes(e) { Method::PUT } else { Method::GET };
    match parsed {
        Ok(endpoint) => {
            let ok = if writes(&endpoint) {
                method == Method::PUT
            } else {
                method == Method::GET || method == Method::HEAD
            };
            assert!(ok, "{method} accepted for {endpoint:?}");
            let rendered = match &endpoint {
                Endpoint::PutPart { file, number } => format!("/v1/uploads/{file}/parts/{number}"),
                Endpoint::Status { file } => format!("/v1/uploads/{file}"),
                Endpoint::PutChunkList { file } => format!("/v1/uploads/{file}/chunks"),
                Endpoint::PutChunk { file, id } => format!("/v1/uploads/{file}/chunks/{id}"),
                Endpoint::PutChunkBundle { file } => format!("/v1/uploads/{file}/chunks/bundle"),
                Endpoint::Health => "/healthz".to_owned(),
                Endpoint::Ready => "/readyz".to_owned(),
                Endpoint::Metrics => "/metrics".to_owned(),
            };
            let again = Endpoint::parse(&wanted(&endpoint), &rendered);
            assert_eq!(
                again.as_ref().ok(),
                Some(&endpoint),
                "{rendered:?} parses differently"
            );
            let (Endpoint::PutPart { file, .. }
            | Endpoint::Status { file }
            | Endpoint::PutChunkList { file }
            | Endpoint::PutChunk { file, .. }
            | Endpoint::PutChunkBundle { file }) = &endpoint
            else {
                return None;
            };
            // A file id the handlers accept is one plain path component under staging.
            if is_valid_file_id(file) {
                let components: Vec<_> = Path::new(file).components().collect();
                assert!(
                    matches!(components.as_slice(), [Component::Normal(_)]),
                    "file id {file:?} is not one path component"
                );
            }
            match endpoint {
                Endpoint::PutPart { number, .. } => {
                    assert!(number >= 1, "part number 0 accepted");
                    Some(number)
                }
                _ => None,
            }
        }
        Err(e) => {
            let status = e.status();
            assert!(
                [
                    StatusCode::BAD_REQUEST,
                    StatusCode::NOT_FOUND,
                    StatusCode::METHOD_NOT_ALLOWED
                ]
                .contains(&status),
                "{method} {path:?} refused with {status}: {e}"
            );
            if let UploadError::MethodNotAllowed { allowed, .. } = &e {
                let right = if *allowed == "PUT" {
                    Method::PUT
                } else {
                    Method::GET
                };
                assert!(
                    Endpoint::parse(&right, path).is_ok(),
                    "405 for {path:?}, which {allowed} does not reach either"
                );
            }
            let response = axum::response::IntoResponse::into_response(e);
            assert_eq!(response.status(), status);
            None
        }
    }
}

fn check_layout(layout: &PartLayout, present: &BTreeMap<u64, u64>, number: Option<u64>) {
    let (size, part) = (layout.file_size, layout.part_bytes);
    let count = layout.count();
    assert_eq!(count == 0, size == 0, "{count} parts for {size} bytes");
    assert_eq!(layout.expected_len(0), None, "a part 0");
    if let Some(past) = count.checked_add(1) {
        assert_eq!(layout.expected_len(past), None, "a part past the last");
    }
    if count > 0 {
        let last = layout.expected_len(count).expect("the last part");
        assert!((1..=part).contains(&last), "last part of {last} bytes");
        assert_eq!(
            u128::from(count - 1) * u128::from(part) + u128::from(last),
            u128::from(size),
            "the parts do not add up to the file"
        );
    }
    if let Some(n) = number {
        assert_eq!(
            layout.expected_len(n).is_some(),
            n <= count,
            "part {n} of {count}"
        );
    }

    // Bytes at both ends, in the middle, and wherever the stored lengths point.
    let mut bytes = vec![0, size / 2, size.saturating_sub(1)];
    bytes.extend(present.values().map(|v| v.checked_rem(size).unwrap_or(0)));
    for b in bytes.into_iter().filter(|b| *b < size) {
        let n = b / part + 1;
        let offset = (n - 1) * part;
        let len = layout
            .expected_len(n)
            .expect("the part holding a byte of the file");
        assert!(
            offset <= b && b - offset < len,
            "byte {b} is not in part {n}"
        );
        assert!(n == count || len == part, "part {n} of {count} is short");
        if n > 1 {
            assert_eq!(
                layout.expected_len(n - 1),
                Some(part),
                "part {} is short",
                n - 1
            );
        }
    }

    if count > WALK_PARTS {
        return;
    }
    let mut offset = 0u64;
    let mut complete = BTreeMap::new();
    for n in 1..=count {
        let len = layout.expected_len(n).expect("every part up to the count");
        offset += len;
        complete.insert(n, len);
    }
    assert_eq!(offset, size, "the parts do not cover the file");
    assert!(
        layout.missing(&complete).is_empty(),
        "a complete file misses parts"
    );
    let all: Vec<u64> = (1..=count).collect();
    assert_eq!(
        layout.missing(&BTreeMap::new()),
        all,
        "an empty file misses other parts"
    );
    let missing = layout.missing(present);
    assert!(
        missing.windows(2).all(|w| w[0] < w[1]),
        "missing is not in order"
    );
    for n in 1..=count {
        let stored_right = present.get(&n).copied() == layout.expected_len(n);
        assert_eq!(
            missing.binary_search(&n).is_ok(),
            !stored_right,
            "part {n}: stored {:?}, missing {missing:?}",
            present.get(&n)
        );
    }
    assert!(
        missing.iter().all(|n| (1..=count).contains(n)),
        "a missing part out of range"
    );
}
