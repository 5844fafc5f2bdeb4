//! Who may download what: tester tokens for beta channels and pre-release versions.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use packyard_core::tester_token::{BetaChannel, Claims, TokenError};

use super::HttpError;
use crate::sync::{ClaimsError, TokenKeys};

/// The tester token a request carries: `Authorization: Bearer …` first (the scheme in any
/// case, RFC 9110 §11.1), else `?token=`.
pub(super) fn token<'a>(headers: &'a HeaderMap, query_token: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest)
        })
        .map(str::trim)
        .or(query_token)
        .filter(|t| !t.is_empty())
}

/// What a token is checked against besides its signature.
pub(super) struct TokenPolicy<'a> {
    /// The keys, and the tokens verified with them.
    pub keys: &'a TokenKeys,
    /// Unix seconds now.
    pub now: u64,
    /// The longest lifetime accepted.
    pub max_lifetime: u64,
    /// Whether a token id was revoked.
    pub revoked: &'a dyn Fn(&str) -> bool,
}

impl TokenPolicy<'_> {
    /// The claims of a good token for `app`: signed by a key held, not expired, not living
    /// longer than accepted, not revoked.
    fn admit(&self, token: Option<&str>, app: &str) -> Result<Claims, HttpError> {
        let token = token.ok_or_else(|| {
            HttpError::Unauthorized(
                "a tester token is required: send `Authorization: Bearer <token>` or `?token=`"
                    .into(),
            )
        })?;
        let claims = self.keys.claims(token).map_err(|e| match e {
            ClaimsError::NotYet(why) => HttpError::NotReady(why),
            ClaimsError::Token(e) => refusal(e),
        })?;
        claims
            .admit(app, self.now, self.max_lifetime)
            .map_err(refusal)?;
        if (self.revoked)(&claims.jti) {
            return Err(refusal(TokenError::Revoked));
        }
        Ok(claims)
    }

    /// Checks that `token` opens `channel` of `app`.
    pub(super) fn check_channel(
        &self,
        token: Option<&str>,
        app: &str,
        channel: BetaChannel,
    ) -> Result<(), HttpError> {
        let claims = self.admit(token, app)?;
        if claims.channel != channel {
            return Err(refusal(TokenError::WrongChannel(claims.channel)));
        }
        Ok(())
    }

    /// The beta channel a valid token of `app` opens, whichever it is: a version that is not
    /// public opens to a tester of the channel that serves it (`packyard_core::device_access`).
    pub(super) fn beta_channel(
        &self,
        token: Option<&str>,
        app: &str,
    ) -> Result<BetaChannel, HttpError> {
        Ok(self.admit(token, app)?.channel)
    }
}

/// 401 for a token that proves nothing, 403 for a good token for something else.
fn refusal(e: TokenError) -> HttpError {
    match e {
        TokenError::WrongApp | TokenError::WrongChannel(_) => HttpError::Forbidden(e.to_string()),
        TokenError::Malformed
        | TokenError::UnknownKey(_)
        | TokenError::BadSignature
        | TokenError::Expired
        | TokenError::TooLong { .. }
        | TokenError::Revoked => HttpError::Unauthorized(e.to_string()),
    }
}
