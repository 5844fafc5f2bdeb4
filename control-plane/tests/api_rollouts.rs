//! Per-region rollouts through the admin API over HTTP on 127.0.0.1: start with stages,
//! advance, pause, resume, roll back, the per-region status with what edges report, the
//! leader's automatic advance after the soak time, the webhook events, and every bad input
//! answered with a 4xx that names the problem while nothing is stored.

// Test code: a failed setup step should fail the test at once, loudly.
#![allow(clippy::unwrap_used)]

mod api_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use api_support::{Server, error, id};
use packyard_control_plane::rollout_advancer::advance_due_rollouts;
use packyard_control_plane::{CatalogStore, Clock};
use packyard_core::catalog::{
    Actor, Command, EdgeHeartbeat, EdgeId, Envelope, PackId, RegisterEdge, Timestamp,
};
use packyard_net::eventually::eventually;
use serde_json::{Value, json};
use tokio::sync::oneshot;

struct World {
    s: Server,
    app: String,
    pack: String,
    manager: String,
    dev: String,
    reviewer: String,
}

impl World {
    /// An app with a pack whose version 1 is live in the store (released without stages, as
    /// before rollouts had any), and edges e1, e2 in `eu` and e3 in `us`.
    async fn new() -> Self {
        let s = Server::start().await;
        let app = s.app("com.example.rollouts").await;
        let manager = s.member(&app, "APP_MANAGER", "mgr@example.com").await;
        let dev = s.member(&app, "DEVELOPER", "dev@example.com").await;
        let reviewer = s.member(&app, "REVIEWER", "rev@example.com").await;
        for (edge, region) in [("e1", "eu"), ("e2", "eu"), ("e3", "us")] {
            system(
                &s,
                Command::RegisterEdge(RegisterEdge {
                    id: EdgeId::from(edge),
                    region: region.into(),
                    public_urls: vec![format!("http://{edge}.example.com")],
                    capacity_bytes: 1 << 30,
                }),
            )
            .await;
        }
        let (_, v) = s.pack(&app, &dev, "level-2").await;
        let pack = id(&v);
        let w = Self {
            s,
            app,
            pack,
            manager,
            dev,
            reviewer,
        };
        let v1 = w.accepted_version().await;
        let (st, v) = w.start(&v1, None).await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["data"]["attributes"]["state"], "COMPLETED");
        assert_eq!(w.store_state(&v1).await, "READY_FOR_DISTRIBUTION");
        w
    }

    /// A new COMPLETE version of the pack, accepted for the store.
    async fn accepted_version(&self) -> String {
        let v = self.s.complete_version(&self.pack, &self.dev, 1000).await;
        let (st, sub) = self.s.submit(&v, &self.manager, "APP_STORE").await;
        assert_eq!(st, 201, "{sub}");
        let sub = id(&sub);
        for state in ["IN_REVIEW", "ACCEPTED"] {
            let (st, r) = self
                .s
                .review(&sub, &self.reviewer, json!({"state": state}))
                .await;
            assert_eq!(st, 200, "{r}");
        }
        v
    }

    async fn start_as(&self, key: &str, version: &str, attributes: Option<Value>) -> (u16, Value) {
        let mut data = json!({"type": "rollouts", "relationships": {"backgroundAssetVersion": {
            "data": {"type": "backgroundAssetVersions", "id": version}}}});
        if let Some(a) = attributes {
            data["attributes"] = a;
        }
        self.s
            .post("/v1/rollouts", key, json!({ "data": data }))
            .await
    }

    async fn start(&self, version: &str, attributes: Option<Value>) -> (u16, Value) {
        self.start_as(&self.manager, version, attributes).await
    }

    async fn act(&self, rollout: &str, action: &str) -> (u16, Value) {
        self.s
            .patch(
                &format!("/v1/rollouts/{rollout}"),
                &self.manager,
                json!({"data": {"type": "rollouts", "id": rollout,
                    "attributes": {"action": action}}}),
            )
            .await
    }

    async fn rollout(&self, rollout: &str) -> Value {
        let (st, v) = self
            .s
            .get(&format!("/v1/rollouts/{rollout}"), &self.dev)
            .await;
        assert_eq!(st, 200, "{v}");
        v["data"]["attributes"].clone()
    }

    async fn store_state(&self, version: &str) -> String {
        let (_, v) = self
            .s
            .get(
                &format!("/v1/backgroundAssetVersionAppStoreReleases/{version}"),
                &self.dev,
            )
            .await;
        v["data"]["attributes"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Whether the pack has a running or paused rollout.
    async fn has_active_rollout(&self) -> bool {
        let pack = PackId::new(self.pack.clone());
        self.s
            .store
            .read(move |c| c.active_rollout(&pack).is_some())
            .await
            .unwrap()
    }
}

async fn system(s: &Server, command: Command) {
    let envelope = Envelope {
        actor: Actor::System,
        at: Timestamp(u64::MAX / 2),
        command,
        key: None,
    };
    s.store.write(envelope).await.unwrap().unwrap();
}

fn plan() -> Value {
    json!({"stages": [
        {"regions": ["eu"], "percentage": 10},
        {"regions": ["eu", "us"], "percentage": 50},
        {"regions": ["*"], "percentage": 100},
    ]})
}

/// The status of `region` in a rollout's attributes.
fn region<'a>(attributes: &'a Value, name: &str) -> &'a Value {
    attributes["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == name)
        .unwrap_or_else(|| panic!("no region {name} in {attributes}"))
}

