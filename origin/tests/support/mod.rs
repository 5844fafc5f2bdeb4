//! A real control plane in-process on 127.0.0.1 (memory store, admin API, watch stream,
//! origin reports) next to a real origin, and the admin API's upload flow through
//! `packyard-admin-client`, each step's answer at hand for the tests to check.

// Each test binary that includes this module uses a different subset of it.
#![allow(dead_code)]
// Test support: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_admin_client::{
    AdminClient, AssetType, NewApp, NewPack, NewUploadFile, commit_document,
};
use packyard_control_plane::api::{ApiConfig, Bootstrapped, bootstrap, serve};
use packyard_control_plane::origin_reports::OriginReports;
use packyard_control_plane::watch::WatchService;
use packyard_control_plane::{Clock, ControlMetrics, MemoryStore};
use packyard_core::catalog::Catalog;
use packyard_core::quota::QuotaLimits;
use packyard_core::upload_credential::Scope;
use packyard_net::cluster::NodeRole;
use packyard_net::cluster::test_support::{TestPki, listen};
use packyard_origin::OriginConfig;
use packyard_origin::config::StoreConfig;
use packyard_origin::node::{Listeners, serve as serve_origin};
use packyard_origin::process::ProcessHooks;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A reserved upload file, with its operations.
pub(crate) type Reserved = packyard_admin_client::UploadFile;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Bytes per upload part in these tests: small, so a few-MiB archive has several parts.
pub(crate) const PART_BYTES: u64 = 1 << 20;

/// One control-plane process: admin API and gRPC (watch stream, origin reports).
pub(crate) struct ControlPlane {
    pub(crate) api: String,
    pub(crate) grpc: SocketAddr,
    pub(crate) admin: String,
    pub(crate) store: MemoryStore,
    /// The cluster's CA: the origin gets its certificate from it.
    pub(crate) pki: TestPki,
    /// The admin API as the operator.
    pub(crate) client: AdminClient,
    _stop: oneshot::Sender<()>,
}

impl ControlPlane {
    /// Starts a control plane whose upload operations point at `origin_url`.
    pub(crate) async fn start(origin_url: &str, quota: QuotaLimits) -> Self {
        let store = MemoryStore::new(Catalog::new(quota));
        let Bootstrapped::Created { key, .. } =
            bootstrap(&store, None, Clock::System).await.unwrap()
        else {
            panic!("a new catalog has no operator yet");
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", api_listener.local_addr().unwrap());
        let mut config = ApiConfig::new(origin_url);
        config.upload_part_bytes = PART_BYTES;
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = ControlMetrics::new(Arc::new(recorder), Arc::new(move || handle.render()));
        tokio::spawn(serve(
            api_listener,
            None,
            store.clone(),
            store.feed(),
            config,
            metrics,
            stopped,
        ));

        let pki = TestPki::new();
        let (grpc, incoming) = listen(pki.node(NodeRole::Control, "1")).await;
        let grpc: SocketAddr = grpc.parse().unwrap();
        let watch = WatchService::new(store.clone(), store.feed(), Duration::from_millis(200));
        let reports = OriginReports::new(store.clone(), PART_BYTES);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(watch.into_server())
                .add_service(reports.into_server())
                .serve_with_incoming(incoming),
        );
        Self {
            client: AdminClient::new(&api, key.clone(), None).unwrap(),
            api,
            grpc,
            admin: key,
            store,
            pki,
            _stop: stop,
        }
    }

