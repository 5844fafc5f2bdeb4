//! [`Channel`]: the three channels a device asks for.

use std::fmt;

use packyard_core::tester_token::BetaChannel;
use packyard_proto::catalog::v1 as pb;

/// A channel devices download from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Internal testers: the newest COMPLETE version (R1). Needs a tester token.
    Internal,
    /// External testers: the version approved for external testing. Needs a tester token.
    External,
    /// Everyone: the distributed store version. Public.
    Store,
}

impl Channel {
    /// Parses the path segment (`internal`, `external`, `store`).
    pub fn from_path(s: &str) -> Option<Self> {
        match s {
            "internal" => Some(Self::Internal),
            "external" => Some(Self::External),
            "store" => Some(Self::Store),
            _ => None,
        }
    }

    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
            Self::Store => "store",
        }
    }

    /// The beta channel a tester token must open, or `None` for the public store channel.
    pub fn beta(self) -> Option<BetaChannel> {
        match self {
            Self::Internal => Some(BetaChannel::Internal),
            Self::External => Some(BetaChannel::External),
            Self::Store => None,
        }
    }

    /// The channel a tester token for `beta` opens.
    pub fn from_beta(beta: BetaChannel) -> Self {
        match beta {
            BetaChannel::Internal => Self::Internal,
            BetaChannel::External => Self::External,
        }
    }

    /// The channel a watch-stream message names, or `None` when it names none.
    pub(crate) fn from_proto(c: pb::Channel) -> Option<Self> {
        match c {
            pb::Channel::Internal => Some(Self::Internal),
            pb::Channel::External => Some(Self::External),
            pb::Channel::Store => Some(Self::Store),
            pb::Channel::Unspecified => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
