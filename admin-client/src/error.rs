//! [`AdminError`]: what went wrong talking to the admin API or the origin, and [`Refusal`]: an
//! answer that refused, worded from its JSON:API error document.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Why a call, an upload or a wait did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A CA bundle given to trust held no PEM certificate.
    #[error("the CA bundle holds no PEM certificate")]
    CaBundle(#[source] reqwest::Error),
    /// The HTTP client could not be built.
    #[error("building the HTTP client")]
    Client(#[source] reqwest::Error),
    /// No connection to the admin API (or the request could not be sent).
    #[error("cannot reach the admin API at {server}: {cause}")]
    Unreachable {
        /// The admin API's base URL.
        server: String,
        /// The transport error (worded in the message, not chained).
        cause: reqwest::Error,
    },
    /// The admin API answered with an error status.
    #[error("{method} {path}: {refusal}")]
    Refused {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// What the answer said.
        refusal: Box<Refusal>,
    },
    /// The answer's body could not be read.
    #[error("reading the answer to {method} {path}")]
    Unreadable {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// The transport error.
        #[source]
        cause: reqwest::Error,
    },
    /// A successful answer that is not JSON.
    #[error("{method} {path} answered {status} with invalid JSON")]
    InvalidJson {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// The answer's status.
        status: StatusCode,
        /// Why it did not parse.
        #[source]
        cause: serde_json::Error,
    },
    /// A document without a member the client needs, or with one of the wrong shape.
    #[error("{0}")]
    Malformed(String),
    /// The origin could not be asked which parts it holds.
    #[error("asking the origin which parts it has ({url})")]
    OriginUnreachable {
        /// The upload file's status URL.
        url: String,
        /// The transport error.
        #[source]
        cause: reqwest::Error,
    },
    /// The origin refused a request (its status, or a part).
    #[error("{what}: {refusal}")]
    OriginRefused {
        /// What was asked (`asking the origin which parts it has`, `part 3`).
        what: String,
        /// What the answer said.
        refusal: Box<Refusal>,
    },
    /// The origin's upload status is not JSON.
    #[error("the origin's upload status")]
    OriginStatus(#[source] serde_json::Error),
    /// Reading the file being uploaded failed.
    #[error("{what}")]
    Io {
        /// What was being read (`opening pack.tar`, `reading part 2 of pack.tar`).
        what: String,
        /// The failure.
        #[source]
        cause: std::io::Error,
    },
    /// The upload operations do not describe the file (gaps, or another length).
    #[error("{0}")]
    Operations(String),
    /// A part does not fit in this machine's memory.
    #[error("part too large for this machine")]
    PartTooLarge(#[source] std::num::TryFromIntError),
    /// A part failed every attempt; the origin keeps the parts it has, so sending the missing
    /// ones again resumes.
    #[error("part {part} failed {attempts} times, last: {last}")]
    PartFailed {
        /// The part's number.
        part: u64,
        /// How many times it was sent.
        attempts: u32,
        /// Why the last attempt failed.
        last: String,
    },
    /// Processing failed; the message lists the version's `stateDetails.errors`.
    #[error("version {version} FAILED: {errors}")]
    VersionFailed {
        /// The version's id.
        version: String,
        /// `code: description` of each error, `; `-separated.
        errors: String,
    },
    /// A wait ran out of time.
    #[error("version {version} is still {state} after {}s", waited.as_secs())]
    StillProcessing {
        /// The version's id.
        version: String,
        /// Its state when the deadline passed.
        state: String,
        /// How long was waited.
        waited: Duration,
    },
}

impl AdminError {
    /// The refusal, when the admin API or the origin refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused { refusal, .. } | Self::OriginRefused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }

    /// The refusal's status, when the admin API or the origin refused.
    pub fn status(&self) -> Option<u16> {
        self.refusal().map(|r| r.status.as_u16())
    }
}

/// An answer with an error status, and the first error of its JSON:API error document.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's body, parsed, when it is JSON.
    pub document: Option<Value>,
    /// The body as text.
    pub body: String,
    /// What to say when a 401 comes without an error document (where keys come from).
    key_hint: Option<String>,
}

impl Refusal {
    /// The refusal of an answer with `status` and `body`.
    pub fn new(status: StatusCode, body: &str, key_hint: Option<&str>) -> Self {
        Self {
            status,
            document: serde_json::from_str(body).ok(),
            body: body.to_owned(),
            key_hint: key_hint.map(str::to_owned),
        }
    }

    /// The first entry of the document's `errors`.
    pub fn first_error(&self) -> Option<&Value> {
        self.document.as_ref().and_then(|d| d["errors"].get(0))
    }

    /// The first error's `code` (`STATE_ERROR.R2` …).
    pub fn code(&self) -> Option<&str> {
        self.first_error().and_then(|e| e["code"].as_str())
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.first_error() {
            Some(e) => {
                let code = e["code"].as_str().unwrap_or("");
                let detail = e["detail"]
                    .as_str()
                    .or_else(|| e["title"].as_str())
                    .unwrap_or("");
                write!(f, "{} {code}: {detail}", self.status.as_u16())
            }
            None if self.status == StatusCode::UNAUTHORIZED => {
                f.write_str("401: the API key was not accepted")?;
                match &self.key_hint {
                    Some(hint) => write!(f, " ({hint})"),
                    None => Ok(()),
                }
            }
            None => write!(f, "{}: {}", self.status, self.body.trim()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_first_error_or_the_body() {
        let doc = r#"{"errors": [{"status": "409", "code": "STATE_ERROR.R2", "detail": "one at a time"}]}"#;
        let r = Refusal::new(StatusCode::CONFLICT, doc, None);
        assert_eq!(r.to_string(), "409 STATE_ERROR.R2: one at a time");
        assert_eq!(r.code(), Some("STATE_ERROR.R2"));
        let r = Refusal::new(StatusCode::UNAUTHORIZED, "", Some("pass --key"));
        assert_eq!(
            r.to_string(),
            "401: the API key was not accepted (pass --key)"
        );
        let r = Refusal::new(StatusCode::BAD_GATEWAY, " upstream down\n", None);
        assert_eq!(r.to_string(), "502 Bad Gateway: upstream down");
    }
}
