//! [`run`]: one edge process. The device listeners (plain and TLS), registration and
//! heartbeats, the watch-stream follower, the chunk cache filled from the origin and the
//! prefetcher, started from an [`EdgeConfig`] and stopped by the caller's shutdown signal.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use metrics::Recorder;
use packyard_catalog_client::{CatalogClient, FollowTiming, Stop, follow};
use packyard_core::device_manifest::ManifestPolicy;
use packyard_core::tester_token::TokenVerifier;
use packyard_net::cluster::{ChannelError, ClusterTls, Identity, NodeRole};
use tokio::net::TcpListener;

use crate::cache::{CacheConfig, CacheCounters, ChunkCache, DiskConfig};
use crate::config::{EdgeConfig, EdgeConfigError};
use crate::http::{self, EdgeService, ServeSettings};
use crate::metrics::{EdgeMetrics, Render};
use crate::served::ServedCounter;
use crate::state::ServingState;
use crate::sync::{
    Chunks, EdgeView, OriginFetcher, Prefetcher, Registration, RegistrationInfo, SavedState,
    TokenKeys, keep_short,
};

/// How often the saved serving state is checked for a log long enough to compact.
const SAVED_STATE_CHECK: Duration = Duration::from_secs(60);

/// Why an edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] EdgeConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS files cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] http::TlsError),
    /// The cluster certificate cannot be used.
    #[error("cluster_tls: {0}")]
    ClusterTls(String),
    /// The cache could not be opened.
    #[error("chunk cache: {0}")]
    Cache(String),
    /// The saved serving state could not be opened.
    #[error("saved serving state in {dir}: {source}")]
    SavedState {
        /// Its folder.
        dir: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The access log could not be opened.
    #[error("access_log {path}: {source}")]
    AccessLog {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The listeners an edge serves on, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// Plain HTTP.
    pub http: TcpListener,
    /// TLS, when configured.
    pub https: Option<TcpListener>,
    /// `/metrics` and the probes on a listener of their own, when configured.
    pub metrics: Option<TcpListener>,
}

/// The metrics recorder the edge registers on, and how to render its page.
pub struct MetricsSink {
    /// The recorder.
    pub recorder: Arc<dyn Recorder + Send + Sync>,
    /// Renders `/metrics` from it.
    pub render: Render,
}

impl std::fmt::Debug for MetricsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsSink")
    }
}

/// Binds the configured addresses and runs the edge until `shutdown` resolves.
pub async fn run(
    config: EdgeConfig,
    metrics: MetricsSink,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    config.validate()?;
    let https = match config.https_addr {
        Some(addr) => Some(bind("edge-https", addr).await?),
        None => None,
    };
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(bind("edge-metrics", addr).await?),
        None => None,
    };
    let listeners = Listeners {
        http: bind("edge-http", config.http_addr).await?,
        https,
        metrics: metrics_listener,
    };
    serve(config, listeners, metrics, shutdown).await
}

async fn bind(name: &'static str, addr: std::net::SocketAddr) -> Result<TcpListener, NodeError> {
    packyard_net::listen::bind(name, addr)
        .await
        .map_err(|e| NodeError::Listen {
            addr,
            source: e.source,
        })
}

