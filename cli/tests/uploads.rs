//! Uploads through the real `packyard` binary against `packyard dev`: an interrupted upload
//! resumed with only what is missing, and a second version sent as the chunks the store
//! lacks.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test archives are a few MiB"
)]

use packyard_admin_client::{AdminClient, NewUploadFile};
use serde_json::Value;

#[path = "support/dev.rs"]
mod dev;
#[path = "support/walk.rs"]
mod walk;

use dev::{Dev, KEY};
use walk::{Cli, Out, build_pack, noise};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_with_the_missing_parts_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Dev::start(tmp.path(), &[]);
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let cli = Cli {
        dir: work,
        server: format!("http://{}", dev.admin),
    };
    let http = reqwest::Client::new();
    dev.wait_ready(&http).await;
    let app = cli
        .admin(&[
            "apps",
            "create",
            "--name",
            "G",
            "--bundle-id",
            "com.example.resume",
            "-q",
        ])
        .must("apps create");
    let pack = cli
        .admin(&["packs", "create", "--app", &app, "level-3", "-q"])
        .must("packs create");
    let file = build_pack(&cli, "level-3", None, 7, 9 << 20);
    let bytes = std::fs::read(&file).unwrap();

    // An upload that stopped after its first part: reserved through the API, one part sent.
    let api = AdminClient::with_http(http.clone(), &format!("http://{}", dev.admin), KEY);
    let version = api.create_version(&pack).await.unwrap().id;
    let reserve = NewUploadFile::asset(&version, "level-3.tar", bytes.len() as u64);
    let upload = api.reserve_upload(&reserve).await.unwrap();
    let upload_id = upload.id.clone();
    let first = &upload.operations[0];
    let r = http
        .put(&first.url)
        .body(first.slice(&bytes).to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Bad input is named before anything is sent.
    let other = build_pack(&cli, "level-3", None, 8, 1 << 20);
    let err = cli
        .admin(&[
            "versions",
            "upload",
            "--resume",
            &upload_id,
            other.to_str().unwrap(),
        ])
        .refused("resuming with another file");
    assert!(err.contains("same file"), "{err}");
    let err = cli
        .admin(&["versions", "upload", "--pack", &pack, "no-such.tar"])
        .refused("uploading a missing file");
    assert!(err.contains("no-such.tar"), "{err}");
    let err = cli
        .run("pyk_wrong", &["apps", "list"])
        .refused("a wrong key");
    assert!(err.contains("401"), "{err}");
    let err = cli
        .admin(&["apps", "list", "--server", "127.0.0.1:1"])
        .refused("a server that is not a URL");
    assert!(err.contains("not a URL"), "{err}");

    // Resuming sends the second part only, commits, and waits for processing.
    let out = cli.admin(&[
        "versions",
        "upload",
        "--resume",
        &upload_id,
        file.to_str().unwrap(),
        "--json",
        // It began in parts: it goes on in parts.
        "--whole",
    ]);
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stderr.contains("sending 1 of 2 parts"),
        "{}",
        out.stderr
    );
    // The wait for the origin is said, and how long it took.
    assert!(
        out.stderr.contains("processing on the origin") && out.stderr.contains("processed in"),
        "{}",
        out.stderr
    );
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["data"]["attributes"]["state"], "COMPLETE");
    assert_eq!(doc["data"]["attributes"]["size"], bytes.len());
    assert_eq!(
        doc["data"]["meta"]["tracks"]["internal"],
        "READY_FOR_TESTING"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_version_that_changes_one_file_sends_little_more_than_that_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Dev::start(tmp.path(), &[]);
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let cli = Cli {
        dir: work.clone(),
        server: format!("http://{}", dev.admin),
    };
    dev.wait_ready(&reqwest::Client::new()).await;
    let app = cli
        .admin(&[
            "apps",
            "create",
            "--name",
            "D",
            "--bundle-id",
            "com.example.delta",
            "-q",
        ])
        .must("apps create");
    let pack = cli
        .admin(&["packs", "create", "--app", &app, "level-4", "-q"])
        .must("packs create");
    // Ten files of 1 MiB; the second version changes one of them.
    let build = |version: u64| {
        let src = work.join(format!("src-{version}"));
        std::fs::create_dir_all(src.join("Textures")).unwrap();
        for i in 0..10u64 {
            let seed = if i == 4 { 100 + version } else { i };
            std::fs::write(src.join(format!("Textures/t{i}.ktx")), noise(seed, 1 << 20)).unwrap();
        }
        std::fs::write(
            src.join("Manifest.json"),
            r#"{"assetPackID": "level-4", "downloadPolicy": {"onDemand": {}},
                "fileSelectors": [{"directory": "Textures"}], "platforms": ["iOS"]}"#,
        )
        .unwrap();
        let out = work.join(format!("level-4-{version}.tar"));
        let manifest = src.join("Manifest.json");
        cli.admin(&[
            "pack",
            "build",
            manifest.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .must("pack build");
        out
    };
    let sent = |out: &Out| -> (u64, u64) {
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("sent "))
            .unwrap_or_else(|| panic!("no `sent` line:\n{}", out.stderr));
        let words: Vec<&str> = line.split_whitespace().collect();
        (words[1].parse().unwrap(), words[3].parse().unwrap())
    };
    for (version, most) in [(1, 1.0), (2, 0.15)] {
        let file = build(version);
        let out = cli.admin(&[
            "versions",
            "upload",
            "--pack",
            &pack,
            file.to_str().unwrap(),
        ]);
        assert!(out.ok, "{}", out.stderr);
        let (bytes, of) = sent(&out);
        eprintln!("version {version}: sent {bytes} of {of} bytes");
        // One file in ten, and the chunks around its edges.
        assert!(
            bytes as f64 <= most * of as f64,
            "version {version}: {}",
            out.stderr
        );
        assert!(bytes >= 1 << 20, "the changed file is sent");
    }
}
