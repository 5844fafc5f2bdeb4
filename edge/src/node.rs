//! [`run`]: one edge process. The device listeners (plain and TLS), registration and
//! heartbeats, the watch-stream follower, the chunk cache filled from the origin and the
//! prefetcher, started from an [`EdgeConfig`] and stopped by the caller's shutdown signal.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use metrics::Recorder;
use packyard_catalog_client::{CatalogClient, FollowTiming, follow};
use packyard_core::device_manifest::ManifestPolicy;
use packyard_core::tester_token::TokenVerifier;
use packyard_net::cluster::NodeRole;
use packyard_net::node::{self, Tasks};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::access_log::AccessLog;
use crate::cache::{CacheConfig, CacheCounters, ChunkCache, DiskConfig};
use crate::config::{ConfigError, EdgeConfig};
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

pub use packyard_net::node::NodeError;

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
    let listeners = Listeners {
        https: node::bind_optional("edge-https", config.https_addr).await?,
        metrics: node::bind_optional("edge-metrics", config.metrics_addr).await?,
        http: node::bind("edge-http", config.http_addr).await?,
    };
    serve(config, listeners, metrics, shutdown).await
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
    let cluster = node::cluster_identity(&config.cluster_tls, NodeRole::Edge, &config.edge_id)?;
    let tls = node::public_tls(
        "tls_cert",
        config.tls_cert.as_deref(),
        config.tls_key.as_deref(),
    )?;
    let origin = OriginFetcher::connect(&cluster, &config.origin)
        .map_err(|e| ConfigError::invalid("origin", e))?;
    let control = CatalogClient::connect(&cluster, &config.control_plane)
        .map_err(|e| ConfigError::invalid("control_plane", e))?;
    let counters = Arc::new(CacheCounters::new());
    let cache = open_cache(&config, Arc::clone(&counters)).await?;
    let metrics = EdgeMetrics::new(metrics.recorder, metrics.render, counters);
    let chunks = Chunks::new(cache, Arc::new(origin), metrics.clone());
    let secret = TokenKeys::new();
    let (state, saved) = restore(&config, &secret).await?;
    let synced = Synced {
        state: Arc::new(RwLock::new(state)),
        saved: Arc::new(Mutex::new(saved)),
        secret,
    };
    let (access_log, access_writer) = open_access_log(&config).await?;
    let public_urls = bound_public_urls(&config, &listeners);
    let mut tasks = Tasks::new();

    let served = ServedCounter::new();
    spawn_sync(
        &mut tasks,
        &config,
        control,
        &synced,
        &chunks,
        &served,
        &metrics,
        public_urls.clone(),
    );
    let service = Arc::new(EdgeService {
        access_log,
        state: synced.state,
        chunks,
        secret: synced.secret,
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
            clock: packyard_net::node::Clock::System,
        },
    });
    tasks.spawn(
        "certificate expiry gauge",
        cluster
            .clone()
            .report_expiry(service.metrics.certificate_expiry(), tasks.stopped()),
    );
    tasks.spawn(
        "cluster TLS reload",
        cluster.watch(config.cluster_tls.clone(), tasks.stopped()),
    );
    spawn_listeners(&mut tasks, &config, listeners, tls, &service);

    tasks.run_until(shutdown).await;
    // The service holds the last access log handle: once it is gone the writer drains.
    drop(service);
    if let Some(writer) = access_writer {
        let _ = writer.await;
    }
    Ok(())
}

/// What the edge keeps in step with the control plane: the serving state, its saved copy
/// and the tester-token keys.
struct Synced {
    state: Arc<RwLock<ServingState>>,
    saved: Arc<Mutex<SavedState>>,
    secret: TokenKeys,
}

/// The chunk cache, in memory and on disk as configured.
async fn open_cache(
    config: &EdgeConfig,
    counters: Arc<CacheCounters>,
) -> Result<ChunkCache, NodeError> {
    let cache_config = CacheConfig {
        memory_bytes: config.cache_memory_bytes,
        disk: (config.cache_disk_bytes > 0).then(|| DiskConfig {
            root: config.data_dir.join("cache"),
            bytes: config.cache_disk_bytes,
        }),
    };
    tokio::task::spawn_blocking(move || ChunkCache::open(&cache_config, counters))
        .await
        .map_err(|e| NodeError::part("chunk cache", e))?
        .map_err(|e| NodeError::part("chunk cache", e))
}