#[tokio::test]
async fn a_staged_rollout_advances_pauses_resumes_and_rolls_back_through_the_api() {
    let w = World::new().await;
    let v2 = w.accepted_version().await;
    let (_, hook) = w
        .s
        .post(
            "/v1/webhooks",
            &w.s.admin,
            json!({"data": {"type": "webhooks",
                "attributes": {"url": "https://hooks.example/", "eventTypes": ["ROLLOUT_STATE_UPDATED"]},
                "relationships": {"app": {"data": {"type": "apps", "id": w.app}}}}}),
        )
        .await;
    let hook = id(&hook);

    let (st, v) = w.start(&v2, Some(plan())).await;
    assert_eq!(st, 201, "{v}");
    let rollout = id(&v);
    let a = &v["data"]["attributes"];
    assert_eq!(a["state"], "RUNNING");
    assert_eq!(a["currentStage"], 1);
    assert_eq!(a["stageCount"], 3);
    assert_eq!(a["fromVersion"], 1);
    assert_eq!(a["toVersion"], 2);
    assert_eq!(a["stages"][2]["regions"], json!(["*"]));
    assert_eq!(region(a, "eu")["percentage"], 10);
    assert_eq!(region(a, "eu")["edges"], 2);
    assert_eq!(region(a, "us")["percentage"], 0);
    assert_eq!(w.store_state(&v2).await, "PROCESSING_FOR_DISTRIBUTION");

    // Edges report what they hold and served; the status sums it per region.
    let pack = PackId::new(w.pack.clone());
    for (edge, devices_v1, devices_v2) in [("e1", 90, 10), ("e2", 80, 12), ("e3", 50, 0)] {
        system(
            &w.s,
            Command::EdgeHeartbeat(EdgeHeartbeat {
                id: EdgeId::from(edge),
                applied_index: 1,
                cached_bytes: 1,
                ready: BTreeSet::from([(pack.clone(), 2)]),
                served: BTreeMap::from([
                    ((pack.clone(), 1), devices_v1),
                    ((pack.clone(), 2), devices_v2),
                ]),
                requests: BTreeMap::from([((pack.clone(), 2), devices_v2 * 3)]),
            }),
        )
        .await;
    }
    let a = w.rollout(&rollout).await;
    let eu = region(&a, "eu");
    assert_eq!(eu["edgesWithChunks"], json!(["e1", "e2"]));
    assert_eq!(
        eu["served"],
        json!([{"version": 1, "devices": 170, "requests": 0},
               {"version": 2, "devices": 22, "requests": 66}])
    );

    // Pause, and what a paused rollout refuses.
    let (st, v) = w.act(&rollout, "PAUSE").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "PAUSED");
    let (st, v) = w.act(&rollout, "PAUSE").await;
    assert_eq!(st, 409, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("already paused")
    );
    let (st, v) = w.act(&rollout, "ADVANCE").await;
    assert_eq!(st, 409, "{v}");
    assert!(error(&v)["detail"].as_str().unwrap().contains("resume it"));
    let (st, v) = w.act(&rollout, "RESUME").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "RUNNING");

    let (st, v) = w.act(&rollout, "ADVANCE").await;
    assert_eq!(st, 200, "{v}");
    let a = &v["data"]["attributes"];
    assert_eq!(a["currentStage"], 2);
    assert_eq!(region(a, "us")["percentage"], 50);
    assert_eq!(region(a, "us")["inStage"], true);

    let (st, v) = w.act(&rollout, "ROLL_BACK").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["attributes"]["state"], "ROLLED_BACK");
    assert_eq!(region(&v["data"]["attributes"], "eu")["percentage"], 0);
    assert_eq!(w.store_state(&v2).await, "ACCEPTED");
    let (st, v) = w.act(&rollout, "ROLL_BACK").await;
    assert_eq!(st, 409, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be rolled back")
    );

    // Rolled out again, to completion; then no stage is left to advance to.
    let (st, v) = w.start(&v2, Some(plan())).await;
    assert_eq!(st, 201, "{v}");
    let again = id(&v);
    for _ in 0..2 {
        let (st, v) = w.act(&again, "ADVANCE").await;
        assert_eq!(st, 200, "{v}");
    }
    assert_eq!(w.rollout(&again).await["state"], "COMPLETED");
    assert_eq!(w.store_state(&v2).await, "READY_FOR_DISTRIBUTION");
    let (st, v) = w.act(&again, "ADVANCE").await;
    assert_eq!(st, 409, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("no stage after it")
    );

    // Every change was an event for the webhook.
    let (_, d) =
        w.s.get(&format!("/v1/webhooks/{hook}/deliveries"), &w.s.admin)
            .await;
    let events: Vec<&Value> = d["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["attributes"]["eventType"])
        .collect();
    // start, pause, resume, advance, roll back; start, advance, advance (completes).
    assert_eq!(events.len(), 8, "{d}");
    assert!(events.iter().all(|e| *e == "ROLLOUT_STATE_UPDATED"));
}

