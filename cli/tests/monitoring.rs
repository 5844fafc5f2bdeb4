//! The alert rules and the dashboard in deploy/monitoring query only metrics Packyard exports:
//! every `packyard_…` name they use is read from a running `packyard dev`'s `/metrics` pages
//! (the control plane's, the origin's and the edge's), after a request to each so that
//! labelled series exist.
//! `promtool check rules` checks the rules' syntax (scripts/check-monitoring.sh).

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

use std::collections::BTreeSet;
use std::sync::Mutex;

use dev::{Dev, KEY, wait_for};

/// Every `packyard_…` word in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("packyard_") {
        let start = i + at;
        let before = start.checked_sub(1).map(|b| bytes[b]);
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            found.insert(text[start..end].to_owned());
        }
        i = end;
    }
    found
}

/// The series names on a `/metrics` page.
fn exported(page: &str) -> BTreeSet<String> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The `/metrics` page at `addr`.
async fn page(http: &reqwest::Client, addr: &str) -> String {
    http.get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alerts_and_the_dashboard_query_is_exported() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = std::fs::read_to_string(root.join("deploy/monitoring/alerts.yaml")).unwrap();
    let dashboard =
        std::fs::read_to_string(root.join("deploy/monitoring/grafana-dashboard.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let panels = doc["panels"].as_array().unwrap();
    assert!(
        panels
            .iter()
            .filter(|p| p["type"] != "row")
            .all(|p| p["targets"].as_array().is_some_and(|t| !t.is_empty())),
        "every panel queries something"
    );

    let tmp = tempfile::tempdir().unwrap();
    let (dev, http) = Dev::ready(tmp.path(), &[]).await;
    // A request to each service, so that their labelled series exist.
    let apps = http
        .get(format!("http://{}/v1/apps", dev.admin))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(apps.status(), 200);
    let _ = http
        .get(format!(
            "http://{}/apps/none/store/manifest?platform=iOS&os=27",
            dev.edge
        ))
        .send()
        .await
        .unwrap();
    let found = Mutex::new(BTreeSet::new());
    let (found_ref, http_ref) = (&found, &http);
    let (admin, edge, origin) = (dev.admin.as_str(), dev.edge.as_str(), dev.upload.as_str());
    wait_for(
        30,
        "the three /metrics pages show their series",
        &dev,
        move || async move {
            let mut names = exported(&page(http_ref, admin).await);
            names.extend(exported(&page(http_ref, edge).await));
            names.extend(exported(&page(http_ref, origin).await));
            let ready = names.contains("packyard_control_raft_leader_with_majority")
                && names.contains("packyard_edge_requests_total")
                && names.contains("packyard_origin_upload_requests_total");
            *found_ref.lock().unwrap() = names;
            ready
        },
    )
    .await;
    let names = found.into_inner().unwrap();

    let queried: BTreeSet<String> = metric_names(&rules)
        .union(&metric_names(&dashboard))
        .cloned()
        .collect();
    assert!(queried.len() >= 15, "{queried:?}");
    let missing: Vec<&String> = queried.iter().filter(|q| !names.contains(*q)).collect();
    assert!(
        missing.is_empty(),
        "queried but not exported: {missing:?}\nexported: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_answers_health_and_readiness_in_one_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let (dev, http) = Dev::ready(tmp.path(), &[]).await;
    for (service, addr) in [
        ("control", &dev.admin),
        ("origin", &dev.upload),
        ("edge", &dev.edge),
    ] {
        for path in ["/healthz", "/readyz"] {
            let url = format!("http://{addr}{path}");
            wait_for(30, &format!("{service} {path} is 200"), &dev, || async {
                http.get(&url).send().await.is_ok_and(|r| r.status() == 200)
            })
            .await;
            let doc: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
            assert_eq!(doc["status"], "ok", "{service} {path}: {doc}");
            assert_eq!(doc["service"], service, "{service} {path}: {doc}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_writes_an_access_log_line_per_request_without_its_token() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("access.log");
    let (dev, http) = Dev::ready(tmp.path(), &["--access-log", log.to_str().unwrap()]).await;
    let ready = format!("http://{}/readyz", dev.edge);
    wait_for(30, "the edge has the catalog", &dev, || async {
        http.get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let secret = "v4.public.not-a-real-token-but-a-secret-all-the-same";
    let beta = format!(
        "http://{}/apps/app-x/internal/manifest?platform=iOS&os=27&token={secret}",
        dev.edge
    );
    // 401 (a token that proves nothing) or 503 (the edge has no keys yet): never served.
    let beta_status = http.get(&beta).send().await.unwrap().status().as_u16();
    assert!([401, 503].contains(&beta_status), "{beta_status}");
    let store = format!("http://{}/apps/app-x/store/level-1", dev.edge);
    let status = http
        .get(&store)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    wait_for(30, "two lines in the access log", &dev, || async {
        std::fs::read_to_string(&log)
            .is_ok_and(|t| t.lines().filter(|l| l.contains("/apps/app-x/")).count() >= 2)
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(secret), "a token in the access log:\n{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| {
            l["path"].as_str().unwrap_or("").starts_with("/apps/app-x/")
        })
        .collect();
    let manifest = &lines[0];
    assert_eq!(
        manifest["path"], "/apps/app-x/internal/manifest",
        "{manifest}"
    );
    assert_eq!(manifest["status"], beta_status);
    assert_eq!(manifest["method"], "GET");
    assert!(
        manifest["time"].as_str().unwrap().ends_with('Z'),
        "{manifest}"
    );
    assert!(manifest["micros"].is_u64() && manifest["bytes"].as_u64() > Some(0));
    let pack = &lines[1];
    assert_eq!(pack["status"], 404, "{pack}");
    assert_eq!(pack["range"], "bytes=0-99", "{pack}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_with_a_metrics_listener_keeps_metrics_off_the_device_port() {
    let tmp = tempfile::tempdir().unwrap();
    let (dev, http) = Dev::ready(tmp.path(), &["--edge-metrics-addr", "127.0.0.1:0"]).await;
    let ops = dev.listener("edge-metrics");
    let page = page(&http, &ops).await;
    assert!(page.contains("packyard_edge_bytes_served_total"), "{page}");
    let status = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("http://{}/metrics", dev.edge)).await, 404);
    assert_eq!(status(format!("http://{ops}/healthz")).await, 200);
    assert_eq!(
        status(format!(
            "http://{ops}/apps/x/store/manifest?platform=iOS&os=27"
        ))
        .await,
        404,
        "the operations listener serves no device"
    );
}

#[test]
fn metric_names_are_read_as_whole_words() {
    let names =
        metric_names("rate(packyard_edge_x_total[5m]) / my_packyard_y + packyard_z{a=\"b\"}");
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["packyard_edge_x_total", "packyard_z"]
    );
}
