//! Control-plane nodes join and leave a running cluster through the `Membership` service,
//! on any node: a one-node cluster grows to three (one join forwarded by a follower), every
//! node applies writes from before and after, a voter leaves (the leader too), and writes
//! keep committing. Refusals come back with the codes an operator's tooling can act on.

// Helpers outside `#[test]` functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use packyard_control_plane::CatalogStore;
use packyard_control_plane::raft::type_config::Raft;
use packyard_control_plane::raft::{
    GrpcNetwork, MembershipService, Node, NodeId, PeerChannels, RaftService, RaftSettings,
    RaftStore, open_storage,
};
use packyard_core::catalog::{Actor, Catalog, Command, CreateUser, Envelope, Timestamp, UserId};
use packyard_core::quota::QuotaLimits;
use packyard_net::cluster::test_support::TestPki;
use packyard_net::cluster::{ListenerLimits, NodeRole, incoming};
use packyard_proto::raft::v1::membership_client::MembershipClient;
use packyard_proto::raft::v1::{
    JoinRequest, LeaveRequest, MembershipReply, NodeInfo, StatusRequest,
};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::RwLock;
use tonic::Code;
use tonic::transport::Channel;

const TIMEOUT: Option<Duration> = Some(Duration::from_secs(10));

/// One CA for every node of every test in this file.
fn pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(TestPki::new)
}

/// One running node: its Raft handle, its live catalog, its address and its directory.
struct TestNode {
    id: NodeId,
    raft: Raft,
    catalog: Arc<RwLock<Catalog>>,
    raft_addr: String,
    peers: PeerChannels,
    _dir: TempDir,
}

impl TestNode {
    /// Starts node `id` with the Raft and Membership services on a fresh loopback port.
    async fn start(id: NodeId, step_timeout: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let raft_addr = listener.local_addr().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let (log, sm) = open_storage(dir.path(), Catalog::new(QuotaLimits::default()))
            .await
            .unwrap();
        let catalog = sm.catalog();
        let settings = RaftSettings {
            heartbeat_ms: 50,
            election_timeout_min_ms: 200,
            election_timeout_max_ms: 400,
            ..RaftSettings::default()
        };
        let config = Arc::new(settings.to_openraft().unwrap());
        let tls = pki().node(NodeRole::Control, &id.to_string());
        let peers = PeerChannels::new(tls.clone());
        let raft = Raft::new(id, config, GrpcNetwork::new(peers.clone()), log, sm)
            .await
            .unwrap();
        let membership =
            MembershipService::new(raft.clone(), peers.clone()).with_step_timeout(step_timeout);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(RaftService::new(raft.clone()).into_server())
                .add_service(membership.into_server())
                .serve_with_incoming(incoming(listener, tls, ListenerLimits::default())),
        );
        Self {
            id,
            raft,
            catalog,
            raft_addr,
            peers,
            _dir: dir,
        }
    }

    /// How the cluster records this node (the admin API is not started here).
    fn node(&self) -> Node {
        Node::new(self.raft_addr.clone(), "127.0.0.1:8080")
    }

    fn info(&self) -> NodeInfo {
        NodeInfo {
            id: self.id,
            raft_addr: self.raft_addr.clone(),
            admin_addr: "127.0.0.1:8080".to_owned(),
        }
    }

    /// A membership client with an operator's certificate, as `packyard cluster` has.
    async fn client(&self) -> MembershipClient<Channel> {
        let channel = pki()
            .node(NodeRole::Operator, "ops")
            .channel(&self.raft_addr, NodeRole::Control)
            .unwrap();
        MembershipClient::new(channel)
    }

    fn store(&self) -> RaftStore {
        RaftStore::new(self.raft.clone(), self.catalog.clone(), self.peers.clone())
    }

    /// Waits until this node sees `leader` lead.
    async fn wait_for_leader(&self, leader: NodeId) {
        self.raft
            .wait(TIMEOUT)
            .current_leader(leader, "the expected leader leads")
            .await
            .unwrap();
    }

    /// Waits until this node has applied everything in `node`'s log. The leader answers a
    /// write a moment before its metrics count it applied, so its log is the safe measure.
    async fn catch_up_with(&self, node: &TestNode) {
        let last = node.raft.metrics().borrow().last_log_index;
        self.raft
            .wait(TIMEOUT)
            .applied_index_at_least(last, "caught up")
            .await
            .unwrap();
    }

    async fn has_user(&self, user: &str) -> bool {
        self.catalog
            .read()
            .await
            .user(&UserId::from(user))
            .is_some()
    }
}

