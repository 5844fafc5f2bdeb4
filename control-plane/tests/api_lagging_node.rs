//! A node whose own copy of the catalog is behind (it has just restarted and not yet
//! re-applied its log) still takes writes with a valid key: a write authenticates against
//! the local copy, but only a current read may call a key unknown.

// Test setup: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_control_plane::api::{ApiConfig, Bootstrapped, bootstrap, serve};
use packyard_control_plane::store::{Applied, StoreError};
use packyard_control_plane::{CatalogStore, Clock, ControlMetrics, MemoryStore};
use packyard_core::catalog::{Catalog, Envelope};
use packyard_core::quota::QuotaLimits;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A store whose local reads see an empty catalog, as on a node that has not caught up;
/// linearizable reads and writes go to the real one.
#[derive(Clone)]
struct Behind {
    inner: MemoryStore,
}

impl CatalogStore for Behind {
    async fn write_at(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        self.inner.write_at(envelope).await
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.inner.read(f).await
    }

    async fn read_local<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        Ok(f(&Catalog::new(QuotaLimits::default())))
    }

    async fn read_applied<R, F>(&self, index: u64, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.inner.read_applied(index, f).await
    }

    async fn is_leader(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_node_behind_on_its_own_copy_takes_a_write_with_a_valid_key_and_refuses_an_unknown_one() {
    let inner = MemoryStore::new(Catalog::new(QuotaLimits::default()));
    let Bootstrapped::Created { key, .. } = bootstrap(&inner, None, Clock::System).await.unwrap()
    else {
        panic!("a new catalog has no operator yet");
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let metrics = ControlMetrics::new(Arc::new(recorder), Arc::new(move || handle.render()));
    let feed = inner.feed();
    tokio::spawn(serve(
        listener,
        None,
        Behind { inner },
        feed,
        ApiConfig::new("http://origin.test:9000"),
        metrics,
        std::future::pending::<()>(),
    ));
    let app = json!({"data": {"type": "apps", "attributes": {"name": "Game",
        "bundleId": "com.example.behind", "primaryLanguage": "en-US"}}});
    let http = reqwest::Client::new();
    let post = |key: &str| {
        http.post(format!("{base}/v1/apps"))
            .bearer_auth(key)
            .json(&app)
            .send()
    };

    let created = post(&key).await.unwrap();
    let status = created.status().as_u16();
    let body: Value = created.json().await.unwrap();
    assert_eq!(
        status, 201,
        "a valid key is not refused by a node behind: {body}"
    );

    let refused = post("pyk_not-a-key-of-this-catalog-0123456789")
        .await
        .unwrap();
    let status = refused.status().as_u16();
    let body: Value = refused.json().await.unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["code"], "NOT_AUTHORIZED", "{body}");
}
