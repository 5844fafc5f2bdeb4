//! `packyard device sync` against a real `packyard dev`: a first install downloads the
//! essential and prefetch packs and not the on-demand one; an update of a pack with 5 % of its
//! files changed is built from the held version and a few ranges, byte for byte, fetching at
//! most 10 % of it; a download left half done resumes without fetching its first half again;
//! a flipped byte in the local copy is found and repaired; an archived pack is removed as
//! obsolete; an expired tester token is a clear error that keeps what was downloaded; a
//! device whose disk has no room for an update says so and keeps the version it holds.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use packyard_net::eventually::{eventually, eventually_blocking};
use serde_json::Value;

#[path = "support/dev.rs"]
mod dev;
#[path = "support/procs.rs"]
mod procs;

use dev::{Dev, TestApp};

/// Builds pack `id` with `files` files under `policy`; the files listed in `rewritten` get
/// other bytes (`variant`), the rest are the same in every variant.
fn build(
    dir: &Path,
    id: &str,
    policy: &str,
    files: u64,
    rewritten: &[u64],
    variant: u64,
) -> Vec<u8> {
    let files = (0..files).map(|i| {
        let seed = if rewritten.contains(&i) {
            variant * 10_000 + i
        } else {
            i + 1
        };
        (seed, 20_000 + usize::try_from(i * 7_919 % 40_000).unwrap())
    });
    procs::build_pack(dir, &format!("{id}-{variant}"), id, policy, files)
}

/// Runs `packyard device sync … --json` for the test's device; its report, or what it said.
fn sync(dev: &Dev, dir: &Path, app: &str, token: &str, extra: &[&str]) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["device", "sync", "--edge", &format!("http://{}", dev.edge)])
        .args(["--app", app, "--channel", "internal", "--token", token])
        .arg("--dir")
        .arg(dir)
        .args(["--json"])
        .args(extra)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The state and action the report gives pack `id`.