/// Starts node 1 as a one-node cluster and waits until it leads.
async fn one_node_cluster(step_timeout: Duration) -> TestNode {
    let first = TestNode::start(1, step_timeout).await;
    first
        .raft
        .initialize(BTreeMap::from([(1, first.node())]))
        .await
        .unwrap();
    first.wait_for_leader(1).await;
    first
}

fn create_user(id: &str) -> Envelope {
    Envelope {
        actor: Actor::System,
        at: Timestamp(1),
        command: Command::CreateUser(CreateUser {
            id: UserId::from(id),
            name: id.to_owned(),
            email: format!("{id}@example.com"),
            roles: vec![],
            operator: false,
        }),
        key: None,
    }
}

fn ids(nodes: &[NodeInfo]) -> Vec<NodeId> {
    nodes.iter().map(|n| n.id).collect()
}

async fn join(via: &TestNode, node: NodeInfo) -> Result<MembershipReply, tonic::Status> {
    let mut client = via.client().await;
    let reply = client.join(JoinRequest { node: Some(node) }).await?;
    Ok(reply.into_inner())
}

async fn leave(via: &TestNode, id: NodeId) -> Result<MembershipReply, tonic::Status> {
    let mut client = via.client().await;
    Ok(client.leave(LeaveRequest { id }).await?.into_inner())
}

