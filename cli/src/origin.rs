//! `packyard origin`: runs one origin (uploads, processing, the chunk service, GC).
//!
//! Configuration comes from `--config FILE` (TOML), then flags, then `PACKYARD_*` variables
//! for the flags that have one: a flag given on the command line wins over the file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use packyard_net::cluster::Addresses;
use packyard_origin::OriginConfig;
use packyard_origin::node;

/// Flags of `packyard origin`; each overrides the same field of `--config`.
#[derive(Debug, Args)]
pub(crate) struct OriginArgs {
    /// A TOML configuration file (every field documented in `OriginConfig`).
    #[arg(long, env = "PACKYARD_ORIGIN_CONFIG")]
    config: Option<PathBuf>,
    /// Where the origin keeps upload parts and chunks.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where the upload endpoint (HTTP) listens; the control plane's origin URL leads here.
    #[arg(long, value_name = "HOST:PORT")]
    upload_addr: Option<SocketAddr>,
    /// Where the chunk service (gRPC) edges fetch from listens.
    #[arg(long, value_name = "HOST:PORT")]
    grpc_addr: Option<SocketAddr>,
    /// The gRPC addresses (raft addresses) of the control-plane members, comma separated;
    /// the node follows one and moves to the next when it fails.
    #[arg(long, value_name = "HOST:PORT,…", env = "PACKYARD_CONTROL_PLANE")]
    control_plane: Option<Addresses>,
    /// This origin's id, stable across restarts (its cluster certificate names it).
    #[arg(long, env = "PACKYARD_ORIGIN_ID")]
    origin_id: Option<String>,
    #[command(flatten)]
    cluster_tls: crate::cluster_tls::ClusterTlsArgs,
    /// For crash tests of the process: hold each version's processing once this many of its
    /// chunks are stored, until the origin stops.
    #[arg(long, value_name = "CHUNKS", hide = true)]
    hold_processing_after_chunks: Option<usize>,
}

impl OriginArgs {
    /// The configuration: the file's, then the flags over it.
    fn config(&self) -> anyhow::Result<OriginConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                OriginConfig::from_toml(&text).with_context(|| path.display().to_string())?
            }
            None => OriginConfig::default(),
        };
        if let Some(data) = &self.data {
            config.data_dir.clone_from(data);
        }
        if let Some(addr) = self.upload_addr {
            config.upload_addr = addr;
        }
        if let Some(addr) = self.grpc_addr {
            config.grpc_addr = addr;
        }
        if let Some(cp) = &self.control_plane {
            config.control_plane.clone_from(cp);
        }
        if let Some(id) = &self.origin_id {
            config.origin_id.clone_from(id);
        }
        let id = config.origin_id.clone();
        self.cluster_tls.apply(
            &mut config.cluster_tls,
            packyard_net::cluster::NodeRole::Origin,
            &id,
        );
        config.validate()?;
        Ok(config)
    }
}

/// The origin's metrics on a fresh Prometheus recorder (histograms with every service's
/// buckets), kept bounded by [`crate::metrics_upkeep`].
pub(crate) fn origin_metrics() -> anyhow::Result<packyard_origin::metrics::OriginMetrics> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&crate::control::LATENCY_BUCKETS)
        .context("latency buckets")?
        .build_recorder();
    let handle = recorder.handle();
    crate::metrics_upkeep(handle.clone());
    Ok(packyard_origin::metrics::OriginMetrics::new(
        std::sync::Arc::new(recorder),
        std::sync::Arc::new(move || handle.render()),
    ))
}

/// Runs the origin until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &OriginArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let hooks = packyard_origin::process::ProcessHooks {
        hold_after_chunks: args.hold_processing_after_chunks,
        ..Default::default()
    };
    crate::logging::init();
    let metrics = origin_metrics()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        println!(
            "packyard origin: uploads http://{} chunk service {} control plane {} data {}",
            config.upload_addr,
            config.grpc_addr,
            config.control_plane,
            config.data_dir.display()
        );
        node::run(config, metrics, hooks, crate::signal::shutdown()).await?;
        Ok(())
    })
}
