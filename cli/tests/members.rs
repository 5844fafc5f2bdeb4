//! `packyard users add|list|remove` and `packyard keys create|delete` against a running
//! `packyard dev`, each as its own process: an app's Admin adds an existing user as a
//! Developer, sees them in the member list, takes them off the app; is refused making anyone
//! a Reviewer or minting a key for someone else (rule R14); and a user revokes their own key
//! by id (the id is the command's argument, never the credential it is sent with).

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

use std::process::Command;

use dev::{Dev, KEY};

/// `packyard args… --server http://{admin}` with `key`; its status, stdout and stderr.
fn packyard(admin: &str, key: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(args)
        .args(["--server", &format!("http://{admin}")])
        .env("PACKYARD_ADMIN_KEY", key)
        .env_remove("PACKYARD_SERVER")
        .output()
        .expect("packyard runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs a command that must succeed; what it printed.
fn ok(admin: &str, key: &str, args: &[&str]) -> String {
    let (success, out, err) = packyard(admin, key, args);
    assert!(success, "packyard {args:?} failed: {err}");
    out
}

/// A new user with `role` on `app`, made by the operator, and a key for them.
fn user(admin: &str, app: &str, role: &str, email: &str) -> (String, String) {
    let grant = format!("{app}:{role}");
    let args = [
        "users", "create", "--name", role, "--email", email, "--role", &grant, "-q",
    ];
    let id = ok(admin, KEY, &args);
    let key = ok(admin, KEY, &["keys", "create", "--user", &id, "-q"]);
    (id, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_lists_and_removes_members_from_the_command_line_within_r14() {
    let tmp = tempfile::tempdir().unwrap();
    let (dev, _client) = Dev::ready(tmp.path(), &[]).await;
    let admin = dev.admin.as_str();
    let create_app = [
        "apps",
        "create",
        "--name",
        "Game",
        "--bundle-id",
        "com.example.cli",
    ];
    let app = ok(admin, KEY, &[&create_app[..], &["-q"]].concat());
    let elsewhere = [
        "apps",
        "create",
        "--name",
        "Other",
        "--bundle-id",
        "com.example.else",
    ];
    let other = ok(admin, KEY, &[&elsewhere[..], &["-q"]].concat());
    let (_, admin_key) = user(admin, &app, "ADMIN", "admin@example.com");
    let (newcomer, newcomer_key) = user(admin, &other, "DEVELOPER", "new@example.com");

    // The Admin adds a user of another app as a Developer, and sees them listed.
    let add = [
        "users",
        "add",
        "--app",
        &app,
        "--user",
        &newcomer,
        "--role",
        "developer",
    ];
    ok(admin, &admin_key, &add);
    let listed = ok(admin, &admin_key, &["users", "list", "--app", &app]);
    let row = listed
        .lines()
        .find(|l| l.contains(&newcomer))
        .unwrap_or_default();
    assert!(row.contains("DEVELOPER"), "{listed}");
    let (_, json, _) = packyard(
        admin,
        &admin_key,
        &["users", "list", "--app", &app, "--json"],
    );
    assert!(
        !json.contains(&other),
        "another app's roles are not shown: {json}"
    );

    // Not as a Reviewer, and no key for someone else.
    let reviewer = [
        "users", "add", "--app", &app, "--user", &newcomer, "--role", "REVIEWER",
    ];
    let (success, _, err) = packyard(admin, &admin_key, &reviewer);
    assert!(!success && err.contains("R14"), "{err}");
    let mint = ["keys", "create", "--user", &newcomer];
    let (success, _, err) = packyard(admin, &admin_key, &mint);
    assert!(
        !success && err.contains("only by that user or an operator"),
        "{err}"
    );

    // Taken off the app, the newcomer no longer reads it.
    let remove = ["users", "remove", "--app", &app, "--user", &newcomer];
    let said = ok(admin, &admin_key, &remove);
    assert!(said.contains("no longer a member"), "{said}");
    let (success, _, err) = packyard(admin, &newcomer_key, &["packs", "list", "--app", &app]);
    assert!(!success, "{err}");

    // The newcomer revokes a key of their own by its id.
    let second = ok(
        admin,
        &newcomer_key,
        &["keys", "create", "--user", &newcomer, "--json"],
    );
    let second: serde_json::Value = serde_json::from_str(&second).unwrap();
    let second_id = second["data"]["id"].as_str().unwrap();
    let said = ok(admin, &newcomer_key, &["keys", "delete", second_id]);
    assert!(said.contains("revoked"), "{said}");
}
