//! [`run`]: one origin process. The upload endpoint (HTTP), the chunk service edges fetch
//! from (gRPC), the watch-stream follower, the processing pipeline and garbage collection,
//! started from an [`OriginConfig`] and stopped by the caller's shutdown signal.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packyard_chunk_store::object::Bucket;
use packyard_chunk_store::{ChunkStore, DiskChunkStore, ObjectChunkStore};
use packyard_net::cluster::{ListenerLimits, NodeRole, incoming};
use packyard_net::node::{self, Tasks};
use tokio::net::TcpListener;

use crate::chunk_service::ChunkService;
use crate::config::{ConfigError, OriginConfig, StoreConfig};
use crate::control::ControlPlane;
use crate::gc_task::run_gc;
use crate::metrics::OriginMetrics;
use crate::process::{CatalogView, Pipeline, ProcessHooks, Processor, follow};
use crate::staging::Staging;
use crate::upload::{self, UploadFiles, Uploads};

pub use packyard_net::node::NodeError;

/// The two listeners an origin serves on, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// The upload endpoint (HTTP).
    pub upload: TcpListener,
    /// The chunk service (gRPC).
    pub grpc: TcpListener,
}

/// Binds the configured addresses and runs the origin until `shutdown` resolves; `hooks`
/// are for tests of the process (default: none).
pub async fn run(
    config: OriginConfig,
    metrics: OriginMetrics,
    hooks: ProcessHooks,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    config.validate()?;
    let listeners = Listeners {
        upload: node::bind("upload", config.upload_addr).await?,
        grpc: node::bind("origin-grpc", config.grpc_addr).await?,
    };
    serve(config, listeners, metrics, hooks, shutdown).await
}

/// The chunk store an origin runs on, whichever holds the bytes.
pub type Store = Arc<dyn ChunkStore>;

/// Where an origin keeps chunks and parts, opened.
struct Storage {
    store: Arc<Store>,
    staging: Arc<Staging>,
}

impl Storage {
    /// Opens the disk store under `data_dir`, or the bucket: in that case the disk only
    /// receives parts on their way to the bucket, and a bucket that cannot be reached now is
    /// logged, not fatal (requests answer 503 naming it until it is back).
    fn open(config: &OriginConfig) -> Result<Self, NodeError> {
        let staging_dir = config.data_dir.join("staging");
        let (store, staging): (Store, Staging) = match &config.store {
            StoreConfig::Disk => {
                let store_dir = config.data_dir.join("store");
                let store =
                    DiskChunkStore::open(&store_dir).map_err(|e| NodeError::data(&store_dir, e))?;
                let staging =
                    Staging::open(&staging_dir).map_err(|e| NodeError::data(&staging_dir, e))?;
                (Arc::new(store), staging)
            }
            StoreConfig::S3(bucket) => {
                let invalid = |e| ConfigError::invalid("store", e);
                let store = ObjectChunkStore::open(bucket).map_err(invalid)?;
                match store.bucket().check() {
                    Ok(()) => tracing::info!(store = store.bucket().name(), "chunk store reached"),
                    Err(e) => {
                        tracing::warn!(error = %e, "chunk store unreachable; retrying on use")
                    }
                }
                let parts = Bucket::scoped(bucket, "staging").map_err(invalid)?;
                let staging = Staging::open_in_bucket(&staging_dir, parts)
                    .map_err(|e| NodeError::data(&staging_dir, e))?;
                (Arc::new(store), staging)
            }
        };
        Ok(Self {
            store: Arc::new(store),
            staging: Arc::new(staging),
        })
    }
}

