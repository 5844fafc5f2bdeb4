//! Tester tokens: what lets a device download pre-release packs from a beta channel (SPEC §6).
//!
//! A token is signed by the control plane with the cluster's token secret and checked by
//! every edge with the same secret, so edges need no call to the control plane per request.
//! It is bound to one app and one beta channel and expires. The format is
//! `v1.<claims>.<signature>`: claims are JSON, the signature is HMAC-SHA256 over
//! `v1.<claims>`, both base64url without padding, so a token can travel in a URL query.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The shortest secret accepted, in bytes: HMAC-SHA256 with less is guessable.
pub const MIN_SECRET_LEN: usize = 32;

const PREFIX: &str = "v1.";

/// A beta channel a token can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BetaChannel {
    /// Internal testers: the newest processed version (rule R1).
    Internal,
    /// External testers: the approved version (rules R2, R3).
    External,
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The app id the token is for.
    pub app: String,
    /// The channel the token opens.
    pub channel: BetaChannel,
    /// Unix seconds after which the token is refused.
    pub exp: u64,
}

/// The longest a token may live, in seconds: a beta test round (90 days).
pub const MAX_LIFETIME_SECS: u64 = 90 * 24 * 3600;
/// A token's life when the issuer does not say, in seconds: a week.
pub const DEFAULT_LIFETIME_SECS: u64 = 7 * 24 * 3600;

/// A lifetime outside 1 s to [`MAX_LIFETIME_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {MAX_LIFETIME_SECS} (90 days)")]
pub struct LifetimeError;

impl Claims {
    /// The claims of a token for `app` and `channel` issued at `now` (Unix seconds) to live
    /// `lifetime` seconds ([`DEFAULT_LIFETIME_SECS`] when not given), within the limits.
    pub fn issue(
        app: &str,
        channel: BetaChannel,
        now: u64,
        lifetime: Option<u64>,
    ) -> Result<Self, LifetimeError> {
        let secs = lifetime.unwrap_or(DEFAULT_LIFETIME_SECS);
        if secs == 0 || secs > MAX_LIFETIME_SECS {
            return Err(LifetimeError);
        }
        Ok(Self {
            app: app.to_owned(),
            channel,
            exp: now.saturating_add(secs),
        })
    }
}

/// The secret tokens are signed with.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

/// Why a token does not open what it was presented for. Edges answer `Malformed`,
/// `BadSignature` and `Expired` with 401, `WrongApp` and `WrongChannel` with 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The secret is too short to sign with.
    #[error("the tester token secret has {0} bytes; at least {MIN_SECRET_LEN} are needed")]
    WeakSecret(usize),
    /// Not a token of this format.
    #[error("the tester token is malformed")]
    Malformed,
    /// The signature does not match: forged, altered, or signed with another secret.
    #[error("the tester token's signature is not valid")]
    BadSignature,
    /// The token's time is up.
    #[error("the tester token expired")]
    Expired,
    /// The token is for another app.
    #[error("the tester token is for another app")]
    WrongApp,
    /// The token opens another channel.
    #[error("the tester token opens the {0:?} channel, not this one")]
    WrongChannel(BetaChannel),
}

impl TokenKey {
    /// Wraps a secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakSecret(secret.len()));
        }
        Ok(Self(secret.to_vec()))
    }

    fn mac(&self, signed: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; ours is checked to be long enough in `new`.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of every length"));
        mac.update(signed.as_bytes());
        mac
    }

    /// Signs `claims` into a token.
    pub fn sign(&self, claims: &Claims) -> String {
        // Serializing a struct of strings and integers cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        let sig = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{sig}")
    }

    /// Checks `token` for a request to `app`'s `channel` at `now` (unix seconds).
    /// The signature is checked before anything the claims say is believed.
    pub fn verify(
        &self,
        token: &str,
        app: &str,
        channel: BetaChannel,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let claims = self.verify_for_app(token, app, now)?;
        if claims.channel != channel {
            return Err(TokenError::WrongChannel(claims.channel));
        }
        Ok(claims)
    }

    /// Checks `token` for a request to `app` at `now` that either beta channel may answer (a
    /// version's immutable URL): a good token's claims say which channel it opens.
    pub fn verify_for_app(&self, token: &str, app: &str, now: u64) -> Result<Claims, TokenError> {
        let (signed, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let claims_b64 = signed.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        if sig.len() != 32 {
            return Err(TokenError::Malformed);
        }
        self.mac(signed)
            .verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(claims_b64)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        if claims.app != app {
            return Err(TokenError::WrongApp);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_lives_a_week_unless_told_and_never_more_than_ninety_days() {
        let week = Claims::issue("app-1", BetaChannel::Internal, 1_000, None).unwrap();
        assert_eq!(week.exp, 1_000 + DEFAULT_LIFETIME_SECS);
        let max = Claims::issue(
            "app-1",
            BetaChannel::External,
            1_000,
            Some(MAX_LIFETIME_SECS),
        );
        assert_eq!(max.unwrap().exp, 1_000 + MAX_LIFETIME_SECS);
        for wrong in [0, MAX_LIFETIME_SECS + 1] {
            assert_eq!(
                Claims::issue("app-1", BetaChannel::Internal, 1_000, Some(wrong)),
                Err(LifetimeError)
            );
        }
    }

    fn key(fill: u8) -> TokenKey {
        TokenKey::new(&[fill; 32]).unwrap()
    }

    fn claims() -> Claims {
        Claims {
            app: "app-1".into(),
            channel: BetaChannel::External,
            exp: 1_000,
        }
    }

    #[test]
    fn a_signed_token_opens_its_app_and_channel_until_it_expires() {
        let token = key(1).sign(&claims());
        assert!(
            token.starts_with("v1.") && !token.contains(['+', '/', '=']),
            "{token}"
        );
        assert_eq!(
            key(1).verify(&token, "app-1", BetaChannel::External, 999),
            Ok(claims())
        );
        assert_eq!(
            key(1).verify(&token, "app-1", BetaChannel::External, 1_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn another_app_or_channel_is_refused() {
        let token = key(1).sign(&claims());
        assert_eq!(
            key(1).verify(&token, "app-2", BetaChannel::External, 0),
            Err(TokenError::WrongApp)
        );
        assert_eq!(
            key(1).verify(&token, "app-1", BetaChannel::Internal, 0),
            Err(TokenError::WrongChannel(BetaChannel::External))
        );
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        let token = key(1).sign(&claims());
        assert_eq!(
            key(2).verify(&token, "app-1", BetaChannel::External, 0),
            Err(TokenError::BadSignature)
        );
        // Someone extends their own token: the claims change, the signature no longer fits.
        let longer = Claims {
            exp: u64::MAX,
            ..claims()
        };
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&longer).unwrap());
        let sig = token.rsplit_once('.').unwrap().1;
        let forged = format!("v1.{forged_claims}.{sig}");
        assert_eq!(
            key(1).verify(&forged, "app-1", BetaChannel::External, 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn junk_is_malformed_not_a_panic() {
        for junk in [
            "",
            ".",
            "v1.",
            "v1..",
            "v2.abc.def",
            "v1.abc.!!!",
            "no dots at all",
        ] {
            assert_eq!(
                key(1).verify(junk, "app-1", BetaChannel::External, 0),
                Err(TokenError::Malformed),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            TokenKey::new(b"short").unwrap_err(),
            TokenError::WeakSecret(5)
        );
    }
}
