//! Edges register and heartbeat as Packyard itself; bad registrations are refused naming the
//! field; liveness is a pure function of the last sign of life and the lease.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::fixture::*;
use super::serving_changes::{apply_and_diff, views};
use crate::catalog::*;

fn register(id: &str, region: &str) -> Command {
    Command::RegisterEdge(RegisterEdge {
        id: EdgeId::from(id),
        region: region.into(),
        public_urls: vec![format!("https://{id}.example.com")],
        capacity_bytes: 1 << 30,
    })
}

fn heartbeat(id: &str, ready: &[(&PackId, u32)], served: &[(&PackId, u32, u64)]) -> Command {
    Command::EdgeHeartbeat(EdgeHeartbeat {
        id: EdgeId::from(id),
        applied_index: 42,
        cached_bytes: 1_000,
        ready: ready.iter().map(|(p, n)| ((*p).clone(), *n)).collect(),
        served: served
            .iter()
            .map(|(p, n, d)| (((*p).clone(), *n), *d))
            .collect(),
        requests: served
            .iter()
            .map(|(p, n, d)| (((*p).clone(), *n), *d * 2))
            .collect(),
    })
}

fn field_of(refusal: &Refusal) -> &str {
    match refusal {
        Refusal::Invalid { field, .. } => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn registering_again_updates_the_edge_so_a_move_to_another_region_shows() {
    let mut w = World::new();
    w.ok(Actor::System, register("edge-1", "eu-west-1"));
    let first = w.catalog.edge(&"edge-1".into()).unwrap().clone();
    assert_eq!(first.region, "eu-west-1");
    assert_eq!(first.last_heartbeat_at, None);
    w.ok(
        Actor::System,
        Command::RegisterEdge(RegisterEdge {
            id: "edge-1".into(),
            region: "us-east-1".into(),
            public_urls: vec![
                "http://10.0.0.1:8080".into(),
                "https://e1.example.com".into(),
            ],
            capacity_bytes: 5,
        }),
    );
    let moved = w.catalog.edge(&"edge-1".into()).unwrap();
    assert_eq!(moved.region, "us-east-1");
    assert_eq!(moved.public_urls.len(), 2);
    assert_eq!(moved.capacity_bytes, 5);
    assert!(moved.registered_at > first.registered_at);
    assert_eq!(w.catalog.edges().count(), 1, "one record per edge id");
}

#[test]
fn only_packyard_itself_registers_edges_and_sends_heartbeats() {
    let mut w = World::new();
    for who in ["op", "holder", "dev"] {
        let refusal = w.refused(user(who), register("edge-1", "eu"));
        assert_eq!(refusal.kind(), RefusalKind::Forbidden);
        assert!(refusal.to_string().contains("Packyard itself"), "{refusal}");
    }
    w.ok(Actor::System, register("edge-1", "eu"));
    let refusal = w.refused(user("op"), heartbeat("edge-1", &[], &[]));
    assert_eq!(refusal.kind(), RefusalKind::Forbidden);
}

#[test]
fn a_region_that_is_not_a_dns_label_is_refused_naming_the_rule() {
    let mut w = World::new();
    let long = "a".repeat(MAX_REGION_LEN + 1);
    for bad in [
        "",
        "-eu",
        "eu-",
        "EU-west",
        "eu_west",
        "eu west",
        "é",
        long.as_str(),
    ] {
        let refusal = w.refused(Actor::System, register("edge-1", bad));
        assert_eq!(field_of(&refusal), "region", "{bad:?}");
        assert!(
            refusal
                .to_string()
                .contains("1 to 63 characters of a-z, 0-9 and '-'"),
            "{bad:?}: {refusal}"
        );
    }
    let longest = "a".repeat(MAX_REGION_LEN);
    for good in ["a", "eu-west-1", "1", "ap-south-2b", longest.as_str()] {
        w.ok(Actor::System, register("edge-1", good));
    }
}

#[test]
fn an_edge_needs_an_id_an_http_url_and_cache_room() {
    let mut w = World::new();
    let with = |id: &str, urls: &[&str], capacity| {
        Command::RegisterEdge(RegisterEdge {
            id: EdgeId::from(id),
            region: "eu".into(),
            public_urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            capacity_bytes: capacity,
        })
    };
    let cases: [(Command, &str); 7] = [
        (with("", &["https://e.example.com"], 1), "edge_id"),
        (with("edge 1", &["https://e.example.com"], 1), "edge_id"),
        (with("e", &[], 1), "public_urls"),
        (with("e", &["ftp://e.example.com"], 1), "public_urls[0]"),
        (
            with("e", &["https://e.example.com", "https://"], 1),
            "public_urls[1]",
        ),
        (with("e", &["e.example.com"], 1), "public_urls[0]"),
        (
            with("e", &["https://e.example.com"], 0),
            "cache_capacity_bytes",
        ),
    ];
    for (command, field) in cases {
        let refusal = w.refused(Actor::System, command);
        assert_eq!(field_of(&refusal), field, "{refusal}");
    }
    let many: Vec<String> = (0..=MAX_PUBLIC_URLS)
        .map(|i| format!("https://e{i}.example.com"))
        .collect();
    let refusal = w.refused(
        Actor::System,
        Command::RegisterEdge(RegisterEdge {
            id: "e".into(),
            region: "eu".into(),
            public_urls: many,
            capacity_bytes: 1,
        }),
    );
    assert_eq!(field_of(&refusal), "public_urls");
}

#[test]
fn a_heartbeat_from_an_edge_that_never_registered_is_not_found() {
    let mut w = World::new();
    let refusal = w.refused(Actor::System, heartbeat("ghost", &[], &[]));
    assert_eq!(
        refusal,
        Refusal::NotFound {
            resource: ResourceType::Edges,
            id: "ghost".into()
        }
    );
}

#[test]
fn each_heartbeat_replaces_what_the_edge_last_reported() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.complete(&pack, 100);
    w.ok(Actor::System, register("edge-1", "eu"));
    w.ok(
        Actor::System,
        heartbeat("edge-1", &[(&pack, 1)], &[(&pack, 1, 7)]),
    );
    let edge = w.catalog.edge(&"edge-1".into()).unwrap().clone();
    assert_eq!(edge.applied_index, 42);
    assert_eq!(edge.cached_bytes, 1_000);
    assert_eq!(edge.ready, BTreeSet::from([(pack.clone(), 1)]));
    assert_eq!(edge.served, BTreeMap::from([((pack.clone(), 1), 7)]));
    assert_eq!(edge.requests, BTreeMap::from([((pack.clone(), 1), 14)]));
    assert!(
        edge.last_heartbeat_at
            .is_some_and(|h| h > edge.registered_at)
    );

    w.ok(Actor::System, heartbeat("edge-1", &[], &[]));
    let edge = w.catalog.edge(&"edge-1".into()).unwrap();
    assert!(edge.ready.is_empty() && edge.served.is_empty());

    let refusal = w.refused(Actor::System, heartbeat("edge-1", &[(&pack, 0)], &[]));
    assert_eq!(field_of(&refusal), "ready");
    let refusal = w.refused(Actor::System, heartbeat("edge-1", &[], &[(&pack, 0, 1)]));
    assert_eq!(field_of(&refusal), "served");
}

#[test]
fn an_edge_is_down_once_nothing_came_from_it_for_longer_than_the_lease() {
    let lease = Duration::from_secs(30);
    let mut edge = Edge {
        id: "edge-1".into(),
        region: "eu".into(),
        public_urls: vec!["https://e.example.com".into()],
        capacity_bytes: 1,
        registered_at: Timestamp(1_000),
        last_heartbeat_at: None,
        applied_index: 0,
        cached_bytes: 0,
        ready: BTreeSet::new(),
        served: BTreeMap::new(),
        requests: BTreeMap::new(),
    };
    // Registering is a sign of life: a new edge is up before its first heartbeat.
    assert_eq!(edge_status(&edge, Timestamp(31_000), lease), EdgeStatus::Up);
    assert_eq!(
        edge_status(&edge, Timestamp(31_001), lease),
        EdgeStatus::Down
    );
    edge.last_heartbeat_at = Some(Timestamp(20_000));
    assert_eq!(edge_status(&edge, Timestamp(50_000), lease), EdgeStatus::Up);
    assert_eq!(
        edge_status(&edge, Timestamp(50_001), lease),
        EdgeStatus::Down
    );
    // A registration after the last heartbeat (a restart) counts from the registration.
    edge.registered_at = Timestamp(60_000);
    assert_eq!(edge_status(&edge, Timestamp(80_000), lease), EdgeStatus::Up);
    // Stamped by a clock ahead of ours: still fresh, never an underflow.
    assert_eq!(edge_status(&edge, Timestamp(0), lease), EdgeStatus::Up);
    assert_eq!(EdgeStatus::Down.as_str(), "DOWN");
}

#[test]
fn edge_commands_change_no_apps_serving_view() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.complete(&pack, 100);
    let before = views(&w.catalog);
    let snapshot = w.catalog.serving_snapshot();
    for command in [
        register("edge-1", "eu"),
        heartbeat("edge-1", &[(&pack, 1)], &[(&pack, 1, 3)]),
        register("edge-1", "us"),
    ] {
        assert_eq!(w.catalog.serving_app(&command), None);
        assert!(apply_and_diff(&mut w, Actor::System, command).is_empty());
    }
    assert_eq!(views(&w.catalog), before);
    assert_eq!(w.catalog.serving_snapshot(), snapshot);
}

