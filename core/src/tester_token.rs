//! Tester tokens: what lets a device download pre-release packs from a beta channel (SPEC §6).
//!
//! A token is a [PASETO] `v4.public` token: claims in JSON, signed with Ed25519 by the
//! control plane, whose signing keys never leave it. Edges hold only the public keys, so they
//! check every token without asking the control plane and cannot make one. Any PASETO library
//! verifies a token with the public key `packyard tester-tokens keys` prints.
//!
//! - The payload: `{"jti":"tt-…","iat":"2026-…Z","exp":"2026-…Z","app":"…","channel":"INTERNAL"}`,
//!   the registered claims `jti`, `iat` and `exp` as the PASETO specification writes them
//!   (RFC 3339 in UTC), and the app and beta channel it opens.
//! - The footer: `{"kid":"3"}`, the generation of the key that signed it, read before the
//!   signature is checked only to choose the public key to check it with.
//!
//! A token is bound to one app and one beta channel, expires, and can be revoked by its id.
//!
//! [PASETO]: https://github.com/paseto-standard/paseto-spec

use std::collections::BTreeMap;

use pasetors::Public;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The longest token an edge reads, in bytes; real ones are about 300.
pub const MAX_TOKEN_LEN: usize = 1024;

/// A beta channel a token can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BetaChannel {
    /// Internal testers: the newest processed version (rule R1).
    Internal,
    /// External testers: the approved version (rules R2, R3).
    External,
}

impl BetaChannel {
    /// The name the admin API and the token use: `INTERNAL` or `EXTERNAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "INTERNAL",
            Self::External => "EXTERNAL",
        }
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The token's id, by which it is listed and revoked.
    pub jti: String,
    /// The app id the token is for.
    pub app: String,
    /// The channel the token opens.
    pub channel: BetaChannel,
    /// Unix seconds when it was issued.
    pub iat: u64,
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
    /// The claims of token `jti` for `app` and `channel` issued at `now` (Unix seconds) to
    /// live `lifetime` seconds ([`DEFAULT_LIFETIME_SECS`] when not given), within the limits.
    pub fn issue(
        jti: &str,
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
            jti: jti.to_owned(),
            app: app.to_owned(),
            channel,
            iat: now,
            exp: now.saturating_add(secs),
        })
    }

    /// Whether these (verified) claims open `app` at `now` for a token lifetime of at most
    /// `max_lifetime` seconds: the checks an edge makes of a token it verified before.
    pub fn admit(&self, app: &str, now: u64, max_lifetime: u64) -> Result<(), TokenError> {
        if now >= self.exp {
            return Err(TokenError::Expired);
        }
        let lifetime = self.exp.saturating_sub(self.iat);
        if lifetime > max_lifetime {
            return Err(TokenError::TooLong {
                lifetime,
                max: max_lifetime,
            });
        }
        if self.app != app {
            return Err(TokenError::WrongApp);
        }
        Ok(())
    }

    /// [`Claims::admit`], and the token opens `channel`.
    pub fn admit_channel(
        &self,
        app: &str,
        channel: BetaChannel,
        now: u64,
        max_lifetime: u64,
    ) -> Result<(), TokenError> {
        self.admit(app, now, max_lifetime)?;
        if self.channel != channel {
            return Err(TokenError::WrongChannel(self.channel));
        }
        Ok(())
    }
}

/// The claims as the token carries them: PASETO's registered claims are RFC 3339 dates.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    jti: String,
    iat: String,
    exp: String,
    app: String,
    channel: BetaChannel,
}

/// The footer: which key signed the token.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Footer {
    kid: String,
}

fn rfc3339(secs: u64) -> String {
    // Every u64 of seconds up to the year 9999 formats; later ones are clamped there.
    let secs = i64::try_from(secs).unwrap_or(i64::MAX).min(253_402_300_799);
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned())
}

fn unix_secs(text: &str) -> Result<u64, TokenError> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TokenError::Malformed)?;
    u64::try_from(t.unix_timestamp()).map_err(|_| TokenError::Malformed)
}

/// One public key of the cluster's, with the generation that names it in tokens' footers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicTokenKey {
    /// 1 for the cluster's first key, one more at each rotation.
    pub generation: u64,
    /// The Ed25519 public key.
    pub key: [u8; 32],
}

impl PublicTokenKey {
    /// The key in PASERK form (`k4.public.…`), which PASETO libraries read.
    pub fn paserk(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.key);
        format!("k4.public.{b64}")
    }
}

/// A signing key: held by the control plane only.
pub struct TokenSigner {
    generation: u64,
    secret: AsymmetricSecretKey<V4>,
    public: [u8; 32],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSigner(generation {}, …)", self.generation)
    }
}

impl TokenSigner {
    /// The key pair of `seed` (32 random bytes), named `generation`.
    pub fn from_seed(generation: u64, seed: &[u8; 32]) -> Self {
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(*seed));
        // Seed || public key is exactly what a V4 secret key is.
        let secret = AsymmetricSecretKey::<V4>::from(pair.sk.as_ref())
            .unwrap_or_else(|_| unreachable!("a key pair from a seed is a valid V4 secret key"));
        Self {
            generation,
            secret,
            public: *pair.pk,
        }
    }

    /// The public key that checks this key's tokens.
    pub fn public_key(&self) -> PublicTokenKey {
        PublicTokenKey {
            generation: self.generation,
            key: self.public,
        }
    }

    /// Signs `claims` into a token.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = Payload {
            jti: claims.jti.clone(),
            iat: rfc3339(claims.iat),
            exp: rfc3339(claims.exp),
            app: claims.app.clone(),
            channel: claims.channel,
        };
        let footer = Footer {
            kid: self.generation.to_string(),
        };
        // Serializing structs of strings cannot fail, and the payload is never empty.
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        let footer = serde_json::to_vec(&footer).unwrap_or_default();
        PublicToken::sign(&self.secret, &payload, Some(&footer), None)
            .unwrap_or_else(|_| unreachable!("a non-empty payload with a valid key signs"))
    }
}