/// Runs the origin on `listeners` until `shutdown` resolves, then stops every task: requests
/// under way finish, processing stops where it is (it resumes after the next start).
pub async fn serve(
    config: OriginConfig,
    listeners: Listeners,
    metrics: OriginMetrics,
    hooks: ProcessHooks,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    config.validate()?;
    let tls = node::cluster_identity(&config.cluster_tls, NodeRole::Origin, &config.origin_id)?;
    let upload_tls = node::public_tls(
        "upload_tls_cert",
        config.upload_tls_cert.as_deref(),
        config.upload_tls_key.as_deref(),
    )?;
    let params = config.chunking()?;
    let Storage { store, staging } = Storage::open(&config)?;
    let control = ControlPlane::connect(&tls, &config.control_plane)
        .map_err(|e| ConfigError::invalid("control_plane", e))?;
    let chunk_service = ChunkService::new(store.clone(), config.chunk_service.clone())
        .map_err(|e| ConfigError::invalid("chunk_service", e))?;
    let files = Arc::new(UploadFiles::new(
        control.clone(),
        Duration::from_millis(config.describe_cache_ms),
    ));
    let view = Arc::new(Mutex::new(CatalogView::new()));
    let mut tasks = Tasks::new();

    // Serving: uploads from developers, chunks to edges.
    let following = Arc::clone(&view);
    let uploads = Uploads {
        staging: staging.clone(),
        files: files.clone(),
        metrics: metrics.clone(),
        ready: Arc::new(move || {
            following
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_synced()
        }),
        store: store.clone(),
        pack_chunks: {
            let view = Arc::clone(&view);
            Arc::new(move |pack: &str| {
                view.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pack_chunks(pack)
            })
        },
        lists: Arc::default(),
    };
    tasks.spawn(
        "upload endpoint",
        upload::serve(
            listeners.upload,
            upload_tls,
            uploads,
            config.http.clone(),
            tasks.stopped(),
        ),
    );
    tasks.spawn(
        "chunk service",
        tonic::transport::Server::builder()
            .add_service(chunk_service.into_server())
            .serve_with_incoming_shutdown(
                incoming(listeners.grpc, tls.clone(), ListenerLimits::default()),
                tasks.stopped(),
            ),
    );
    tasks.spawn(
        "certificate expiry gauge",
        tls.clone()
            .report_expiry(metrics.certificate_expiry(), tasks.stopped()),
    );
    tasks.spawn(
        "cluster TLS reload",
        tls.watch(config.cluster_tls.clone(), tasks.stopped()),
    );

    // Processing: committed versions announced on the watch stream, chunked into the store.
    let shared = matches!(config.store, StoreConfig::S3(_));
    let processor = Processor {
        staging: staging.clone(),
        store: store.clone(),
        control: control.clone(),
        params,
        hooks,
        stop: tasks.stop(),
        metrics,
        shared_store: shared,
    };
    spawn_processing(&mut tasks, &config, processor, files, &view);

    // Clean-up: unreferenced chunks, abandoned staging.
    tasks.spawn(
        "garbage collection",
        run_gc(
            store,
            view,
            config.gc.clone(),
            shared.then(|| control.clone()),
            tasks.stop(),
        ),
    );
    tasks.spawn(
        "staging sweep",
        crate::staging_sweep::sweep_staging(
            staging,
            control,
            Duration::from_secs(config.gc.staging_sweep_secs),
            tasks.stop(),
        ),
    );

    tasks.run_until(shutdown).await;
    Ok(())
}

/// The processing pipeline, and the watch-stream follower that feeds it the versions
/// committed (and keeps the view of the catalog that garbage collection reads).
fn spawn_processing(
    tasks: &mut Tasks,
    config: &OriginConfig,
    processor: Processor<Store>,
    files: Arc<UploadFiles>,
    view: &Arc<Mutex<CatalogView>>,
) {
    let control = processor.control.clone();
    let (pipeline, queue) = Pipeline::new(processor, view.clone(), config.processing_concurrency);
    tasks.spawn("processing", pipeline.clone().run(queue, tasks.stop()));
    let announce = move |v: crate::control::ProcessingVersion| {
        for f in &v.files {
            files.mark_committed(f.id.as_str());
        }
        pipeline.enqueue(v);
    };
    let watcher_id = format!("origin:{}", config.origin_id);
    tasks.spawn(
        "watch stream",
        follow(control, watcher_id, view.clone(), announce, tasks.stop()),
    );
}
