//! How each catalog record looks in the admin API: JSON:API resources with the hosted API's
//! camelCase attribute names. Pure functions of the catalog.

use std::time::Duration;

use packyard_core::catalog::{
    Actor, ApiKey, App, AppId, AttemptOutcome, Build, Catalog, Delivery, DeliveryState, Edge,
    EdgeStatus, Pack, ReviewSubmission, Timestamp, UploadFile, User, Version, Webhook, edge_status,
};
use serde_json::{Value, json};

use super::document::{to_one, to_one_opt};

/// An app, with its used bytes (rule R9).
pub(crate) fn app(c: &Catalog, a: &App) -> Value {
    json!({
        "type": "apps",
        "id": a.id.as_str(),
        "attributes": {
            "name": a.name,
            "bundleId": a.bundle_id,
            "primaryLanguage": a.primary_language.as_str(),
            "transferInProgress": a.transfer_in_progress,
            "createdDate": date(a.created_at),
            "usedBytes": c.used_bytes(&a.id),
        },
        "relationships": {
            "backgroundAssets": {
                "links": { "related": format!("/v1/apps/{}/backgroundAssets", a.id) }
            }
        },
        "links": { "self": format!("/v1/apps/{}", a.id) },
    })
}

/// A build.
pub(crate) fn build(b: &Build) -> Value {
    let channels: Vec<&str> = b.channels.iter().map(|c| c.as_str()).collect();
    json!({
        "type": "builds",
        "id": b.id.as_str(),
        "attributes": {
            "buildNumber": b.build_number,
            "channels": channels,
            "createdDate": date(b.created_at),
        },
        "relationships": { "app": to_one("apps", b.app.as_str()) },
    })
}

/// A user and their roles.
pub(crate) fn user(u: &User) -> Value {
    let roles: Vec<Value> = u
        .roles
        .iter()
        .flat_map(|(app, roles)| roles.iter().map(move |r| json!({ "app": app, "role": r })))
        .collect();
    json!({
        "type": "users",
        "id": u.id.as_str(),
        "attributes": {
            "name": u.name,
            "email": u.email,
            "roles": roles,
            "operator": u.operator,
            "notifications": u.notifications,
            "createdDate": date(u.created_at),
        },
    })
}

/// A member of `app`: the user with their roles on that app only.
pub(crate) fn member(u: &User, app: &AppId) -> Value {
    let roles: Vec<Value> = u
        .roles
        .get(app)
        .into_iter()
        .flatten()
        .map(|r| json!({ "app": app, "role": r }))
        .collect();
    json!({
        "type": "users",
        "id": u.id.as_str(),
        "attributes": {
            "name": u.name,
            "email": u.email,
            "roles": roles,
        },
    })
}

/// An API key; `key` is the secret, given only in the response that created it.
pub(crate) fn api_key(c: &Catalog, k: &ApiKey, key: Option<&str>) -> Value {
    let mut v = json!({
        "type": "apiKeys",
        "id": k.id.as_str(),
        "attributes": {
            "createdDate": date(k.created_at),
            "lastUsedDate": k.last_used_at.map(date),
            "revoked": k.revoked_at.is_some(),
            "revokedDate": k.revoked_at.map(date),
        },
        "relationships": { "user": to_one("users", k.user.as_str()) },
        "meta": { "userName": actor_name(c, &Actor::User(k.user.clone())) },
    });
    if let (Some(key), Some(attrs)) = (key, v["attributes"].as_object_mut()) {
        attrs.insert("key".into(), Value::String(key.to_owned()));
    }
    v
}