    /// One admin API call as the operator; the status and the document, whatever they are.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let body = (!body.is_null()).then_some(body);
        let answer = self.client.send(method, path, body).await.unwrap();
        (answer.status, answer.document)
    }

    /// An app and a pack in it; returns the pack's id.
    pub(crate) async fn pack(&self, bundle: &str, identifier: &str) -> String {
        let app = NewApp::new("Game", bundle);
        let app = self.client.create_app(&app).await.unwrap().id;
        let pack = NewPack::new(app, identifier);
        self.client.create_pack(&pack).await.unwrap().id
    }

    /// A new version of `pack`; returns its id.
    pub(crate) async fn version(&self, pack: &str) -> String {
        self.client.create_version(pack).await.unwrap().id
    }

    /// Reserves a file; returns the raw answer.
    pub(crate) async fn try_reserve(
        &self,
        version: &str,
        size: u64,
        asset_type: &str,
    ) -> (u16, Value) {
        let file = NewUploadFile {
            asset_type: serde_json::from_value(json!(asset_type)).unwrap(),
            ..NewUploadFile::asset(version, "pack.bin", size)
        };
        let path = "/v1/backgroundAssetUploadFiles";
        self.call(reqwest::Method::POST, path, file.document())
            .await
    }

    /// Reserves a file; returns it with its upload operations.
    pub(crate) async fn reserve(&self, version: &str, size: u64, asset_type: &str) -> Reserved {
        let asset_type: AssetType = serde_json::from_value(json!(asset_type)).unwrap();
        let file = NewUploadFile {
            asset_type,
            ..NewUploadFile::asset(version, "pack.bin", size)
        };
        self.client.reserve_upload(&file).await.unwrap()
    }

    /// Commits a file with the SHA-256 of `bytes`; returns the raw answer.
    pub(crate) async fn commit(&self, file: &str, bytes: &[u8]) -> (u16, Value) {
        self.commit_hex(file, &hex::encode(Sha256::digest(bytes)))
            .await
    }

    /// Commits a file with `sha256_hex`, right or wrong; returns the raw answer.
    pub(crate) async fn commit_hex(&self, file: &str, sha256_hex: &str) -> (u16, Value) {
        let path = format!("/v1/backgroundAssetUploadFiles/{file}");
        let body = commit_document(file, sha256_hex);
        self.call(reqwest::Method::PATCH, &path, body).await
    }

    /// The version's attributes.
    pub(crate) async fn version_attributes(&self, version: &str) -> Value {
        let version = self.client.version(version).await.unwrap();
        version.attributes().clone()
    }

    /// `{origin}/v1/uploads/{file}` (with `/parts/{n}` for a part) carrying a credential for
    /// `scope` that expires at `expires` (Unix seconds), signed with the file's own key as
    /// only the control plane can: for tests of what the origin does with credentials the
    /// admin API would not hand out (expired ones, parts that do not exist).
    pub(crate) async fn signed_url(
        &self,
        origin: &str,
        file: &str,
        scope: Scope,
        expires: u64,
    ) -> String {
        use packyard_control_plane::CatalogStore;
        let id = packyard_core::catalog::UploadFileId::new(file.to_owned());
        let key = self
            .store
            .read(move |c| c.upload_file(&id).and_then(|f| f.key))
            .await
            .unwrap()
            .expect("the file has a key");
        let path = match scope {
            Scope::Part(n) => format!("{origin}/v1/uploads/{file}/parts/{n}"),
            Scope::Status => format!("{origin}/v1/uploads/{file}"),
            Scope::Chunks => format!("{origin}/v1/uploads/{file}/chunks"),
        };
        format!("{path}?{}", key.sign(file, scope, expires).query())
    }

    /// Waits (up to 60 s) until the version is COMPLETE or FAILED; returns its attributes.
    pub(crate) async fn settled(&self, version: &str) -> Value {
        let settled = self.client.wait_settled(version, Duration::from_secs(60));
        settled.await.unwrap().attributes().clone()
    }
}

/// A running origin.
pub(crate) struct Origin {
    pub(crate) url: String,
    pub(crate) grpc: SocketAddr,
    pub(crate) data: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Origin {
    /// Binds an upload listener (so the control plane can be told its URL before the origin
    /// starts).
    pub(crate) async fn bind() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (listener, url)
    }

    /// Starts an origin over `data` following `control`.
    pub(crate) async fn start(
        upload: TcpListener,
        data: &Path,
        control: &ControlPlane,
        hooks: ProcessHooks,
    ) -> Self {
        Self::start_on(upload, data, control, hooks, "1", StoreConfig::Disk).await
    }

