//! `testerTokenSecrets`: rotating the key every tester token is signed with, and
//! `testerTokenKeys`: the public keys that check them.
//!
//! An operator posts a rotation (nothing in the body but its type, or `retirePrevious`). The
//! keys before keep checking the tokens they signed until those could have expired, so a
//! rotation closes nothing; `retirePrevious: true`, for a key that may have leaked, closes
//! every token they signed as soon as the edges hear of it. The signing key is never shown.

use axum::http::StatusCode;
use axum::response::Response;
use packyard_core::catalog::{Actor, Command, TesterTokenSecret};
use serde::Deserialize;
use serde_json::json;

use super::context::{Api, random_bytes};
use super::document::{Nothing, parse, respond, respond_list};
use super::error::ApiError;
use crate::store::CatalogStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RotationAttributes {
    #[serde(default)]
    retire_previous: bool,
}

/// `POST /v1/testerTokenSecrets`: a new key (operators only); the answer names its
/// `generation`.
pub(crate) async fn rotate<S: CatalogStore>(
    api: &Api<S>,
    actor: &Actor,
    body: &[u8],
) -> Result<Response, ApiError> {
    let input = parse::<RotationAttributes, Nothing>(body, "testerTokenSecrets")?;
    let secret = TesterTokenSecret(random_bytes::<32>()?);
    api.propose(
        actor,
        Command::SetTesterTokenSecret {
            secret,
            retire_previous: input.attributes.retire_previous,
        },
    )
    .await?;
    let generation = api.read(|c| c.tester_token_generation()).await?;
    Ok(respond(
        StatusCode::CREATED,
        json!({
            "type": "testerTokenSecrets",
            "id": generation.to_string(),
            "attributes": {
                "generation": generation,
                "retiredPrevious": input.attributes.retire_previous,
            },
        }),
    ))
}

/// `GET /v1/testerTokenKeys`: the public keys in force, newest last, each in PASERK form
/// (`k4.public.…`) for any PASETO library to verify tokens with. Public keys prove nothing
/// and make nothing, so any user may read them.
pub(crate) async fn keys<S: CatalogStore>(api: &Api<S>) -> Result<Response, ApiError> {
    let data = api
        .read(|c| {
            c.tester_token_verifier()
                .map(|v| v.keys())
                .unwrap_or_default()
                .iter()
                .map(|k| {
                    json!({
                        "type": "testerTokenKeys",
                        "id": k.generation.to_string(),
                        "attributes": {"generation": k.generation, "paserk": k.paserk()},
                    })
                })
                .collect()
        })
        .await?;
    Ok(respond_list(data, "/v1/testerTokenKeys", None))
}
