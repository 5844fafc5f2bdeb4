//! `packyard whoami` and `packyard config show` against a running `packyard dev`: who the key
//! belongs to and which server answered; which settings the commands use and where each came
//! from, the key never shown whole.

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

use std::process::Command;

use dev::{Dev, KEY};

fn packyard(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_packyard"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("PACKYARD_SERVER")
        .env_remove("PACKYARD_ADMIN_KEY")
        .env_remove("PACKYARD_CONFIG")
        .env("HOME", dir);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("packyard runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_names_the_keys_user_and_config_show_says_where_each_setting_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let (dev, _client) = Dev::ready(tmp.path(), &[]).await;
    let server = format!("http://{}", dev.admin);

    let (ok, out, err) = packyard(
        tmp.path(),
        &["whoami", "--server", &server],
        &[("PACKYARD_ADMIN_KEY", KEY)],
    );
    assert!(ok, "{err}");
    assert!(out.contains("operator") && out.contains("true"), "{out}");
    assert!(out.contains(&server), "{out}");
    let (ok, id, _) = packyard(
        tmp.path(),
        &["whoami", "-q", "--server", &server],
        &[("PACKYARD_ADMIN_KEY", KEY)],
    );
    assert!(ok);
    assert_eq!(id.trim(), "operator");
    let (ok, _, err) = packyard(
        tmp.path(),
        &["whoami", "--server", &server],
        &[(
            "PACKYARD_ADMIN_KEY",
            "pyk_not-a-key-of-this-cluster-0123456789",
        )],
    );
    assert!(!ok && err.contains("401"), "{err}");

    // From the environment, then from a config file; nothing is sent, so no server needed.
    let (ok, out, err) = packyard(
        tmp.path(),
        &["config", "show"],
        &[("PACKYARD_SERVER", &server), ("PACKYARD_ADMIN_KEY", KEY)],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains(&server) && out.contains("PACKYARD_SERVER"),
        "{out}"
    );
    assert!(!out.contains(KEY), "the key is never shown whole: {out}");
    assert!(out.contains(&KEY[..8]), "{out}");
    let config = tmp.path().join("cli.toml");
    std::fs::write(
        &config,
        "server = \"http://10.1.2.3:7100\"\nkey = \"pyk_from-the-file-0123456789abcdef\"\n",
    )
    .unwrap();
    let (ok, out, err) = packyard(
        tmp.path(),
        &[
            "config",
            "show",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["server"], "http://10.1.2.3:7100");
    assert!(
        doc["serverFrom"].as_str().unwrap().contains("cli.toml"),
        "{doc}"
    );
    assert!(doc["keyFrom"].as_str().unwrap().contains("`key`"), "{doc}");
    assert!(!out.contains("pyk_from-the-file-0123456789abcdef"), "{out}");
}
