//! Issue 05's end-to-end test: the README's quick start through the real `packyard` binary.
//! `packyard dev` runs as a process; every operator step is a `packyard` command (as a
//! newcomer types it); every device step is a real HTTP request to the edge. Along the way it
//! checks the seed rules a user can see from outside: one external review at a time (R2),
//! approval replacing the external version (R3), no archive during review and archive
//! removing the pack everywhere for good (R7), and language selection (R10).

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test archives are a few MiB"
)]

use std::time::Duration;

#[path = "support/dev.rs"]
mod dev;
#[path = "support/walk.rs"]
mod walk;

use dev::{Dev, wait_for};
use walk::{Cli, Device, build_pack, pair, track};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_runs_end_to_end_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Dev::start(tmp.path(), &[]);
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let cli = Cli {
        dir: work,
        server: format!("http://{}", dev.admin),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    dev.wait_ready(&http).await;

    // An app and a pack, created with the operator commands.
    let app = cli
        .admin(&[
            "apps",
            "create",
            "--name",
            "Game",
            "--bundle-id",
            "com.example.game",
            "--primary-language",
            "en-US",
            "-q",
        ])
        .must("apps create");
    let listed = cli.admin(&["apps", "list"]).must("apps list");
    assert!(
        listed.contains(&app) && listed.contains("com.example.game"),
        "{listed}"
    );
    let pack = cli
        .admin(&["packs", "create", "--app", &app, "level-2", "-q"])
        .must("packs create");
    let shown = cli.admin(&["apps", "show", &app]).must("apps show");
    assert!(shown.contains("com.example.game"), "{shown}");
    let shown = cli.admin(&["packs", "show", &pack]).must("packs show");
    assert!(shown.contains("level-2"), "{shown}");
    let device = Device {
        http: http.clone(),
        edge: format!("http://{}", dev.edge),
        app: app.clone(),
    };

    // Build a pack (9 MiB: two upload parts) and upload it; the command waits for COMPLETE.
    let v1_file = build_pack(&cli, "level-2", None, 1, 9 << 20);
    let v1_bytes = std::fs::read(&v1_file).unwrap();
    let v1 = cli
        .admin(&[
            "versions",
            "upload",
            "--pack",
            &pack,
            v1_file.to_str().unwrap(),
            "-q",
        ])
        .must("versions upload");
    // R1, seen by the operator: the new version is what internal testers get.
    let table = cli
        .admin(&["versions", "list", "--pack", &pack])
        .must("versions list");
    assert!(
        table.contains("COMPLETE") && table.contains("READY_FOR_TESTING"),
        "{table}"
    );
    assert_eq!(track(&cli, &v1, "internal"), "READY_FOR_TESTING");

    // A device in internal testing downloads it with a range, then resumes.
    let internal = cli
        .admin(&[
            "tester-tokens",
            "create",
            "--app",
            &app,
            "--channel",
            "internal",
            "-q",
        ])
        .must("tester-tokens create");
    let token = Some(internal.as_str());
    wait_for(30, "the edge serves version 1 internally", &dev, || async {
        device.served("internal", token, "en-US").await == vec![pair("level-2", 1)]
    })
    .await;
    assert_eq!(
        device.manifest("internal", None, "en-US").await.0,
        401,
        "a beta channel needs a token"
    );
    let (status, head) = device
        .pack("internal", "level-2", token, Some("bytes=0-99"))
        .await;
    assert_eq!((status, head.as_slice()), (206, &v1_bytes[..100]));
    let (status, rest) = device
        .pack("internal", "level-2", token, Some("bytes=100-"))
        .await;
    assert_eq!(status, 206);
    assert!(
        [head, rest].concat() == v1_bytes,
        "resumed download differs"
    );

    // An operator rotates the signing key: nothing closes (the edge goes on checking the
    // old token with the old public key), and a token signed with the new key opens too.
    let generation = cli
        .admin(&["tester-tokens", "rotate-key", "-q"])
        .must("tester-tokens rotate-key");
    assert_eq!(generation, "2", "the bootstrap key was the first");
    let rotated = cli
        .admin(&[
            "tester-tokens",
            "create",
            "--app",
            &app,
            "--channel",
            "internal",
            "-q",
        ])
        .must("tester-tokens create");
    let new_token = Some(rotated.as_str());
    wait_for(30, "the edge takes the new token", &dev, || async {
        device.manifest("internal", new_token, "en-US").await.0 == 200
    })
    .await;
    assert_eq!(
        device.manifest("internal", token, "en-US").await.0,
        200,
        "a rotation closes no token"
    );
    let ids = cli
        .admin(&["tester-tokens", "list", "--app", &app, "-q"])
        .must("tester-tokens list");
    assert_eq!(ids.lines().count(), 2, "{ids}");
    let table = cli
        .admin(&["tester-tokens", "list", "--app", &app])
        .must("tester-tokens list, as a table");
    assert!(
        table.contains("Operator"),
        "who issued them, by name:\n{table}"
    );
    let keys = cli
        .admin(&["tester-tokens", "keys"])
        .must("tester-tokens keys");
    assert!(
        keys.contains("k4.public."),
        "the public keys as PASERK:\n{keys}"
    );
    // Revoking the first token (given whole) closes it on the edge, and only it.
    cli.admin(&["tester-tokens", "revoke", &internal])
        .must("tester-tokens revoke");
    wait_for(30, "the edge refuses the revoked token", &dev, || async {
        device.manifest("internal", token, "en-US").await.0 == 401
    })
    .await;
    assert_eq!(device.manifest("internal", new_token, "en-US").await.0, 200);
    let token = new_token;

    // External testing: a build for external testing (R4), a reviewer, a submission.
    cli.admin(&[
        "builds",
        "create",
        "--app",
        &app,
        "--number",
        "100",
        "--channel",
        "external",
    ])
    .must("builds create");
    let reviewer = cli
        .admin(&[
            "users",
            "create",
            "--name",
            "Rita",
            "--email",
            "rita@example.com",
            "--role",
            &format!("{app}:REVIEWER"),
            "-q",
        ])
        .must("users create");
    let reviewer_key = cli
        .admin(&["keys", "create", "--user", &reviewer, "-q"])
        .must("keys create");
    let keys = cli.admin(&["keys", "list"]).must("keys list");
    assert!(
        keys.contains("Rita") && !keys.contains(&reviewer_key),
        "keys by their users' names, never a secret:\n{keys}"
    );
    let submission = cli
        .admin(&["review", "submit", &v1, "--track", "external", "-q"])
        .must("review submit");
    assert_eq!(track(&cli, &v1, "external"), "WAITING_FOR_REVIEW");

    // R2: a second version cannot enter external review meanwhile.
    let v2_file = build_pack(&cli, "level-2", None, 2, 1 << 20);
    let v2_bytes = std::fs::read(&v2_file).unwrap();
    let v2 = cli
        .admin(&[
            "versions",
            "upload",
            "--pack",
            &pack,
            v2_file.to_str().unwrap(),
            "-q",
        ])
        .must("versions upload v2");
    let err = cli
        .admin(&["review", "submit", &v2, "--track", "external"])
        .refused("a second external submission");
    assert!(err.contains("409") && err.contains("R2"), "{err}");
    // R7: no archive while a version is in review.
    let err = cli
        .admin(&["packs", "archive", &pack, "--yes"])
        .refused("archive during review");
    assert!(err.contains("409") && err.contains("R7"), "{err}");
    // R8: only a Reviewer approves, and the refusal says so.
    let err = cli
        .admin(&["review", "approve", &submission])
        .refused("approval by the operator");
    assert!(err.contains("403") && err.contains("Reviewer"), "{err}");
    cli.run(&reviewer_key, &["review", "approve", &submission])
        .must("review approve");
    assert_eq!(track(&cli, &v1, "external"), "READY_FOR_TESTING");

    let external = cli
        .admin(&[
            "tester-tokens",
            "create",
            "--app",
            &app,
            "--channel",
            "external",
            "-q",
        ])
        .must("tester-tokens create external");
    let ext = Some(external.as_str());
    wait_for(30, "external testers get version 1", &dev, || async {
        device.served("external", ext, "en-US").await == vec![pair("level-2", 1)]
    })
    .await;
    let err = device.manifest("external", token, "en-US").await;
    assert_eq!(
        err.0, 403,
        "an internal token is not an external one: {}",
        err.1
    );

    // R3: approving version 2 replaces version 1 in external testing.
    let second = cli
        .admin(&["review", "submit", &v2, "--track", "external", "-q"])
        .must("review submit v2");
    cli.run(&reviewer_key, &["review", "approve", &second])
        .must("review approve v2");
    assert_eq!(track(&cli, &v2, "external"), "READY_FOR_TESTING");
    assert_eq!(track(&cli, &v1, "external"), "SUPERSEDED");
    wait_for(30, "external testers get version 2", &dev, || async {
        device.served("external", ext, "en-US").await == vec![pair("level-2", 2)]
    })
    .await;

    // A submission no reviewer has picked up can be taken back, and the version submitted
    // again.
    let taken_back = cli
        .admin(&["review", "submit", &v2, "--track", "APP_STORE", "-q"])
        .must("review submit APP_STORE (the track as tables spell it), to withdraw");
    assert_eq!(track(&cli, &v2, "store"), "WAITING_FOR_REVIEW");
    cli.admin(&["review", "withdraw", &taken_back])
        .must("review withdraw");
    let shown = cli.json(&["review", "show", &taken_back]);
    assert_eq!(shown["data"]["attributes"]["state"], "WITHDRAWN", "{shown}");
    assert_eq!(track(&cli, &v2, "store"), "PREPARE_FOR_SUBMISSION");
    let err = cli
        .run(&reviewer_key, &["review", "approve", &taken_back])
        .refused("approving a withdrawn submission");
    assert!(err.contains("409") && err.contains("WITHDRAWN"), "{err}");
    // A reviewer starts a review and rejects it with reasons the members read; a rejected
    // version may be submitted again.
    let rejected = cli
        .admin(&["review", "submit", &v2, "--track", "app_store", "-q"])
        .must("review submit, to reject");
    cli.run(&reviewer_key, &["review", "start", &rejected])
        .must("review start");
    assert_eq!(track(&cli, &v2, "store"), "IN_REVIEW");
    cli.run(
        &reviewer_key,
        &[
            "review",
            "reject",
            &rejected,
            "--reason",
            "The icon is blurry.",
        ],
    )
    .must("review reject");
    let shown = cli.json(&["review", "show", &rejected]);
    assert_eq!(shown["data"]["attributes"]["state"], "REJECTED", "{shown}");
    assert_eq!(
        shown["data"]["attributes"]["reasons"][0], "The icon is blurry.",
        "{shown}"
    );
    assert_eq!(track(&cli, &v2, "store"), "REJECTED");

    // The store: review, approve, release; devices need no token.
    assert_eq!(device.served("store", None, "en-US").await, vec![]);
    let store = cli
        .admin(&["review", "submit", &v2, "--track", "store", "-q"])
        .must("review submit store");
    cli.run(&reviewer_key, &["review", "approve", &store])
        .must("review approve store");
    cli.admin(&["release", &v2]).must("release");
    assert_eq!(track(&cli, &v2, "store"), "READY_FOR_DISTRIBUTION");
    // The packs table names each channel's version by its number.
    let packs = cli
        .admin(&["packs", "list", "--app", &app])
        .must("packs list");
    let row: Vec<&str> = packs
        .lines()
        .find(|l| l.contains("level-2"))
        .unwrap_or_else(|| panic!("level-2 in:\n{packs}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[row.len() - 3..], ["2", "2", "2"], "{packs}");
    wait_for(30, "the store serves version 2", &dev, || async {
        device.served("store", None, "en-US").await == vec![pair("level-2", 2)]
    })
    .await;
    let (status, tail) = device
        .pack("store", "level-2", None, Some("bytes=-1000"))
        .await;
    assert_eq!(
        (status, tail.as_slice()),
        (206, &v2_bytes[v2_bytes.len() - 1000..])
    );

    // R7: archive removes the pack from every channel, and its identifier is gone for good.
    cli.admin(&["packs", "archive", &pack, "--yes"])
        .must("packs archive");
    wait_for(
        30,
        "the archived pack leaves every channel",
        &dev,
        || async {
            device.served("store", None, "en-US").await.is_empty()
                && device.served("external", ext, "en-US").await.is_empty()
                && device.served("internal", token, "en-US").await.is_empty()
        },
    )
    .await;
    assert_eq!(device.pack("store", "level-2", None, None).await.0, 404);
    let err = cli
        .admin(&["packs", "create", "--app", &app, "level-2"])
        .refused("reusing an archived identifier");
    assert!(err.contains("409") && err.contains("R7"), "{err}");

    // R10: a pack in fr-FR is picked for fr-CA; other languages fall back to the primary.
    for (name, language, seed) in [("voice-fr", "fr-FR", 10), ("voice-en", "en-US", 11)] {
        let id = cli
            .admin(&["packs", "create", "--app", &app, name, "-q"])
            .must("packs create voice");
        let file = build_pack(&cli, name, Some(language), seed, 64 << 10);
        cli.admin(&[
            "versions",
            "upload",
            "--pack",
            &id,
            file.to_str().unwrap(),
            "-q",
        ])
        .must("versions upload voice");
    }
    wait_for(30, "the localized packs reach the edge", &dev, || async {
        device.served("internal", token, "fr-CA").await == vec![pair("voice-fr", 1)]
    })
    .await;
    assert_eq!(
        device.served("internal", token, "de-DE").await,
        vec![pair("voice-en", 1)]
    );

    // Every resource made along the way can be found again by listing it.
    let builds = cli.json(&["builds", "list", "--app", &app]);
    let numbers: Vec<&str> = builds["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["attributes"]["buildNumber"].as_str().unwrap())
        .collect();
    assert!(numbers.contains(&"100"), "{builds}");
    let reviews = cli
        .admin(&["review", "list", "--app", &app])
        .must("review list");
    // Version numbers, not ids: the first data row names version 1 or 2.
    let first_row: Vec<&str> = reviews.lines().nth(1).unwrap().split_whitespace().collect();
    assert!(
        ["1", "2"].contains(&first_row[1]),
        "a version number in the VERSION column:\n{reviews}"
    );
    for (what, seen) in [
        ("EXTERNAL_BETA", reviews.contains("EXTERNAL_BETA")),
        ("APP_STORE", reviews.contains("APP_STORE")),
        ("ACCEPTED", reviews.contains("ACCEPTED")),
        ("the submitter by name", reviews.contains("Operator")),
        ("the reviewer by name", reviews.contains("Rita")),
    ] {
        assert!(seen, "{what} in:\n{reviews}");
    }
    let rollouts = cli.json(&["rollout", "list", "--app", &app]);
    assert!(
        rollouts["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["attributes"]["toVersion"] == 2),
        "the release is a rollout: {rollouts}"
    );
    let edges = cli.admin(&["edges", "list"]).must("edges list");
    assert!(edges.contains("UP") && edges.contains("dev"), "{edges}");
    let edge_ids = cli.admin(&["edges", "list", "-q"]).must("edges list -q");
    let edge = edge_ids.lines().next().unwrap();
    let shown = cli.json(&["edges", "show", edge]);
    assert_eq!(shown["data"]["id"], edge);
    let regions = cli.admin(&["regions", "list"]).must("regions list");
    assert!(regions.lines().any(|l| l.starts_with("dev ")), "{regions}");
}