/// The access log, when configured, and the task that writes it.
async fn open_access_log(
    config: &EdgeConfig,
) -> Result<(Option<AccessLog>, Option<tokio::task::JoinHandle<()>>), NodeError> {
    match &config.access_log {
        Some(path) => {
            let (log, writer) = AccessLog::open(path)
                .await
                .map_err(|e| NodeError::data(path, e))?;
            Ok((Some(log), Some(writer)))
        }
        None => Ok((None, None)),
    }
}

/// The URLs devices are sent to: as configured, or else the addresses bound (listeners
/// given port 0 got one from the kernel, and the defaults name what they got).
fn bound_public_urls(config: &EdgeConfig, listeners: &Listeners) -> Vec<String> {
    let bound = EdgeConfig {
        http_addr: listeners.http.local_addr().unwrap_or(config.http_addr),
        https_addr: match &listeners.https {
            Some(l) => l.local_addr().ok().or(config.https_addr),
            None => config.https_addr,
        },
        ..config.clone()
    };
    bound.effective_public_urls()
}

/// Registration and heartbeats, the watch-stream follower (and the prefetches what it
/// applies asks for), and compaction of the saved state.
#[allow(clippy::too_many_arguments)]
fn spawn_sync(
    tasks: &mut Tasks,
    config: &EdgeConfig,
    control: CatalogClient,
    synced: &Synced,
    chunks: &Chunks,
    served: &ServedCounter,
    metrics: &EdgeMetrics,
    public_urls: Vec<String>,
) {
    let registration = Registration {
        client: control.clone(),
        info: RegistrationInfo {
            edge_id: config.edge_id.clone(),
            region: config.region.clone(),
            public_urls,
            cache_capacity_bytes: config.cache_memory_bytes + config.cache_disk_bytes,
        },
        secret: synced.secret.clone(),
        state: Arc::clone(&synced.state),
        chunks: chunks.clone(),
        served: served.clone(),
        saved: Some(Arc::clone(&synced.saved)),
    };
    tasks.spawn("registration", registration.run(tasks.stop()));

    let prefetcher = Prefetcher::new(chunks.clone(), config.prefetch_concurrency);
    let (sync_metrics, secret) = (metrics.clone(), synced.secret.clone());
    let applied = move |(applied, index, lag): (crate::state::Applied, u64, u64)| {
        sync_metrics.sync(index, lag);
        if let Some(generation) = applied.token_generation {
            secret.expect(generation);
        }
        for version in applied.to_prefetch {
            prefetcher.prefetch(version);
        }
    };
    tasks.spawn(
        "saved state compaction",
        keep_short(
            control.clone(),
            format!("edge:{}:saved-state", config.edge_id),
            Arc::clone(&synced.saved),
            SAVED_STATE_CHECK,
            tasks.stop(),
        ),
    );
    let view = EdgeView::saving(Arc::clone(&synced.state), Arc::clone(&synced.saved));
    tasks.spawn(
        "watch stream",
        follow(
            control,
            format!("edge:{}", config.edge_id),
            Arc::new(Mutex::new(view)),
            applied,
            FollowTiming::default(),
            tasks.stop(),
        ),
    );
}

/// The device listeners (plain, and TLS when configured) and the operations listener.
fn spawn_listeners(
    tasks: &mut Tasks,
    config: &EdgeConfig,
    listeners: Listeners,
    tls: Option<TlsAcceptor>,
    service: &Arc<EdgeService>,
) {
    let limits = &config.http;
    let plain = http::serve(
        listeners.http,
        None,
        Arc::clone(service),
        limits.clone(),
        tasks.stopped(),
    );
    tasks.spawn("device listener", plain);
    if let (Some(listener), Some(tls)) = (listeners.https, tls) {
        let secure = http::serve(
            listener,
            Some(tls),
            Arc::clone(service),
            limits.clone(),
            tasks.stopped(),
        );
        tasks.spawn("device TLS listener", secure);
    }
    if let Some(listener) = listeners.metrics {
        let operations = Arc::new(http::OperationsHandler(Arc::clone(service)));
        let serving = http::serve(listener, None, operations, limits.clone(), tasks.stopped());
        tasks.spawn("operations listener", serving);
    }
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
            .map_err(|e| NodeError::part("saved serving state", e))?
    };
    let (saved, replay) = opened.map_err(|e| NodeError::data(&dir, e))?;
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