/// An asset pack, with the version each channel has.
pub(crate) fn pack(c: &Catalog, p: &Pack) -> Value {
    use packyard_core::catalog::Channel;
    let serving = |channel| {
        c.serving(&p.app, channel)
            .into_iter()
            .find(|s| s.completed.pack == p.id)
            .map(|s| (s.version.as_str().to_owned(), s.completed.number))
    };
    let internal = serving(Channel::Internal);
    let external = serving(Channel::External);
    let store = serving(Channel::Store);
    let id = |s: &Option<(String, u32)>| s.as_ref().map(|(id, _)| id.clone());
    let number = |s: &Option<(String, u32)>| s.as_ref().map(|(_, n)| *n);
    json!({
        "type": "backgroundAssets",
        "id": p.id.as_str(),
        "attributes": {
            "assetPackIdentifier": p.identifier.as_str(),
            "archived": p.is_archived(),
            "createdDate": date(p.created_at),
            "usedBytes": c.pack_used(&p.id),
        },
        "relationships": {
            "app": to_one("apps", p.app.as_str()),
            "internalBetaVersion": to_one_opt("backgroundAssetVersions", id(&internal).as_deref()),
            "externalBetaVersion": to_one_opt("backgroundAssetVersions", id(&external).as_deref()),
            "appStoreVersion": to_one_opt("backgroundAssetVersions", id(&store).as_deref()),
            "versions": {
                "links": { "related": format!("/v1/backgroundAssets/{}/versions", p.id) }
            },
        },
        "links": { "self": format!("/v1/backgroundAssets/{}", p.id) },
        // The numbers of the versions the channels serve, for people reading a list.
        "meta": {
            "internalBetaVersionNumber": number(&internal),
            "externalBetaVersionNumber": number(&external),
            "appStoreVersionNumber": number(&store),
        },
    })
}

/// A pack version; what its manifest says appears once it is COMPLETE.
pub(crate) fn version(v: &Version) -> Value {
    let mut attributes = json!({
        "version": v.number,
        "state": v.state.as_str(),
        "stateDetails": v.state_details,
        "createdDate": date(v.created_at),
    });
    if let (Some(content), Some(attrs)) = (&v.content, attributes.as_object_mut()) {
        let platforms: Vec<&str> = content
            .metadata
            .platforms
            .iter()
            .map(|p| p.api_name())
            .collect();
        attrs.insert("platforms".into(), json!(platforms));
        attrs.insert(
            "locale".into(),
            json!(content.metadata.language.as_ref().map(|l| l.as_str())),
        );
        attrs.insert(
            "downloadPolicy".into(),
            json!(content.metadata.download_policy),
        );
        attrs.insert("size".into(), json!(content.size));
        attrs.insert(
            "archiveHash".into(),
            json!(content.chunk_list.archive_hash().to_hex()),
        );
    }
    let id = v.id.as_str();
    json!({
        "type": "backgroundAssetVersions",
        "id": id,
        "attributes": attributes,
        "relationships": {
            "backgroundAsset": to_one("backgroundAssets", v.pack.as_str()),
            "internalBetaRelease": to_one_opt(
                "backgroundAssetVersionInternalBetaReleases", v.releases.as_ref().map(|_| id)),
            "externalBetaRelease": to_one_opt(
                "backgroundAssetVersionExternalBetaReleases", v.releases.as_ref().map(|_| id)),
            "appStoreRelease": to_one_opt(
                "backgroundAssetVersionAppStoreReleases", v.releases.as_ref().map(|_| id)),
        },
        "links": { "self": format!("/v1/backgroundAssetVersions/{id}") },
    })
}

/// One release record of a version: its resource type and state.
pub(crate) fn release(kind: &str, v: &Version, state: &str) -> Value {
    json!({
        "type": kind,
        "id": v.id.as_str(),
        "attributes": { "state": state },
        "relationships": {
            "backgroundAssetVersion": to_one("backgroundAssetVersions", v.id.as_str()),
        },
    })
}

