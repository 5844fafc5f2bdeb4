//! `packyard webhooks …` against a running `packyard dev`, delivering to a receiver on this
//! machine (which a dev node allows by default, and says so): create, list, the delivery of
//! a test event and an archive event signed with the secret shown once, the delivery log,
//! delete. And `packs archive` asks before it does what cannot be undone.

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use dev::{Dev, KEY, wait_for};

/// One request a receiver got: its head (lower-cased header names) and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An HTTP receiver on 127.0.0.1 that answers 200 to everything and keeps what it got.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&lower);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            keep.lock().unwrap().push((head, body));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, got)
}

fn packyard(dev: &Dev, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .env("PACKYARD_SERVER", format!("http://{}", dev.admin))
        .env("PACKYARD_ADMIN_KEY", KEY)
        .env_remove("PACKYARD_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(dev: &Dev, args: &[&str]) -> String {
    let (success, out, err) = packyard(dev, args);
    assert!(success, "packyard {args:?} failed: {err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_made_from_the_cli_reaches_a_local_receiver_on_a_dev_node() {
    let tmp = tempfile::tempdir().unwrap();
    let (dev, _client) = Dev::ready(tmp.path(), &[]).await;
    let banner = std::fs::read_to_string(tmp.path().join("dev.out")).unwrap();
    assert!(
        banner.contains("webhooks    may go to this machine"),
        "{banner}"
    );

    let (url, got) = receiver();
    let app = ok(
        &dev,
        &[
            "apps",
            "create",
            "--name",
            "G",
            "--bundle-id",
            "com.example.hooks",
            "-q",
        ],
    );
    let secret = ok(
        &dev,
        &[
            "webhooks",
            "create",
            "--app",
            &app,
            "--url",
            &url,
            "--event",
            "BACKGROUND_ASSET_ARCHIVED",
            "-q",
        ],
    );
    assert!(
        secret.starts_with("pyw_"),
        "the secret, shown once: {secret}"
    );
    let listed = ok(&dev, &["webhooks", "list", "--app", &app]);
    assert!(
        listed.contains(&url) && listed.contains("BACKGROUND_ASSET_ARCHIVED"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "{listed}");
    let webhook = ok(&dev, &["webhooks", "list", "--app", &app, "-q"]);

    // A test event reaches it, though it asked for archives only, and is logged.
    let ping = ok(&dev, &["webhooks", "test", &webhook, "-q"]);
    assert!(ping.starts_with("evt-"), "the test event's id: {ping}");
    wait_for(30, "the receiver gets the test event", &dev, || async {
        !got.lock().unwrap().is_empty()
    })
    .await;
    let (head, body) = got.lock().unwrap()[0].clone();
    assert!(head.contains("x-packyard-signature:"), "{head}");
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(event.to_string().contains("WEBHOOK_PING"), "{event}");
    assert!(event.to_string().contains(&ping), "{event}");

    let pack = ok(&dev, &["packs", "create", "--app", &app, "level-1", "-q"]);
    // Irreversible: refused without --yes when nobody can be asked, saying so.
    let (archived, _, err) = packyard(&dev, &["packs", "archive", &pack]);
    assert!(!archived && err.contains("--yes"), "{err}");
    ok(&dev, &["packs", "archive", &pack, "--yes"]);

    wait_for(30, "the receiver gets the archive event", &dev, || async {
        got.lock().unwrap().len() >= 2
    })
    .await;
    let (head, body) = got.lock().unwrap()[1].clone();
    assert!(head.starts_with("post /hook"), "{head}");
    assert!(head.contains("x-packyard-signature:"), "{head}");
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        event.to_string().contains("BACKGROUND_ASSET_ARCHIVED"),
        "{event}"
    );

    wait_for(30, "the delivery log says DELIVERED", &dev, || async {
        ok(&dev, &["webhooks", "deliveries", &webhook]).contains("DELIVERED")
    })
    .await;
    ok(&dev, &["webhooks", "delete", &webhook]);
    let (shown, _, err) = packyard(&dev, &["webhooks", "show", &webhook]);
    assert!(!shown && err.contains("404"), "{err}");
}
