//! The upload credential of a request, checked in two steps around the control plane's
//! answer: [`presented`] before asking anything (a request without one costs no call), and
//! [`Presented::genuine`] once the file's key is known. Whether it is still in time is asked
//! last ([`Presented::in_time`]), so the holder of a genuine credential for a file that was
//! committed since learns that rather than that the URL expired.
//! The rules are `packyard_core::upload_credential`'s; here they meet HTTP.

use std::time::{SystemTime, UNIX_EPOCH};

use packyard_core::upload_credential::{Credential, CredentialError, Scope, check_expiry};

use super::error::UploadError;
use crate::control::UploadInfo;

/// A credential the request carries, not yet checked against the file's key.
#[derive(Debug)]
pub(super) struct Presented {
    credential: Credential,
    file: String,
    scope: Scope,
}

/// The credential in `query` for `scope` of `file`: 401 when there is none, 403 when it is
/// malformed.
pub(super) fn presented(
    query: Option<&str>,
    file: &str,
    scope: Scope,
) -> Result<Presented, UploadError> {
    match Credential::from_query(query) {
        Ok(Some(credential)) => Ok(Presented {
            credential,
            file: file.to_owned(),
            scope,
        }),
        Ok(None) => Err(refused(CredentialError::Missing, file, scope)),
        Err(e) => Err(refused(e, file, scope)),
    }
}

impl Presented {
    /// Whether the credential was signed with the key of the file `info` describes for this
    /// request: 403 when not, or when the file has no key.
    pub(super) fn genuine(&self, info: &UploadInfo) -> Result<&Self, UploadError> {
        let Some(key) = &info.key else {
            let unsigned = CredentialError::Unsigned(self.file.clone());
            return Err(refused(unsigned, &self.file, self.scope));
        };
        key.verify(&self.file, self.scope, &self.credential)
            .map_err(|e| refused(e, &self.file, self.scope))?;
        Ok(self)
    }

    /// Whether the credential is still in time now: 403 once it has expired.
    pub(super) fn in_time(&self) -> Result<(), UploadError> {
        check_expiry(&self.credential, unix_now()).map_err(|e| refused(e, &self.file, self.scope))
    }
}

/// The refusal of `e` for `scope` of `file`: 401 for a missing credential, 403 for the rest,
/// saying what was asked and what is wrong.
fn refused(e: CredentialError, file: &str, scope: Scope) -> UploadError {
    let asked = match scope {
        Scope::Part(n) => format!("writing part {n} of upload file {file}"),
        Scope::Status => format!("reading the upload status of upload file {file}"),
        Scope::Chunks => format!("sending upload file {file} as chunks"),
    };
    let detail = format!("{asked} needs its upload credential: {e}");
    match e {
        CredentialError::Missing => UploadError::Unauthorized(detail),
        _ => UploadError::Forbidden(detail),
    }
}

/// Unix seconds now, by this origin's clock. A clock set before 1970 reads as the end of
/// time, so it refuses every credential rather than accept expired ones.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(u64::MAX, |d| d.as_secs())
}
