//! Upload credentials: the right to write one part of one upload file at the origin, or to
//! read that file's upload status, carried in the URL the admin API hands out, as presigned
//! object-store URLs carry theirs.
//!
//! Every upload file has its own random [`UploadKey`], chosen by the control plane when the
//! file is reserved and kept in the catalog with it. The admin API never shows the key; it
//! signs each URL it renders (every `uploadOperations` entry, and the file's
//! `uploadStatusUrl`) with `?expires=<unix seconds>&signature=<base64url HMAC-SHA256>` over
//! the file, what the URL may do (one part, or the status) and the expiry. The origin, which
//! learns the key from the control plane's `DescribeUpload` (a service only origins reach),
//! checks the credential before it reads a byte of the body. A credential lasts at most as
//! long as the file's reservation ([`expires_at`]).
//!
//! The signature rides in the URL rather than in a request header because every client
//! already uploads by `PUT`ting to the URL it is given; a header would need each client to
//! copy `requestHeaders` too, and a client that did not would be refused.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The query parameter holding the expiry, in Unix seconds.
pub const EXPIRES_PARAM: &str = "expires";
/// The query parameter holding the signature.
pub const SIGNATURE_PARAM: &str = "signature";

/// What the signed string starts with: the format's version.
const DOMAIN: &str = "packyard-upload-v1";

/// An upload file's signing key: 32 random bytes. Never rendered and never logged.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UploadKey(pub [u8; 32]);

impl fmt::Debug for UploadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UploadKey(…)")
    }
}

impl Serialize for UploadKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for UploadKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut key)
            .map_err(|_| serde::de::Error::custom("an upload key is 64 hex digits"))?;
        Ok(Self(key))
    }
}

/// What a credential allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `PUT` this part (numbered from 1).
    Part(u64),
    /// `GET` or `HEAD` the file's upload status.
    Status,
    /// Send the file as chunks: its chunk list (`PUT …/chunks`), then the chunks the store
    /// lacks (`PUT …/chunks/{id}`).
    Chunks,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Part(n) => write!(f, "part {n}"),
            Self::Status => f.write_str("the upload status"),
            Self::Chunks => f.write_str("the chunks"),
        }
    }
}

/// A signature and the expiry it covers, as a URL carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// Unix seconds from which the credential is refused.
    pub expires: u64,
    signature: [u8; 32],
}

/// Why a request's credential does not allow what it asks. The origin answers `Missing` with
/// 401 and every other with 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The URL carries no credential at all.
    #[error(
        "the request carries no upload credential; use the URL the admin API gave \
         (its `{EXPIRES_PARAM}` and `{SIGNATURE_PARAM}` query parameters)"
    )]
    Missing,
    /// A credential parameter is missing, repeated or not well formed.
    #[error("the upload credential is malformed: {0}")]
    Malformed(String),
    /// The signature does not match what the request asks for.
    #[error(
        "the upload credential is not valid for {scope} of upload file {file}: it was signed \
         for another part or file, or changed; use the URL the admin API gave for it"
    )]
    Mismatch {
        /// The file asked for.
        file: String,
        /// What was asked.
        scope: Scope,
    },
    /// The credential's time is up.
    #[error(
        "the upload credential expired at {expires} (Unix seconds), {ago} s ago; read the \
         upload file again for fresh URLs, or reserve a new version once its reservation has \
         ended"
    )]
    Expired {
        /// When it expired.
        expires: u64,
        /// How long ago.
        ago: u64,
    },
    /// The file has no key, so nothing can write to it.
    #[error(
        "upload file {0} was reserved before uploads were signed and takes no parts; create \
         a new version and reserve its files again"
    )]
    Unsigned(String),
}

impl UploadKey {
    fn mac(&self, file: &str, scope: Scope, expires: u64) -> Hmac<Sha256> {
        let scope = match scope {
            Scope::Part(n) => format!("part {n}"),
            Scope::Status => "status".to_owned(),
            Scope::Chunks => "chunks".to_owned(),
        };
        // HMAC takes keys of every length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of every length"));
        mac.update(format!("{DOMAIN}\n{file}\n{scope}\n{expires}").as_bytes());
        mac
    }

