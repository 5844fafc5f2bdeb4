//! [`ClientError`]: what failed, in words a device log or an app can act on.

use std::path::PathBuf;

use crate::manifest::ManifestError;

/// Why a sync, or a part of it, failed. What was downloaded before the failure stays on disk
/// and is reused by the next sync.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The edge could not be reached, or the connection broke.
    #[error("the edge is unreachable ({url}): {reason}")]
    Unreachable {
        /// What was asked for.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The tester token has expired: ask for a new one.
    #[error("the tester token expired; ask the app's team for a new one")]
    TokenExpired,
    /// The edge refused the tester token (missing, forged, another app's or channel's).
    #[error("the edge refused the tester token ({status}): {message}")]
    TokenRefused {
        /// 401 or 403.
        status: u16,
        /// The edge's reason.
        message: String,
    },
    /// The app, pack or version is not served here (the edge says why: an unknown app, an
    /// archived pack, a version no longer on this channel).
    #[error("{url} is not served (404): {message}")]
    NotServed {
        /// What was asked for.
        url: String,
        /// The edge's reason.
        message: String,
    },
    /// Another refusal.
    #[error("the edge answered {status} for {url}: {message}")]
    Refused {
        /// What was asked for.
        url: String,
        /// The status.
        status: u16,
        /// The edge's reason.
        message: String,
    },
    /// The URL serves other bytes than the version's (its ETag no longer matches).
    #[error("{0} now serves other bytes than the version asked for")]
    Changed(String),
    /// The edge's answer does not follow HTTP or Packyard's protocol.
    #[error("the edge's answer is malformed: {0}")]
    Protocol(String),
    /// Bytes that do not hash to what the chunk list or the manifest says.
    #[error("{what} does not match its BLAKE3 hash")]
    Corrupt {
        /// Which chunk or archive.
        what: String,
    },
    /// The disk is full.
    #[error("not enough disk space for {path}: {needed} bytes are needed")]
    NoSpace {
        /// Where the download was being written.
        path: PathBuf,
        /// The pack's size.
        needed: u64,
    },
    /// Another file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Disk {
        /// What was being done.
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// The download manifest is malformed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A task of the download (a request, disk work) ended without an answer: it panicked
    /// or was cancelled.
    #[error("a download task failed: {0}")]
    Task(String),
}

impl ClientError {
    pub(crate) fn unreachable(url: &str, e: &reqwest::Error) -> Self {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        Self::Unreachable {
            url: url.to_owned(),
            reason,
        }
    }

    /// The error for a non-success answer `status` with `body` (the edge's JSON error).
    pub(crate) fn refused(url: &str, status: u16, body: &str) -> Self {
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| body.trim().to_owned());
        match status {
            401 if message.contains("expired") => Self::TokenExpired,
            401 | 403 => Self::TokenRefused { status, message },
            404 => Self::NotServed {
                url: url.to_owned(),
                message,
            },
            _ => Self::Refused {
                url: url.to_owned(),
                status,
                message,
            },
        }
    }

    /// A file error at `path` while writing a pack of `needed` bytes: ENOSPC is said so.
    pub(crate) fn disk<'a>(
        action: &'static str,
        path: &'a std::path::Path,
        needed: u64,
    ) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| {
            if source.raw_os_error() == Some(28) || source.kind() == std::io::ErrorKind::StorageFull
            {
                Self::NoSpace {
                    path: path.to_path_buf(),
                    needed,
                }
            } else {
                Self::Disk {
                    action,
                    path: path.to_path_buf(),
                    source,
                }
            }
        }
    }
}
