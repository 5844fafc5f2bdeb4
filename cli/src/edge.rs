//! `packyard edge`: runs one edge (device HTTP/HTTPS, chunk cache, sync from the cluster).
//!
//! Configuration comes from `--config FILE` (TOML), then flags, then `PACKYARD_*` variables
//! for the flags that have one: a flag given on the command line wins over the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_edge::EdgeConfig;
use packyard_edge::node::{self, MetricsSink};
use packyard_net::cluster::Addresses;

/// Flags of `packyard edge`; each overrides the same field of `--config`.
#[derive(Debug, Args)]
pub(crate) struct EdgeArgs {
    /// A TOML configuration file (every field documented in `EdgeConfig`).
    #[arg(long, env = "PACKYARD_EDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Where the edge keeps its disk cache.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The plain-HTTP listener devices download from.
    #[arg(long, value_name = "HOST:PORT")]
    http_addr: Option<SocketAddr>,
    /// The TLS listener (needs --tls-cert and --tls-key).
    #[arg(long, value_name = "HOST:PORT")]
    https_addr: Option<SocketAddr>,
    /// The TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// This edge's id, stable across restarts (its cluster certificate names it).
    #[arg(long, env = "PACKYARD_EDGE_ID")]
    edge_id: Option<String>,
    /// The region this edge serves.
    #[arg(long, env = "PACKYARD_REGION")]
    region: Option<String>,
    /// Where devices reach this edge; repeat for several (http:// and https://).
    #[arg(long = "public-url", value_name = "URL")]
    public_urls: Vec<String>,
    /// The gRPC addresses (raft addresses) of the control-plane members, comma separated;
    /// the node follows one and moves to the next when it fails.
    #[arg(long, value_name = "HOST:PORT,…", env = "PACKYARD_CONTROL_PLANE")]
    control_plane: Option<Addresses>,
    /// The gRPC addresses of the origins' chunk services, comma separated.
    #[arg(long, value_name = "HOST:PORT,…", env = "PACKYARD_ORIGIN")]
    origin: Option<Addresses>,
    /// Bytes of chunks kept in memory.
    #[arg(long, value_name = "BYTES")]
    cache_memory_bytes: Option<u64>,
    /// Bytes of chunks kept on disk (0: no disk tier).
    #[arg(long, value_name = "BYTES")]
    cache_disk_bytes: Option<u64>,
    /// Append one JSON line per device request to FILE (path without query, status, bytes,
    /// time to the response head), written off the request path.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Serve /metrics (and /healthz, /readyz) on a listener of their own, for the monitoring
    /// network; the device listeners then answer /metrics 404.
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<SocketAddr>,
    #[command(flatten)]
    cluster_tls: crate::cluster_tls::ClusterTlsArgs,
}

impl EdgeArgs {
    /// The configuration: the file's, then the flags over it.
    fn config(&self) -> anyhow::Result<EdgeConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                EdgeConfig::from_toml(&text).with_context(|| path.display().to_string())?
            }
            None => EdgeConfig::default(),
        };
        if let Some(data) = &self.data {
            config.data_dir.clone_from(data);
        }
        if let Some(addr) = self.http_addr {
            config.http_addr = addr;
        }
        if let Some(addr) = self.https_addr {
            config.https_addr = Some(addr);
        }
        if let Some(cert) = &self.tls_cert {
            config.tls_cert = Some(cert.clone());
        }
        if let Some(key) = &self.tls_key {
            config.tls_key = Some(key.clone());
        }
        if let Some(id) = &self.edge_id {
            config.edge_id.clone_from(id);
        }
        if let Some(region) = &self.region {
            config.region.clone_from(region);
        }
        if !self.public_urls.is_empty() {
            config.public_urls.clone_from(&self.public_urls);
        }
        if let Some(cp) = &self.control_plane {
            config.control_plane.clone_from(cp);
        }
        if let Some(origin) = &self.origin {
            config.origin.clone_from(origin);
        }
        if let Some(n) = self.cache_memory_bytes {
            config.cache_memory_bytes = n;
        }
        if let Some(n) = self.cache_disk_bytes {
            config.cache_disk_bytes = n;
        }
        if let Some(path) = &self.access_log {
            config.access_log = Some(path.clone());
        }
        if let Some(addr) = self.metrics_addr {
            config.metrics_addr = Some(addr);
        }
        let id = config.edge_id.clone();
        self.cluster_tls.apply(
            &mut config.cluster_tls,
            packyard_net::cluster::NodeRole::Edge,
            &id,
        );
        config.validate()?;
        Ok(config)
    }
}

/// The edge's metrics on a fresh Prometheus recorder, kept bounded by
/// [`crate::metrics_upkeep`].
pub(crate) fn edge_metrics() -> anyhow::Result<MetricsSink> {
    // Histograms, as the control plane's: buckets aggregate across edges, where summaries'
    // quantiles cannot be added up.
    let recorder = PrometheusBuilder::new()
        .set_buckets(&crate::control::LATENCY_BUCKETS)
        .context("latency buckets")?
        .build_recorder();
    let handle = recorder.handle();
    crate::metrics_upkeep(handle.clone());
    Ok(MetricsSink {
        recorder: Arc::new(recorder),
        render: Arc::new(move || handle.render()),
    })
}

/// Runs the edge until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &EdgeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    crate::logging::init();
    let metrics = edge_metrics()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let https = config
            .https_addr
            .map(|a| format!(" https://{a}"))
            .unwrap_or_default();
        println!(
            "packyard edge {}: http://{}{https} control plane {} origin {} data {}",
            config.edge_id,
            config.http_addr,
            config.control_plane,
            config.origin,
            config.data_dir.display()
        );
        node::run(config, metrics, crate::signal::shutdown()).await?;
        Ok(())
    })
}
