//! The admin API's request bodies, through the whole admin API in memory (its router over a
//! `MemoryStore`, no network, no RocksDB): the first byte picks an endpoint that reads a body,
//! the rest is the body, sent with the operator's key against a catalog holding an app, a
//! pack, a version and an upload file for the ids to name.
//!
//! Nothing panics; every answer is a JSON:API document; no body makes a 5xx (a bad body is
//! the caller's error, never the server's); and a refused request stores nothing: the catalog
//! after a 4xx is exactly the catalog before it.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use packyard_control_plane::api::{ApiConfig, Bootstrapped, bootstrap, router};
use packyard_control_plane::{CatalogStore, Clock, ControlMetrics, MemoryStore};
use packyard_core::catalog::Catalog;
use packyard_core::quota::QuotaLimits;
use tower::ServiceExt as _;

/// The endpoints that read a body: method and path, `{…}` replaced by the fixture's ids.
const ENDPOINTS: [(&str, &str); 17] = [
    ("POST", "/v1/apps"),
    ("POST", "/v1/builds"),
    ("POST", "/v1/users"),
    ("POST", "/v1/apiKeys"),
    ("POST", "/v1/backgroundAssets"),
    ("PATCH", "/v1/backgroundAssets/{pack}"),
    ("POST", "/v1/backgroundAssetVersions"),
    ("POST", "/v1/backgroundAssetUploadFiles"),
    ("PATCH", "/v1/backgroundAssetUploadFiles/{file}"),
    ("POST", "/v1/reviewSubmissions"),
    ("PATCH", "/v1/reviewSubmissions/{version}"),
    ("POST", "/v1/rollouts"),
    ("PATCH", "/v1/rollouts/{version}"),
    ("POST", "/v1/webhooks"),
    ("POST", "/v1/testerTokens"),
    ("POST", "/v1/testerTokenSecrets"),
    ("POST", "/v1/apps/{app}/members"),
];

struct World {
    runtime: tokio::runtime::Runtime,
    store: MemoryStore,
    app: axum::Router,
    key: String,
    ids: Vec<(&'static str, String)>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        let recorder = Arc::new(metrics::NoopRecorder);
        let metrics = ControlMetrics::new(recorder, Arc::new(String::new));
        let app = router(store.clone(), store.feed(), ApiConfig::default(), metrics);
        let (key, ids) = runtime.block_on(async {
            let Ok(Bootstrapped::Created { key, .. }) = bootstrap(&store, None, Clock::System).await else {
                panic!("a fresh catalog bootstraps");
            };
            let post = |path: &str, body: String| {
                let app = app.clone();
                let key = key.clone();
                let path = path.to_owned();
                async move {
                    let request = Request::post(path)
                        .header("authorization", format!("Bearer {key}"))
                        .body(Body::from(body))
                        .expect("a request");
                    let response = app.oneshot(request).await.expect("infallible");
                    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                        .await
                        .expect("a body");
                    let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
                    doc["data"]["id"].as_str().expect("an id").to_owned()
                }
            };
            let app_id = post("/v1/apps", r#"{"data":{"type":"apps","attributes":{"name":"Game","bundleId":"com.example.fuzz","primaryLanguage":"en"}}}"#.into()).await;
            let pack = post("/v1/backgroundAssets", format!(r#"{{"data":{{"type":"backgroundAssets","attributes":{{"assetPackIdentifier":"level-1"}},"relationships":{{"app":{{"data":{{"type":"apps","id":"{app_id}"}}}}}}}}}}"#)).await;
            let version = post("/v1/backgroundAssetVersions", format!(r#"{{"data":{{"type":"backgroundAssetVersions","relationships":{{"backgroundAsset":{{"data":{{"type":"backgroundAssets","id":"{pack}"}}}}}}}}}}"#)).await;
            let file = post("/v1/backgroundAssetUploadFiles", format!(r#"{{"data":{{"type":"backgroundAssetUploadFiles","attributes":{{"fileName":"a.aar","fileSize":10,"assetType":"ASSET"}},"relationships":{{"backgroundAssetVersion":{{"data":{{"type":"backgroundAssetVersions","id":"{version}"}}}}}}}}}}"#)).await;
            (key, vec![("{app}", app_id), ("{pack}", pack), ("{version}", version), ("{file}", file)])
        });
        World {
            runtime,
            store,
            app,
            key,
            ids,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let w = world();
    let (method, path) = ENDPOINTS[usize::from(pick) % ENDPOINTS.len()];
    let mut path = path.to_owned();
    for (name, id) in &w.ids {
        path = path.replace(name, id);
    }
    // Ids the body names may be the fixture's, so that valid bodies reach the catalog.
    let mut text = String::from_utf8_lossy(body).into_owned();
    for (name, id) in &w.ids {
        text = text.replace(name, id);
    }
    w.runtime.block_on(async {
        let before = w.store.read(Catalog::clone).await.expect("a read");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(&path)
            .header("authorization", format!("Bearer {}", w.key))
            .header("content-type", "application/json")
            .body(Body::from(text))
            .expect("a request");
        let response = w.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a body");
        assert!(
            !status.is_server_error(),
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        if status.is_client_error() {
            let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("an error document");
            let error = &doc["errors"][0];
            assert_eq!(error["status"], status.as_str(), "{doc}");
            assert!(
                error["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{doc}"
            );
            let after = w.store.read(Catalog::clone).await.expect("a read");
            assert!(
                after == before,
                "a refused {method} {path} changed the catalog"
            );
        }
    });
});
