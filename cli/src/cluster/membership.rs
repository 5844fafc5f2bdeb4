//! `packyard cluster status|join|leave`: membership of a running control-plane cluster, over
//! the Membership gRPC service of any member (joins and leaves are forwarded to the leader),
//! with an operator certificate.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use packyard_net::cluster::{ClusterTls, ClusterTlsFiles, NodeRole};
use packyard_proto::raft::v1::membership_client::MembershipClient;
use packyard_proto::raft::v1::{
    JoinRequest, LeaveRequest, MembershipReply, NodeInfo, StatusRequest,
};
use serde_json::json;

use super::ClusterArgs;

/// Where `packyard dev` keeps its cluster certificates, the operator's among them.
const DEV_TLS_DIR: &str = "packyard-dev/cluster-tls";

/// What to ask the cluster.
pub(super) enum Change {
    Status,
    Join {
        id: u64,
        raft_addr: String,
        admin_addr: String,
    },
    Leave(u64),
}

/// The operator certificate to present: the flags, else the one in a dev node's folder.
fn operator_files(args: &ClusterArgs) -> anyhow::Result<ClusterTlsFiles> {
    let tls = &args.tls;
    let dir = tls.cluster_tls_dir.clone().or_else(|| {
        Path::new(DEV_TLS_DIR)
            .is_dir()
            .then(|| PathBuf::from(DEV_TLS_DIR))
    });
    let mut files = ClusterTlsFiles::default();
    if let Some(dir) = dir {
        let stem = operator_stem(&dir)?;
        files = ClusterTlsFiles::in_dir(&dir, &stem);
    }
    let mut flags = tls.clone();
    flags.cluster_tls_dir = None;
    flags.apply(&mut files, NodeRole::Operator, "");
    if files.paths().is_err() {
        bail!(
            "membership commands need an operator certificate: pass --cluster-ca, \
             --cluster-cert and --cluster-key (or --cluster-tls-dir). Issue one with \
             `packyard cluster cert issue --role operator --id YOUR-NAME`"
        );
    }
    Ok(files)
}

/// The one `operator-*.pem` in `dir`, without its extension.
fn operator_stem(dir: &Path) -> anyhow::Result<String> {
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".pem").map(str::to_owned))
        .filter(|n| n.starts_with("operator-"))
        .collect();
    stems.sort();
    match stems.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "{} holds no operator certificate (operator-NAME.pem); issue one with \
             `packyard cluster cert issue --role operator --id YOUR-NAME --out {}`",
            dir.display(),
            dir.display()
        ),
        many => bail!(
            "{} holds several operator certificates ({}); pick one with --cluster-cert and \
             --cluster-key",
            dir.display(),
            many.join(", ")
        ),
    }
}

/// Runs a membership command and prints the membership that results.
pub(super) fn run(args: &ClusterArgs, change: Change) -> anyhow::Result<()> {
    let files = operator_files(args)?;
    let tls = ClusterTls::load(&files)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let reply = runtime.block_on(async {
        let channel = tls.channel(&args.node, NodeRole::Control)?;
        let mut client = MembershipClient::new(channel);
        let reply = match change {
            Change::Status => client.status(StatusRequest {}).await,
            Change::Join {
                id,
                raft_addr,
                admin_addr,
            } => {
                let node = NodeInfo {
                    id,
                    raft_addr,
                    admin_addr,
                };
                client.join(JoinRequest { node: Some(node) }).await
            }
            Change::Leave(id) => client.leave(LeaveRequest { id }).await,
        };
        reply
            .map(tonic::Response::into_inner)
            .map_err(|status| anyhow::anyhow!("{}: {}", args.node, status.message()))
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
