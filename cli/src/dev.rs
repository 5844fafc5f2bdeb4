//! `packyard dev`: the whole of Packyard in one process for a newcomer's machine: a
//! single-node control plane (Raft on RocksDB), an origin and an edge, each with its data in a
//! folder of `--data`, stopped together by Ctrl-C. They talk over the same mutual TLS as a
//! cluster; the CA and the certificates are made in `--data/cluster-tls` on first start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use packyard_control_plane::ControlConfig;
use packyard_control_plane::node::{self as control, KeyNotice};
use packyard_edge::EdgeConfig;
use packyard_net::cluster::{
    Addresses, CertRequest, ClusterCa, ClusterTlsFiles, DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY,
    Identity, NodeRole, Validity, write_atomically, write_node_files,
};
use packyard_origin::OriginConfig;

/// Flags of `packyard dev`; every one has a default a newcomer never needs to change.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Where the control plane, origin and edge keep their data (one folder each).
    #[arg(long, value_name = "DIR", default_value = "packyard-dev")]
    data: PathBuf,
    /// The admin API (and its /metrics).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7100")]
    admin_addr: SocketAddr,
    /// Where the origin takes upload parts.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7200")]
    upload_addr: SocketAddr,
    /// The control plane's Raft and gRPC listener (watch stream for the edge, reports from
    /// the origin).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7101")]
    raft_addr: SocketAddr,
    /// The origin's chunk service, which the edge fetches from.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7201")]
    origin_grpc_addr: SocketAddr,
    /// The edge's plain-HTTP listener, where devices download.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7300")]
    edge_addr: SocketAddr,
    /// Also serve the edge over HTTPS (HTTP/2 through ALPN) here. Without --tls-cert and
    /// --tls-key, a self-signed certificate for localhost is made once in the data folder.
    #[arg(long, value_name = "HOST:PORT")]
    edge_tls_addr: Option<SocketAddr>,
    /// The edge's TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The edge's TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Refuse webhook targets on this machine and private networks, as a cluster does. By
    /// default a dev node sends webhooks to them, so a receiver on localhost can be tried.
    #[arg(long)]
    no_local_webhooks: bool,
    /// Append one JSON line per device request to the edge's access log FILE.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Serve the edge's /metrics (and probes) here instead of on its device listener.
    #[arg(long, value_name = "HOST:PORT")]
    edge_metrics_addr: Option<SocketAddr>,
}

/// The three services' configurations, pointing at each other.
struct Plan {
    control: ControlConfig,
    origin: OriginConfig,
    edge: EdgeConfig,
    tls_note: Option<String>,
}

/// Every listener of the three services, bound before any starts, so a port 0 (any free
/// port) is known before the services are pointed at each other.
struct Bound {
    control: control::Listeners,
    origin: packyard_origin::node::Listeners,
    edge: packyard_edge::node::Listeners,
}

impl Bound {
    async fn bind(args: &DevArgs) -> anyhow::Result<Self> {
        use packyard_net::listen::bind;
        let https = match args.edge_tls_addr {
            Some(addr) => Some(bind("edge-https", addr).await?),
            None => None,
        };
        Ok(Self {
            control: control::Listeners {
                raft: bind("raft", args.raft_addr).await?,
                admin: bind("admin", args.admin_addr).await?,
            },
            origin: packyard_origin::node::Listeners {
                upload: bind("upload", args.upload_addr).await?,
                grpc: bind("origin-grpc", args.origin_grpc_addr).await?,
            },
            edge: packyard_edge::node::Listeners {
                http: bind("edge-http", args.edge_addr).await?,
                https,
                metrics: match args.edge_metrics_addr {
                    Some(addr) => Some(bind("edge-metrics", addr).await?),
                    None => None,
                },
            },
        })
    }

    /// The addresses bound, in place of the ones asked for.
    fn args(&self, args: &DevArgs) -> anyhow::Result<DevArgs> {
        let at = |l: &tokio::net::TcpListener| l.local_addr().context("a bound address");
        Ok(DevArgs {
            data: args.data.clone(),
            admin_addr: at(&self.control.admin)?,
            upload_addr: at(&self.origin.upload)?,
            raft_addr: at(&self.control.raft)?,
            origin_grpc_addr: at(&self.origin.grpc)?,
            edge_addr: at(&self.edge.http)?,
            edge_tls_addr: self.edge.https.as_ref().map(at).transpose()?,
            tls_cert: args.tls_cert.clone(),
            tls_key: args.tls_key.clone(),
            no_local_webhooks: args.no_local_webhooks,
            access_log: args.access_log.clone(),
            edge_metrics_addr: match &self.edge.metrics {
                Some(l) => Some(at(l)?),
                None => None,
            },
        })
    }
}