    /// Starts origin `id` over `data` following `control`, keeping chunks and parts in
    /// `store`.
    pub(crate) async fn start_on(
        upload: TcpListener,
        data: &Path,
        control: &ControlPlane,
        hooks: ProcessHooks,
        id: &str,
        store: StoreConfig,
    ) -> Self {
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = grpc_listener.local_addr().unwrap();
        let url = format!("http://{}", upload.local_addr().unwrap());
        let cluster_tls = control
            .pki
            .write_node(&data.join("tls"), NodeRole::Origin, id);
        let config = OriginConfig {
            origin_id: id.to_owned(),
            store,
            data_dir: data.to_path_buf(),
            upload_addr: upload.local_addr().unwrap(),
            grpc_addr: grpc,
            control_plane: packyard_net::cluster::Addresses::one(control.grpc),
            cluster_tls,
            ..OriginConfig::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let listeners = Listeners {
            upload,
            grpc: grpc_listener,
        };
        let task = tokio::spawn(async move {
            serve_origin(
                config,
                listeners,
                packyard_origin::metrics::OriginMetrics::discard(),
                hooks,
                async {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
        });
        Self {
            url,
            grpc,
            data: data.to_path_buf(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the origin and waits until it has.
    pub(crate) async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// PUTs `bytes` to `url`; returns the status and the JSON body.
pub(crate) async fn put(url: &str, bytes: Vec<u8>) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .put(url)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The status URL the admin API gave for `file`.
pub(crate) fn status_url(file: &Reserved) -> &str {
    file.status_url
        .as_deref()
        .expect("a file awaiting upload has a status URL")
}

/// GETs `url` as JSON.
pub(crate) async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Uploads every part of `file` from `bytes`, in order.
pub(crate) async fn upload_all(file: &Reserved, bytes: &[u8]) {
    for op in &file.operations {
        let (s, v) = put(&op.url, op.slice(bytes).to_vec()).await;
        assert_eq!(s, 200, "part {}: {v}", op.part);
    }
}

/// Deterministic incompressible bytes (SplitMix64).
pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Builds a pack archive with `packyard pack build` from `files` files of about 300 KiB
/// (the ones in `changed` with other contents); returns its bytes.
pub(crate) fn build_pack(files: u64, changed: &[u64], policy: &str) -> Vec<u8> {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("Manifest.json"),
        format!(
            r#"{{"assetPackID":"level-2","downloadPolicy":{policy},"fileSelectors":[{{"directory":"assets"}}],"platforms":["iOS"]}}"#
        ),
    )
    .unwrap();
    for i in 0..files {
        let len = usize::try_from(200_000 + (i * 7_919) % 200_000).unwrap();
        let seed = if changed.contains(&i) {
            1_000_000 + i
        } else {
            i
        };
        let path = src.path().join(format!("assets/file-{i:03}.bin"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, noise(seed, len)).unwrap();
    }
    let out = src.path().join("pack.tar");
    packyard_pack::build(
        &src.path().join("Manifest.json"),
        None,
        &out,
        packyard_pack::NoProgress,
    )
    .unwrap();
    std::fs::read(out).unwrap()
}

/// The chunk list the control plane holds for a COMPLETE version.
pub(crate) async fn chunk_list(control: &ControlPlane, version: &str) -> packyard_core::ChunkList {
    use packyard_control_plane::CatalogStore;
    let id = packyard_core::catalog::VersionId::new(version.to_owned());
    control
        .store
        .read(move |c| {
            c.version(&id)
                .and_then(|v| v.content.as_ref())
                .map(|content| content.chunk_list.clone())
        })
        .await
        .unwrap()
        .expect("a COMPLETE version has content")
}

/// Checks that every chunk of `list` is in the store under `data`, hashes to its name, and
/// that the chunks in order rebuild `archive`.
pub(crate) fn assert_rebuilds(data: &Path, list: &packyard_core::ChunkList, archive: &[u8]) {
    use packyard_chunk_store::{ChunkStore, DiskChunkStore};
    let store = DiskChunkStore::open(data.join("store")).unwrap();
    let mut rebuilt = Vec::with_capacity(archive.len());
    for c in list.chunks() {
        let bytes = store.get(&c.id).unwrap().expect("every chunk is stored");
        assert_eq!(packyard_core::Blake3Hash::of(&bytes), c.id);
        assert_eq!(bytes.len(), c.len as usize);
        rebuilt.extend_from_slice(&bytes);
    }
    assert!(rebuilt == archive, "the chunks rebuild the archive exactly");
    assert_eq!(list.archive_hash(), packyard_core::Blake3Hash::of(archive));
}

/// Every file under `dir`, recursively; none when it does not exist.
pub(crate) fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_in(&path));
        } else {
            out.push(path);
        }
    }
    out
}
