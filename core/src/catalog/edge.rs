//! [`Edge`]: an edge node as the control plane knows it (where it is, where devices reach it,
//! what it holds), the two commands edges send about themselves, and [`edge_status`], the
//! pure liveness decision.
//!
//! Edges register (again after every restart) and then heartbeat through the Raft log at a
//! modest interval, so every replica knows the fleet. Liveness is not stored: it is computed
//! at read time from the last sign of life and the lease, so no command has to mark an edge
//! down and a replica's clock never enters the log.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::*;

/// The longest region name: a DNS label.
pub const MAX_REGION_LEN: usize = 63;

/// The longest edge id.
pub const MAX_EDGE_ID_LEN: usize = 128;

/// The most public URLs one edge announces.
pub const MAX_PUBLIC_URLS: usize = 16;

/// An edge node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// Its id, chosen by the edge's operator.
    pub id: EdgeId,
    /// The region it serves (SPEC §7: regions are named groups of edges).
    pub region: String,
    /// Where devices reach it: `http://` or `https://` URLs, at least one.
    pub public_urls: Vec<String>,
    /// The size of its chunk cache, in bytes.
    pub capacity_bytes: u64,
    /// When it last registered (edges register again after every restart).
    pub registered_at: Timestamp,
    /// When its last heartbeat was applied; `None` until the first one.
    pub last_heartbeat_at: Option<Timestamp>,
    /// The last catalog index it applied from the watch stream.
    pub applied_index: u64,
    /// The bytes its chunk cache holds.
    pub cached_bytes: u64,
    /// The versions (pack, number) it holds every chunk of, verified.
    pub ready: BTreeSet<(PackId, u32)>,
    /// Distinct devices it served per version (pack, number) since it started.
    #[serde(with = "served_pairs")]
    pub served: BTreeMap<(PackId, u32), u64>,
    /// Requests it answered per version (pack, number) since it started.
    #[serde(default, with = "served_pairs")]
    pub requests: BTreeMap<(PackId, u32), u64>,
}

/// Whether an edge is alive, as of some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdgeStatus {
    /// It registered or heartbeated within the lease.
    Up,
    /// Nothing from it for longer than the lease: it is not counted as holding any version.
    Down,
}

impl EdgeStatus {
    /// The admin API spelling: `UP` or `DOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeStatus::Up => "UP",
            EdgeStatus::Down => "DOWN",
        }
    }
}

impl Edge {
    /// The last time the edge said it was alive: its last heartbeat, or its registration if
    /// that came later (a restarted edge registers before its first heartbeat).
    pub fn last_seen(&self) -> Timestamp {
        self.last_heartbeat_at
            .map_or(self.registered_at, |h| h.max(self.registered_at))
    }
}

/// Whether `edge` is up at `now`: it is while its last sign of life is at most `lease` old.
/// A sign of life stamped after `now` (another node's clock running ahead) counts as fresh.
pub fn edge_status(edge: &Edge, now: Timestamp, lease: Duration) -> EdgeStatus {
    let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
    if now.0.saturating_sub(edge.last_seen().0) <= lease_ms {
        EdgeStatus::Up
    } else {
        EdgeStatus::Down
    }
}

/// Refuses a region name that is not 1 to 63 characters of `a-z`, `0-9` and `-`, neither
/// starting nor ending with `-` (a DNS label, so it fits in host names and metric labels).
pub fn check_region(region: &str) -> Result<(), Refusal> {
    let rule = "a region name is 1 to 63 characters of a-z, 0-9 and '-', not starting or \
                ending with '-' (for example eu-west-1)";
    let refuse = |what: String| Err(Refusal::invalid("region", format!("{what}; {rule}")));
    if region.is_empty() {
        return refuse("is empty".into());
    }
    if region.len() > MAX_REGION_LEN {
        return refuse(format!("has {} characters", region.len()));
    }
    if let Some(c) = region
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return refuse(format!("{region:?} contains {c:?}"));
    }
    if region.starts_with('-') || region.ends_with('-') {
        return refuse(format!("{region:?} starts or ends with '-'"));
    }
    Ok(())
}

/// Refuses an edge id that is empty, too long, or holds spaces or control characters.
fn check_edge_id(id: &EdgeId) -> Result<(), Refusal> {
    let id = id.as_str();
    if id.is_empty() {
        return Err(Refusal::invalid(
            "edge_id",
            "is empty; give each edge a stable id, such as its host name",
        ));
    }
    if id.len() > MAX_EDGE_ID_LEN {
        return Err(Refusal::invalid(
            "edge_id",
            format!("has {} bytes; at most {MAX_EDGE_ID_LEN}", id.len()),
        ));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Refusal::invalid(
            "edge_id",
            format!("{id:?} contains spaces or control characters"),
        ));
    }
    Ok(())
}