/// An upload file; while it awaits upload, `operations` are where its parts go and
/// `status_url` where the origin tells which it holds, and `chunks_url` where it may be sent
/// as chunks instead, only those the store lacks (all signed for the caller).
pub(crate) fn upload_file(
    f: &UploadFile,
    operations: Option<Vec<Value>>,
    status_url: Option<String>,
    chunks_url: Option<String>,
) -> Value {
    let checksums = f
        .sha256
        .map(|h| json!({ "file": { "hash": h.to_hex(), "algorithm": "SHA_256" } }));
    json!({
        "type": "backgroundAssetUploadFiles",
        "id": f.id.as_str(),
        "attributes": {
            "fileName": f.file_name,
            "fileSize": f.file_size,
            "assetType": f.asset_type.as_str(),
            "state": f.state.as_str(),
            "uploaded": f.sha256.is_some(),
            "sourceFileChecksums": checksums,
            "uploadOperations": operations,
            "uploadStatusUrl": status_url,
            "uploadChunksUrl": chunks_url,
            "failureReason": f.failure,
        },
        "relationships": {
            "backgroundAssetVersion": to_one("backgroundAssetVersions", f.version.as_str()),
        },
    })
}

/// A review submission, with the reviewer's reasons once rejected (rule R5), who submitted
/// it and who decided it, and when (rule R13).
pub(crate) fn submission(c: &Catalog, s: &ReviewSubmission) -> Value {
    let name = |a: &Actor| actor_name(c, a);
    json!({
        "type": "reviewSubmissions",
        "id": s.id.as_str(),
        "attributes": {
            "track": s.track.as_str(),
            "state": s.state.as_str(),
            "reasons": s.reasons,
            "submittedDate": date(s.submitted_at),
            "decidedDate": s.decided_at.map(date),
        },
        "relationships": {
            "backgroundAssetVersion": to_one("backgroundAssetVersions", s.version.as_str()),
            "backgroundAsset": to_one("backgroundAssets", s.pack.as_str()),
            "submittedBy": actor(&s.submitted_by),
            "decidedBy": s.decided_by.as_ref().map_or(json!({"data": null}), actor),
        },
        // What people read in a list without looking each id up.
        "meta": {
            "versionNumber": c.version(&s.version).map(|v| v.number),
            "submittedByName": name(&s.submitted_by),
            "decidedByName": s.decided_by.as_ref().map(name),
        },
    })
}

/// What people call `actor`: the user's name (their id if the catalog has no such user), or
/// Packyard itself. For `meta` beside the relationship, so a table need not look ids up.
pub(crate) fn actor_name(c: &Catalog, actor: &Actor) -> String {
    match actor {
        Actor::User(id) => c
            .user(id)
            .map_or_else(|| id.to_string(), |u| u.name.clone()),
        Actor::System => "Packyard".to_owned(),
    }
}

/// A relationship to the user an actor is, or to nobody for Packyard itself.
fn actor(a: &Actor) -> Value {
    match a {
        Actor::User(id) => to_one("users", id.as_str()),
        Actor::System => json!({ "data": null }),
    }
}

/// A webhook; `secret` is given only in the response that created it.
pub(crate) fn webhook(w: &Webhook, secret: Option<&str>) -> Value {
    let types: Vec<&str> = w.event_types.iter().map(|t| t.as_str()).collect();
    let mut v = json!({
        "type": "webhooks",
        "id": w.id.as_str(),
        "attributes": {
            "url": w.url,
            "eventTypes": types,
            "createdDate": date(w.created),
        },
        "relationships": {
            "app": to_one("apps", w.app.as_str()),
            "deliveries": {
                "links": { "related": format!("/v1/webhooks/{}/deliveries", w.id) }
            },
        },
        "links": { "self": format!("/v1/webhooks/{}", w.id) },
    });
    if let (Some(secret), Some(attrs)) = (secret, v["attributes"].as_object_mut()) {
        attrs.insert("secret".into(), Value::String(secret.to_owned()));
    }
    v
}

