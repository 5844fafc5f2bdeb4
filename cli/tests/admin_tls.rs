//! The admin API and the origin's upload endpoint over HTTPS: a control plane started with
//! `admin_tls_cert`/`admin_tls_key` and an origin with `upload_tls_cert`/`upload_tls_key`
//! (certificates of a private CA), used by the operator commands with `--ca-cert`, a version
//! uploaded in parts over TLS to COMPLETE; plain HTTP to the same port gets nothing.

#![allow(clippy::unwrap_used)]

#[path = "support/cluster_tls.rs"]
mod cluster_tls;
#[path = "support/procs.rs"]
mod procs;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use packyard_net::cluster::{
    CertRequest, ClusterCa, Identity, NodeRole, Validity, write_atomically,
};
use procs::{ANY, KEY, Proc, free_addrs, wait_for};

/// A server certificate for 127.0.0.1 from a CA of its own, written as `name.pem`/`.key` in
/// `dir`, with the CA as `public-ca.pem`.
fn server_cert(dir: &Path, name: &str, ca: &ClusterCa) {
    let mut request = CertRequest::new(
        Identity::new(NodeRole::Control, "public").unwrap(),
        Duration::from_secs(86_400),
    )
    .unwrap();
    request.ips.push([127, 0, 0, 1].into());
    request.dns_names.push("localhost".into());
    let cert = ca.issue(&request).unwrap();
    write_atomically(&dir.join(format!("{name}.pem")), &cert.cert_pem, false).unwrap();
    write_atomically(&dir.join(format!("{name}.key")), &cert.key_pem, true).unwrap();
}

fn cli(dir: &Path, server: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .args(["--server", server, "--ca-cert"])
        .arg(dir.join("public-ca.pem"))
        .env("PACKYARD_ADMIN_KEY", KEY)
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.success(), text.trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_and_uploads_speak_https_with_a_private_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cluster_tls::issue(dir, &[("control", "1"), ("origin", "1")]);
    let ca = ClusterCa::generate(
        "public CA",
        Validity::starting_now(Duration::from_secs(86_400)).unwrap(),
    )
    .unwrap();
    write_atomically(&dir.join("public-ca.pem"), ca.cert_pem(), false).unwrap();
    server_cert(dir, "admin", &ca);
    server_cert(dir, "upload", &ca);
    // The control node names the origin's upload URL before the origin can start.
    let [upload] = free_addrs();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    std::fs::write(
        dir.join("control.toml"),
        format!(
            "admin_tls_cert = {:?}\nadmin_tls_key = {:?}\n",
            path("admin.pem"),
            path("admin.key")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("origin.toml"),
        format!(
            "upload_tls_cert = {:?}\nupload_tls_key = {:?}\n",
            path("upload.pem"),
            path("upload.key")
        ),
    )
    .unwrap();
    let origin_url = format!("https://{upload}");
    let control = Proc::start(
        "control",
        dir,
        &[
            "control",
            "--config",
            &path("control.toml"),
            "--data",
            &path("cp"),
            "--admin-addr",
            ANY,
            "--raft-addr",
            ANY,
            "--origin-url",
            &origin_url,
        ],
    );
    let (admin, raft) = (control.addr("admin").await, control.addr("raft").await);
    let origin_config = path("origin.toml");
    let (origin, _) = procs::origin(dir, &upload, &raft, &["--config", &origin_config]).await;
    let logs = || format!("{}{}", control.log(), origin.log());
    let server = format!("https://{admin}");
    wait_for(60, "the HTTPS admin API answers the CLI", &logs, || async {
        cli(dir, &server, &["apps", "list"]).0
    })
    .await;

    // Without the CA, the CLI refuses the certificate; plain HTTP gets no answer.
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["apps", "list", "--server", &server])
        .env("PACKYARD_ADMIN_KEY", KEY)
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let plain = reqwest::Client::new()
        .get(format!("http://{admin}/v1/apps"))
        .bearer_auth(KEY)
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP to the TLS port: {plain:?}");

    // A whole upload: the parts go to the origin over TLS, and the version completes.
    let (ok, app) = cli(
        dir,
        &server,
        &[
            "apps",
            "create",
            "--name",
            "Game",
            "--bundle-id",
            "com.example.tls",
            "-q",
        ],
    );
    assert!(ok, "{app}");
    let (ok, pack) = cli(
        dir,
        &server,
        &["packs", "create", "--app", &app, "level-1", "-q"],
    );
    assert!(ok, "{pack}");
    let archive = dir.join("level-1.aar");
    std::fs::write(&archive, vec![42u8; 300_000]).unwrap();
    let manifest = dir.join("Manifest.json");
    std::fs::write(&manifest, r#"{"assetPackID":"level-1","downloadPolicy":{"onDemand":{}},"fileSelectors":[{"file":"level-1.aar"}],"platforms":["iOS"]}"#).unwrap();
    let (ok, version) = cli(
        dir,
        &server,
        &[
            "versions",
            "upload",
            "--pack",
            &pack,
            archive.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(ok, "{version}\n{}", logs());
    let (ok, shown) = cli(dir, &server, &["versions", "show", &version, "--json"]);
    assert!(ok, "{shown}");
    let doc: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(doc["data"]["attributes"]["state"], "COMPLETE", "{doc}");
}
