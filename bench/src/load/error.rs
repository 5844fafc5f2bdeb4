//! [`LoadError`]: why a load run could not start, in words that say what to change.

/// Why a load run was refused or could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A setting is out of range; the message names the flag and what would do.
    #[error("{0}")]
    Invalid(String),
    /// A URL cannot be loaded.
    #[error("{url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A range asked for is larger than a file it would be read from.
    #[error(
        "a {range}-byte range does not fit in {path} ({size} bytes); \
         use smaller --range sizes or larger files"
    )]
    RangeTooLarge {
        /// The range size, in bytes.
        range: u64,
        /// The file's path on the server.
        path: String,
        /// The file's size, in bytes.
        size: u64,
    },
    /// The server could not be reached or did not say how large a file is.
    #[error("probing {url}: {reason}")]
    Probe {
        /// The URL probed.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl LoadError {
    /// An [`LoadError::Invalid`] from a message.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}
