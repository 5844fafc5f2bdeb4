//! The configuration files `deploy/` ships (the compose project's TOML files and the TOML in
//! the Kubernetes ConfigMaps) are read by the real configuration types, with the flags the
//! compose file and the manifests add, and pass the same checks a server makes before it
//! starts: a misspelt field there would stop a node in production.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use packyard_control_plane::ControlConfig;
use packyard_edge::EdgeConfig;
use packyard_net::cluster::ClusterTlsFiles;
use packyard_origin::OriginConfig;
use packyard_origin::config::StoreConfig;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The block `  {key}: |` of a ConfigMap in `yaml`, dedented.
fn config_map_entry(yaml: &str, key: &str) -> String {
    let mut lines = yaml.lines();
    let head = format!("{key}: |");
    assert!(lines.any(|l| l.trim() == head), "no ConfigMap entry {key}");
    let body: Vec<&str> = lines
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .collect();
    body.iter()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn tls(role: &str, id: &str) -> ClusterTlsFiles {
    ClusterTlsFiles::in_dir(Path::new("/tls"), &format!("{role}-{id}"))
}

fn check_control(text: &str, id: u64, origin: &str) {
    let mut c = ControlConfig::from_toml(text).unwrap();
    c.id = id;
    c.cluster_tls = tls("control", &id.to_string());
    if !origin.is_empty() {
        c.api.origin_base_url = origin.into();
    }
    c.validate().unwrap();
    assert_eq!(c.peers.len(), 3, "three voters");
    assert!(c.peers.contains_key(&id));
    assert!(c.raft_addr.ip().is_unspecified() && c.admin_addr.ip().is_unspecified());
}

fn check_origin(text: &str) {
    let mut c = OriginConfig::from_toml(text).unwrap();
    c.cluster_tls = tls("origin", &c.origin_id.clone());
    // Both deployments keep chunks in a bucket shared by every origin, through more than
    // one of the store's nodes where it has them; its key comes from the environment or a
    // Secret, never from the file.
    let StoreConfig::S3(store) = &mut c.store else {
        panic!("the origins of a deployment share a bucket: {:?}", c.store);
    };
    assert!(store.access_key_id.is_none() && store.secret_access_key.is_none());
    store.credentials_file = None;
    store.access_key_id = Some("GK-in-the-environment".into());
    store.secret_access_key = Some("secret-in-the-environment".into());
    c.validate().unwrap();
    assert_eq!(c.control_plane.len(), 3, "every control node, for failover");
}

fn check_edge(text: &str, id: &str) {
    let mut c = EdgeConfig::from_toml(text).unwrap();
    c.edge_id = id.into();
    c.cluster_tls = tls("edge", id);
    c.validate().unwrap();
    assert_eq!(c.control_plane.len(), 3, "every control node, for failover");
    assert!(c.http_addr.ip().is_unspecified());
}

#[test]
fn the_compose_projects_configuration_files_are_valid_for_every_node() {
    let dir = deploy().join("compose");
    for id in 1..=3 {
        check_control(
            &read(&dir.join("control.toml")),
            id,
            "http://127.0.0.1:7200",
        );
    }
    check_origin(&read(&dir.join("origin.toml")));
    for id in ["eu-1", "eu-2", "us-1"] {
        check_edge(&read(&dir.join("edge.toml")), id);
    }
}

#[test]
fn the_kubernetes_config_maps_are_valid_for_every_node() {
    let dir = deploy().join("k8s");
    let control = config_map_entry(&read(&dir.join("control.yaml")), "control.toml");
    for id in 1..=3 {
        check_control(&control, id, "");
    }
    check_origin(&config_map_entry(
        &read(&dir.join("origin.yaml")),
        "origin.toml",
    ));
    check_edge(
        &config_map_entry(&read(&dir.join("edge.yaml")), "edge.toml"),
        "packyard-edge-eu-0",
    );
}
