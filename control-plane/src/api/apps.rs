//! `apps` and `builds`: create and read apps, register builds (rule R4).

use std::collections::BTreeSet;

use axum::response::Response;
use packyard_core::LanguageTag;
use packyard_core::catalog::{
    Actor, AppId, BuildChannel, BuildId, Command, CreateApp, RegisterBuild, ResourceType,
};
use serde::Deserialize;

use super::context::{Api, new_id};
use super::document::{Nothing, Rel, parse, respond_list};
use super::error::ApiError;
use super::render;
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppAttributes {
    name: String,
    bundle_id: String,
    primary_language: String,
}

/// `POST /v1/apps`: the caller becomes the new app's Account Holder.
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<AppAttributes, Nothing>(body, "apps")?;
    let a = input.attributes;
    let primary_language = LanguageTag::parse(&a.primary_language)
        .map_err(|e| ApiError::invalid("primaryLanguage", e))?;
    let id = AppId::new(new_id()?);
    let command = Command::CreateApp(CreateApp {
        id: id.clone(),
        name: a.name,
        bundle_id: a.bundle_id,
        primary_language,
    });
    api.propose(actor, command).await?;
    let doc = api
        .read(move |c| c.app(&id).map(|a| render::app(c, a)))
        .await?;
    super::document::respond_created(doc, "app")
}

/// `GET /v1/apps/{id}`, with `usedBytes`.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| {
        let app = c
            .app(&id)
            .ok_or_else(|| super::not_found(packyard_core::catalog::ResourceType::Apps, &id))?;
        c.may_read(&actor, &id, ResourceType::Apps)?;
        Ok(render::app(c, app))
    })
    .await
}

/// `GET /v1/apps`: the apps the caller may view, in id order.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    let apps = api
        .read(move |c| {
            c.apps()
                .filter(|a| c.may_read(&actor, &a.id, ResourceType::Apps).is_ok())
                .map(|a| render::app(c, a))
                .collect()
        })
        .await?;
    Ok(respond_list(apps, "/v1/apps", None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BuildAttributes {
    build_number: String,
    channels: BTreeSet<BuildChannel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildRelationships {
    app: Rel,
}

/// `POST /v1/builds`: a build of an app on some channels; an EXTERNAL one opens external
/// review (rule R4).
pub(crate) async fn create_build<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<BuildAttributes, BuildRelationships>(body, "builds")?;
    let app = AppId::new(input.relationships.app.id("app", "apps")?);
    let id = BuildId::new(new_id()?);
    let command = Command::RegisterBuild(RegisterBuild {
        id: id.clone(),
        app,
        build_number: input.attributes.build_number,
        channels: input.attributes.channels,
    });
    api.propose(actor, command).await?;
    let doc = api.read(move |c| c.build(&id).map(render::build)).await?;
    super::document::respond_created(doc, "build")
}

/// `GET /v1/apps/{id}/builds`: the app's builds, in id order, for its members.
pub(crate) async fn list_builds<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.list(format!("/v1/apps/{app}/builds"), move |c| {
        c.may_read(&actor, &app, ResourceType::Builds)?;
        Ok(c.builds_of(&app).map(render::build).collect())
    })
    .await
}
