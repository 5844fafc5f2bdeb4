//! Faults injected into the whole deployment of `deploy/compose.yaml`: three control nodes,
//! an origin and three edges in containers, driven from the host with this build's
//! `packyard` CLI and plain HTTP. Containers are SIGKILLed (`docker kill -s KILL`),
//! restarted, and cut off from each other with iptables rules; each test asserts what must
//! survive.
//!
//! They need a Docker engine, root (for iptables) and the `packyard:latest` image
//! (`scripts/image.sh`), so a plain `cargo nextest run` skips them; `scripts/fault-tests.sh`
//! builds the image and runs them, one at a time (they publish the same host ports).

// Test helpers outside `#[test]` functions: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/containers.rs"]
mod compose;
#[path = "support/iptables.rs"]
mod iptables;

use compose::{CONTROLS, EDGES, ORIGIN, ORIGIN_2, Project, wait_until};
use packyard_net::eventually::eventually;

/// The one node of `nodes` (indexes into [`CONTROLS`]) whose metrics say it leads, when
/// exactly one does.
async fn leader_among(p: &Project, nodes: &[usize]) -> Option<usize> {
    let mut leaders = Vec::new();
    for &i in nodes {
        if p.leads(CONTROLS[i].1).await {
            leaders.push(i);
        }
    }
    (leaders.len() == 1).then(|| leaders[0])
}

