//! `testerTokens`: signed, expiring tokens that let a device download pre-release packs from
//! one app's internal or external beta channel (SPEC §6). Tokens are not stored: any edge
//! checks one with the cluster's signing secret, so issuing one writes nothing.

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{Actor, AppId, ResourceType};
use packyard_core::role::Action;
use packyard_core::tester_token::{BetaChannel, Claims};
use serde::Deserialize;
use serde_json::json;

use super::context::{Api, new_id};
use super::document::{Rel, parse, respond};
use super::error::ApiError;
use super::not_found;
use crate::store::{CatalogStore, StoreError};

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Channel {
    Internal,
    External,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TokenAttributes {
    channel: Channel,
    expires_in_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRelationships {
    app: Rel,
}

/// `POST /v1/testerTokens`: the token is in `attributes.token`, with its `expirationDate`.
pub(crate) async fn create<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<TokenAttributes, TokenRelationships>(body, "testerTokens")?;
    let app = AppId::new(input.relationships.app.id("app", "apps")?);
    let (channel, action, name) = match input.attributes.channel {
        Channel::Internal => (
            BetaChannel::Internal,
            Action::IssueInternalTesterTokens,
            "INTERNAL",
        ),
        Channel::External => (
            BetaChannel::External,
            Action::IssueExternalTesterTokens,
            "EXTERNAL",
        ),
    };
    let claims = Claims::issue(
        app.as_str(),
        channel,
        api.config.clock.now().0 / 1_000,
        input.attributes.expires_in_seconds,
    )
    .map_err(|e| ApiError::invalid("expiresInSeconds", e.to_string()))?;
    let actor = actor.clone();
    let wanted = app.clone();
    let key = api
        .read_or_refuse(move |c| {
            c.app(&wanted)
                .ok_or_else(|| not_found(ResourceType::Apps, &wanted))?;
            c.permits(&actor, &wanted, action)?;
            // Bootstrap sets the secret as soon as the cluster has a leader.
            c.tester_token_key()
                .ok_or(ApiError::Store(StoreError::Unavailable(
                    "the cluster has no tester token secret yet; retry shortly".into(),
                )))
        })
        .await?;
    let token = key.sign(&claims);
    let expires_at = claims.exp;
    let expiration = packyard_core::catalog::Timestamp(expires_at * 1_000).to_rfc3339();
    let doc = json!({
        "type": "testerTokens",
        "id": new_id()?,
        "attributes": {"token": token, "channel": name, "expirationDate": expiration},
        "relationships": {"app": {"data": {"type": "apps", "id": app.to_string()}}},
    });
    Ok(respond(StatusCode::CREATED, doc))
}