fn of<'a>(report: &'a Value, id: &str) -> (&'a str, &'a str) {
    let p = report["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {report}"));
    (p["state"].as_str().unwrap(), p["action"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_installs_updates_by_delta_repairs_and_drops_obsolete_packs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let on_first = r#"{"installationEventTypes": ["firstInstallation"]}"#;
    let essential = build(
        dir,
        "essential",
        &format!(r#"{{"essential": {on_first}}}"#),
        8,
        &[],
        1,
    );
    let v1 = build(
        dir,
        "world",
        &format!(r#"{{"prefetch": {on_first}}}"#),
        100,
        &[],
        1,
    );
    let v2 = build(
        dir,
        "world",
        &format!(r#"{{"prefetch": {on_first}}}"#),
        100,
        &[7, 31, 58, 77, 93],
        2,
    );
    let demand = build(dir, "extras", r#"{"onDemand": {}}"#, 6, &[], 1);

    let dev = Dev::start(dir, &[]);
    let t = TestApp::new(&dev, "com.example.device").await;
    let (admin, http, app, token) = (&t.admin, t.http.clone(), t.id.clone(), t.token.clone());
    let mut packs = Vec::new();
    for (id, bytes) in [
        ("essential", &essential),
        ("world", &v1),
        ("extras", &demand),
    ] {
        let pack = t.pack(id).await;
        t.upload(&dev, &pack, bytes).await;
        packs.push(pack);
    }
    let device = dir.join("device");
    let manifest_lists = |want: usize| {
        let url = format!(
            "http://{}/apps/{app}/internal/manifest?platform=iOS&os=27.0",
            dev.edge
        );
        let (http, token) = (http.clone(), token.clone());
        async move {
            let got = http.get(&url).bearer_auth(&token).send().await;
            match got {
                Ok(r) if r.status() == 200 => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|m| m["assetPacks"].as_array().is_some_and(|a| a.len() == want)),
                _ => false,
            }
        }
    };
    dev::wait_for(60, "the edge lists the three packs", &dev, || {
        manifest_lists(3)
    })
    .await;

    // Told too little, or something wrong, the device says what: the edge's own reason for
    // an unknown app, a pack id no manifest lists, and a hint when no event was given.
    let unknown = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["device", "sync", "--edge", &format!("http://{}", dev.edge)])
        .args(["--app", "nope", "--channel", "store", "--dir"])
        .arg(dir.join("unknown-app"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(err.contains("404") && err.contains("\"nope\""), "{err}");
    let err = sync(&dev, &device, &app, &token, &["--pack", "no-such-pack"]).unwrap_err();
    assert!(
        err.contains("no-such-pack") && err.contains("essential, world, extras")
            || err.contains("no-such-pack") && err.contains("lists"),
        "{err}"
    );
    let quiet = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["device", "sync", "--edge", &format!("http://{}", dev.edge)])
        .args(["--app", &app, "--channel", "internal", "--token", &token])
        .arg("--dir")
        .arg(dir.join("nothing-yet"))
        .output()
        .unwrap();
    assert!(quiet.status.success());
    let said = String::from_utf8_lossy(&quiet.stderr);
    assert!(
        said.contains("--event firstInstallation"),
        "{said}\n{}",
        String::from_utf8_lossy(&quiet.stdout)
    );

    // First install: the essential and prefetch packs, not the on-demand one.
    let report = sync(
        &dev,
        &device,
        &app,
        &token,
        &["--event", "firstInstallation"],
    )
    .unwrap();
    assert_eq!(
        of(&report, "essential"),
        ("upToDate", "downloaded"),
        "{report}"
    );
    assert_eq!(of(&report, "world"), ("upToDate", "downloaded"), "{report}");
    assert_eq!(of(&report, "extras"), ("downloadAvailable", ""), "{report}");
    assert!(std::fs::read(device.join("essential/pack")).unwrap() == essential);
    assert!(std::fs::read(device.join("world/pack")).unwrap() == v1);
    assert!(!device.join("extras").exists());

    // Version 2 of the world pack: five of its hundred files rewritten.
    t.upload(&dev, &packs[1], &v2).await;
    let listed_v2 = || {
        let url = format!(
            "http://{}/apps/{app}/internal/manifest?platform=iOS&os=27.0",
            dev.edge
        );
        let (http, token) = (http.clone(), token.clone());
        async move {
            let got = http.get(&url).bearer_auth(&token).send().await;
            match got {
                Ok(r) => r.json::<Value>().await.is_ok_and(|m| {
                    m["assetPacks"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|p| p["id"] == "world" && p["version"] == 2))
                }),
                Err(_) => false,
            }
        }
    };
    dev::wait_for(60, "the edge lists version 2", &dev, listed_v2).await;
    let report = sync(&dev, &device, &app, &token, &[]).unwrap();
    assert_eq!(of(&report, "world"), ("upToDate", "updated"), "{report}");
    assert!(
        std::fs::read(device.join("world/pack")).unwrap() == v2,
        "byte for byte"
    );
    let fetched = report["transfer"]["fetched"].as_u64().unwrap();
    let reused = report["transfer"]["reused"].as_u64().unwrap();
    eprintln!(
        "update: fetched {fetched}, reused {reused} of {} bytes",
        v2.len()
    );
    // Five files of a hundred changed: at most a tenth of the pack fetched, the rest
    // copied from the version held (whole chunks, and pieces of the chunks that changed).
    assert!(
        fetched * 10 <= v2.len() as u64 && reused > v2.len() as u64 * 8 / 10,
        "the update fetched {fetched} and reused {reused} of {} bytes",
        v2.len()
    );

    // A download left half done (its process killed): a fresh device holding the first half
    // of version 2 in place resumes and fetches only what is missing.
    let fresh = dir.join("fresh");
    std::fs::create_dir_all(fresh.join("world")).unwrap();
    let chunks = http
        .get(format!(
            "http://{}/apps/{app}/packs/world/versions/2/chunks",
            dev.edge
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let half = v2.len() / 2;
    let mut partial = v2[..half].to_vec();
    partial.resize(v2.len(), 0);
    std::fs::write(fresh.join("world/next.partial"), &partial).unwrap();
    let next = serde_json::json!({"version": 2, "chunks": chunks});
    std::fs::write(fresh.join("world/next.json"), next.to_string()).unwrap();
    let report = sync(
        &dev,
        &fresh,
        &app,
        &token,
        &["--event", "firstInstallation"],
    )
    .unwrap();
    assert_eq!(of(&report, "world"), ("upToDate", "downloaded"), "{report}");
    assert!(
        std::fs::read(fresh.join("world/pack")).unwrap() == v2,
        "byte for byte"
    );
    let moved = &report["transfer"];
    let (resumed, fetched) = (
        moved["resumed"].as_u64().unwrap(),
        moved["fetched"].as_u64().unwrap(),
    );
    let essential_len = essential.len() as u64;
    assert!(
        resumed > half as u64 - 70_000 && resumed <= half as u64,
        "the chunks wholly in the first half are kept: {resumed}"
    );
    assert!(
        fetched < v2.len() as u64 - resumed + essential_len + 20_000,
        "nothing fetched twice: {fetched} with {resumed} resumed of {}",
        v2.len()
    );

    // A flipped byte in the local copy: found, and only the piece around it fetched again
    // (with the manifest, the chunk list and that chunk's piece list).
    let held = device.join("world/pack");
    let mut bytes = std::fs::read(&held).unwrap();
    bytes[v2.len() / 2] ^= 0x40;
    std::fs::write(&held, &bytes).unwrap();
    let report = sync(&dev, &device, &app, &token, &[]).unwrap();
    assert_eq!(of(&report, "world"), ("upToDate", "repaired"), "{report}");
    assert!(
        std::fs::read(&held).unwrap() == v2,
        "repaired byte for byte"
    );
    let (fetched, listed) = (
        report["transfer"]["fetched"].as_u64().unwrap(),
        report["transfer"]["listed"].as_u64().unwrap(),
    );
    let manifest = 2_000;
    assert!(
        fetched - listed < manifest + packyard_core::pieces::PIECE_MAX as u64,
        "the repair fetched {fetched} ({listed} of it lists): more than one piece"
    );

    // The on-demand pack when the app asks; archived, it is removed as obsolete.
    let report = sync(&dev, &device, &app, &token, &["--pack", "extras"]).unwrap();
    assert_eq!(
        of(&report, "extras"),
        ("upToDate", "downloaded"),
        "{report}"
    );
    assert!(std::fs::read(device.join("extras/pack")).unwrap() == demand);
    admin.archive_pack(&packs[2]).await.unwrap();
    dev::wait_for(60, "the edge drops the archived pack", &dev, || {
        manifest_lists(2)
    })
    .await;
    let report = sync(&dev, &device, &app, &token, &[]).unwrap();
    assert_eq!(of(&report, "extras"), ("removed", "removed"), "{report}");
    assert!(!device.join("extras").exists());

    // An expired token: a clear error, and what was downloaded stays.
    let short = t.tester_token(1).await;
    let probe = format!(
        "http://{}/apps/{app}/internal/manifest?platform=iOS&os=27.0",
        dev.edge
    );
    dev::wait_for(30, "the short token expires", &dev, || async {
        http.get(&probe)
            .bearer_auth(&short)
            .send()
            .await
            .is_ok_and(|r| r.status() == 401)
    })
    .await;
    let err = sync(&dev, &device, &app, &short, &[]).unwrap_err();
    assert!(err.contains("tester token expired"), "{err}");
    assert!(std::fs::read(device.join("world/pack")).unwrap() == v2);
    assert!(std::fs::read(device.join("essential/pack")).unwrap() == essential);
}

/// The byte ranges (first, last) asked of the edge for the archive, in the order its access
/// log has them: every range of every `GET` of a version's URL that named any.
fn asked_ranges(log: &str) -> Vec<(u64, u64)> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["method"] == "GET" && e["endpoint"] == "Version")
        .filter_map(|e| Some(e["range"].as_str()?.strip_prefix("bytes=")?.to_owned()))
        .flat_map(|specs| {
            specs
                .split(',')
                .map(|spec| {
                    let (a, b) = spec.trim().split_once('-').unwrap();
                    (a.parse().unwrap(), b.parse().unwrap())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The sum of the edge's `packyard_edge_bytes_served_total`: archive bytes sent to devices.
async fn served(http: &reqwest::Client, dev: &Dev) -> u64 {
    procs::edge_metric(http, &dev.edge, "packyard_edge_bytes_served_total", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_by_the_edge_dying_resumes_after_its_restart_and_is_sent_only_what_it_lacked()
 {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Large enough that one range at a time takes many requests.
    let archive = build(dir, "movie", r#"{"onDemand": {}}"#, 400, &[], 1);
    let access_log = dir.join("access.log");
    let mut dev = Dev::start(dir, &["--access-log", access_log.to_str().unwrap()]);
    let t = TestApp::new(&dev, "com.example.resume").await;
    let (http, app, token) = (t.http.clone(), t.id.clone(), t.token.clone());
    let pack = t.pack("movie").await;
    t.upload(&dev, &pack, &archive).await;
    let pack_url = format!("http://{}/apps/{app}/internal/movie", dev.edge);
    dev::wait_for(60, "the edge serves the pack", &dev, || async {
        http.head(&pack_url)
            .bearer_auth(&token)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let before = served(&http, &dev).await;

    // One range per request, one request at a time; the edge dies part-way.
    let device = dir.join("device");
    let child = Command::new(env!("CARGO_BIN_EXE_packyard"))
        .args(["device", "sync", "--edge", &format!("http://{}", dev.edge)])
        .args(["--app", &app, "--channel", "internal", "--token", &token])
        .arg("--dir")
        .arg(&device)
        .args(["--pack", "movie", "--parallel", "1", "--max-ranges", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let size = archive.len() as u64;
    // Watched closely (the whole download takes a second or so): cut after a tenth.
    dev::wait_for(60, "a tenth sent", &dev, || async {
        let sent = served(&http, &dev).await.saturating_sub(before);
        if sent > size / 10 {
            Ok(())
        } else {
            Err(format!("{sent} of {size} sent"))
        }
    })
    .await;
    let sent_before_kill = served(&http, &dev).await - before;
    dev.restart();
    let out = child.wait_with_output().unwrap();
    // The ranges the first edge was asked for: it is gone, and nothing has asked the second
    // yet, so every line in the log is the first's.
    let before_cut = asked_ranges(&std::fs::read_to_string(&access_log).unwrap());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the first sync was cut: {said}");
    assert!(
        said.contains("unreachable"),
        "it says the edge went away: {said}"
    );
    assert!(
        sent_before_kill < size,
        "cut before the end: {sent_before_kill} of {size}"
    );

    dev.wait_ready(&http).await;
    dev::wait_for(60, "the restarted edge serves the pack", &dev, || async {
        http.head(&pack_url)
            .bearer_auth(&token)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let report = sync(&dev, &device, &app, &token, &["--pack", "movie"]).unwrap();
    assert_eq!(of(&report, "movie"), ("upToDate", "downloaded"), "{report}");
    assert!(
        std::fs::read(device.join("movie/pack")).unwrap() == archive,
        "byte for byte"
    );
    let resumed = report["transfer"]["resumed"].as_u64().unwrap();
    let sent_after = served(&http, &dev).await;
    assert!(resumed > 0, "it kept what it had: {report}");
    // The restarted edge counts from zero: what it sent is exactly what the device lacked,
    // so no byte is fetched twice after the restart.
    assert_eq!(
        resumed + sent_after,
        size,
        "only what was missing: {report}"
    );
    // And by range: no byte the restarted edge was asked for had been asked of the first,
    // except in the answer under way at the cut (its last range), which never arrived whole;
    // nor twice of the restarted edge. Its log lines are awaited until they hold all it sent.
    let after_cut = eventually(
        "the restarted edge's access log holds what it sent",
        Duration::from_secs(10),
        async || {
            let text = std::fs::read_to_string(&access_log).unwrap();
            let asked = asked_ranges(&text)[before_cut.len()..].to_vec();
            let logged: u64 = asked.iter().map(|(a, b)| b - a + 1).sum();
            if logged >= sent_after {
                Ok(asked)
            } else {
                Err(format!("{logged} of {sent_after} bytes logged"))
            }
        },
    )
    .await;
    let (under_way, done) = before_cut
        .split_last()
        .expect("ranges asked before the cut");
    for (i, again) in after_cut.iter().enumerate() {
        let overlaps = |r: &(u64, u64)| r.0 <= again.1 && again.0 <= r.1;
        assert!(
            !done.iter().any(overlaps),
            "bytes {again:?} asked again after the restart, though they had arrived before \
             the cut (the answer under way was {under_way:?}): {before_cut:?}"
        );
        assert!(
            !after_cut[i + 1..].iter().any(overlaps),
            "bytes {again:?} asked twice of the restarted edge: {after_cut:?}"
        );
    }
}

/// A mount namespace of this test's own, with a small tmpfs at `at`, kept by a sleeping
/// process: every command entered into it (`nsenter`) sees the small file system there.
struct SmallDisk {
    holder: std::process::Child,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sleep", "600"])
            .spawn()
            .expect("unshare (util-linux) runs");
        let ours = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        let ns = format!("/proc/{}/ns/mnt", holder.id());
        eventually_blocking("unshare makes a namespace", Duration::from_secs(10), || {
            std::fs::read_link(&ns).is_ok_and(|l| l != ours)
        });
        let disk = Self { holder };
        let mounted = disk
            .enter("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(mounted.status.success(), "{mounted:?}");
        disk
    }

    /// `program`, run inside the namespace.
    fn enter(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.args([
            "-t",
            &self.holder.id().to_string(),
            "-U",
            "-m",
            "--preserve-credentials",
        ])
        .arg(program);
        c
    }

    /// `path` as the namespace sees it.
    fn path(&self, path: &Path) -> std::path::PathBuf {
        Path::new(&format!("/proc/{}/root", self.holder.id())).join(path.strip_prefix("/").unwrap())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_room_for_an_update_says_so_and_keeps_the_version_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let policy = r#"{"prefetch": {"installationEventTypes": ["firstInstallation"]}}"#;
    let v1 = build(dir, "world", policy, 30, &[], 1);
    let v2 = build(dir, "world", policy, 30, &[4, 17], 2);
    let dev = Dev::start(dir, &[]);
    let t = TestApp::new(&dev, "com.example.full").await;
    let (http, app, token) = (t.http.clone(), t.id.clone(), t.token.clone());
    let pack = t.pack("world").await;
    let lists = |version: u64| {
        let url = format!(
            "http://{}/apps/{app}/internal/manifest?platform=iOS&os=27.0",
            dev.edge
        );
        let (http, token) = (http.clone(), token.clone());
        async move {
            match http.get(&url).bearer_auth(&token).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|m| m["assetPacks"][0]["version"].as_u64() == Some(version)),
                Err(_) => false,
            }
        }
    };
    t.upload(&dev, &pack, &v1).await;
    dev::wait_for(60, "the edge lists version 1", &dev, || lists(1)).await;

    // Room for one copy of the pack, not for two: an update is built beside the version
    // held, so it cannot fit.
    let device = dir.join("device");
    let size = v1.len();
    let disk = SmallDisk::mount(&device, &format!("{}k", size * 3 / 2 / 1024));
    let sync_in = |extra: &[&str]| {
        disk.enter(env!("CARGO_BIN_EXE_packyard"))
            .args(["device", "sync", "--edge", &format!("http://{}", dev.edge)])
            .args(["--app", &app, "--channel", "internal", "--token", &token])
            .arg("--dir")
            .arg(&device)
            .arg("--json")
            .args(extra)
            .output()
            .unwrap()
    };
    let first = sync_in(&["--event", "firstInstallation"]);
    assert!(first.status.success(), "{first:?}");
    assert!(std::fs::read(disk.path(&device.join("world/pack"))).unwrap() == v1);
    assert!(
        !device.join("world").exists(),
        "the pack is on the small disk, not beneath it"
    );

    t.upload(&dev, &pack, &v2).await;
    dev::wait_for(60, "the edge lists version 2", &dev, || lists(2)).await;
    let update = sync_in(&[]);
    let said = String::from_utf8_lossy(&update.stderr);
    assert!(
        !update.status.success(),
        "the update cannot fit: {update:?}"
    );
    assert!(
        said.contains("not enough disk space") && said.contains(&format!("{} bytes", v2.len())),
        "the error says the disk is too small and how much is needed: {said}"
    );
    assert!(
        std::fs::read(disk.path(&device.join("world/pack"))).unwrap() == v1,
        "version 1 is kept as it was"
    );
    assert!(
        !disk.path(&device.join("world/next.partial")).exists(),
        "nothing of version 2 was written"
    );
}
