//! [`Endpoint`]: an upload request, parsed once from its method and path.

use axum::http::Method;

use super::error::UploadError;

/// What an upload request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `PUT /v1/uploads/{uploadFileId}/parts/{partNumber}`: store one part.
    PutPart {
        /// The upload file.
        file: String,
        /// The part, from 1.
        number: u64,
    },
    /// `PUT /v1/uploads/{uploadFileId}/chunks`: the file's chunk list, instead of its parts;
    /// answers which chunks the store lacks.
    PutChunkList {
        /// The upload file.
        file: String,
    },
    /// `PUT /v1/uploads/{uploadFileId}/chunks/{chunkId}`: one chunk the store lacked.
    PutChunk {
        /// The upload file.
        file: String,
        /// The chunk's id, as the path spells it (64 hex digits).
        id: String,
    },
    /// `PUT /v1/uploads/{uploadFileId}/chunks/bundle`: several chunks the store lacked, each
    /// framed with its id and length, stored together.
    PutChunkBundle {
        /// The upload file.
        file: String,
    },
    /// `GET /v1/uploads/{uploadFileId}`: which parts are stored and which are missing.
    Status {
        /// The upload file.
        file: String,
    },
    /// `GET /healthz`: the process answers.
    Health,
    /// `GET /metrics`: the origin's metrics.
    Metrics,
    /// `GET /readyz`: the origin follows the catalog (it has had its snapshot), so it knows
    /// which uploads to take and which versions to process.
    Ready,
}

impl Endpoint {
    /// Parses a request line; unknown paths are 404, known paths with another method 405.
    pub fn parse(method: &Method, path: &str) -> Result<Self, UploadError> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (endpoint, allowed) =
            match segments.as_slice() {
                ["healthz"] => (Self::Health, "GET, HEAD"),
                ["readyz"] => (Self::Ready, "GET, HEAD"),
                ["metrics"] => (Self::Metrics, "GET, HEAD"),
                ["v1", "uploads", file] => (
                    Self::Status {
                        file: (*file).to_owned(),
                    },
                    "GET, HEAD",
                ),
                ["v1", "uploads", file, "parts", number] => {
                    let number = number.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(
                        || {
                            UploadError::BadRequest(format!(
                                "part number {number:?} is not a number from 1; parts are numbered \
                         as the uploadOperations list them"
                            ))
                        },
                    )?;
                    (
                        Self::PutPart {
                            file: (*file).to_owned(),
                            number,
                        },
                        "PUT",
                    )
                }
                ["v1", "uploads", file, "chunks"] => (
                    Self::PutChunkList {
                        file: (*file).to_owned(),
                    },
                    "PUT",
                ),
                ["v1", "uploads", file, "chunks", "bundle"] => (
                    Self::PutChunkBundle {
                        file: (*file).to_owned(),
                    },
                    "PUT",
                ),
                ["v1", "uploads", file, "chunks", id] => (
                    Self::PutChunk {
                        file: (*file).to_owned(),
                        id: (*id).to_owned(),
                    },
                    "PUT",
                ),
                _ => return Err(UploadError::NoRoute(path.to_owned())),
            };
        let ok = match endpoint {
            Self::PutPart { .. }
            | Self::PutChunkList { .. }
            | Self::PutChunk { .. }
            | Self::PutChunkBundle { .. } => method == Method::PUT,
            _ => method == Method::GET || method == Method::HEAD,
        };
        if !ok {
            return Err(UploadError::MethodNotAllowed {
                method: method.to_string(),
                allowed,
            });
        }
        Ok(endpoint)
    }

    /// A short name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::PutPart { .. } => "PutPart",
            Self::Status { .. } => "UploadStatus",
            Self::PutChunkList { .. } => "PutChunkList",
            Self::PutChunk { .. } => "PutChunk",
            Self::PutChunkBundle { .. } => "PutChunkBundle",
            Self::Health => "Health",
            Self::Ready => "Ready",
            Self::Metrics => "Metrics",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_endpoints_and_bad_ones_say_why() {
        assert_eq!(
            Endpoint::parse(&Method::PUT, "/v1/uploads/f1/parts/3").unwrap(),
            Endpoint::PutPart {
                file: "f1".into(),
                number: 3
            }
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/v1/uploads/f1").unwrap(),
            Endpoint::Status { file: "f1".into() }
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/healthz").unwrap(),
            Endpoint::Health
        );
        let e = Endpoint::parse(&Method::PUT, "/v1/uploads/f1/parts/0").unwrap_err();
        assert!(matches!(e, UploadError::BadRequest(_)), "{e:?}");
        let e = Endpoint::parse(&Method::POST, "/v1/uploads/f1/parts/1").unwrap_err();
        assert!(matches!(e, UploadError::MethodNotAllowed { .. }), "{e:?}");
        let e = Endpoint::parse(&Method::GET, "/v1/other").unwrap_err();
        assert!(matches!(e, UploadError::NoRoute(_)), "{e:?}");
    }
}
