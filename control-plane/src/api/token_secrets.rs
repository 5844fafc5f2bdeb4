//! `testerTokenSecrets`: rotating the secret every tester token is signed with. An operator
//! posts one (nothing in the body but its type) and every token issued before stops opening
//! anything as soon as the edges hear of the rotation on the watch stream; the secret itself
//! is never shown to anyone.

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{Actor, Command, TesterTokenSecret};
use serde_json::json;

use super::context::{Api, random_bytes};
use super::document::{Nothing, parse, respond};
use super::error::ApiError;
use crate::store::CatalogStore;

/// `POST /v1/testerTokenSecrets`: a new secret (operators only); the answer names its
/// `generation`.
pub(crate) async fn rotate<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    parse::<Nothing, Nothing>(body, "testerTokenSecrets")?;
    let secret = TesterTokenSecret(random_bytes::<32>()?);
    api.propose(actor, Command::SetTesterTokenSecret { secret })
        .await?;
    let generation = api.read(|c| c.tester_token_generation()).await?;
    Ok(respond(
        StatusCode::CREATED,
        json!({
            "type": "testerTokenSecrets",
            "id": generation.to_string(),
            "attributes": { "generation": generation },
        }),
    ))
}