/// The public keys tokens are checked with: what an edge holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenVerifier {
    keys: BTreeMap<u64, AsymmetricPublicKey<V4>>,
}

/// Why a token does not open what it was presented for. Edges answer `UnknownKey` of a
/// generation newer than any they hold with 503 (they are behind the cluster), `WrongApp`
/// and `WrongChannel` with 403, and the rest with 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this format.
    #[error("the tester token is malformed")]
    Malformed,
    /// Signed with a key generation not held: retired, or newer than the holder knows of.
    #[error("the tester token is signed with key {0}, which is not in force here")]
    UnknownKey(u64),
    /// The signature does not match: forged, altered, or signed with another key.
    #[error("the tester token's signature is not valid")]
    BadSignature,
    /// The token's time is up.
    #[error("the tester token expired")]
    Expired,
    /// The token lives longer than the checker accepts.
    #[error("the tester token lives {lifetime} s; this edge accepts at most {max} s")]
    TooLong {
        /// The token's lifetime (`exp - iat`).
        lifetime: u64,
        /// The longest accepted.
        max: u64,
    },
    /// The token was revoked.
    #[error("the tester token was revoked")]
    Revoked,
    /// The token is for another app.
    #[error("the tester token is for another app")]
    WrongApp,
    /// The token opens another channel.
    #[error("the tester token opens the {0:?} channel, not this one")]
    WrongChannel(BetaChannel),
}

impl TokenVerifier {
    /// A verifier holding `keys`.
    pub fn new(keys: &[PublicTokenKey]) -> Self {
        let keys = keys
            .iter()
            .filter_map(|k| Some((k.generation, AsymmetricPublicKey::<V4>::from(&k.key).ok()?)))
            .collect();
        Self { keys }
    }

    /// The keys held.
    pub fn keys(&self) -> Vec<PublicTokenKey> {
        self.keys
            .iter()
            .filter_map(|(generation, key)| {
                Some(PublicTokenKey {
                    generation: *generation,
                    key: key.as_bytes().try_into().ok()?,
                })
            })
            .collect()
    }

    /// The newest generation held; 0 when none.
    pub fn newest_generation(&self) -> u64 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    /// The keys as bytes (generation, 8 bytes little-endian, then the key, for each), as the
    /// control plane hands them to edges and edges save them.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.keys()
            .iter()
            .flat_map(|k| k.generation.to_le_bytes().into_iter().chain(k.key))
            .collect()
    }

    /// Reads [`TokenVerifier::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(40) {
            return None;
        }
        let keys: Vec<PublicTokenKey> = bytes
            .chunks_exact(40)
            .map(|c| {
                let (generation, key) = c.split_at(8);
                PublicTokenKey {
                    generation: u64::from_le_bytes(generation.try_into().unwrap_or_default()),
                    key: key.try_into().unwrap_or([0; 32]),
                }
            })
            .collect();
        Some(Self::new(&keys))
    }

    /// The claims of `token` if one of the keys held signed it. Nothing the token says is
    /// believed before the signature is checked, except which key to check it with.
    pub fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let untrusted =
            UntrustedToken::<Public, V4>::try_from(token).map_err(|_| TokenError::Malformed)?;
        let footer: Footer = serde_json::from_slice(untrusted.untrusted_footer())
            .map_err(|_| TokenError::Malformed)?;
        let generation: u64 = footer.kid.parse().map_err(|_| TokenError::Malformed)?;
        let key = self
            .keys
            .get(&generation)
            .ok_or(TokenError::UnknownKey(generation))?;
        let trusted = PublicToken::verify(key, &untrusted, None, None)
            .map_err(|_| TokenError::BadSignature)?;
        let payload: Payload =
            serde_json::from_str(trusted.payload()).map_err(|_| TokenError::Malformed)?;
        Ok(Claims {
            jti: payload.jti,
            app: payload.app,
            channel: payload.channel,
            iat: unix_secs(&payload.iat)?,
            exp: unix_secs(&payload.exp)?,
        })
    }

    /// Checks `token` for a request to `app`'s `channel` at `now` (Unix seconds), accepting
    /// lifetimes up to [`MAX_LIFETIME_SECS`].
    pub fn verify(
        &self,
        token: &str,
        app: &str,
        channel: BetaChannel,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let claims = self.verify_signature(token)?;
        claims.admit_channel(app, channel, now, MAX_LIFETIME_SECS)?;
        Ok(claims)
    }
}

/// The id a token says it has, without checking anything: for tools that revoke a token
/// given whole (the control plane decides whether the caller may).
pub fn unverified_id(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let untrusted = UntrustedToken::<Public, V4>::try_from(token).ok()?;
    let payload: Payload = serde_json::from_slice(untrusted.untrusted_payload()).ok()?;
    Some(payload.jti)
}

#[cfg(test)]
#[path = "tester_token_test.rs"]
mod tests;
