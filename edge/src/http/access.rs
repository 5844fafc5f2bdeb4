//! Who may download what: tester tokens for beta channels and pre-release versions.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::AUTHORIZATION;
use packyard_core::tester_token::{BetaChannel, TokenError, TokenKey};

use super::HttpError;

/// The tester token a request carries: `Authorization: Bearer …` first, else `?token=`.
pub(super) fn token<'a>(headers: &'a HeaderMap, query_token: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .or(query_token)
        .filter(|t| !t.is_empty())
}

/// Seconds since the Unix epoch, the clock tokens expire by.
pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks that `token` opens `channel` of `app`.
pub(super) fn check_channel(
    key: Option<&TokenKey>,
    token: Option<&str>,
    app: &str,
    channel: BetaChannel,
    now: u64,
) -> Result<(), HttpError> {
    let (key, token) = present(key, token)?;
    key.verify(token, app, channel, now)
        .map(|_| ())
        .map_err(refusal)
}

/// The beta channel a valid token of `app` opens, whichever it is: a version that is not
/// public opens to a tester of the channel that serves it (`packyard_core::device_access`).
pub(super) fn beta_channel(
    key: Option<&TokenKey>,
    token: Option<&str>,
    app: &str,
    now: u64,
) -> Result<BetaChannel, HttpError> {
    let (key, token) = present(key, token)?;
    key.verify_for_app(token, app, now)
        .map(|claims| claims.channel)
        .map_err(refusal)
}

fn present<'a>(
    key: Option<&'a TokenKey>,
    token: Option<&'a str>,
) -> Result<(&'a TokenKey, &'a str), HttpError> {
    let token = token.ok_or_else(|| {
        HttpError::Unauthorized(
            "a tester token is required: send `Authorization: Bearer <token>` or `?token=`".into(),
        )
    })?;
    let key = key.ok_or_else(|| {
        HttpError::NotReady(
            "this edge cannot check tester tokens yet (not registered with the control plane)"
                .into(),
        )
    })?;
    Ok((key, token))
}

/// 401 for a token that proves nothing, 403 for a good token for something else.
fn refusal(e: TokenError) -> HttpError {
    match e {
        TokenError::WrongApp | TokenError::WrongChannel(_) => HttpError::Forbidden(e.to_string()),
        TokenError::Malformed
        | TokenError::BadSignature
        | TokenError::Expired
        | TokenError::WeakSecret(_) => HttpError::Unauthorized(e.to_string()),
    }
}
