//! An app's members: who holds which role on it (`GET /v1/apps/{id}/members`), adding an
//! existing user with a role (`POST`), and taking a role or every role away (`DELETE`), as
//! rule R14 allows. A member is shown as a `users` resource with only their roles on this app:
//! what they do on other apps is none of this app's business.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use packyard_core::catalog::{Actor, AppId, Command, GrantRole, RemoveRole, ResourceType, UserId};
use packyard_core::role::Role;
use serde::Deserialize;

use super::context::Api;
use super::document::{Rel, parse, respond};
use super::error::ApiError;
use super::{not_found, render};
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberAttributes {
    role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberRelationships {
    user: Rel,
}

/// `GET /v1/apps/{id}/members`: every member of the app with their roles on it, for anyone
/// who may view the app.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.list(format!("/v1/apps/{app}/members"), move |c| {
        c.may_read(&actor, &app, ResourceType::Users)?;
        Ok(c.members_of(&app)
            .map(|u| render::member(u, &app))
            .collect())
    })
    .await
}

/// `POST /v1/apps/{id}/members`: gives an existing user a role on the app.
pub(crate) async fn add<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<MemberAttributes, MemberRelationships>(body, "appMembers")?;
    let user = UserId::new(input.relationships.user.id("user", "users")?);
    let command = Command::GrantRole(GrantRole {
        user: user.clone(),
        app: app.clone(),
        role: input.attributes.role,
    });
    api.propose(actor, command).await?;
    let doc = api
        .read_or_refuse(move |c| {
            let u = c
                .user(&user)
                .ok_or_else(|| not_found(ResourceType::Users, &user))?;
            Ok(render::member(u, &app))
        })
        .await?;
    Ok(respond(StatusCode::CREATED, doc))
}

/// `DELETE /v1/apps/{id}/members/{userId}` (every role) or
/// `DELETE /v1/apps/{id}/members/{userId}/roles/{ROLE}` (one).
pub(crate) async fn remove<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
    user: UserId,
    role: Option<Role>,
) -> Result<Response, ApiError> {
    let command = Command::RemoveRole(RemoveRole { user, app, role });
    api.propose(actor, command).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