    /// The credential for `scope` of upload file `file` until `expires` (Unix seconds).
    pub fn sign(&self, file: &str, scope: Scope, expires: u64) -> Credential {
        Credential {
            expires,
            signature: self
                .mac(file, scope, expires)
                .finalize()
                .into_bytes()
                .into(),
        }
    }

    /// Checks `credential` for `scope` of `file` at `now` (Unix seconds). The signature is
    /// checked (in constant time) before the expiry it covers is believed.
    pub fn check(
        &self,
        file: &str,
        scope: Scope,
        credential: &Credential,
        now: u64,
    ) -> Result<(), CredentialError> {
        self.verify(file, scope, credential)?;
        check_expiry(credential, now)
    }

    /// Checks only that `credential` was signed for `scope` of `file`, whatever its expiry:
    /// for a caller that answers a genuine but expired credential differently (the origin
    /// tells the holder of one that the file is committed).
    pub fn verify(
        &self,
        file: &str,
        scope: Scope,
        credential: &Credential,
    ) -> Result<(), CredentialError> {
        self.mac(file, scope, credential.expires)
            .verify_slice(&credential.signature)
            .map_err(|_| CredentialError::Mismatch {
                file: file.to_owned(),
                scope,
            })
    }
}

/// Whether a (genuine) credential is still in time at `now` (Unix seconds).
pub fn check_expiry(credential: &Credential, now: u64) -> Result<(), CredentialError> {
    if now >= credential.expires {
        return Err(CredentialError::Expired {
            expires: credential.expires,
            ago: now - credential.expires,
        });
    }
    Ok(())
}

/// When the credentials of a file reserved at `reserved_at_ms` (Unix milliseconds) expire,
/// in Unix seconds: when its reservation of `lifetime_ms` ends, rounded down, so never later.
pub fn expires_at(reserved_at_ms: u64, lifetime_ms: u64) -> u64 {
    reserved_at_ms.saturating_add(lifetime_ms) / 1000
}

impl Credential {
    /// The query string that carries it: `expires=…&signature=…`.
    pub fn query(&self) -> String {
        format!(
            "{EXPIRES_PARAM}={}&{SIGNATURE_PARAM}={}",
            self.expires,
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    /// The credential in a request's query string; `Ok(None)` when it carries neither
    /// parameter. Other parameters are ignored; either one missing, repeated or malformed is
    /// an error naming it.
    pub fn from_query(query: Option<&str>) -> Result<Option<Self>, CredentialError> {
        let (mut expires, mut signature) = (None, None);
        for pair in query.unwrap_or_default().split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                EXPIRES_PARAM => &mut expires,
                SIGNATURE_PARAM => &mut signature,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(malformed(format!("`{name}` is given more than once")));
            }
        }
        let (expires, signature) = match (expires, signature) {
            (None, None) => return Ok(None),
            (Some(e), Some(s)) => (e, s),
            (None, Some(_)) => return Err(malformed(format!("`{EXPIRES_PARAM}` is missing"))),
            (Some(_), None) => return Err(malformed(format!("`{SIGNATURE_PARAM}` is missing"))),
        };
        let expires = expires
            .parse::<u64>()
            .ok()
            .filter(|_| expires.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                malformed(format!("`{EXPIRES_PARAM}` {expires:?} is not Unix seconds"))
            })?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                malformed(format!(
                    "`{SIGNATURE_PARAM}` is not 32 bytes in base64url without padding"
                ))
            })?;
        Ok(Some(Self { expires, signature }))
    }
}

fn malformed(what: String) -> CredentialError {
    CredentialError::Malformed(what)
}

#[cfg(test)]
#[path = "upload_credential_test.rs"]
mod tests;
