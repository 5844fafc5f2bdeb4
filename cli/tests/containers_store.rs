//! Faults of the chunk store under the deployment of `deploy/compose.yaml`: its three Garage
//! nodes (three copies of every object) killed one at a time or all cut off from the origins
//! at once, and an origin whose disk is wiped. Run like the other container tests (`scripts/fault-tests.sh`).

// Test helpers outside `#[test]` functions: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

#[path = "support/containers.rs"]
mod compose;
#[path = "support/iptables.rs"]
mod iptables;

use compose::{EDGES, ORIGIN, ORIGIN_2, Project, STORE_NODES, wait_until};
use packyard_net::eventually::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn a_store_node_killed_loses_no_upload_and_an_origin_whose_disk_was_wiped_serves_everything()
{
    // The chunks live in the three-node Garage store, three copies each: one node SIGKILLed
    // stops neither uploads nor cold edge fetches, and an origin's own disk holds nothing
    // that matters.
    let p = Project::up("storenode").await;
    let (app, token) = p.app_with_token("storenode").await;
    // edge-eu-1 reaches no origin until the end: it holds nothing of level-1 by then.
    let (eu1, eu1_port) = EDGES[0];
    let no_origin = p.cut(eu1, &[ORIGIN.0, ORIGIN_2.0]);
    p.kill(STORE_NODES[0]);
    let (archive, level1) = p
        .build_pack("level-1", &[1_500_000, 900_000, 300_000])
        .await;
    p.upload_pack(&app, "level-1", &archive).await;
    let us1_port = EDGES[2].1;
    wait_until(90, "edge-us-1 serves level-1 with garage-1 down", || {
        p.edge_serves(us1_port, &app, "level-1", &token, &level1)
    })
    .await;

    // The node comes back; another goes. The first origin loses its disk and comes back
    // empty; the edge that has not fetched yet can reach only it.
    p.start(STORE_NODES[0]);
    p.kill(STORE_NODES[1]);
    p.wipe(ORIGIN.0);
    let _only_the_wiped_origin = p.cut(eu1, &[ORIGIN_2.0]);
    drop(no_origin);
    wait_until(
        120,
        "edge-eu-1 serves level-1 through the wiped origin",
        || p.edge_serves(eu1_port, &app, "level-1", &token, &level1),
    )
    .await;
    let (status, body) = p
        .edge_get(
            eu1_port,
            &app,
            "level-1",
            &token,
            Some("bytes=1000000-1065535"),
        )
        .await
        .unwrap();
    assert_eq!(status, 206);
    assert!(
        body == level1[1_000_000..1_065_536],
        "a range of level-1 byte for byte through the wiped origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Docker and the packyard image: scripts/fault-tests.sh"]
async fn the_whole_store_unreachable_refuses_uploads_naming_it_edges_serve_what_they_hold_and_all_completes_after()
 {
    let p = Project::up("storedown").await;
    let (app, token) = p.app_with_token("storedown").await;
    let (held_archive, held) = p.build_pack("level-1", &[700_000, 300_000]).await;
    p.upload_pack(&app, "level-1", &held_archive).await;
    for (edge, port) in EDGES {
        wait_until(120, &format!("{edge} serves level-1"), || {
            p.edge_serves(port, &app, "level-1", &token, &held)
        })
        .await;
    }

    // Every store node out of the origins' reach: an upload is refused with the store's
    // name, and nothing is stored.
    let cuts = [
        p.cut(ORIGIN.0, &STORE_NODES),
        p.cut(ORIGIN_2.0, &STORE_NODES),
    ];
    let (archive, level2) = p.build_pack("level-2", &[1_500_000, 600_000]).await;
    let archive_path = archive.to_str().unwrap().to_owned();
    let pack = p
        .cli(60, &["packs", "create", "--app", &app, "level-2", "-q"])
        .await;
    let mut upload = p.spawn_cli(&["versions", "upload", "--pack", &pack, &archive_path, "-q"]);
    let status = upload.wait(300).await;
    let err = upload.stderr();
    eprintln!("the upload with the store down exited {status}:\n{err}");
    assert!(!status.success(), "an upload succeeded with the store down");
    assert!(
        err.contains("UNAVAILABLE.STORE") && err.contains("bucket packyard"),
        "the refusal names the store:\n{err}"
    );
    let file = err
        .split_once("as upload file ")
        .and_then(|(_, rest)| rest.split(';').next())
        .unwrap()
        .trim()
        .to_owned();

    // The edges go on serving what they hold, byte for byte.
    for (edge, port) in EDGES {
        assert!(
            p.edge_serves(port, &app, "level-1", &token, &held).await,
            "{edge} serves level-1 with the store down"
        );
    }

    // The store returns: the same upload resumes and completes, and every edge serves it.
    for cut in cuts {
        cut.heal();
    }
    let version = eventually(
        "the upload resumes once the store is back",
        Duration::from_secs(180),
        || async {
            let mut resume =
                p.spawn_cli(&["versions", "upload", "--resume", &file, &archive_path, "-q"]);
            let status = resume.wait(300).await;
            if status.success() {
                Ok(resume.stdout().trim().to_owned())
            } else {
                Err(resume.stderr())
            }
        },
    )
    .await;
    let doc: serde_json::Value =
        serde_json::from_str(&p.cli(60, &["versions", "show", &version, "--json"]).await).unwrap();
    assert_eq!(doc["data"]["attributes"]["state"], "COMPLETE", "{doc}");
    for (edge, port) in EDGES {
        wait_until(120, &format!("{edge} serves level-2"), || {
            p.edge_serves(port, &app, "level-2", &token, &level2)
        })
        .await;
    }
}
