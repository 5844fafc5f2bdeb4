//! The admin API's listener under abuse: clients that dribble their headers or their bodies
//! are cut off while everyone else is served, and a caller without a key is refused before a
//! byte of its body is read.

#![allow(clippy::unwrap_used)]

mod api_support;

use std::time::{Duration, Instant};

use api_support::Server;
use packyard_control_plane::api::ApiConfig;
use packyard_core::catalog::Catalog;
use packyard_core::quota::QuotaLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short deadlines, so the abusers are cut off within the test's patience.
async fn server() -> Server {
    let mut config = ApiConfig::new("http://origin.test:9000");
    config.http.header_read_timeout_ms = 1_000;
    config.http.body_idle_timeout_ms = 1_000;
    config.http.body_read_timeout_ms = 3_000;
    Server::start_configured(Catalog::new(QuotaLimits::default()), config).await
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or 30 s pass); returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_dribbling_headers_are_cut_off_while_others_are_served() {
    let s = server().await;
    let target = addr(&s);
    let mut dribblers = Vec::new();
    for i in 0..20 {
        let target = target.clone();
        dribblers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&target).await.unwrap();
            stream
                .write_all(b"GET /v1/apps HTTP/1.1\r\nHost: admin\r\n")
                .await
                .unwrap();
            // One byte of a header every 100 ms, forever, until the server hangs up.
            let header = format!("X-Slow-{i}: {}", "a".repeat(1000));
            for byte in header.bytes() {
                if stream.write_all(&[byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            until_closed(&mut stream).await
        }));
    }
    // Meanwhile every ordinary request is answered.
    let mut served = 0;
    while dribblers.iter().any(|d| !d.is_finished()) {
        let (status, _) = s.get("/v1/apps", &s.admin).await;
        assert_eq!(status, 200);
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for d in dribblers {
        let answer = d
            .await
            .unwrap()
            .expect("the server closes a dribbling connection");
        // hyper hangs up on a head that takes too long, without an answer.
        assert!(
            answer.is_empty(),
            "a dribbler got an answer: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    assert!(
        served > 0,
        "requests were served while the dribblers held on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_a_408_and_changes_nothing() {
    let s = server().await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    let body = r#"{"data":{"type":"apps","attributes":{"name":"Slow","bundleId":"com.example.slow","primaryLanguage":"en-US"}}}"#;
    let head = format!(
        "POST /v1/apps HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.admin,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    let answer = until_closed(&mut stream)
        .await
        .expect("the server answers and closes");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    let (status, doc) = s.get("/v1/apps", &s.admin).await;
    assert_eq!(status, 200);
    assert_eq!(
        doc["data"].as_array().unwrap().len(),
        0,
        "no app was made: {doc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_a_key_is_refused_before_its_body_is_read() {
    let s = server().await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    // A declared body of 100 MB that never comes: the refusal does not wait for it.
    stream
        .write_all(
            b"POST /v1/apps HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\n\
              Content-Length: 100000000\r\n\r\n",
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer before any body byte was sent")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("Authorization: Bearer"), "{answer}");
}
