//! [`run`]: one origin process. The upload endpoint (HTTP), the chunk service edges fetch
//! from (gRPC), the watch-stream follower, the processing pipeline and garbage collection,
//! started from an [`OriginConfig`] and stopped by the caller's shutdown signal.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packyard_chunk_store::DiskChunkStore;
use packyard_net::cluster::{ClusterTls, Identity, ListenerLimits, NodeRole, incoming};
use tokio::net::TcpListener;

use crate::chunk_service::ChunkService;
use crate::config::{OriginConfig, OriginConfigError};
use crate::control::ControlPlane;
use crate::gc_task::run_gc;
use crate::metrics::OriginMetrics;
use crate::process::{CatalogView, Pipeline, ProcessHooks, Processor, follow};
use crate::staging::Staging;
use crate::upload::{self, UploadFiles, Uploads};
use packyard_catalog_client::Stop;

/// Why an origin could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] OriginConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The cluster certificate cannot be used.
    #[error("cluster_tls: {0}")]
    Tls(String),
    /// The data directory could not be used.
    #[error("{}: {reason}", path.display())]
    Data {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The two listeners an origin serves on, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// The upload endpoint (HTTP).
    pub upload: TcpListener,
    /// The chunk service (gRPC).
    pub grpc: TcpListener,
}

/// Binds the configured addresses and runs the origin until `shutdown` resolves.
pub async fn run(
    config: OriginConfig,
    metrics: OriginMetrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    config.validate()?;
    let listeners = Listeners {
        upload: bind("upload", config.upload_addr).await?,
        grpc: bind("origin-grpc", config.grpc_addr).await?,
    };
    serve(
        config,
        listeners,
        metrics,
        ProcessHooks::default(),
        shutdown,
    )
    .await
}

async fn bind(name: &'static str, addr: std::net::SocketAddr) -> Result<TcpListener, NodeError> {
    packyard_net::listen::bind(name, addr)
        .await
        .map_err(|e| NodeError::Listen {
            addr,
            source: e.source,
        })
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
    let tls = ClusterTls::load(&config.cluster_tls).map_err(|e| NodeError::Tls(e.to_string()))?;
    let me = Identity::new(NodeRole::Origin, config.origin_id.clone())
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    if tls.identity() != me {
        return Err(NodeError::Tls(format!(
            "the certificate is for {}, but this is {me}; issue one with \
             `packyard cluster cert issue --role origin --id {}`",
            tls.identity(),
            config.origin_id
        )));
    }
    let params = config.chunking()?;
    let data = |path: PathBuf| {
        move |e: &dyn std::fmt::Display| NodeError::Data {
            path,
            reason: e.to_string(),
        }
    };
    let store_dir = config.data_dir.join("store");
    let store = DiskChunkStore::open(&store_dir).map_err(|e| data(store_dir.clone())(&e))?;
    let store = Arc::new(store);
    let staging_dir = config.data_dir.join("staging");
    let staging = Staging::open(&staging_dir).map_err(|e| data(staging_dir.clone())(&e))?;
    let staging = Arc::new(staging);
    let control = ControlPlane::connect(&tls, &config.control_plane).map_err(|e| {
        OriginConfigError::Invalid {
            field: "control_plane",
            reason: e.to_string(),
        }
    })?;
    let files = Arc::new(UploadFiles::new(
        control.clone(),
        Duration::from_millis(config.describe_cache_ms),
    ));
    let stop = Stop::new();
    let stopped = {
        let stop = stop.clone();
        move || {
            let stop = stop.clone();
            async move { stop.stopped().await }
        }
    };

    let view = Arc::new(Mutex::new(CatalogView::new()));
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
    };
    let upload_tls = match (&config.upload_tls_cert, &config.upload_tls_key) {
        (Some(cert), Some(key)) => Some(
            packyard_net::http::tls_acceptor(cert, key)
                .map_err(|e| NodeError::Tls(format!("upload_tls_cert: {e}")))?,
        ),
        _ => None,
    };
    let http = tokio::spawn(upload::serve(
        listeners.upload,
        upload_tls,
        uploads,
        config.http.clone(),
        stopped(),
    ));
    let chunk_service =
        ChunkService::new(store.clone(), config.chunk_service.clone()).map_err(|e| {
            OriginConfigError::Invalid {
                field: "chunk_service",
                reason: e.to_string(),
            }
        })?;
    let grpc = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(chunk_service.into_server())
            .serve_with_incoming_shutdown(
                incoming(listeners.grpc, tls.clone(), ListenerLimits::default()),
                stopped(),
            ),
    );
    let reloading = tokio::spawn(tls.watch(config.cluster_tls.clone(), stopped()));

    let (sweep_staging, sweep_control) = (staging.clone(), control.clone());
    let processor = Processor {
        staging,
        store: store.clone(),
        control: control.clone(),
        params,
        hooks,
        stop: stop.clone(),
        metrics,
    };
    let (pipeline, queue) = Pipeline::new(processor, view.clone(), config.processing_concurrency);
    let processing = tokio::spawn(pipeline.clone().run(queue, stop.clone()));
    let announce = move |v: crate::control::ProcessingVersion| {
        for f in &v.files {
            files.mark_committed(f.id.as_str());
        }
        pipeline.enqueue(v);
    };
    let watcher_id = format!("origin:{}", config.origin_id);
    let follower = tokio::spawn(follow(
        control,
        watcher_id,
        view.clone(),
        announce,
        stop.clone(),
    ));
    let gc = tokio::spawn(run_gc(store, view, config.gc.clone(), stop.clone()));
    let sweep = tokio::spawn(crate::staging_sweep::sweep_staging(
        sweep_staging,
        sweep_control,
        Duration::from_secs(config.gc.staging_sweep_secs),
        stop.clone(),
    ));

    shutdown.await;
    tracing::info!("shutting down");
    stop.stop();
    let _ = tokio::join!(http, grpc, processing, follower, gc, sweep, reloading);
    Ok(())
}
