//! Three control-plane nodes on loopback agree on the catalog: a write through the leader,
//! and one forwarded by a follower, are applied on every node; concurrent writes share log
//! entries (proposals) and each still gets its own answer.

// Helpers outside `#[test]` functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use packyard_control_plane::CatalogStore;
use packyard_control_plane::raft::type_config::Raft;
use packyard_control_plane::raft::{
    GrpcNetwork, Node, NodeId, PeerChannels, RaftService, RaftSettings, RaftStore, open_storage,
};
use packyard_core::catalog::{Actor, Catalog, Command, CreateUser, Envelope, Timestamp, UserId};
use packyard_core::quota::QuotaLimits;
use packyard_net::cluster::test_support::TestPki;
use packyard_net::cluster::{ListenerLimits, NodeRole, incoming};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::RwLock;

/// One running node: its Raft handle, its live catalog, and the directory it keeps.
struct TestNode {
    raft: Raft,
    catalog: Arc<RwLock<Catalog>>,
    peers: PeerChannels,
    /// Where its Raft service listens.
    addr: String,
    _dir: TempDir,
}

async fn start(pki: &TestPki, id: NodeId, listener: TcpListener) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let addr = listener.local_addr().unwrap().to_string();
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
    let tls = pki.node(NodeRole::Control, &id.to_string());
    let peers = PeerChannels::new(tls.clone());
    let raft = Raft::new(id, config, GrpcNetwork::new(peers.clone()), log, sm)
        .await
        .unwrap();
    let service = RaftService::new(raft.clone()).into_server();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming(listener, tls, ListenerLimits::default())),
    );
    TestNode {
        raft,
        catalog,
        peers,
        addr,
        _dir: dir,
    }
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

/// Three nodes with an elected leader: the nodes, the leader's id, and a follower's id.
async fn three_nodes() -> (BTreeMap<NodeId, TestNode>, NodeId, NodeId) {
    let mut members = BTreeMap::new();
    let mut listeners = Vec::new();
    for id in 1..=3u64 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        members.insert(id, Node::new(addr, "127.0.0.1:0"));
        listeners.push((id, listener));
    }
    let pki = TestPki::new();
    let mut nodes = BTreeMap::new();
    for (id, listener) in listeners {
        nodes.insert(id, start(&pki, id, listener).await);
    }

    nodes[&1].raft.initialize(members).await.unwrap();
    let timeout = Some(Duration::from_secs(10));
    let metrics = nodes[&1]
        .raft
        .wait(timeout)
        .metrics(|m| m.current_leader.is_some(), "a leader is elected")
        .await
        .unwrap();
    let leader_id = metrics.current_leader.unwrap();
    let follower_id = (1..=3).find(|id| *id != leader_id).unwrap();
    // Every node knows who leads before the test writes through a follower.
    for node in nodes.values() {
        node.raft
            .wait(timeout)
            .metrics(
                |m| m.current_leader == Some(leader_id),
                "the leader is known",
            )
            .await
            .unwrap();
    }
    (nodes, leader_id, follower_id)
}