impl DevArgs {
    fn plan(&self) -> anyhow::Result<Plan> {
        let tls_dir = self.data.join("cluster-tls");
        let mut control = ControlConfig {
            data_dir: self.data.join("control"),
            admin_addr: self.admin_addr,
            raft_addr: self.raft_addr,
            cluster_tls: ClusterTlsFiles::in_dir(&tls_dir, "control-1"),
            ..ControlConfig::default()
        };
        control.webhooks.allow_private_addresses = !self.no_local_webhooks;
        let origin = OriginConfig {
            data_dir: self.data.join("origin"),
            control_plane: Addresses::one(control.raft_addr),
            upload_addr: self.upload_addr,
            grpc_addr: self.origin_grpc_addr,
            cluster_tls: ClusterTlsFiles::in_dir(&tls_dir, "origin-1"),
            ..OriginConfig::default()
        };
        control.api.origin_base_url = format!("http://{}", origin.upload_addr);
        let mut edge = EdgeConfig {
            data_dir: self.data.join("edge"),
            http_addr: self.edge_addr,
            control_plane: Addresses::one(control.raft_addr),
            origin: Addresses::one(origin.grpc_addr),
            region: "dev".to_owned(),
            edge_id: "dev".to_owned(),
            cluster_tls: ClusterTlsFiles::in_dir(&tls_dir, "edge-dev"),
            access_log: self.access_log.clone(),
            metrics_addr: self.edge_metrics_addr,
            ..EdgeConfig::default()
        };
        edge.public_urls = vec![format!("http://{}", self.edge_addr)];
        let mut tls_note = None;
        if let Some(tls_addr) = self.edge_tls_addr {
            let (cert, key) = match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => (cert.clone(), key.clone()),
                _ => {
                    let (cert, key) = self_signed(&self.data.join("tls"))?;
                    tls_note = Some(format!(
                        "self-signed certificate for localhost: curl --cacert {}",
                        cert.display()
                    ));
                    (cert, key)
                }
            };
            edge.https_addr = Some(tls_addr);
            edge.tls_cert = Some(cert);
            edge.tls_key = Some(key);
            edge.public_urls.push(format!("https://{tls_addr}"));
        }
        control.validate()?;
        origin.validate()?;
        edge.validate()?;
        Ok(Plan {
            control,
            origin,
            edge,
            tls_note,
        })
    }
}

/// The nodes of a dev cluster, and the operator who runs `packyard cluster` next to it.
const DEV_IDENTITIES: [(NodeRole, &str); 4] = [
    (NodeRole::Control, "1"),
    (NodeRole::Origin, "1"),
    (NodeRole::Edge, "dev"),
    (NodeRole::Operator, "dev"),
];

/// The dev cluster's CA and node certificates, made once in `dir` (`ca.pem`, `ca.key`, and
/// `{role}-{id}.pem`/`.key` for each of [`DEV_IDENTITIES`]), as an operator would make them
/// with `packyard cluster ca init` and `cert issue`. A certificate missing (or deleted) is
/// issued again by the same CA.
fn cluster_certificates(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let (ca_cert, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let ca = if ca_cert.exists() && ca_key.exists() {
        let read = |p: &Path| std::fs::read_to_string(p).with_context(|| p.display().to_string());
        ClusterCa::from_pem(&read(&ca_cert)?, &read(&ca_key)?)?
    } else {
        let validity = Validity::starting_now(DEFAULT_CA_VALIDITY)?;
        let ca = ClusterCa::generate("Packyard dev cluster CA", validity)?;
        write_atomically(&ca_key, ca.key_pem(), true)?;
        write_atomically(&ca_cert, ca.cert_pem(), false)?;
        ca
    };
    for (role, id) in DEV_IDENTITIES {
        let files = ClusterTlsFiles::in_dir(dir, &format!("{role}-{id}"));
        let (_, cert, key) = files.paths().map_err(anyhow::Error::msg)?;
        if cert.exists() && key.exists() {
            continue;
        }
        let mut request = CertRequest::new(Identity::new(role, id)?, DEFAULT_CERT_VALIDITY)?;
        request.dns_names.push("localhost".into());
        request.ips.push([127, 0, 0, 1].into());
        let issued = ca.issue(&request)?;
        write_node_files(dir, ca.cert_pem(), &request.identity, &issued)?;
    }
    Ok(())
}

/// A certificate and key for `localhost` and `127.0.0.1`, made once and kept in `dir`.
fn self_signed(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).context("making a certificate")?;
    std::fs::write(&cert_path, certified.cert.pem()).context("writing the certificate")?;
    packyard_control_plane::api::write_key_file(&key_path, &certified.signing_key.serialize_pem())
        .context("writing the TLS key")?;
    Ok((cert_path, key_path))
}

