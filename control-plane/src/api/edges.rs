//! `edges` and `regions`: the fleet as the edges last reported it, for operators only. Edges
//! write nothing here; they register and heartbeat over gRPC (`crate::edge_registry`). UP or
//! DOWN is decided at read time from each edge's last sign of life and the lease.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{Actor, Catalog, Edge, EdgeId, ResourceType};

use super::context::Api;
use super::document::{respond, respond_list};
use super::error::ApiError;
use super::not_found;
use super::render::{self, FleetClock};
use crate::store::CatalogStore;

/// Reads the catalog as an operator, judging edges by one clock taken inside the read, so
/// the lag is measured against the index of the catalog being read.
async fn read_fleet<S, R, F>(api: &Api<S>, actor: &Actor, f: F) -> Result<R, ApiError>
where
    S: CatalogStore,
    R: Send + 'static,
    F: FnOnce(&Catalog, FleetClock) -> Result<R, ApiError> + Send + 'static,
{
    let actor = actor.clone();
    let feed = api.feed.clone();
    let lease = Duration::from_millis(u64::from(api.config.edge_lease_ms));
    let node_clock = api.config.clock;
    api.read_or_refuse(move |c| {
        c.permits_fleet(&actor)?;
        let clock = FleetClock {
            now: node_clock.now(),
            lease,
            last_index: feed.last_index(),
        };
        f(c, clock)
    })
    .await
}

/// `GET /v1/edges`: every edge, in id order.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
) -> Result<Response, ApiError> {
    let data = read_fleet(api, actor, |c, clock| {
        Ok(c.edges().map(|e| render::edge(e, clock)).collect())
    })
    .await?;
    Ok(respond_list(data, "/v1/edges", None))
}

/// `GET /v1/edges/{id}`.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: EdgeId,
) -> Result<Response, ApiError> {
    let doc = read_fleet(api, actor, move |c, clock| {
        let edge = c
            .edge(&id)
            .ok_or_else(|| not_found(ResourceType::Edges, &id))?;
        Ok(render::edge(edge, clock))
    })
    .await?;
    Ok(respond(StatusCode::OK, doc))
}

/// `GET /v1/regions`: every region that has an edge, by name, with its edges' ids and how
/// many are up and down.
pub(crate) async fn regions<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
) -> Result<Response, ApiError> {
    let data = read_fleet(api, actor, |c, clock| {
        let mut by_region: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
        for edge in c.edges() {
            by_region
                .entry(edge.region.as_str())
                .or_default()
                .push(edge);
        }
        Ok(by_region
            .iter()
            .map(|(name, edges)| render::region(name, edges, clock))
            .collect())
    })
    .await?;
    Ok(respond_list(data, "/v1/regions", None))
}
