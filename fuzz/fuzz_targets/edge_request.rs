//! A device's request line as the edge parses it: the method and path into an `Endpoint`,
//! the query into a `Query` (`packyard_edge::http`).
//!
//! The input is a request line, `METHOD SP request-target`. The target goes in twice: as
//! `http::Uri` splits it (what the server hands the parser) and split at `?` by hand (any
//! string at all). Nothing panics; every refusal is a 404 or a 405, 405 exactly when the
//! path names something but the method is neither GET nor HEAD; GET and HEAD see the same
//! paths; an endpoint, written back as a path with its segments percent-encoded, parses to
//! itself; a query written back parses to itself, and the first copy of a parameter wins.
#![no_main]

use http::{Method, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;
use packyard_edge::http::{Endpoint, HttpError, Query};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    check_path(&method, path);
    check_query(query);
    if let Ok(uri) = target.parse::<Uri>() {
        check_path(&method, uri.path());
        check_query(uri.query());
    }
});

fn check_path(method: &Method, path: &str) {
    let get = Endpoint::parse(&Method::GET, path);
    let head = Endpoint::parse(&Method::HEAD, path);
    assert_eq!(get, head, "GET and HEAD parse {path:?} differently");
    let parsed = Endpoint::parse(method, path);
    if method == Method::GET || method == Method::HEAD {
        assert_eq!(parsed, get);
    } else {
        match (&parsed, &get) {
            (Err(HttpError::MethodNotAllowed(_)), Ok(_)) => {}
            (Err(e), Err(for_get)) => assert_eq!(e, for_get, "{method} {path:?}"),
            other => panic!("{method} {path:?}: {other:?}"),
        }
    }
    match parsed {
        Ok(endpoint) => {
            assert!(!endpoint.name().is_empty());
            let rendered = render(&endpoint);
            assert_eq!(
                Endpoint::parse(&Method::GET, &rendered).as_ref(),
                Ok(&endpoint),
                "{path:?} parsed to {endpoint:?}, whose path {rendered:?} parses differently"
            );
            let uri: Uri = rendered
                .parse()
                .expect("a percent-encoded path is a valid URI");
            assert_eq!(
                Endpoint::parse(&Method::GET, uri.path()).as_ref(),
                Ok(&endpoint)
            );
        }
        Err(e) => {
            let status = e.status();
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path:?} refused with {status}: {e}"
            );
            let response = e.into_response();
            assert_eq!(response.status(), status);
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert!(response.headers().contains_key(http::header::ALLOW));
            }
        }
    }
}

fn check_query(query: Option<&str>) {
    let q = Query::parse(query);
    let rendered = render_query(&q);
    assert_eq!(
        Query::parse(Some(&rendered)),
        q,
        "{query:?} written back as {rendered:?}"
    );
    // The first copy of a parameter wins: our copies, put first, decide every field.
    let repeated = format!("{rendered}&{}", query.unwrap_or_default());
    assert_eq!(
        Query::parse(Some(&repeated)),
        q,
        "a later copy won in {repeated:?}"
    );
    if query.is_none_or(str::is_empty) {
        assert_eq!(q, Query::default());
    }
}

/// The path naming `endpoint`, each segment percent-encoded.
fn render(endpoint: &Endpoint) -> String {
    let e = encode;
    match endpoint {
        Endpoint::Healthz => "/healthz".to_owned(),
        Endpoint::Readyz => "/readyz".to_owned(),
        Endpoint::Metrics => "/metrics".to_owned(),
        Endpoint::Manifest { app, channel } => format!("/apps/{}/{channel}/manifest", e(app)),
        Endpoint::ChannelPack { app, channel, pack } => {
            format!("/apps/{}/{channel}/{}", e(app), e(pack))
        }
        Endpoint::Version { app, pack, number } => {
            format!("/apps/{}/packs/{}/versions/{number}", e(app), e(pack))
        }
        Endpoint::ChunkList { app, pack, number } => {
            format!(
                "/apps/{}/packs/{}/versions/{number}/chunks",
                e(app),
                e(pack)
            )
        }
        Endpoint::Pieces { app, pack, number } => {
            format!(
                "/apps/{}/packs/{}/versions/{number}/pieces",
                e(app),
                e(pack)
            )
        }
    }
}

/// The parameters of `q` that are set, as a query string.
fn render_query(q: &Query) -> String {
    let fields = [
        ("token", &q.token),
        ("platform", &q.platform),
        ("os", &q.os),
        ("lang", &q.lang),
        ("device", &q.device),
        ("chunks", &q.chunks),
    ];
    let pairs: Vec<String> = fields
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={}", encode(v))))
        .collect();
    pairs.join("&")
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}
