//! The load generator against a small range-serving HTTP server started in the test
//! (HTTP/1.1 and HTTP/2 on one listener): counts, bytes, and wrong answers counted as errors.
//! No timing is asserted.

#![allow(clippy::unwrap_used, reason = "test setup fails the test at once")]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use packyard_bench::load::client::{Protocol, Server};
use packyard_bench::load::report::LoadReport;
use packyard_bench::load::runner::{RunPlan, run};
use packyard_bench::load::schedule::Pace;
use packyard_bench::load::target::probe_sizes;
use packyard_bench::load::workload::{RangeMix, RangeWorkload, Target};

const SIZE: usize = 1 << 20;

/// Serves `/good` (a correct range server), `/lying` (206 with the Content-Range of another
/// range) and `/short` (a 206 whose body is one byte short, announced honestly).
fn answer(req: &Request<Incoming>, file: &Bytes) -> Response<Full<Bytes>> {
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .map(|(a, b)| {
            let start: usize = a.parse().unwrap();
            let end: usize = if b.is_empty() {
                SIZE - 1
            } else {
                b.parse().unwrap()
            };
            (start, end)
        });
    let head = req.method() == http::Method::HEAD;
    let body = |b: Bytes| Full::new(if head { Bytes::new() } else { b });
    let Some((start, end)) = range else {
        return Response::builder()
            .header(header::CONTENT_LENGTH, SIZE)
            .body(body(file.clone()))
            .unwrap();
    };
    let (claimed, mut end_sent) = match req.uri().path() {
        "/lying" => (format!("bytes {}-{}/{SIZE}", start + 1, end + 1), end),
        _ => (format!("bytes {start}-{end}/{SIZE}"), end),
    };
    if req.uri().path() == "/short" {
        end_sent -= 1;
    }
    Response::builder()
        .status(StatusCode::PARTIAL_CONTENT)
        .header(header::CONTENT_RANGE, claimed)
        .header(header::CONTENT_LENGTH, end_sent - start + 1)
        .body(body(file.slice(start..=end_sent)))
        .unwrap()
}

async fn start_server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let file = Bytes::from(
        (0..SIZE)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect::<Vec<u8>>(),
    );
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let file = file.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let resp = answer(&req, &file);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Server {
        addr,
        authority: addr.to_string(),
    }
}

fn plan(server: &Server, protocol: Protocol, requests: u64) -> RunPlan {
    RunPlan {
        label: "test".into(),
        servers: vec![server.clone()],
        protocol,
        connections: 2,
        streams: if protocol == Protocol::Http2 { 3 } else { 1 },
        pace: Pace::Closed,
        warmup: Duration::ZERO,
        duration: Some(Duration::from_secs(60)),
        requests: Some(requests),
        timeout: Duration::from_secs(10),
        seed: 7,
        progress: false,
    }
}

async fn load(server: &Server, plan: &RunPlan, path: &str, mix: RangeMix) -> LoadReport {
    let target = Target {
        path: path.into(),
        size: SIZE as u64,
    };
    let workload = RangeWorkload::new(vec![target], mix).unwrap();
    assert_eq!(plan.servers[0], *server);
    run(plan, Arc::new(workload)).await.unwrap()
}

fn ranges(size: u64) -> RangeMix {
    RangeMix {
        range_sizes: vec![size],
        ..RangeMix::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_ranges_are_counted_with_their_bytes_over_both_protocols() {
    let server = start_server().await;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let report = load(&server, &plan(&server, protocol, 40), "/good", ranges(4096)).await;
        assert_eq!(report.errors, 0, "{protocol}: {report}");
        assert_eq!(report.requests, 40, "{protocol}: {report}");
        assert_eq!(report.bytes, 40 * 4096, "{protocol}: {report}");
        assert!(report.latency_us.max >= report.latency_us.p50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_and_resumed_downloads_carry_the_bytes_they_ask_for() {
    let server = start_server().await;
    let mix = RangeMix {
        whole_share: 0.5,
        resume_share: 0.5,
        ..RangeMix::default()
    };
    let report = load(&server, &plan(&server, Protocol::Http1, 30), "/good", mix).await;
    assert_eq!((report.requests, report.errors), (30, 0), "{report}");
    // Whole files are SIZE bytes, resumed ones less but more than nothing.
    assert!(
        report.bytes > 15 * SIZE as u64 && report.bytes < 30 * SIZE as u64,
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_answers_are_errors_and_not_successes() {
    let server = start_server().await;
    let report = load(
        &server,
        &plan(&server, Protocol::Http1, 20),
        "/lying",
        ranges(4096),
    )
    .await;
    assert_eq!(report.requests, 0, "{report}");
    assert_eq!(report.bytes, 0, "{report}");
    assert_eq!(report.errors, 20, "{report}");
    assert_eq!(
        report.error_kinds.get("wrong Content-Range"),
        Some(&20),
        "{report}"
    );

    let report = load(
        &server,
        &plan(&server, Protocol::Http2, 12),
        "/short",
        ranges(4096),
    )
    .await;
    assert_eq!((report.requests, report.errors), (0, 12), "{report}");
    assert_eq!(
        report.error_kinds.get("wrong Content-Length"),
        Some(&12),
        "{report}"
    );

    // Whole downloads expect 200 and the full length, and get them.
    let report = load(
        &server,
        &plan(&server, Protocol::Http1, 5),
        "/good",
        RangeMix {
            whole_share: 1.0,
            ..RangeMix::default()
        },
    )
    .await;
    assert_eq!((report.requests, report.errors), (5, 0), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_sends_the_requests_asked_for_and_a_dead_server_is_an_error() {
    let server = start_server().await;
    let mut p = plan(&server, Protocol::Http1, 25);
    p.pace = Pace::Open { rate: 500.0 };
    let report = load(&server, &p, "/good", ranges(65536)).await;
    assert_eq!((report.requests, report.errors), (25, 0), "{report}");
    assert_eq!(report.mode, "open");

    let targets = probe_sizes(&server, &["/good".into()], Protocol::Http1, &[])
        .await
        .unwrap();
    assert_eq!(targets[0].size, SIZE as u64);

    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dead = Server {
        addr: dead,
        authority: dead.to_string(),
    };
    let workload = RangeWorkload::new(
        vec![Target {
            path: "/x".into(),
            size: 100,
        }],
        ranges(10),
    )
    .unwrap();
    let err = run(&plan(&dead, Protocol::Http1, 1), Arc::new(workload))
        .await
        .expect_err("nothing listens there");
    assert!(err.to_string().contains("connecting to"), "{err}");
}
