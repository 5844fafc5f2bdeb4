//! `backgroundAssets`: asset packs. Create, read, list per app with filters, sorting and
//! paging, and archive (rule R7).

use axum::response::Response;
use packyard_core::AssetPackIdentifier;
use packyard_core::catalog::{
    Actor, AppId, Command, CreatePack, PackId, ResourceType, set_archived,
};
use serde::Deserialize;

use super::context::{Api, new_id};
use super::document::{Rel, parse, respond_list};
use super::error::ApiError;
use super::query::{PackListQuery, PackSort};
use super::{not_found, render};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateAttributes {
    asset_pack_identifier: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRelationships {
    app: Rel,
}

/// `POST /v1/backgroundAssets`.
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<CreateAttributes, CreateRelationships>(body, "backgroundAssets")?;
    let identifier = AssetPackIdentifier::parse(&input.attributes.asset_pack_identifier)
        .map_err(|e| ApiError::invalid("assetPackIdentifier", e))?;
    let app = AppId::new(input.relationships.app.id("app", "apps")?);
    let id = PackId::new(new_id()?);
    let command = Command::CreatePack(CreatePack {
        id: id.clone(),
        app,
        identifier,
    });
    api.propose(actor, command).await?;
    let doc = api
        .read(move |c| c.pack(&id).map(|p| render::pack(c, p)))
        .await?;
    super::document::respond_created(doc, "pack")
}

/// `GET /v1/backgroundAssets/{id}`.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: PackId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| {
        let pack = c
            .pack(&id)
            .ok_or_else(|| not_found(ResourceType::BackgroundAssets, &id))?;
        c.may_read(&actor, &pack.app, ResourceType::BackgroundAssets)?;
        Ok(render::pack(c, pack))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchAttributes {
    archived: bool,
}

/// `PATCH /v1/backgroundAssets/{id}` with `archived: true`: archive the pack (rule R7).
pub(crate) async fn patch<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: PackId,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<PatchAttributes, super::document::Nothing>(body, "backgroundAssets")?;
    check_id(input.id.as_deref(), id.as_str())?;
    let command = set_archived(id.clone(), input.attributes.archived)?;
    api.propose(actor, command).await?;
    get(api, actor, id).await
}

/// A PATCH body's `data.id` must name the resource in the path, when given.
pub(crate) fn check_id(body_id: Option<&str>, path_id: &str) -> Result<(), ApiError> {
    match body_id {
        Some(b) if b != path_id => Err(ApiError::TypeMismatch(format!(
            "data.id is {b:?} but the path names {path_id:?}; they must match"
        ))),
        _ => Ok(()),
    }
}

/// `GET /v1/apps/{id}/backgroundAssets`.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
    query: PackListQuery,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    let path = format!("/v1/apps/{app}/backgroundAssets");
    let (items, next) = api
        .read_or_refuse(move |c| {
            c.may_read(&actor, &app, ResourceType::BackgroundAssets)?;
            let mut packs: Vec<_> = c
                .packs_of(&app)
                .filter(|p| query.archived.is_none_or(|a| p.is_archived() == a))
                .collect();
            match query.sort {
                PackSort::CreatedDate => {}
                PackSort::CreatedDateDesc => packs.reverse(),
                PackSort::Identifier => packs.sort_by(|a, b| a.identifier.cmp(&b.identifier)),
                PackSort::IdentifierDesc => packs.sort_by(|a, b| b.identifier.cmp(&a.identifier)),
            }
            let (page, next) = query.page.cut(packs);
            let items = page.into_iter().map(|p| render::pack(c, p)).collect();
            Ok((items, next.map(|n| query.next_query(n))))
        })
        .await?;
    let next = next.map(|q| format!("{path}?{q}"));
    Ok(respond_list(items, &path, next))
}