async fn status(of: &TestNode) -> MembershipReply {
    let mut client = of.client().await;
    client.status(StatusRequest {}).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_join_through_leader_and_follower_then_one_leaves() {
    let n1 = one_node_cluster(Duration::from_secs(30)).await;
    assert!(
        n1.store()
            .write(create_user("alice"))
            .await
            .unwrap()
            .is_ok()
    );

    let n2 = TestNode::start(2, Duration::from_secs(30)).await;
    let n3 = TestNode::start(3, Duration::from_secs(30)).await;
    let joined = join(&n1, n2.info()).await.unwrap();
    assert_eq!(ids(&joined.voters), [1, 2]);
    assert_eq!(
        joined.voters[1],
        n2.info(),
        "the reply carries the addresses"
    );

    // Node 2 follows now; it hands node 3's join to the leader.
    n2.wait_for_leader(1).await;
    let joined = join(&n2, n3.info()).await.unwrap();
    assert_eq!(ids(&joined.voters), [1, 2, 3]);
    assert!(joined.learners.is_empty());
    assert_eq!(joined.leader_id, 1);

    // Joining again at the same addresses changes nothing and succeeds, from any node.
    n3.wait_for_leader(1).await;
    let again = join(&n3, n3.info()).await.unwrap();
    assert_eq!(ids(&again.voters), [1, 2, 3]);

    // A write through a follower after the joins; every node has it and the one before.
    assert!(n3.store().write(create_user("bob")).await.unwrap().is_ok());
    for node in [&n1, &n2, &n3] {
        node.catch_up_with(&n1).await;
        assert!(node.has_user("alice").await, "node {} lacks alice", node.id);
        assert!(node.has_user("bob").await, "node {} lacks bob", node.id);
        let seen = status(node).await;
        assert_eq!(ids(&seen.voters), [1, 2, 3], "status of node {}", node.id);
        assert_eq!(seen.leader_id, 1);
        assert!(seen.term >= 1);
        assert!(seen.commit_index >= 1);
    }

    // Node 3 asks to leave through itself; the leader removes it from the cluster.
    let left = leave(&n3, 3).await.unwrap();
    assert_eq!(ids(&left.voters), [1, 2]);
    assert!(left.learners.is_empty(), "a node that leaves is no learner");
    n3.raft.shutdown().await.unwrap();
    n2.raft
        .wait(TIMEOUT)
        .metrics(
            |m| m.membership_config.membership().voter_ids().eq([1, 2]),
            "node 2 sees node 3 gone",
        )
        .await
        .unwrap();
    assert_eq!(ids(&status(&n2).await.voters), [1, 2]);

    // Two voters still make a quorum: writes commit and reach both.
    assert!(
        n2.store()
            .write(create_user("carol"))
            .await
            .unwrap()
            .is_ok()
    );
    for node in [&n1, &n2] {
        node.catch_up_with(&n1).await;
        assert!(node.has_user("carol").await, "node {} lacks carol", node.id);
    }
    for node in [n1, n2] {
        node.raft.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_may_leave_and_the_rest_elect_another() {
    let n1 = one_node_cluster(Duration::from_secs(30)).await;
    let n2 = TestNode::start(2, Duration::from_secs(30)).await;
    let n3 = TestNode::start(3, Duration::from_secs(30)).await;
    join(&n1, n2.info()).await.unwrap();
    join(&n1, n3.info()).await.unwrap();
    n2.wait_for_leader(1).await;

    // Asked through a follower, forwarded to the leader, which removes itself.
    let left = leave(&n2, 1).await.unwrap();
    assert_eq!(ids(&left.voters), [2, 3]);
    n1.raft.shutdown().await.unwrap();

    for node in [&n2, &n3] {
        node.raft
            .wait(TIMEOUT)
            .metrics(
                |m| matches!(m.current_leader, Some(2 | 3)),
                "a remaining node leads",
            )
            .await
            .unwrap();
    }
    assert!(n3.store().write(create_user("dave")).await.unwrap().is_ok());
    let leader = if n3.raft.metrics().borrow().current_leader == Some(2) {
        &n2
    } else {
        &n3
    };
    for node in [&n2, &n3] {
        node.catch_up_with(leader).await;
        assert!(node.has_user("dave").await, "node {} lacks dave", node.id);
    }
    assert_eq!(ids(&status(&n3).await.voters), [2, 3]);
    for node in [n2, n3] {
        node.raft.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_with_the_right_code() {
    let n1 = one_node_cluster(Duration::from_secs(1)).await;

    let unknown = leave(&n1, 9).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert!(unknown.message().contains("node 9"), "{unknown:?}");

    let last = leave(&n1, 1).await.unwrap_err();
    assert_eq!(last.code(), Code::FailedPrecondition, "{last:?}");
    assert!(last.message().contains("last voter"), "{last:?}");

    // Node 1 again, at another address.
    let moved = NodeInfo {
        raft_addr: "127.0.0.1:1".to_owned(),
        ..n1.info()
    };
    let conflict = join(&n1, moved).await.unwrap_err();
    assert_eq!(conflict.code(), Code::AlreadyExists, "{conflict:?}");
    assert!(conflict.message().contains("Leave"), "{conflict:?}");

    // Another id at node 1's address.
    let twin = NodeInfo { id: 5, ..n1.info() };
    let taken = join(&n1, twin).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");

    let mut client = n1.client().await;
    let empty = client.join(JoinRequest { node: None }).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    let zero = join(&n1, NodeInfo { id: 0, ..n1.info() })
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument, "{zero:?}");

    // Nobody listens at the joining node's address: it stays a learner, the join times out
    // with a message saying how to finish or undo it, and Leave undoes it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let absent = NodeInfo {
        id: 4,
        raft_addr: format!("127.0.0.1:{port}"),
        admin_addr: "127.0.0.1:8080".to_owned(),
    };
    let stuck = join(&n1, absent).await.unwrap_err();
    assert_eq!(stuck.code(), Code::DeadlineExceeded, "{stuck:?}");
    assert!(stuck.message().contains("Leave 4"), "{stuck:?}");
    assert_eq!(ids(&status(&n1).await.learners), [4]);
    let undone = leave(&n1, 4).await.unwrap();
    assert_eq!(ids(&undone.voters), [1]);
    assert!(undone.learners.is_empty());

    // Nothing refused changed the membership, and the cluster still takes writes.
    assert!(n1.store().write(create_user("erin")).await.unwrap().is_ok());
    n1.raft.shutdown().await.unwrap();
}
