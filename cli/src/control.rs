//! `packyard control`: runs one control-plane node.
//!
//! Configuration comes from `--config FILE` (TOML), then flags, then `PACKYARD_*` variables
//! for the flags that have one: a flag given on the command line wins over the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_control_plane::node::{self, KeyNotice};
use packyard_control_plane::{ControlConfig, ControlMetrics};

/// Latency buckets of every service's request histograms, in seconds: 0.1 ms to 10 s, so
/// the admin API's and the edge's durations are read with one query.
pub(crate) const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Flags of `packyard control`; each overrides the same field of `--config`.
#[derive(Debug, Args)]
pub(crate) struct ControlArgs {
    /// A TOML configuration file (every field documented in `ControlConfig`).
    #[arg(long, env = "PACKYARD_CONTROL_CONFIG")]
    config: Option<PathBuf>,
    /// This node's id, 1 or more.
    #[arg(long, env = "PACKYARD_NODE_ID", conflicts_with = "pod_index")]
    id: Option<u64>,
    /// The index of this node's pod in a Kubernetes StatefulSet (its
    /// `apps.kubernetes.io/pod-index` label): the node's id is the index + 1.
    #[arg(long, value_name = "N", env = "PACKYARD_POD_INDEX")]
    pod_index: Option<u64>,
    /// Where this node keeps its data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where peers reach this node's Raft and watch-stream gRPC.
    #[arg(long, value_name = "HOST:PORT")]
    raft_addr: Option<SocketAddr>,
    /// Where the admin API and /metrics listen.
    #[arg(long, value_name = "HOST:PORT")]
    admin_addr: Option<SocketAddr>,
    /// The voters of a new cluster: `1=HOST:PORT,2=HOST:PORT,3=HOST:PORT` (Raft addresses).
    #[arg(long, value_name = "ID=HOST:PORT,…")]
    peers: Option<String>,
    /// Start empty and wait to be added with `packyard cluster join`.
    #[arg(long)]
    join: bool,
    /// The origin base URL that upload operations point at.
    #[arg(long, value_name = "URL")]
    origin_url: Option<String>,
    #[command(flatten)]
    cluster_tls: crate::cluster_tls::ClusterTlsArgs,
}

impl ControlArgs {
    /// The configuration: the file's, then the flags over it.
    fn config(&self) -> anyhow::Result<ControlConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                ControlConfig::from_toml(&text).with_context(|| path.display().to_string())?
            }
            None => ControlConfig::default(),
        };
        if let Some(id) = self.id {
            config.id = id;
        }
        if let Some(index) = self.pod_index {
            config.id = index
                .checked_add(1)
                .context("--pod-index is too large to make a node id")?;
        }
        if let Some(data) = &self.data {
            config.data_dir.clone_from(data);
        }
        if let Some(addr) = self.raft_addr {
            config.raft_addr = addr;
        }
        if let Some(addr) = self.admin_addr {
            config.admin_addr = addr;
        }
        if let Some(peers) = &self.peers {
            config.peers = ControlConfig::parse_peers(peers)?;
        }
        config.join |= self.join;
        if let Some(url) = &self.origin_url {
            config.api.origin_base_url = url.trim_end_matches('/').to_owned();
        }
        let id = config.id.to_string();
        self.cluster_tls.apply(
            &mut config.cluster_tls,
            packyard_net::cluster::NodeRole::Control,
            &id,
        );
        config.validate()?;
        Ok(config)
    }
}

/// The control plane's metrics on a fresh Prometheus recorder.
pub(crate) fn control_metrics() -> anyhow::Result<ControlMetrics> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)
        .context("latency buckets")?
        .build_recorder();
    let handle = recorder.handle();
    crate::metrics_upkeep(handle.clone());
    Ok(ControlMetrics::new(
        Arc::new(recorder),
        Arc::new(move || handle.render()),
    ))
}

/// Runs the node until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &ControlArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    crate::logging::init();
    let admin_key = std::env::var("PACKYARD_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    if let Some(key) = &admin_key {
        packyard_control_plane::api::check_bootstrap_key(key)?;
    }
    let metrics = control_metrics()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        println!(
            "packyard control: node {} admin API http://{} raft {} data {}",
            config.id,
            config.admin_addr,
            config.raft_addr,
            config.data_dir.display()
        );
        let on_key = |notice: KeyNotice| match notice {
            KeyNotice::Generated(path) => {
                println!(
                    "bootstrap admin key generated and written to {} (mode 0600)",
                    path.display()
                );
            }
            KeyNotice::FromEnvironment => {
                println!("bootstrap admin key taken from PACKYARD_ADMIN_KEY")
            }
            KeyNotice::EnvironmentIgnored => eprintln!(
                "warning: PACKYARD_ADMIN_KEY is ignored: the cluster was bootstrapped already, \
                 and a bootstrap key only bootstraps (a revoked one stays revoked)"
            ),
            KeyNotice::Existing => {}
        };
        node::run(
            config,
            admin_key,
            metrics,
            on_key,
            crate::signal::shutdown(),
        )
        .await?;
        Ok(())
    })
}
