//! `packyard cluster`: membership of a running control-plane cluster, over the Membership
//! gRPC service of any member (joins and leaves are forwarded to the leader).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use packyard_proto::raft::v1::membership_client::MembershipClient;
use packyard_proto::raft::v1::{
    JoinRequest, LeaveRequest, MembershipReply, NodeInfo, StatusRequest,
};
use serde_json::json;

/// `packyard cluster …`
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// The Raft address (`HOST:PORT`) of any member of the cluster.
    #[arg(
        long,
        env = "PACKYARD_NODE",
        value_name = "HOST:PORT",
        global = true,
        default_value = "127.0.0.1:7101"
    )]
    node: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
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
}

/// Runs a cluster command and prints the membership that results.
pub(crate) fn run(args: &ClusterArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let reply = runtime.block_on(async {
        let mut client = MembershipClient::connect(format!("http://{}", args.node))
            .await
            .with_context(|| format!("connecting to {}", args.node))?;
        let reply = match &args.command {
            ClusterCommand::Status => client.status(StatusRequest {}).await,
            ClusterCommand::Join {
                id,
                raft_addr,
                admin_addr,
            } => {
                let node = NodeInfo {
                    id: *id,
                    raft_addr: raft_addr.clone(),
                    admin_addr: admin_addr.clone(),
                };
                client.join(JoinRequest { node: Some(node) }).await
            }
            ClusterCommand::Leave { id } => client.leave(LeaveRequest { id: *id }).await,
        };
        reply
            .map(tonic::Response::into_inner)
            .map_err(|status| anyhow::anyhow!("{}", status.message()))
    })?;
    if args.json {
        println!("{}", to_json(&reply));
    } else {
        print!("{}", table(&reply));
    }
    Ok(())
}

fn to_json(r: &MembershipReply) -> serde_json::Value {
    let nodes = |list: &[NodeInfo]| {
        list.iter()
            .map(|n| json!({"id": n.id, "raftAddr": n.raft_addr, "adminAddr": n.admin_addr}))
            .collect::<Vec<_>>()
    };
    json!({
        "voters": nodes(&r.voters),
        "learners": nodes(&r.learners),
        "leaderId": (r.leader_id != 0).then_some(r.leader_id),
        "term": r.term,
        "commitIndex": r.commit_index,
    })
}

fn table(r: &MembershipReply) -> String {
    let mut out = format!(
        "{:<6} {:<8} {:<8} {:<24} {}\n",
        "ID", "ROLE", "LEADER", "RAFT", "ADMIN"
    );
    let rows = r
        .voters
        .iter()
        .map(|n| (n, "voter"))
        .chain(r.learners.iter().map(|n| (n, "learner")));
    for (n, role) in rows {
        let leader = if n.id == r.leader_id { "*" } else { "" };
        out.push_str(&format!(
            "{:<6} {:<8} {:<8} {:<24} {}\n",
            n.id, role, leader, n.raft_addr, n.admin_addr
        ));
    }
    out.push_str(&format!(
        "term {}, commit index {}\n",
        r.term, r.commit_index
    ));
    out
}
