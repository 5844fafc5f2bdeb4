//! A served admin API over a `MemoryStore` on 127.0.0.1; raw requests for checking its own
//! answers, and `packyard-admin-client` for the flows tests only need done.

// Each test binary that includes this module uses a different subset of it.
#![allow(dead_code)]
// Test support: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_admin_client::{
    AdminClient, NewApp, NewPack, NewUploadFile, NewUser, UploadFileState, VersionState,
    submission_document,
};
use packyard_control_plane::api::{ApiConfig, Bootstrapped, bootstrap, serve};
use packyard_control_plane::{CatalogStore, Clock, ControlMetrics, MemoryStore};
use packyard_core::catalog::{
    Actor, Catalog, Command, Envelope, ProcessingSucceeded, Timestamp, VersionId, VersionMetadata,
};
use packyard_core::quota::QuotaLimits;
use packyard_core::{Blake3Hash, ChunkList, ChunkRef, DownloadPolicy, Platform};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) store: MemoryStore,
    pub(crate) admin: String,
    client: reqwest::Client,
    /// The admin API as the operator.
    pub(crate) api: AdminClient,
    _stop: oneshot::Sender<()>,
}

impl Server {
    pub(crate) async fn start() -> Self {
        Self::start_with(Catalog::new(QuotaLimits::default())).await
    }

    /// A server over `catalog`, which has no operator yet.
    pub(crate) async fn start_with(catalog: Catalog) -> Self {
        Self::start_configured(catalog, ApiConfig::new("http://origin.test:9000")).await
    }

    /// A server over `catalog` (with no operator yet) with these API settings.
    pub(crate) async fn start_configured(catalog: Catalog, config: ApiConfig) -> Self {
        let store = MemoryStore::new(catalog);
        let Bootstrapped::Created { key, .. } =
            bootstrap(&store, None, Clock::System).await.unwrap()
        else {
            panic!("a new catalog has no operator yet");
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = ControlMetrics::new(Arc::new(recorder), Arc::new(move || handle.render()));
        tokio::spawn(serve(
            listener,
            None,
            store.clone(),
            store.feed(),
            config,
            metrics,
            async {
                let _ = stopped.await;
            },
        ));
        let base = format!("http://{addr}");
        Self {
            api: AdminClient::new(&base, key.clone(), None).unwrap(),
            base,
            store,
            admin: key,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// Sends raw bytes; returns the status and the JSON body (Null when empty).
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        // JSON documents, and the text of /metrics as a string.
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Value,
    ) -> (u16, Value) {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        self.raw(method, path, Some(key), bytes).await
    }

    pub(crate) async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.call(Method::GET, path, key, Value::Null).await
    }

    pub(crate) async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, key, body).await
    }

    pub(crate) async fn delete(&self, path: &str, key: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, key, Value::Null).await
    }

    pub(crate) async fn patch(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, key, body).await
    }

    /// The admin API under `key`.
    pub(crate) fn as_key(&self, key: &str) -> AdminClient {
        self.api.with_key(key)
    }

    /// Creates an app as the operator; returns its id.
    pub(crate) async fn app(&self, bundle_id: &str) -> String {
        let app = NewApp::new("Game", bundle_id);
        self.api.create_app(&app).await.unwrap().id
    }

    /// Creates a user with one role on `app` and a key for them; returns the key.
    pub(crate) async fn member(&self, app: &str, role: &str, email: &str) -> String {
        let user = NewUser::new(role, email).role_named(app, role);
        let user = self.api.create_user(&user).await.unwrap();
        self.api.create_api_key(&user.id).await.unwrap().secret
    }

    /// Creates a pack; returns the raw answer.
    pub(crate) async fn pack(&self, app: &str, key: &str, identifier: &str) -> (u16, Value) {
        let pack = NewPack::new(app, identifier);
        self.post("/v1/backgroundAssets", key, pack.document())
            .await
    }

    /// Creates a version, reserves and commits its archive through the API, then plays the
    /// origin by reporting success straight to the store. Returns the version id.
    pub(crate) async fn complete_version(&self, pack: &str, key: &str, size: u32) -> String {
        let version = self.processing_version(pack, key, size).await;
        self.origin_reports_success(&version, size).await;
        version
    }

    /// Creates a version and reserves and commits its archive through the API, leaving it
    /// PROCESSING, as the origin finds it. Returns the version id.
    pub(crate) async fn processing_version(&self, pack: &str, key: &str, size: u32) -> String {
        let api = self.as_key(key);
        let version = api.create_version(pack).await.unwrap();
        assert_eq!(version.state, VersionState::AwaitingUpload);
        let file = NewUploadFile::asset(&version.id, "pack.aar", u64::from(size));
        let file = api.reserve_upload(&file).await.unwrap();
        let op = &file.operations[0];
        assert_eq!(
            (op.method.as_str(), op.offset, op.length),
            ("PUT", 0, u64::from(size))
        );
        assert!(op.url.starts_with("http://origin.test:9000/"), "{}", op.url);
        let committed = api.commit_upload(&file.id, &"ab".repeat(32)).await.unwrap();
        assert_eq!(committed.state, UploadFileState::UploadComplete);
        let version = api.version(&version.id).await.unwrap();
        assert_eq!(version.state, VersionState::Processing);
        version.id
    }

    pub(crate) async fn origin_reports_success(&self, version: &str, size: u32) {
        let chunk = ChunkRef {
            id: Blake3Hash::of(version.as_bytes()),
            len: size,
        };
        let command = Command::ProcessingSucceeded(ProcessingSucceeded {
            version: VersionId::from(version),
            size: u64::from(size),
            chunk_list: ChunkList::new(Blake3Hash::of(version.as_bytes()), vec![chunk]).unwrap(),
            metadata: VersionMetadata {
                download_policy: DownloadPolicy::OnDemand {},
                platforms: BTreeSet::from([Platform::Ios]),
                language: None,
            },
        });
        let envelope = Envelope {
            actor: Actor::System,
            at: Timestamp(1),
            command,
            key: None,
        };
        self.store.write(envelope).await.unwrap().unwrap();
    }

    /// Submits a version for review on `track`; returns the raw answer.
    pub(crate) async fn submit(&self, version: &str, key: &str, track: &str) -> (u16, Value) {
        let track = serde_json::from_value(json!(track)).unwrap();
        let body = submission_document(version, track);
        self.post("/v1/reviewSubmissions", key, body).await
    }

    pub(crate) async fn review(
        &self,
        submission: &str,
        key: &str,
        attributes: Value,
    ) -> (u16, Value) {
        self.patch(
            &format!("/v1/reviewSubmissions/{submission}"),
            key,
            json!({"data": {"type": "reviewSubmissions", "id": submission, "attributes": attributes}}),
        )
        .await
    }
}

pub(crate) fn id(doc: &Value) -> String {
    doc["data"]["id"].as_str().unwrap().to_owned()
}

/// The one error of an error document.
pub(crate) fn error(doc: &Value) -> &Value {
    let errors = doc["errors"].as_array().expect("an errors array");
    assert_eq!(errors.len(), 1, "{doc}");
    &errors[0]
}