#[tokio::test]
async fn bad_rollouts_are_refused_naming_the_problem_and_store_nothing() {
    let w = World::new().await;
    let v2 = w.accepted_version().await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"stages": [{"regions": ["mars"], "percentage": 10}, {"regions": ["*"], "percentage": 100}]}),
            422,
            "unknown region \"mars\"",
        ),
        (
            json!({"stages": [{"regions": ["eu"], "percentage": 50}, {"regions": ["eu"], "percentage": 20}, {"regions": ["*"], "percentage": 100}]}),
            422,
            "percentages may not decrease",
        ),
        (
            json!({"stages": [{"regions": ["*"], "percentage": 150}]}),
            422,
            "a percentage is 1 to 100",
        ),
        (json!({"stages": []}), 422, "stages: is empty"),
        (
            json!({"stages": [{"regions": ["eu"], "percentage": 10}]}),
            422,
            "the last stage must give the new version to every device",
        ),
        (
            json!({"stages": [{"regions": ["eu"], "percentage": -5}]}),
            400,
            "/data/attributes/stages/0/percentage",
        ),
        (
            json!({"stages": [{"regions": ["eu"], "percent": 5}]}),
            400,
            "percent",
        ),
        (json!({"soakSeconds": 0}), 422, "soakSeconds: is 0"),
    ];
    for (attributes, status, words) in cases {
        let (st, v) = w.start(&v2, Some(attributes.clone())).await;
        assert_eq!(st, status, "{attributes} → {v}");
        let detail = error(&v)["detail"].as_str().unwrap();
        assert!(detail.contains(words), "{attributes}: {detail}");
        assert_eq!(w.store_state(&v2).await, "ACCEPTED", "nothing stored");
        assert!(!w.has_active_rollout().await);
    }
    // R8: a Developer may not roll out; the refusal names the roles that may.
    let (st, v) = w.start_as(&w.dev, &v2, Some(plan())).await;
    assert_eq!(st, 403, "{v}");
    assert!(
        error(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("App Manager")
    );
    // An unknown version, an unknown rollout.
    let (st, _) = w.start(&"0".repeat(32), Some(plan())).await;
    assert_eq!(st, 404);
    let (st, _) = w.act("nope", "PAUSE").await;
    assert_eq!(st, 404);

    let (st, v) = w.start(&v2, Some(plan())).await;
    assert_eq!(st, 201, "{v}");
    let rollout = id(&v);
    // A second active rollout for the same pack (R6).
    let v3 = w.accepted_version().await;
    let (st, v) = w.start(&v3, Some(plan())).await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(error(&v)["code"], "STATE_ERROR.R6");
    assert!(error(&v)["detail"].as_str().unwrap().contains(&rollout));
    // Unknown actions, mismatched ids, the wrong role.
    let (st, v) = w.act(&rollout, "FAST_FORWARD").await;
    assert_eq!(st, 400, "{v}");
    let (st, v) =
        w.s.patch(
            &format!("/v1/rollouts/{rollout}"),
            &w.manager,
            json!({"data": {"type": "rollouts", "id": "other", "attributes": {"action": "PAUSE"}}}),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    let (st, v) =
        w.s.patch(
            &format!("/v1/rollouts/{rollout}"),
            &w.dev,
            json!({"data": {"type": "rollouts", "id": rollout, "attributes": {"action": "PAUSE"}}}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert_eq!(w.rollout(&rollout).await["state"], "RUNNING");
    // Someone without a role on the app cannot read it.
    let other = w.s.app("com.example.other").await;
    let stranger = w.s.member(&other, "ADMIN", "stranger@example.com").await;
    let (st, _) = w.s.get(&format!("/v1/rollouts/{rollout}"), &stranger).await;
    assert_eq!(st, 403);
}

/// End to end over HTTP with a real one-second soak; the exact boundaries (not a tick before
/// the soak ends, at the tick it ends) are checked on paused time in tests/paused_time.
#[tokio::test]
async fn the_leader_advances_a_rollout_once_its_soak_time_is_over() {
    let w = World::new().await;
    let v2 = w.accepted_version().await;
    let (st, v) = w
        .start(
            &v2,
            Some(json!({"soakSeconds": 1, "stages": [
                {"regions": ["eu"], "percentage": 20},
                {"regions": ["*"], "percentage": 100},
            ]})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let rollout = id(&v);
    assert!(v["data"]["attributes"]["nextAdvanceDate"].is_string());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(advance_due_rollouts(
        w.s.store.clone(),
        Clock::System,
        Duration::from_millis(50),
        async {
            let _ = stopped.await;
        },
    ));
    eventually(
        "the rollout completes",
        Duration::from_secs(30),
        async || {
            let state = w.rollout(&rollout).await["state"].clone();
            if state == "COMPLETED" {
                Ok(())
            } else {
                Err(state)
            }
        },
    )
    .await;
    assert_eq!(w.store_state(&v2).await, "READY_FOR_DISTRIBUTION");
    drop(stop);
}
