//! [`Envelope`]: one command as the Raft log carries it, with who asked and when.

use serde::{Deserialize, Serialize};

use super::command::Command;
use super::ids::{ApiKeyId, UserId};

/// Milliseconds since the Unix epoch, chosen by the leader when it proposes the command, so
/// every replica records the same time.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// RFC 3339 in UTC with milliseconds (`2025-12-31T23:59:59.000Z`), as the hosted API
    /// writes dates and as webhook payloads carry them.
    pub fn to_rfc3339(self) -> String {
        let millis = self.0 % 1000;
        let secs = self.0 / 1000;
        let (day, rem) = (secs / 86_400, secs % 86_400);
        let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        let (y, mo, d) = civil_from_days(day);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

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
    /// The API key that authenticated a user's command, if one did. The catalog checks it is
    /// still live and the actor's when it applies the entry, so a node may authenticate a
    /// write against its own (possibly a little behind) copy of the keys: a key revoked
    /// before the entry is applied opens nothing. Defaults let older log entries load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<ApiKeyId>,
}
