//! API keys of a running `packyard dev`: `GET /v1/apiKeys` lists them with when each was made
//! and last used, never a secret; the bootstrap key (`PACKYARD_ADMIN_KEY`) only bootstraps, so
//! once the operator revokes it, it stays revoked after the node is killed and restarted with
//! it still set; and a bootstrap key too short to be a secret stops the node at start.

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

use dev::{Dev, KEY, wait_for};
use serde_json::{Value, json};

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let mut request = http.request(method, url).bearer_auth(key);
    if !body.is_null() {
        request = request.json(&body);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_bootstrap_key_stays_revoked_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut dev, http) = Dev::ready(tmp.path(), &[]).await;
    let keys_url = format!("http://{}/v1/apiKeys", dev.admin);

    // The operator makes a second key for itself, then revokes the bootstrap key.
    let (status, made) = call(
        &http,
        reqwest::Method::POST,
        &keys_url,
        KEY,
        json!({"data": {"type": "apiKeys",
        "relationships": {"user": {"data": {"type": "users", "id": "operator"}}}}}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let second = made["data"]["attributes"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_id = made["data"]["id"].as_str().unwrap().to_owned();
    let (status, listed) = call(&http, reqwest::Method::GET, &keys_url, &second, Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    let keys = listed["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert!(
        !listed.to_string().contains(KEY),
        "a listing never shows a secret: {listed}"
    );
    assert!(
        !listed.to_string().contains(&second),
        "a listing never shows a secret: {listed}"
    );
    let bootstrap = keys.iter().find(|k| k["id"] != second_id.as_str()).unwrap();
    assert!(
        bootstrap["attributes"]["createdDate"].is_string(),
        "{bootstrap}"
    );
    let bootstrap_id = bootstrap["id"].as_str().unwrap().to_owned();
    // The bootstrap key authenticated the calls above: its use is recorded.
    wait_for(
        30,
        "the bootstrap key's last use is recorded",
        &dev,
        || async {
            let (_, listed) =
                call(&http, reqwest::Method::GET, &keys_url, &second, Value::Null).await;
            listed["data"].as_array().is_some_and(|keys| {
                keys.iter().any(|k| {
                    k["id"] == bootstrap_id.as_str() && k["attributes"]["lastUsedDate"].is_string()
                })
            })
        },
    )
    .await;
    let (status, _) = call(
        &http,
        reqwest::Method::DELETE,
        &format!("{keys_url}/{bootstrap_id}"),
        &second,
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(&http, reqwest::Method::GET, &keys_url, KEY, Value::Null).await;
    assert_eq!(status, 401);

    // SIGKILL and a restart with PACKYARD_ADMIN_KEY still set to the revoked key.
    dev.restart();
    wait_for(
        90,
        "the restarted node answers the second key",
        &dev,
        || async {
            call(&http, reqwest::Method::GET, &keys_url, &second, Value::Null)
                .await
                .0
                == 200
        },
    )
    .await;
    // Leadership and bootstrap run right after start; give them their chance to (wrongly)
    // revive the key by waiting until the node has applied an entry written after restart.
    let (status, _) = call(&http, reqwest::Method::POST, &format!("http://{}/v1/apps", dev.admin), &second, json!({"data": {"type": "apps",
        "attributes": {"name": "After", "bundleId": "com.example.after", "primaryLanguage": "en-US"}}})).await;
    assert_eq!(status, 201);
    let (status, body) = call(&http, reqwest::Method::GET, &keys_url, KEY, Value::Null).await;
    assert_eq!(
        status, 401,
        "the revoked bootstrap key opens nothing after a restart: {body}"
    );
    let (_, listed) = call(&http, reqwest::Method::GET, &keys_url, &second, Value::Null).await;
    let keys = listed["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "no key was added at restart: {listed}");
    let revoked = keys
        .iter()
        .find(|k| k["id"] == bootstrap_id.as_str())
        .unwrap();
    assert_eq!(revoked["attributes"]["revoked"], true, "{revoked}");
    let out = std::fs::read_to_string(tmp.path().join("dev.out")).unwrap();
    assert!(
        out.contains("PACKYARD_ADMIN_KEY is ignored"),
        "the operator is told: {out}"
    );
}

#[test]
fn a_bootstrap_key_too_short_to_be_a_secret_stops_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    // It must refuse before it binds a port: every listener on port 0, none in use.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["dev", "--data", tmp.path().join("dev").to_str().unwrap()])
        .args(["--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0"])
        .args(["--upload-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0"])
        .args(["--origin-grpc-addr", "127.0.0.1:0"])
        .env("PACKYARD_ADMIN_KEY", "admin")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PACKYARD_ADMIN_KEY has 5 characters"), "{err}");
    assert!(err.contains("at least 32"), "{err}");
}