async fn term(p: &Project, node: usize) -> f64 {
    p.metric(CONTROLS[node].1, "packyard_control_raft_term")
        .await
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn the_leader_cut_off_from_the_other_two_takes_no_write_and_catches_up_when_healed() {
    let p = Project::up("leader-cut").await;
    let old = eventually(
        "exactly one control node leads",
        Duration::from_secs(60),
        || leader_among(&p, &[0, 1, 2]),
    )
    .await;
    let old_term = term(&p, old).await;
    let (old_name, old_port) = CONTROLS[old];
    let others: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    let other_names: Vec<&str> = others.iter().map(|&i| CONTROLS[i].0).collect();
    eprintln!("{old_name} leads in term {old_term}");

    let cut = p.cut(old_name, &other_names);

    // The other two elect a leader of a later term.
    let took = Instant::now();
    let new = eventually(
        "the other two elect a new leader",
        Duration::from_secs(60),
        || async {
            let leader = leader_among(&p, &others).await?;
            (term(&p, leader).await > old_term).then_some(leader)
        },
    )
    .await;
    eprintln!(
        "{} leads the majority after {:.1} s",
        CONTROLS[new].0,
        took.elapsed().as_secs_f64()
    );

    // The majority takes writes through both its admin APIs; each acknowledged id is kept.
    let acked = std::cell::RefCell::new(BTreeSet::new());
    let attempt = std::cell::Cell::new(0);
    eventually(
        "the majority acknowledges 20 writes",
        Duration::from_secs(90),
        || async {
            let n = attempt.replace(attempt.get() + 1);
            let port = CONTROLS[others[n % 2]].1;
            let bundle = format!("com.example.majority.{n}");
            match p.create_app(port, &bundle, Duration::from_secs(10)).await {
                Ok(id) => {
                    acked.borrow_mut().insert(id);
                }
                Err(e) => eprintln!("write {bundle} through :{port} not acknowledged: {e}"),
            }
            let done = acked.borrow().len();
            if done >= 20 {
                Ok(())
            } else {
                Err(format!("{done} of 20 acknowledged"))
            }
        },
    )
    .await;
    let acked = acked.into_inner();

    // The old leader, alone, acknowledges nothing: the write fails or times out.
    let minority = "com.example.minority";
    let answer = p
        .create_app(old_port, minority, Duration::from_secs(10))
        .await;
    eprintln!("a write through the cut-off {old_name}: {answer:?}");
    assert!(
        answer.is_err(),
        "{old_name}, cut off from the majority, acknowledged a write: {answer:?}"
    );
    assert!(
        !p.status_is(old_port, "/readyz", 200).await,
        "{old_name}, cut off from the majority, says it is ready (can read linearizably)"
    );
    // What an alert on "no leader" reads: the cut-off node no longer leads with a majority
    // (whatever its is_leader says), the new leader does.
    let project = &p;
    let majority_gauge = |port| async move {
        project
            .metric(port, "packyard_control_raft_leader_with_majority")
            .await
            .unwrap_or(-1.0)
    };
    wait_until(
        60,
        &format!("{old_name} says it leads no majority"),
        || async { majority_gauge(old_port).await == 0.0 },
    )
    .await;
    wait_until(60, "the new leader says it leads a majority", || async {
        majority_gauge(CONTROLS[new].1).await == 1.0
    })
    .await;
    for &i in &others {
        let apps = p.apps(CONTROLS[i].1).await.unwrap();
        assert!(
            !apps.values().any(|b| b == minority),
            "the write the cut-off node did not acknowledge exists on {}",
            CONTROLS[i].0
        );
        let missing: Vec<_> = acked.iter().filter(|id| !apps.contains_key(*id)).collect();
        assert!(
            missing.is_empty(),
            "{} lacks acknowledged apps {missing:?}",
            CONTROLS[i].0
        );
    }

    cut.heal();
    let took = wait_until(
        90,
        &format!("{old_name} lists every acknowledged app after the heal"),
        || async { p.missing_apps(old_port, &acked).await == 0 },
    )
    .await;
    eprintln!(
        "{old_name} caught up {:.1} s after the heal ({} acknowledged apps)",
        took.as_secs_f64(),
        acked.len()
    );
    for (name, port) in CONTROLS {
        let apps = p.apps(port).await.unwrap();
        assert!(
            !apps.values().any(|b| b == minority),
            "the write the cut-off node did not acknowledge exists on {name} after the heal"
        );
    }
}

/// Control-1 is the first control-plane member in the origin's and every edge's list, so they
/// start on it. Cut off from the other two control nodes (but not from them), it has no new
/// entries to send: it must send its watchers away, and the calls it cannot serve must move
/// on, so that a pack uploaded through the majority is processed and served everywhere
/// while the cut lasts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn origin_and_edges_on_a_control_node_cut_off_from_the_majority_move_to_the_majority() {
    let p = Project::up("minority").await;
    let (app, token) = p.app_with_token("minority").await;
    let cut = p.cut(CONTROLS[0].0, &[CONTROLS[1].0, CONTROLS[2].0]);
    p.use_admin(CONTROLS[1].1);
    wait_until(60, "the two control nodes left answer /readyz", || {
        p.status_is(CONTROLS[1].1, "/readyz", 200)
    })
    .await;
    let (archive, level1) = p.build_pack("level-1", &[800_000, 300_000]).await;
    let started = Instant::now();
    p.upload_pack(&app, "level-1", &archive).await;
    for (edge, port) in EDGES {
        wait_until(
            120,
            &format!("{edge} serves level-1 during the cut"),
            || p.edge_serves(port, &app, "level-1", &token, &level1),
        )
        .await;
    }
    eprintln!(
        "uploaded, processed and served by every edge {:.1} s after the cut",
        started.elapsed().as_secs_f64()
    );
    cut.heal();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn an_edge_cut_off_from_control_plane_and_origin_serves_what_it_holds_and_catches_up_when_healed()
 {
    let p = Project::up("edge-cut").await;
    let (app, token) = p.app_with_token("edgecut").await;
    let (archive1, level1) = p
        .build_pack("level-1", &[1_500_000, 700_000, 300_000])
        .await;
    p.upload_pack(&app, "level-1", &archive1).await;
    let (eu1, eu1_port) = EDGES[0];
    wait_until(60, "edge-eu-1 serves level-1 (its cache filled)", || {
        p.edge_serves(eu1_port, &app, "level-1", &token, &level1)
    })
    .await;

    let cut = p.cut(
        eu1,
        &["control-1", "control-2", "control-3", ORIGIN.0, ORIGIN_2.0],
    );

    let (status, body) = p
        .edge_get(eu1_port, &app, "level-1", &token, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{eu1}, cut off, serves level-1");
    assert!(
        body == level1,
        "{eu1}, cut off, serves level-1 byte for byte"
    );
    let (status, body) = p
        .edge_get(eu1_port, &app, "level-1", &token, Some("bytes=1000-199999"))
        .await
        .unwrap();
    assert_eq!(status, 206, "a range of level-1 from {eu1}, cut off");
    assert!(body == level1[1000..200_000], "the range byte for byte");

    // A second pack, uploaded while eu-1 is cut off: the other edges serve it, eu-1 does not
    // know it.
    let (archive2, level2) = p.build_pack("level-2", &[900_000, 400_000]).await;
    p.upload_pack(&app, "level-2", &archive2).await;
    for (edge, port) in &EDGES[1..] {
        wait_until(60, &format!("{edge} serves level-2"), || {
            p.edge_serves(*port, &app, "level-2", &token, &level2)
        })
        .await;
    }
    let (status, _) = p
        .edge_get(eu1_port, &app, "level-2", &token, None)
        .await
        .unwrap();
    assert_eq!(status, 404, "{eu1}, cut off, does not know level-2");
    let (status, body) = p
        .edge_get(eu1_port, &app, "level-1", &token, None)
        .await
        .unwrap();
    assert!(
        status == 200 && body == level1,
        "{eu1} still serves level-1"
    );

    cut.heal();
    let took = wait_until(120, &format!("{eu1} serves level-2 after the heal"), || {
        p.edge_serves(eu1_port, &app, "level-2", &token, &level2)
    })
    .await;
    eprintln!(
        "{eu1} served level-2 {:.1} s after the heal",
        took.as_secs_f64()
    );
}

/// An origin's view of an upload file: `GET {origin}/v1/uploads/{id}` with the credential
/// of the `uploadStatusUrl` the admin API gives, sent to the origin published on
/// `origin_port` (the URL names the first origin; any origin answers for any file).
async fn upload_status(p: &Project, origin_port: u16, file: &str) -> Option<Value> {
    let doc: Value = p
        .http
        .get(format!(
            "http://127.0.0.1:{}/v1/backgroundAssetUploadFiles/{file}",
            CONTROLS[0].1
        ))
        .bearer_auth(p.key())
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let signed = doc["data"]["attributes"]["uploadStatusUrl"].as_str()?;
    let query = signed.split_once('?')?.1;
    let response = p
        .http
        .get(format!(
            "http://127.0.0.1:{origin_port}/v1/uploads/{file}?{query}"
        ))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

fn numbers(doc: &Value, field: &str) -> Vec<u64> {
    doc[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_u64().or_else(|| v["partNumber"].as_u64()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn the_origin_killed_mid_upload_the_upload_resumes_through_the_other_origin_and_nothing_is_half_stored()
 {
    let p = Project::up("origin-kill").await;
    let (app, token) = p.app_with_token("originkill").await;
    // 96 MiB of random files: 13 upload parts of 8 MiB (the default part size), so that
    // parts are still to come when the kill lands (`docker kill` takes a moment, during
    // which a few more parts arrive).
    let (archive, bytes) = p.build_pack("level-big", &[6 << 20; 16]).await;
    let archive_path = archive.to_str().unwrap().to_owned();
    let pack = p
        .cli(60, &["packs", "create", "--app", &app, "level-big", "-q"])
        .await;

    // In parts (`--whole`): what is killed mid-way is the origin receiving parts.
    let mut upload = p.spawn_cli(&[
        "versions",
        "upload",
        "--pack",
        &pack,
        &archive_path,
        "-q",
        "--whole",
    ]);
    let file = eventually(
        "the CLI names its upload file",
        Duration::from_secs(60),
        || async {
            let err = upload.stderr();
            let rest = err.split_once("as upload file ")?.1;
            Some(rest.split(';').next()?.trim().to_owned())
        },
    )
    .await;
    // SIGKILL the origin as soon as it holds a first part.
    let held = eventually(
        "the origin holds a first part",
        Duration::from_secs(120),
        || async {
            let doc = upload_status(&p, ORIGIN.1, &file).await?;
            let parts = numbers(&doc, "parts");
            (!parts.is_empty()).then_some(parts)
        },
    )
    .await;
    p.kill(ORIGIN.0);
    eprintln!("killed the origin holding parts {held:?} of upload file {file}");

    // The CLI retries each part a few times, then stops and says how to resume.
    let failed_in = Instant::now();
    let status = upload.wait(120).await;
    eprintln!(
        "the CLI exited {status} {:.1} s after the kill:\n{}",
        failed_in.elapsed().as_secs_f64(),
        upload.stderr()
    );
    assert!(
        !status.success(),
        "the upload ended well with the origin dead"
    );
    assert!(
        upload.stderr().contains("--resume"),
        "the CLI says how to resume:\n{}",
        upload.stderr()
    );
    assert!(!p.running(ORIGIN.0), "the killed origin stays down");

    // The parts are in the shared store: the other origin answers for them, and takes the
    // rest, while the first stays down.
    let doc = eventually(
        "the other origin reports the upload file",
        Duration::from_secs(60),
        || upload_status(&p, ORIGIN_2.1, &file),
    )
    .await;
    let stored = numbers(&doc, "parts");
    let missing = numbers(&doc, "missingParts");
    let part_bytes = usize::try_from(doc["partBytes"].as_u64().unwrap()).unwrap();
    let total = bytes.len().div_ceil(part_bytes);
    eprintln!("the other origin holds parts {stored:?} of {total}, lacks {missing:?}");
    assert!(
        held.iter().all(|n| stored.contains(n)),
        "parts the origin held before the kill ({held:?}) are still held ({stored:?})"
    );
    assert!(
        !missing.is_empty(),
        "the origin was killed too late: it holds every part ({stored:?}); make the pack larger"
    );
    assert_eq!(
        stored.len() + missing.len(),
        total,
        "every part is either held whole or missing: {doc}"
    );
    for part in doc["parts"].as_array().unwrap() {
        let n = part["partNumber"].as_u64().unwrap();
        let expected = if usize::try_from(n).unwrap() == total {
            bytes.len() - (total - 1) * part_bytes
        } else {
            part_bytes
        };
        assert_eq!(
            part["length"].as_u64().unwrap(),
            u64::try_from(expected).unwrap(),
            "part {n} is held whole"
        );
    }

    let other_origin = format!("http://127.0.0.1:{}", ORIGIN_2.1);
    let mut resume = p.spawn_cli(&[
        "versions",
        "upload",
        "--resume",
        &file,
        &archive_path,
        "-q",
        "--whole",
        "--origin",
        &other_origin,
    ]);
    let status = resume.wait(600).await;
    assert!(
        status.success(),
        "the resumed upload: {status}\n{}",
        resume.stderr()
    );
    assert!(
        resume
            .stderr()
            .contains(&format!("sending {} of {total} parts", missing.len())),
        "the resume sends only the missing parts:\n{}",
        resume.stderr()
    );
    let version = resume.stdout().trim().to_owned();
    let doc: Value =
        serde_json::from_str(&p.cli(60, &["versions", "show", &version, "--json"]).await).unwrap();
    assert_eq!(
        doc["data"]["attributes"]["state"], "COMPLETE",
        "the version after the resume, processed by the other origin: {doc}"
    );
    assert!(!p.running(ORIGIN.0), "the first origin was down throughout");

    for (edge, port) in EDGES {
        wait_until(
            120,
            &format!("{edge} serves the resumed pack byte for byte"),
            || p.edge_serves(port, &app, "level-big", &token, &bytes),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn a_rolling_restart_of_every_control_node_under_write_load_loses_no_acknowledged_write() {
    // Each node in turn: `docker stop -t 10` (SIGTERM, then SIGKILL after 10 s if it has not
    // stopped) and `docker start`, what `docker restart` does; each back and ready before the
    // next goes.
    let p = Arc::new(Project::up("rolling").await);
    let stop = Arc::new(AtomicBool::new(false));
    // (id, the port that acknowledged it, when).
    let acked: Arc<Mutex<Vec<(String, u16, Instant)>>> = Arc::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (p, stop, acked, refused) = (p.clone(), stop.clone(), acked.clone(), refused.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let port = CONTROLS[(w + n) % 3].1;
                let bundle = format!("com.example.w{w}.n{n}");
                match p.create_app(port, &bundle, Duration::from_secs(5)).await {
                    Ok(id) => acked.lock().unwrap().push((id, port, Instant::now())),
                    Err(_) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                n += 1;
            }
        }));
    }
    let count = || acked.lock().unwrap().len();
    wait_until(60, "the writers get 30 writes acknowledged", || async {
        count() >= 30
    })
    .await;

    for (name, port) in CONTROLS {
        let before = count();
        let (took, code) = tokio::task::block_in_place(|| {
            let stopped = p.stop(name, 10);
            p.start(name);
            stopped
        });
        let up = wait_until(60, &format!("{name} is ready after its restart"), || {
            p.status_is(port, "/readyz", 200)
        })
        .await;
        let ready_at = Instant::now();
        wait_until(
            60,
            &format!("{name} acknowledges a write after its restart"),
            || async {
                acked
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(_, at, when)| *at == port && *when > ready_at)
            },
        )
        .await;
        eprintln!(
            "{name}: stopped in {:.1} s (exit code {code}), ready {:.1} s after its start; {} \
             writes acknowledged meanwhile",
            took.as_secs_f64(),
            up.as_secs_f64(),
            count() - before
        );
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }

    let ids: BTreeSet<String> = acked
        .lock()
        .unwrap()
        .iter()
        .map(|(id, ..)| id.clone())
        .collect();
    assert_eq!(ids.len(), count(), "every acknowledged id is distinct");
    eprintln!(
        "{} writes acknowledged, {} not",
        ids.len(),
        refused.load(Ordering::Relaxed)
    );
    for (name, port) in CONTROLS {
        let took = wait_until(
            60,
            &format!("{name} lists every acknowledged app"),
            || async { p.missing_apps(port, &ids).await == 0 },
        )
        .await;
        eprintln!(
            "{name} lists all {} after {:.1} s",
            ids.len(),
            took.as_secs_f64()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn an_edge_restarted_while_the_control_plane_is_down_serves_its_cached_packs_at_once() {
    let p = Project::up("edge-restart").await;
    let (app, token) = p.app_with_token("edgerestart").await;
    let (archive, level1) = p.build_pack("level-1", &[1_200_000, 800_000]).await;
    p.upload_pack(&app, "level-1", &archive).await;
    let (us1, us1_port) = EDGES[2];
    wait_until(60, "edge-us-1 serves level-1 (its cache filled)", || {
        p.edge_serves(us1_port, &app, "level-1", &token, &level1)
    })
    .await;

    for (name, _) in CONTROLS {
        p.kill(name);
    }
    p.kill(ORIGIN.0);
    p.kill(ORIGIN_2.0);
    let took = p.restart(us1);
    let ready = wait_until(
        15,
        &format!("{us1} answers /readyz 200 after its restart"),
        || p.status_is(us1_port, "/readyz", 200),
    )
    .await;
    eprintln!(
        "{us1}: docker restart took {:.1} s, /readyz 200 {:.1} s later",
        took.as_secs_f64(),
        ready.as_secs_f64()
    );
    let (status, body) = p
        .edge_get(us1_port, &app, "level-1", &token, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{us1}'s first answer for level-1 once ready");
    assert!(body == level1, "{us1} serves level-1 byte for byte");
    let (status, body) = p
        .edge_get(us1_port, &app, "level-1", &token, Some("bytes=-4096"))
        .await
        .unwrap();
    assert_eq!(status, 206);
    assert!(
        body == level1[level1.len() - 4096..],
        "the range byte for byte"
    );
    for (name, _) in CONTROLS.iter().chain([&ORIGIN, &ORIGIN_2]) {
        assert!(!p.running(name), "{name} stayed down the whole time");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn every_node_stops_on_sigterm_well_within_dockers_grace_period() {
    // `docker stop` (and so `docker restart`, a rolling upgrade, `compose down`) sends SIGTERM
    // and SIGKILLs after the grace period: a node that has not exited by then loses its
    // clean shutdown. Each role is stopped once, the control plane's follower and then its
    // leader with the others up.
    let p = Project::up("sigterm").await;
    let leader = eventually(
        "exactly one control node leads",
        Duration::from_secs(60),
        || leader_among(&p, &[0, 1, 2]),
    )
    .await;
    let follower = (leader + 1) % 3;
    let mut stops = Vec::new();
    for name in [
        EDGES[0].0,
        ORIGIN.0,
        CONTROLS[follower].0,
        CONTROLS[leader].0,
    ] {
        let (took, code) = tokio::task::block_in_place(|| p.stop(name, 20));
        eprintln!(
            "{name}: stopped in {:.1} s, exit code {code}",
            took.as_secs_f64()
        );
        stops.push((name, took, code));
    }
    let slow: Vec<_> = stops
        .iter()
        .filter(|(_, took, code)| *took > Duration::from_secs(5) || *code != 0)
        .map(|(name, took, code)| format!("{name} ({:.1} s, exit code {code})", took.as_secs_f64()))
        .collect();
    assert!(
        slow.is_empty(),
        "nodes that did not exit on SIGTERM within 5 s (137: SIGKILLed after 20 s): {slow:?}"
    );
}
