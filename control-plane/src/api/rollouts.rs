//! `rollouts`: release an ACCEPTED store version region by region (SPEC §7).
//!
//! - `POST /v1/rollouts` with the `backgroundAssetVersion` relationship, optional `stages`
//!   (`[{"regions": ["eu"], "percentage": 10}, …, {"regions": ["*"], "percentage": 100}]`)
//!   and optional `soakSeconds`. Without `stages` the plan is one stage, every region at
//!   100 %: the version is released everywhere at once, as before rollouts had stages.
//! - `GET /v1/rollouts/{id}`: the rollout with a status per region: the share of devices the
//!   stage in force gives the new version there, its edges (up, and holding the new
//!   version's chunks), and the devices and requests its edges served per version.
//! - `PATCH /v1/rollouts/{id}` with `{"action": "ADVANCE" | "PAUSE" | "RESUME" | "ROLL_BACK"}`.
//!
//! Each is one catalog command (`StartRollout`, `ChangeRollout`); refusals (bad plan, wrong
//! state, missing role) come from the catalog and change nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{
    Actor, Catalog, ChangeRollout, Command, Edge, EdgeStatus, ResourceType, Rollout, RolloutAction,
    RolloutId, StartRollout, VersionId, edge_status,
};
use packyard_core::rollout::{Regions, Stage};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::{Api, new_id};
use super::document::{Nothing, Rel, parse, respond, to_one, to_one_opt};
use super::error::ApiError;
use super::not_found;
use super::packs::check_id;
use super::render::{FleetClock, date};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageInput {
    regions: Vec<String>,
    percentage: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateAttributes {
    #[serde(default)]
    stages: Option<Vec<StageInput>>,
    #[serde(default)]
    soak_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VersionRelationship {
    background_asset_version: Rel,
}

/// `POST /v1/rollouts`: starts a rollout of an ACCEPTED store version (rule R6). The caller
/// needs a role that may roll out (R8).
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<CreateAttributes, VersionRelationship>(body, "rollouts")?;
    let version = input
        .relationships
        .background_asset_version
        .id("backgroundAssetVersion", "backgroundAssetVersions")?;
    let a = input.attributes;
    let stages = match a.stages {
        None => vec![Stage::everywhere()],
        Some(stages) => stages
            .into_iter()
            .map(|s| Stage {
                regions: Regions::from(s.regions),
                percentage: s.percentage,
            })
            .collect(),
    };
    let id = RolloutId::new(new_id()?);
    api.propose(
        actor,
        Command::StartRollout(StartRollout {
            id: id.clone(),
            version: VersionId::new(version),
            stages,
            soak_seconds: a.soak_seconds,
        }),
    )
    .await?;
    let doc = read_rollout(api, actor, id).await?;
    Ok(respond(StatusCode::CREATED, doc))
}

/// `GET /v1/rollouts/{id}`: readable by the app's members.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: RolloutId,
) -> Result<Response, ApiError> {
    let doc = read_rollout(api, actor, id).await?;
    Ok(respond(StatusCode::OK, doc))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeAttributes {
    action: RolloutAction,
}

/// `PATCH /v1/rollouts/{id}`: advance, pause, resume or roll back.
pub(crate) async fn change<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: RolloutId,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<ChangeAttributes, Nothing>(body, "rollouts")?;
    check_id(input.id.as_deref(), id.as_str())?;
    api.propose(
        actor,
        Command::ChangeRollout(ChangeRollout {
            rollout: id.clone(),
            action: input.attributes.action,
        }),
    )
    .await?;
    get(api, actor, id).await
}

/// `GET /v1/apps/{id}/rollouts`: the app's rollouts, active and finished, in id order, each
/// with its status per region, for its members.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: packyard_core::catalog::AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    let feed = api.feed.clone();
    let lease = Duration::from_millis(u64::from(api.config.edge_lease_ms));
    let node_clock = api.config.clock;
    api.list(format!("/v1/apps/{app}/rollouts"), move |c| {
        c.may_read(&actor, &app, ResourceType::Rollouts)?;
        let clock = FleetClock {
            now: node_clock.now(),
            lease,
            last_index: feed.last_index(),
        };
        Ok(c.rollouts_of(&app).map(|r| render(c, r, clock)).collect())
    })
    .await
}

