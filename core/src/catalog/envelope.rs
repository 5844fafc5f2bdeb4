//! [`Envelope`]: one command as the Raft log carries it, with who asked and when.

use serde::{Deserialize, Serialize};

use super::command::Command;
use super::ids::UserId;

/// Milliseconds since the Unix epoch, chosen by the leader when it proposes the command, so
/// every replica records the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

/// Who issued a command.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Actor {
    /// A user, authenticated by the API layer (an API key bound to that user).
    User(UserId),
    /// Packyard itself: the origin reporting processing results, the control plane finishing
    /// distribution, or the bootstrap of the first operator. It may do everything except
    /// reviewing, which stays with people holding the Reviewer role.
    System,
}

/// A command with its actor and time: what a log entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Who asked.
    pub actor: Actor,
    /// When the leader accepted it.
    pub at: Timestamp,
    /// What to do.
    pub command: Command,
}
