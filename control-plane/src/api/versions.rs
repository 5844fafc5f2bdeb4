//! `backgroundAssetVersions` and their three release records: create a version (its number
//! is assigned, rule R11), read it, list a pack's versions, read each track's state.

use axum::response::Response;
use packyard_core::catalog::{
    Actor, Catalog, Command, CreateVersion, PackId, ResourceType, Version, VersionId,
};
use serde::Deserialize;

use super::context::{Api, new_id};
use super::document::{Nothing, Rel, parse, respond_list};
use super::error::ApiError;
use super::query::VersionListQuery;
use super::{not_found, render};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateRelationships {
    background_asset: Rel,
}

/// `POST /v1/backgroundAssetVersions`: a new version of a pack, AWAITING_UPLOAD.
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<Nothing, CreateRelationships>(body, "backgroundAssetVersions")?;
    let rel = &input.relationships.background_asset;
    let pack = PackId::new(rel.id("backgroundAsset", "backgroundAssets")?);
    let id = VersionId::new(new_id()?);
    let command = Command::CreateVersion(CreateVersion {
        id: id.clone(),
        pack,
    });
    api.propose(actor, command).await?;
    let doc = api
        .read(move |c| c.version(&id).map(render::version))
        .await?;
    super::document::respond_created(doc, "version")
}

/// The version, if `actor` may see it (`Catalog::may_see_version`).
pub(crate) fn visible_version<'c>(
    c: &'c Catalog,
    actor: &Actor,
    id: &VersionId,
) -> Result<&'c Version, ApiError> {
    let v = c
        .version(id)
        .ok_or_else(|| not_found(ResourceType::BackgroundAssetVersions, id))?;
    c.may_see_version(actor, v)?;
    Ok(v)
}

/// `GET /v1/backgroundAssetVersions/{id}`.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: VersionId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| Ok(render::version(visible_version(c, &actor, &id)?)))
        .await
}

/// `GET /v1/backgroundAssets/{id}/versions`: oldest first, optionally by `filter[state]`.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    pack: PackId,
    query: VersionListQuery,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    let path = format!("/v1/backgroundAssets/{pack}/versions");
    let (items, next) = api
        .read_or_refuse(move |c| {
            let p = c
                .pack(&pack)
                .ok_or_else(|| not_found(ResourceType::BackgroundAssets, &pack))?;
            c.may_read(&actor, &p.app, ResourceType::BackgroundAssetVersions)?;
            let versions: Vec<_> = c
                .versions_of(&pack)
                .filter(|v| query.states.is_empty() || query.states.contains(&v.state))
                .collect();
            let (page, next) = query.page.cut(versions);
            let items = page.into_iter().map(render::version).collect();
            Ok((items, next.map(|n| query.next_query(n))))
        })
        .await?;
    let next = next.map(|q| format!("{path}?{q}"));
    Ok(respond_list(items, &path, next))
}

/// Which release record of a version to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Track {
    Internal,
    External,
    Store,
}

/// `GET /v1/backgroundAssetVersion{Internal,External}BetaReleases/{id}` and
/// `…AppStoreReleases/{id}`: the record's state. Only COMPLETE versions have records.
pub(crate) async fn get_release<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: VersionId,
    track: Track,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| {
        let v = visible_version(c, &actor, &id)?;
        let (resource, state) = match (track, &v.releases) {
            (Track::Internal, r) => (
                ResourceType::BackgroundAssetVersionInternalBetaReleases,
                r.as_ref().map(|r| r.internal.as_str()),
            ),
            (Track::External, r) => (
                ResourceType::BackgroundAssetVersionExternalBetaReleases,
                r.as_ref().map(|r| r.external.as_str()),
            ),
            (Track::Store, r) => (
                ResourceType::BackgroundAssetVersionAppStoreReleases,
                r.as_ref().map(|r| r.store.as_str()),
            ),
        };
        let state = state.ok_or_else(|| not_found(resource, &id))?;
        Ok(render::release(resource.as_str(), v, state))
    })
    .await
}