fn store(node: &TestNode) -> RaftStore {
    RaftStore::new(node.raft.clone(), node.catalog.clone(), node.peers.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_apply_writes_from_the_leader_and_forwarded_by_followers() {
    let (nodes, leader_id, follower_id) = three_nodes().await;
    let timeout = Some(Duration::from_secs(10));
    let leader = store(&nodes[&leader_id]);
    let follower = store(&nodes[&follower_id]);

    assert!(leader.write(create_user("alice")).await.unwrap().is_ok());
    assert!(follower.write(create_user("bob")).await.unwrap().is_ok());
    // The catalog's refusal travels back through the forwarding follower unchanged.
    assert!(follower.write(create_user("alice")).await.unwrap().is_err());

    let seen = leader
        .read(|c| c.user(&UserId::from("bob")).is_some())
        .await
        .unwrap();
    assert!(
        seen,
        "a linearizable read on the leader sees the forwarded write"
    );
    // A follower serves linearizable reads too: it learns the leader's read index and waits
    // until it has applied that far, so it sees a write acknowledged a moment ago.
    assert!(leader.write(create_user("carol")).await.unwrap().is_ok());
    let on_follower = follower
        .read(|c| c.user(&UserId::from("carol")).is_some())
        .await
        .unwrap();
    assert!(
        on_follower,
        "a follower's read sees the write the leader just acknowledged"
    );
    assert!(leader.is_leader().await);
    assert!(!follower.is_leader().await);

    // The leader's whole log, not its applied index: a leader answers a write a moment before
    // its metrics count it as applied.
    let last = nodes[&leader_id]
        .raft
        .metrics()
        .borrow()
        .last_log_index
        .unwrap();
    nodes[&leader_id]
        .raft
        .wait(timeout)
        .applied_index_at_least(Some(last), "the leader applied its log")
        .await
        .unwrap();
    let on_leader = nodes[&leader_id].catalog.read().await.clone();
    for (id, node) in &nodes {
        node.raft
            .wait(timeout)
            .applied_index_at_least(Some(last), "every write applied")
            .await
            .unwrap();
        let catalog = node.catalog.read().await;
        for user in ["alice", "bob", "carol"] {
            assert!(
                catalog.user(&UserId::from(user)).is_some(),
                "node {id} lacks {user}"
            );
        }
        assert_eq!(*catalog, on_leader, "node {id} differs from the leader");
    }
    for node in nodes.values() {
        node.raft.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_a_follower_share_log_entries_and_each_gets_its_own_answer() {
    let (nodes, leader_id, follower_id) = three_nodes().await;
    let follower = store(&nodes[&follower_id]);
    for i in 0..16 {
        let taken = follower.write(create_user(&format!("taken-{i}"))).await;
        assert!(taken.unwrap().is_ok());
    }
    let before = nodes[&leader_id]
        .raft
        .metrics()
        .borrow()
        .last_log_index
        .unwrap();

    // 48 new users and 16 that exist already, all at once, through the follower.
    let mut writes = Vec::new();
    for i in 0..64 {
        let name = if i % 4 == 0 {
            format!("taken-{}", i / 4)
        } else {
            format!("new-{i}")
        };
        let follower = follower.clone();
        writes.push(tokio::spawn(async move {
            (
                name.clone(),
                follower.write_at(create_user(&name)).await.unwrap(),
            )
        }));
    }
    let mut indexes = Vec::new();
    for write in writes {
        let (name, (index, applied)) = write.await.unwrap();
        // Each write gets its own answer: a refusal for the taken name, events for a new one.
        assert_eq!(
            applied.is_ok(),
            name.starts_with("new-"),
            "{name}: {applied:?}"
        );
        indexes.push(index);
    }
    let after = nodes[&leader_id]
        .raft
        .metrics()
        .borrow()
        .last_log_index
        .unwrap();
    // Grouped: a handful of log entries carried the 64 writes (one proposal in flight, up
    // to 32 writes each), not one entry each.
    assert!(
        after - before <= 8,
        "64 writes took {} log entries",
        after - before
    );
    indexes.sort_unstable();
    indexes.dedup();
    assert!(indexes.len() <= 8, "{indexes:?}");

    let timeout = Some(Duration::from_secs(10));
    for (id, node) in &nodes {
        node.raft
            .wait(timeout)
            .applied_index_at_least(Some(after), "every write applied")
            .await
            .unwrap();
        let catalog = node.catalog.read().await;
        for i in (0..64).filter(|i| i % 4 != 0) {
            let user = format!("new-{i}");
            assert!(
                catalog.user(&UserId::from(user.as_str())).is_some(),
                "node {id} lacks {user}"
            );
        }
    }
    for node in nodes.values() {
        node.raft.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_proposal_that_is_empty_or_undecodable_is_refused_and_changes_nothing() {
    use packyard_proto::raft::v1::ClientWriteRequest;
    use packyard_proto::raft::v1::raft_client::RaftClient;

    let (nodes, leader_id, follower_id) = three_nodes().await;
    // A control node's own channel to the leader: the only callers mutual TLS lets in.
    let channel = nodes[&follower_id]
        .peers
        .get(&nodes[&leader_id].addr)
        .unwrap();
    let mut leader = RaftClient::new(channel);
    let before = nodes[&leader_id].raft.metrics().borrow().last_log_index;

    for (what, command_json) in [
        ("an empty proposal", b"[]".to_vec()),
        ("not JSON", b"\xff{".to_vec()),
        ("an array of non-envelopes", br#"[{"actor": 1}]"#.to_vec()),
    ] {
        let status = leader
            .client_write(ClientWriteRequest {
                command_json: command_json.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{what}: {status}"
        );
        // On the stream the refusal arrives as the answer and ends the stream.
        let mut answers = leader
            .client_write_stream(tokio_stream::iter(vec![ClientWriteRequest {
                command_json,
            }]))
            .await
            .unwrap()
            .into_inner();
        let status = answers.message().await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{what}: {status}"
        );
    }
    assert_eq!(
        nodes[&leader_id].raft.metrics().borrow().last_log_index,
        before,
        "nothing was proposed"
    );
    // And the leader goes on taking writes.
    let follower = store(&nodes[&follower_id]);
    assert!(follower.write(create_user("after")).await.unwrap().is_ok());
    for node in nodes.values() {
        node.raft.shutdown().await.unwrap();
    }
}
