//! `packyard cluster`: the members of a running control-plane cluster (`status`, `join`,
//! `leave`, over the Membership gRPC service of any member, with an operator certificate),
//! and the cluster's certificates (`ca init`, `cert issue`).

mod membership;
mod pki;

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cluster_tls::ClusterTlsArgs;

/// `packyard cluster …`
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// The Raft address (`HOST:PORT`) of any member of the cluster, for `status`, `join`
    /// and `leave` (before the subcommand: `cert ensure` has a `--node` of its own).
    #[arg(
        long,
        env = "PACKYARD_NODE",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:7101"
    )]
    node: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// The operator certificate membership commands present (`--cluster-tls-dir` finds the
    /// one `operator-*.pem` in the folder) [default: ./packyard-dev/cluster-tls, next to a
    /// dev node].
    #[command(flatten)]
    tls: ClusterTlsArgs,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Show the voters, learners, leader and term.
    Status,
    /// Add a node (started with `packyard control --join`) as a voter: it is added as a
    /// learner, catches up, then votes.
    Join {
        /// The new node's id.
        #[arg(long)]
        id: u64,
        /// Where the new node listens for Raft.
        #[arg(long, value_name = "HOST:PORT")]
        raft_addr: String,
        /// Where the new node serves the admin API.
        #[arg(long, value_name = "HOST:PORT")]
        admin_addr: String,
    },
    /// Remove a node from the cluster (it may be the leader; the rest elect another).
    Leave {
        /// The node's id.
        #[arg(long)]
        id: u64,
    },
    /// The cluster's certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Node and operator certificates.
    #[command(subcommand)]
    Cert(CertCommand),
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Make the cluster CA: `DIR/ca.pem` (give it to every node) and `DIR/ca.key` (keep it
    /// off the nodes). Refuses to replace an existing CA.
    Init {
        /// Where to write the CA.
        #[arg(long, value_name = "DIR", default_value = "packyard-ca")]
        dir: PathBuf,
        /// The CA's name (its certificate's common name).
        #[arg(long, default_value = "Packyard cluster CA")]
        name: String,
        /// Days the CA is valid.
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
enum CertCommand {
    /// Issue a certificate for a node (or an operator): `OUT/{role}-{id}.pem` and `.key`, next
    /// to a copy of `ca.pem`. Run it again to renew: nodes pick up the new files without a
    /// restart.
    Issue {
        /// What the certificate is for: control, origin, edge or operator.
        #[arg(long)]
        role: String,
        /// Which one: a control node's `--id`, an origin's `--origin-id`, an edge's
        /// `--edge-id`, an operator's name.
        #[arg(long)]
        id: String,
        /// Where the CA is (`ca.pem`, `ca.key`).
        #[arg(long, value_name = "DIR", default_value = "packyard-ca")]
        ca_dir: PathBuf,
        /// Where to write the certificate [default: the CA's folder].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Host names to add (for other TLS tools; Packyard peers check the role and id).
        #[arg(long = "dns", value_name = "NAME")]
        dns_names: Vec<String>,
        /// Addresses to add.
        #[arg(long = "ip", value_name = "ADDR")]
        ips: Vec<IpAddr>,
    },
    /// Make what a new cluster's nodes need, once: the CA in `CA_DIR` unless there is one,
    /// and for each `--node ROLE:ID` without a certificate yet, one in `OUT/ROLE/` (next to
    /// `ca.pem`), so each role's folder can be given to its nodes alone. Safe to run again:
    /// what exists is kept (renew with `cert issue`).
    Ensure {
        /// Where the CA is, or is made.
        #[arg(long, value_name = "DIR", default_value = "packyard-ca")]
        ca_dir: PathBuf,
        /// Where each role's folder goes.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A node, as `control:1`, `origin:1`, `edge:eu-1` or `operator:admin`; repeat, or
        /// separate with commas.
        #[arg(
            long = "node",
            value_name = "ROLE:ID",
            value_delimiter = ',',
            required = true
        )]
        nodes: Vec<String>,
        /// Days each new certificate is valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
}

/// Runs a cluster command.
pub(crate) fn run(args: &ClusterArgs) -> anyhow::Result<()> {
    match &args.command {
        ClusterCommand::Status => membership::run(args, membership::Change::Status),
        ClusterCommand::Join {
            id,
            raft_addr,
            admin_addr,
        } => membership::run(
            args,
            membership::Change::Join {
                id: *id,
                raft_addr: raft_addr.clone(),
                admin_addr: admin_addr.clone(),
            },
        ),
        ClusterCommand::Leave { id } => membership::run(args, membership::Change::Leave(*id)),
        ClusterCommand::Ca(CaCommand::Init { dir, name, days }) => pki::ca_init(dir, name, *days),
        ClusterCommand::Cert(CertCommand::Issue {
            role,
            id,
            ca_dir,
            out,
            days,
            dns_names,
            ips,
        }) => pki::cert_issue(&pki::Issue {
            role,
            id,
            ca_dir,
            out: out.as_deref().unwrap_or(ca_dir),
            days: *days,
            dns_names,
            ips,
        }),
        ClusterCommand::Cert(CertCommand::Ensure {
            ca_dir,
            out,
            nodes,
            days,
        }) => pki::ensure(ca_dir, out, nodes, *days),
    }
}