#[test]
fn edges_survive_a_snapshot_and_a_snapshot_from_before_edges_loads() {
    let mut w = World::new();
    let pack = w.pack("level-2");
    w.complete(&pack, 100);
    let old_snapshot = serde_json::to_value(&w.catalog).unwrap();
    w.ok(Actor::System, register("edge-1", "eu"));
    let command = heartbeat("edge-1", &[(&pack, 1)], &[(&pack, 1, 9)]);
    let json = serde_json::to_string(&command).unwrap();
    assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), command);
    w.ok(Actor::System, command);

    let json = serde_json::to_string(&w.catalog).unwrap();
    let back: Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.catalog);

    let mut old = old_snapshot;
    old.as_object_mut().unwrap().remove("edges");
    let loaded: Catalog = serde_json::from_value(old).unwrap();
    assert_eq!(loaded.edges().count(), 0);
}

#[test]
fn only_operators_see_the_fleet() {
    let w = World::new();
    assert!(w.catalog.permits_fleet(&user("op")).is_ok());
    assert!(w.catalog.permits_fleet(&Actor::System).is_ok());
    for who in ["holder", "admin", "reviewer"] {
        let refusal = w.catalog.permits_fleet(&user(who)).unwrap_err();
        assert_eq!(refusal.kind(), RefusalKind::Forbidden);
        assert_eq!(
            refusal.to_string(),
            "only an operator may see the edge fleet; no app role allows it"
        );
    }
}