/// Runs the edge on `listeners` until `shutdown` resolves; then the listeners close,
/// requests under way finish (within the grace period) and the sync tasks stop.
pub async fn serve(
    config: EdgeConfig,
    listeners: Listeners,
    metrics: MetricsSink,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    config.validate()?;
    let cluster =
        ClusterTls::load(&config.cluster_tls).map_err(|e| NodeError::ClusterTls(e.to_string()))?;
    let me = Identity::new(NodeRole::Edge, config.edge_id.clone())
        .map_err(|e| NodeError::ClusterTls(e.to_string()))?;
    if cluster.identity() != me {
        return Err(NodeError::ClusterTls(format!(
            "the certificate is for {}, but this is {me}; issue one with \
             `packyard cluster cert issue --role edge --id {}`",
            cluster.identity(),
            config.edge_id
        )));
    }
    let invalid = |field: &'static str| {
        move |e: ChannelError| EdgeConfigError::Invalid {
            field,
            reason: e.to_string(),
        }
    };
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls_acceptor(cert, key)?),
        _ => None,
    };
    let counters = Arc::new(CacheCounters::new());
    let cache_config = CacheConfig {
        memory_bytes: config.cache_memory_bytes,
        disk: (config.cache_disk_bytes > 0).then(|| DiskConfig {
            root: config.data_dir.join("cache"),
            bytes: config.cache_disk_bytes,
        }),
    };
    let cache = {
        let counters = Arc::clone(&counters);
        tokio::task::spawn_blocking(move || ChunkCache::open(&cache_config, counters))
            .await
            .map_err(|e| NodeError::Cache(e.to_string()))?
            .map_err(|e| NodeError::Cache(e.to_string()))?
    };
    let metrics = EdgeMetrics::new(metrics.recorder, metrics.render, counters);
    let origin = OriginFetcher::connect(&cluster, &config.origin).map_err(invalid("origin"))?;
    let control = CatalogClient::connect(&cluster, &config.control_plane)
        .map_err(invalid("control_plane"))?;
    let chunks = Chunks::new(cache, Arc::new(origin), metrics.clone());
    let served = ServedCounter::new();
    let secret = TokenKeys::new();
    let (state, saved) = restore(&config, &secret).await?;
    let state = Arc::new(RwLock::new(state));
    let saved = Arc::new(Mutex::new(saved));
    // Listeners given port 0 got one from the kernel: default URLs name what they got.
    let bound = EdgeConfig {
        http_addr: listeners.http.local_addr().unwrap_or(config.http_addr),
        https_addr: match &listeners.https {
            Some(l) => l.local_addr().ok().or(config.https_addr),
            None => config.https_addr,
        },
        ..config.clone()
    };
    let public_urls = bound.effective_public_urls();
    let stop = Stop::new();

    let registration = Registration {
        client: control.clone(),
        info: RegistrationInfo {
            edge_id: config.edge_id.clone(),
            region: config.region.clone(),
            public_urls: public_urls.clone(),
            cache_capacity_bytes: config.cache_memory_bytes + config.cache_disk_bytes,
        },
        secret: secret.clone(),
        state: Arc::clone(&state),
        chunks: chunks.clone(),
        served: served.clone(),
        saved: Some(Arc::clone(&saved)),
    };
    let registering = tokio::spawn(registration.run(stop.clone()));

    let prefetcher = Prefetcher::new(chunks.clone(), config.prefetch_concurrency);
    let sync_metrics = metrics.clone();
    let following_secret = secret.clone();
    let applied = move |(applied, index, lag): (crate::state::Applied, u64, u64)| {
        sync_metrics.sync(index, lag);
        if let Some(generation) = applied.token_generation {
            following_secret.expect(generation);
        }
        for version in applied.to_prefetch {
            prefetcher.prefetch(version);
        }
    };
    let compacting = tokio::spawn(keep_short(
        control.clone(),
        format!("edge:{}:saved-state", config.edge_id),
        Arc::clone(&saved),
        SAVED_STATE_CHECK,
        stop.clone(),
    ));
    let following = tokio::spawn(follow(
        control,
        format!("edge:{}", config.edge_id),
        Arc::new(Mutex::new(EdgeView::saving(Arc::clone(&state), saved))),
        applied,
        FollowTiming::default(),
        stop.clone(),
    ));

    let (access_log, access_writer) = match &config.access_log {
        Some(path) => {
            let (log, writer) =
                crate::access_log::AccessLog::open(path)
                    .await
                    .map_err(|source| NodeError::AccessLog {
                        path: path.clone(),
                        source,
                    })?;
            (Some(log), Some(writer))
        }
        None => (None, None),
    };
    let service = Arc::new(EdgeService {
        access_log,
        state,
        chunks,
        secret,
        metrics,
        served,
        settings: ServeSettings {
            metrics_on_device_port: listeners.metrics.is_none(),
            max_token_lifetime_secs: config.max_token_lifetime_secs,
            public_urls,
            range_limits: config.ranges.clone(),
            manifest_policy: ManifestPolicy {
                localization_min_os: config.localization_min_os,
            },
        },
    });
    let stopped = || {
        let stop = stop.clone();
        async move { stop.stopped().await }
    };
    let reloading = tokio::spawn(cluster.watch(config.cluster_tls.clone(), stopped()));
    let plain = tokio::spawn(http::serve(
        listeners.http,
        None,
        Arc::clone(&service),
        config.http.clone(),
        stopped(),
    ));
    let operations = listeners.metrics.map(|listener| {
        tokio::spawn(http::serve(
            listener,
            None,
            Arc::new(http::OperationsHandler(Arc::clone(&service))),
            config.http.clone(),
            stopped(),
        ))
    });
    let secure = match (listeners.https, tls) {
        (Some(listener), Some(tls)) => Some(tokio::spawn(http::serve(
            listener,
            Some(tls),
            Arc::clone(&service),
            config.http.clone(),
            stopped(),
        ))),
        _ => None,
    };

    shutdown.await;
    tracing::info!("shutting down");
    stop.stop();
    let _ = tokio::join!(plain, registering, following, reloading, compacting);
    if let Some(secure) = secure {
        let _ = secure.await;
    }
    if let Some(operations) = operations {
        let _ = operations.await;
    }
    // The service holds the last access log handle: once it is gone the writer drains.
    drop(service);
    if let Some(writer) = access_writer {
        let _ = writer.await;
    }
    Ok(())
}

/// The serving state saved by the last run, replayed, and the saved state to go on
/// recording into; the saved tester-token public keys go into `secret`. An edge that saved
/// nothing starts empty and waits for the control plane's snapshot.
async fn restore(
    config: &EdgeConfig,
    secret: &TokenKeys,
) -> Result<(ServingState, SavedState), NodeError> {
    let dir = config.data_dir.join("state");
    let opened = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || SavedState::open(&dir))
            .await
            .map_err(|e| NodeError::Cache(e.to_string()))?
    };
    let (saved, replay) = opened.map_err(|source| NodeError::SavedState { dir, source })?;
    let mut state = ServingState::for_region(&config.region);
    let mut generation = None;
    for event in &replay {
        generation = state.apply(event).token_generation.or(generation);
    }
    if let Some((raw, saved_generation)) = saved.secret() {
        match TokenVerifier::from_bytes(&raw) {
            Some(keys) => secret.set(keys, saved_generation),
            // An edge of an earlier release saved an HMAC secret: the control plane hands the
            // public keys over when the edge registers.
            None => tracing::warn!("the saved tester-token keys are unusable; fetching them"),
        }
    }
    // A newer generation than the saved keys' is fetched; the saved ones go on checking
    // the tokens they signed meanwhile.
    if let Some(generation) = generation {
        secret.expect(generation);
    }
    if state.is_synced() {
        tracing::info!(
            index = state.applied_index(),
            events = replay.len(),
            "serving the state saved by the last run until the control plane answers"
        );
    }
    Ok((state, saved))
}
