//! `testerTokens`: signed, expiring tokens that let a device download pre-release packs from
//! one app's internal or external beta channel (SPEC §6).
//!
//! Issuing records the token through the log first (`IssueTesterToken`), so the right to
//! issue and the API key that asked are checked again where the entry is applied, and the
//! token can be listed and revoked by its id. Only then is it signed, with the key only the
//! control plane holds; the token itself is shown once, in the answer that issues it.
//! Members see the tokens of the channels they may issue for; revoking needs the same right.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use packyard_core::catalog::{
    Actor, AppId, Catalog, Command, IssueTesterToken, ResourceType, TesterToken, TesterTokenId,
    issue_action,
};
use packyard_core::tester_token::{BetaChannel, DEFAULT_LIFETIME_SECS};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::{Api, new_id};
use super::document::{Rel, parse, respond};
use super::error::ApiError;
use super::not_found;
use crate::store::{CatalogStore, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TokenAttributes {
    channel: BetaChannel,
    expires_in_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRelationships {
    app: Rel,
}

/// A token issued, as the app's members see it: everything but the token.
fn render(c: &Catalog, t: &TesterToken) -> Value {
    let issued_by = match &t.issued_by {
        Actor::User(user) => json!({"data": {"type": "users", "id": user.to_string()}}),
        Actor::System => json!({"data": null}),
    };
    json!({
        "type": "testerTokens",
        "id": t.id.to_string(),
        "attributes": {
            "channel": t.channel.as_str(),
            "issuedDate": t.issued_at.to_rfc3339(),
            "expirationDate": t.expires_at.to_rfc3339(),
            "revokedDate": t.revoked_at.map(|r| r.to_rfc3339()),
        },
        "relationships": {
            "app": {"data": {"type": "apps", "id": t.app.to_string()}},
            "issuedBy": issued_by,
        },
        "meta": { "issuedByName": super::render::actor_name(c, &t.issued_by) },
    })
}

/// `POST /v1/testerTokens`: the token is in `attributes.token`, shown this once.
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<TokenAttributes, TokenRelationships>(body, "testerTokens")?;
    let app = AppId::new(input.relationships.app.id("app", "apps")?);
    let id = TesterTokenId::new(format!("tt-{}", new_id()?));
    let lifetime_secs = input
        .attributes
        .expires_in_seconds
        .unwrap_or(DEFAULT_LIFETIME_SECS);
    api.propose(
        actor,
        Command::IssueTesterToken(IssueTesterToken {
            id: id.clone(),
            app,
            channel: input.attributes.channel,
            lifetime_secs,
        }),
    )
    .await?;
    let (doc, signed) = api
        .read_or_refuse(move |c| {
            let record = c
                .tester_token(&id)
                .ok_or_else(|| not_found(ResourceType::TesterTokens, &id))?;
            // Bootstrap sets the key as soon as the cluster has a leader.
            let signer =
                c.tester_token_signer()
                    .ok_or(ApiError::Store(StoreError::Unavailable(
                        "the cluster has no tester token key yet; retry shortly".into(),
                    )))?;
            Ok((render(c, record), signer.sign(&record.claims())))
        })
        .await?;
    let mut doc = doc;
    doc["attributes"]["token"] = Value::String(signed);
    Ok(respond(StatusCode::CREATED, doc))
}

/// The token `id` if `actor` may see it: one of a channel they may issue for (403 naming
/// the roles that may, as for every resource of an app).
fn visible<'c>(
    c: &'c Catalog,
    actor: &Actor,
    id: &TesterTokenId,
) -> Result<&'c TesterToken, ApiError> {
    let token = c
        .tester_token(id)
        .ok_or_else(|| not_found(ResourceType::TesterTokens, id))?;
    c.permits(actor, &token.app, issue_action(token.channel))?;
    Ok(token)
}

/// `GET /v1/testerTokens/{id}`.
pub(crate) async fn get<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: TesterTokenId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.show(move |c| Ok(render(c, visible(c, &actor, &id)?)))
        .await
}

/// `DELETE /v1/testerTokens/{id}`: every edge refuses it from then on (204; again is 204).
pub(crate) async fn revoke<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    id: TesterTokenId,
) -> Result<Response, ApiError> {
    let who = actor.clone();
    let wanted = id.clone();
    api.read_or_refuse(move |c| visible(c, &who, &wanted).map(|_| ()))
        .await?;
    api.propose(actor, Command::RevokeTesterToken { id })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/apps/{id}/testerTokens`: the tokens the catalog still holds (expired ones are
/// forgotten), of the channels the caller may issue for, in id order.
pub(crate) async fn list<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    app: AppId,
) -> Result<Response, ApiError> {
    let actor = actor.clone();
    api.list(format!("/v1/apps/{app}/testerTokens"), move |c| {
        // Members may issue internal tokens; anyone else is refused outright.
        c.may_read(&actor, &app, ResourceType::TesterTokens)?;
        Ok(c.tester_tokens_of(&app)
            .filter(|t| c.permits(&actor, &app, issue_action(t.channel)).is_ok())
            .map(|t| render(c, t))
            .collect())
    })
    .await
}