/// Runs the control plane, origin and edge until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &DevArgs) -> anyhow::Result<()> {
    // The flags are checked before anything is bound or made.
    args.plan()?;
    let _lock = lock_data(&args.data)?;
    cluster_certificates(&args.data.join("cluster-tls"))
        .context("making the dev cluster's certificates")?;
    crate::logging::init();
    let control_metrics = crate::control::control_metrics()?;
    let edge_metrics = crate::edge::edge_metrics()?;
    let origin_metrics = crate::origin::origin_metrics()?;
    let admin_key = std::env::var("PACKYARD_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    if let Some(key) = &admin_key {
        packyard_control_plane::api::check_bootstrap_key(key)?;
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let bound = Bound::bind(args).await?;
        let plan = bound.args(args)?.plan()?;
        let stop = packyard_net::node::Stop::new();
        let stopped = || {
            let stop = stop.clone();
            async move { stop.stopped().await }
        };
        print_plan(args, &plan);
        let on_key = say_where_the_key_is(plan.control.data_dir.join("admin-key"));
        println!("Press Ctrl-C to stop.");
        let control = tokio::spawn(control::serve(
            plan.control,
            bound.control,
            admin_key,
            control_metrics,
            on_key,
            stopped(),
        ));
        // Every listener is bound already: the origin's and the edge's first calls wait in
        // the control plane's accept queue rather than fail and retry.
        let origin = tokio::spawn(packyard_origin::node::serve(
            plan.origin,
            bound.origin,
            origin_metrics,
            packyard_origin::process::ProcessHooks::default(),
            stopped(),
        ));
        let edge = tokio::spawn(packyard_edge::node::serve(
            plan.edge,
            bound.edge,
            edge_metrics,
            stopped(),
        ));
        let (mut control, mut origin, mut edge) = (control, origin, edge);
        // A service that stops on its own (a port in use, a bad data folder) stops them all,
        // and its error is what this command ends with.
        let ended = tokio::select! {
            () = crate::signal::shutdown() => None,
            r = &mut control => Some(("control plane", outcome(r))),
            r = &mut origin => Some(("origin", outcome(r))),
            r = &mut edge => Some(("edge", outcome(r))),
        };
        if ended.is_none() {
            println!("stopping…");
        }
        stop.stop();
        if let Some((name, result)) = ended {
            // The others stop on the signal; the process ends with this one's error.
            control.abort();
            origin.abort();
            edge.abort();
            return match result {
                Err(e) => Err(e.context(format!("the {name} stopped"))),
                Ok(()) => anyhow::bail!("the {name} stopped on its own; see the log above"),
            };
        }
        let (c, o, e) = tokio::join!(control, origin, edge);
        outcome(c).context("control plane")?;
        outcome(o).context("origin")?;
        outcome(e).context("edge")?;
        Ok(())
    })
}

/// Says where each part listens and what this dev node allows.
fn print_plan(args: &DevArgs, plan: &Plan) {
    let edge_urls = plan.edge.public_urls.join(" ");
    println!("Packyard dev: data in {}", args.data.display());
    println!(
        "  admin API   http://{}   (metrics at /metrics)",
        plan.control.admin_addr
    );
    println!("  uploads     {}", plan.control.api.origin_base_url);
    println!("  edge        {edge_urls}");
    println!(
        "  cluster TLS {} (the CA and each part's certificate)",
        args.data.join("cluster-tls").display()
    );
    if let Some(note) = &plan.tls_note {
        println!("  TLS         {note}");
    }
    if plan.control.webhooks.allow_private_addresses {
        println!(
            "  webhooks    may go to this machine and private networks (a dev default; \
             --no-local-webhooks refuses them, as a cluster does)"
        );
    }
}

/// What to print once the control plane says where the operator's key is.
fn say_where_the_key_is(key_file: PathBuf) -> impl FnOnce(KeyNotice) + Send + 'static {
    move |notice: KeyNotice| match notice {
        KeyNotice::Generated(path) => {
            println!("  admin key   written to {} (mode 0600)", path.display());
        }
        KeyNotice::FromEnvironment => println!("  admin key   PACKYARD_ADMIN_KEY"),
        KeyNotice::EnvironmentIgnored => println!(
            "  admin key   PACKYARD_ADMIN_KEY is ignored: this cluster has its operator \
             (the key in {} or one made since)",
            key_file.display()
        ),
        KeyNotice::Existing => println!(
            "  admin key   as before: PACKYARD_ADMIN_KEY or {}",
            key_file.display()
        ),
    }
}

/// Holds `DATA/dev.lock` for as long as it lives (the operating system lets go when the
/// process ends, however it ends): one `packyard dev` per data folder, so a second one is
/// refused at once and says why, rather than start its services on a folder another is
/// writing.
fn lock_data(data: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let path = data.join("dev.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => anyhow::bail!(
            "another packyard dev is running on {} (it holds {}); stop it, or give this one \
             another folder with --data",
            data.display(),
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// What a service's task ended with.
fn outcome<E>(joined: Result<Result<(), E>, tokio::task::JoinError>) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    joined??;
    Ok(())
}