async fn read_rollout<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: RolloutId,
) -> Result<Value, ApiError> {
    let actor = actor.clone();
    let feed = api.feed.clone();
    let lease = Duration::from_millis(u64::from(api.config.edge_lease_ms));
    let node_clock = api.config.clock;
    api.read_or_refuse(move |c| {
        let r = c
            .rollout(&id)
            .ok_or_else(|| not_found(ResourceType::Rollouts, &id))?;
        c.may_read(&actor, &r.app, ResourceType::Rollouts)?;
        let clock = FleetClock {
            now: node_clock.now(),
            lease,
            last_index: feed.last_index(),
        };
        Ok(render(c, r, clock))
    })
    .await
}

/// The rollout as a `rollouts` resource, with its status per region.
fn render(c: &Catalog, r: &Rollout, clock: FleetClock) -> Value {
    let number = |v: &VersionId| c.version(v).map_or(0, |v| v.number);
    let (from, to) = (r.from.as_ref().map(number), number(&r.to));
    let stages: Vec<Value> = r
        .stages
        .iter()
        .map(|s| json!({ "regions": s.regions.names(), "percentage": s.percentage }))
        .collect();
    let mut names: BTreeSet<String> = c.regions();
    for s in &r.stages {
        if let Regions::Only(listed) = &s.regions {
            names.extend(listed.iter().cloned());
        }
    }
    let regions: Vec<Value> = names
        .iter()
        .map(|name| region_status(c, r, name, from, to, clock))
        .collect();
    json!({
        "type": "rollouts",
        "id": r.id.as_str(),
        "attributes": {
            "state": r.state.as_str(),
            "currentStage": r.stage + 1,
            "stageCount": r.stages.len(),
            "stages": stages,
            "soakSeconds": r.soak_seconds,
            "fromVersion": from,
            "toVersion": to,
            "createdDate": date(r.created_at),
            "stageStartedDate": date(r.stage_started_at),
            "updatedDate": date(r.updated_at),
            "nextAdvanceDate": r.auto_advance_at().map(date),
            "regions": regions,
        },
        "relationships": {
            "backgroundAsset": to_one("backgroundAssets", r.pack.as_str()),
            "backgroundAssetVersion": to_one("backgroundAssetVersions", r.to.as_str()),
            "fromBackgroundAssetVersion":
                to_one_opt("backgroundAssetVersions", r.from.as_ref().map(VersionId::as_str)),
        },
        "links": { "self": format!("/v1/rollouts/{}", r.id) },
    })
}

/// One region's view of a rollout.
fn region_status(
    c: &Catalog,
    r: &Rollout,
    name: &str,
    from: Option<u32>,
    to: u32,
    clock: FleetClock,
) -> Value {
    let edges: Vec<&Edge> = c.edges().filter(|e| e.region == name).collect();
    let up = |e: &Edge| edge_status(e, clock.now, clock.lease) == EdgeStatus::Up;
    let holding: Vec<&str> = edges
        .iter()
        .filter(|e| up(e) && e.ready.contains(&(r.pack.clone(), to)))
        .map(|e| e.id.as_str())
        .collect();
    let versions: Vec<Value> = from
        .into_iter()
        .chain([to])
        .map(|n| {
            let key = (r.pack.clone(), n);
            let devices: u64 = edges.iter().filter_map(|e| e.served.get(&key)).sum();
            let requests: u64 = edges.iter().filter_map(|e| e.requests.get(&key)).sum();
            json!({ "version": n, "devices": devices, "requests": requests })
        })
        .collect();
    json!({
        "region": name,
        "inStage": r.in_stage(name),
        "percentage": r.share(name),
        "edges": edges.len(),
        "edgesUp": edges.iter().filter(|e| up(e)).count(),
        "edgesWithChunks": holding,
        "served": versions,
    })
}