/// Refuses a registration whose id, region, URLs or capacity cannot be used: the checks
/// `RegisterEdge` makes, for services that want to answer before proposing anything.
pub fn check_registration(
    id: &EdgeId,
    region: &str,
    public_urls: &[String],
    capacity_bytes: u64,
) -> Result<(), Refusal> {
    check_edge_id(id)?;
    check_region(region)?;
    if public_urls.is_empty() {
        return Err(Refusal::invalid(
            "public_urls",
            "is empty; an edge announces at least one http:// or https:// URL devices reach it at",
        ));
    }
    if public_urls.len() > MAX_PUBLIC_URLS {
        return Err(Refusal::invalid(
            "public_urls",
            format!("has {} URLs; at most {MAX_PUBLIC_URLS}", public_urls.len()),
        ));
    }
    for (i, url) in public_urls.iter().enumerate() {
        webhook::check_url(&format!("public_urls[{i}]"), url)?;
    }
    if capacity_bytes == 0 {
        return Err(Refusal::invalid(
            "cache_capacity_bytes",
            "is 0; an edge needs cache room for at least one chunk",
        ));
    }
    Ok(())
}

impl Catalog {
    /// `RegisterEdge`: Packyard (the edge, through the control plane's registry) announces an
    /// edge. Registering again updates it in place: an edge that restarts, moves region or
    /// changes its URLs or capacity says so by registering.
    pub(super) fn register_edge(
        &mut self,
        ctx: &Ctx,
        registration: RegisterEdge,
    ) -> Result<Vec<Event>, Refusal> {
        let RegisterEdge {
            id,
            region,
            public_urls,
            capacity_bytes,
        } = registration;
        self.require_system(&ctx.actor)?;
        check_registration(&id, &region, &public_urls, capacity_bytes)?;
        match self.edges.get_mut(&id) {
            Some(edge) => {
                edge.region = region;
                edge.public_urls = public_urls;
                edge.capacity_bytes = capacity_bytes;
                edge.registered_at = ctx.at;
            }
            None => {
                let edge = Edge {
                    id: id.clone(),
                    region,
                    public_urls,
                    capacity_bytes,
                    registered_at: ctx.at,
                    last_heartbeat_at: None,
                    applied_index: 0,
                    cached_bytes: 0,
                    ready: BTreeSet::new(),
                    served: BTreeMap::new(),
                    requests: BTreeMap::new(),
                };
                self.edges.insert(id, edge);
            }
        }
        Ok(Vec::new())
    }

    /// `EdgeHeartbeat`: a registered edge reports that it is alive, how far it has followed
    /// the catalog, and what it holds and served. Each heartbeat replaces the last report.
    pub(super) fn edge_heartbeat(
        &mut self,
        ctx: &Ctx,
        report: EdgeHeartbeat,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        no_version_zero("ready", report.ready.iter())?;
        no_version_zero("served", report.served.keys())?;
        no_version_zero("requests", report.requests.keys())?;
        let edge = self
            .edges
            .get_mut(&report.id)
            .ok_or_else(|| Refusal::not_found(ResourceType::Edges, &report.id))?;
        edge.last_heartbeat_at = Some(ctx.at);
        edge.applied_index = report.applied_index;
        edge.cached_bytes = report.cached_bytes;
        edge.ready = report.ready;
        edge.served = report.served;
        edge.requests = report.requests;
        Ok(Vec::new())
    }

    /// Whether `actor` may see the edge fleet: operators (and Packyard itself) only.
    pub fn permits_fleet(&self, actor: &Actor) -> Result<(), Refusal> {
        match actor {
            Actor::System => Ok(()),
            Actor::User(id) if self.find_user(id)?.operator => Ok(()),
            Actor::User(_) => Err(Refusal::forbidden(Action::ViewFleet)),
        }
    }

    /// Every edge, in id order.
    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        self.edges.values()
    }

    /// An edge.
    pub fn edge(&self, id: &EdgeId) -> Option<&Edge> {
        self.edges.get(id)
    }
}

/// Refuses version number 0 among `versions`: numbers start at 1 (rule R11).
fn no_version_zero<'a>(
    field: &str,
    mut versions: impl Iterator<Item = &'a (PackId, u32)>,
) -> Result<(), Refusal> {
    match versions.find(|(_, n)| *n == 0) {
        Some((pack, _)) => Err(Refusal::invalid(
            field,
            format!("names version 0 of pack {pack}; version numbers start at 1"),
        )),
        None => Ok(()),
    }
}

/// A map keyed by (pack, number) as a JSON array of `[[pack, number], devices]` pairs: JSON
/// object keys must be strings, and snapshots and log entries are JSON.
pub(crate) mod served_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::catalog::PackId;

    type Served = BTreeMap<(PackId, u32), u64>;

    /// Writes the pairs in key order.
    pub(crate) fn serialize<S: Serializer>(map: &Served, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    /// Reads the pairs; a repeated key keeps its last count.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Served, D::Error> {
        let pairs = Vec::<((PackId, u32), u64)>::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}
