//! `users` and `apiKeys`: people with roles per app, and the bearer keys that act for them.
//! A key's secret is shown once, in the response that creates it; the catalog keeps only its
//! BLAKE3 hash.

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::Blake3Hash;
use packyard_core::catalog::{Actor, ApiKeyId, AppId, Command, CreateApiKey, CreateUser, UserId};
use packyard_core::role::Role;
use serde::Deserialize;

use super::context::{Api, hex, new_id, random_bytes};
use super::document::{Nothing, Rel, parse, respond_list};
use super::error::ApiError;
use super::render;
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleGrant {
    app: String,
    role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserAttributes {
    name: String,
    email: String,
    #[serde(default)]
    roles: Vec<RoleGrant>,
    #[serde(default)]
    operator: bool,
}

/// `POST /v1/users`.
pub(crate) async fn create_user<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let a = parse::<UserAttributes, Nothing>(body, "users")?.attributes;
    let id = UserId::new(new_id()?);
    let command = Command::CreateUser(CreateUser {
        id: id.clone(),
        name: a.name,
        email: a.email,
        roles: a
            .roles
            .into_iter()
            .map(|g| (AppId::new(g.app), g.role))
            .collect(),
        operator: a.operator,
    });
    api.propose(actor, command).await?;
    let doc = api.read(move |c| c.user(&id).map(render::user)).await?;
    super::document::respond_created(doc, "user")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRelationships {
    user: Rel,
}

/// A new secret key: 256 bits from the system CSPRNG, prefixed so it is recognisable in logs
/// and secret scanners.
pub(crate) fn generate_key() -> Result<String, ApiError> {
    Ok(format!("pyk_{}", hex(&random_bytes::<32>()?)))
}

/// `POST /v1/apiKeys`: the key is in `attributes.key` of this response only.
pub(crate) async fn create_key<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<Nothing, KeyRelationships>(body, "apiKeys")?;
    let user = UserId::new(input.relationships.user.id("user", "users")?);
    let key = generate_key()?;
    let id = ApiKeyId::new(new_id()?);
    let command = Command::CreateApiKey(CreateApiKey {
        id: id.clone(),
        user,
        key_hash: Blake3Hash::of(key.as_bytes()),
    });
    api.propose(actor, command).await?;
    let doc = api
        .read(move |c| c.api_key(&id).map(|k| render::api_key(c, k, Some(&key))))
        .await?;
    super::document::respond_created(doc, "API key")
}

/// `GET /v1/apiKeys`: the keys the caller may see (their own; their members', for an Admin;
/// every key, for an operator), revoked ones too, with when each was made and last used.
pub(crate) async fn list_keys<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    let data = api
        .read(move |c| {
            c.api_keys_visible_to(&actor)
                .into_iter()
                .map(|k| render::api_key(c, k, None))
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(respond_list(data, "/v1/apiKeys", None))
}

/// `GET /v1/me`: the user the caller's key belongs to, with every role they hold: what
/// `packyard whoami` shows.
pub(crate) async fn me<S: CatalogStore>(api: &Api<S>, actor: &Actor) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| match &actor {
        Actor::User(id) => c
            .user(id)
            .map(render::user)
            .ok_or_else(|| super::not_found(packyard_core::catalog::ResourceType::Users, id)),
        Actor::System => Err(ApiError::Internal(
            "Packyard itself has no user to show".into(),
        )),
    })
    .await
}

/// `DELETE /v1/apiKeys/{id}`: revokes the key for good.
pub(crate) async fn delete_key<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: ApiKeyId,
) -> Result<Response, ApiError> {
    api.propose(actor, Command::RevokeApiKey { id }).await?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