/// One entry of a webhook's delivery log: the event, where the delivery stands, and every
/// attempt with its outcome and time.
pub(crate) fn delivery(d: &Delivery) -> Value {
    let attempts: Vec<Value> = d
        .attempts
        .iter()
        .map(|a| match &a.outcome {
            AttemptOutcome::Delivered { status } => json!({
                "date": date(a.at), "result": "DELIVERED", "status": status, "error": null,
            }),
            AttemptOutcome::Failed { status, error } => json!({
                "date": date(a.at), "result": "FAILED", "status": status, "error": error,
            }),
        })
        .collect();
    let next = (d.state == DeliveryState::Pending).then(|| date(d.next_attempt_at));
    json!({
        "type": "webhookDeliveries",
        "id": d.id.as_str(),
        "attributes": {
            "eventType": d.event.kind.as_str(),
            "eventId": d.event.id.as_str(),
            "eventDate": date(d.event.timestamp),
            "state": d.state.as_str(),
            "attempts": attempts,
            "nextAttemptDate": next,
        },
        "relationships": {
            "webhook": to_one("webhooks", d.webhook.as_str()),
            "instance": to_one(d.event.instance.resource.as_str(), &d.event.instance.id),
        },
    })
}

/// When edges are judged UP or DOWN, and how far the catalog has moved: one snapshot taken per
/// request, so every edge of a listing is judged alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FleetClock {
    /// The time of the request.
    pub(crate) now: Timestamp,
    /// How long an edge stays up without a heartbeat.
    pub(crate) lease: Duration,
    /// The last catalog index this node applied.
    pub(crate) last_index: u64,
}

/// An edge: where devices reach it, whether it is up, how far it lags behind the catalog in
/// log entries, and the versions it holds whole and served.
pub(crate) fn edge(e: &Edge, clock: FleetClock) -> Value {
    let ready: Vec<Value> = e
        .ready
        .iter()
        .map(|(pack, n)| json!({ "backgroundAsset": pack.as_str(), "version": n }))
        .collect();
    let served: Vec<Value> = e
        .served
        .iter()
        .map(|((pack, n), devices)| {
            let requests = e.requests.get(&(pack.clone(), *n)).copied().unwrap_or(0);
            json!({
                "backgroundAsset": pack.as_str(), "version": n,
                "devices": devices, "requests": requests,
            })
        })
        .collect();
    json!({
        "type": "edges",
        "id": e.id.as_str(),
        "attributes": {
            "region": e.region,
            "publicUrls": e.public_urls,
            "capacityBytes": e.capacity_bytes,
            "cachedBytes": e.cached_bytes,
            "appliedIndex": e.applied_index,
            "lagEntries": clock.last_index.saturating_sub(e.applied_index),
            "state": edge_status(e, clock.now, clock.lease).as_str(),
            "lastHeartbeatDate": e.last_heartbeat_at.map(date),
            "registeredDate": date(e.registered_at),
            "readyVersions": ready,
            "servedDevices": served,
        },
        "relationships": { "region": to_one("regions", &e.region) },
        "links": { "self": format!("/v1/edges/{}", e.id) },
    })
}

/// A region: its edges, and how many of them are up and down.
pub(crate) fn region(name: &str, edges: &[&Edge], clock: FleetClock) -> Value {
    let up = edges
        .iter()
        .filter(|e| edge_status(e, clock.now, clock.lease) == EdgeStatus::Up)
        .count();
    let members: Vec<Value> = edges
        .iter()
        .map(|e| json!({ "type": "edges", "id": e.id.as_str() }))
        .collect();
    json!({
        "type": "regions",
        "id": name,
        "attributes": {
            "name": name,
            "upCount": up,
            "downCount": edges.len() - up,
        },
        "relationships": { "edges": { "data": members } },
    })
}

/// A timestamp as RFC 3339 in UTC with milliseconds, as the hosted API writes dates.
pub(crate) fn date(t: Timestamp) -> String {
    t.to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(date(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(date(Timestamp(951_782_400_123)), "2000-02-29T00:00:00.123Z");
        assert_eq!(
            date(Timestamp(1_767_225_599_000)),
            "2025-12-31T23:59:59.000Z"
        );
    }
}
