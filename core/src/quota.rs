//! [`QuotaLimits`] and the arithmetic of rule R9: how many bytes an app uses, whether an
//! upload fits, and when the Admins are warned; and the limits of rule R14 on what a user
//! may create (apps, users) and how long a stored string may be.
//!
//! These are plain functions over sizes; the catalog decides which versions are eligible
//! and calls them.

use serde::{Deserialize, Serialize};

/// Per-app limits (rule R9) and the limits on what users create (rule R14). Configuration:
/// every field has the default written next to it, and a `[quota]` table names only what it
/// changes. The catalog holds them, so every replica applies the same; fields added since the
/// first release default when an older snapshot is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaLimits {
    /// Live (not archived) packs an app may have. Default 100.
    pub max_packs: usize,
    /// Bytes an app may use, counted as [`app_used_bytes`] does. Default 200 GB (decimal).
    pub max_bytes: u64,
    /// Largest single upload file, in bytes. Default 8 GB (decimal).
    pub max_file_bytes: u64,
    /// Percentage of `max_bytes` at which the app's Admins are warned. Default 80.
    pub warn_ratio_percent: u8,
    /// Apps a user who is not an operator may hold as Account Holder (rule R14): every app
    /// brings its own quota, so this bounds what one user can store. Default 25.
    pub max_apps_per_account_holder: usize,
    /// Users the cluster holds, operators included (rule R14). Default 10,000.
    pub max_users: usize,
    /// Longest name-like string stored, in bytes (UTF-8): app, user and file names, bundle
    /// ids, email addresses, build numbers (rule R14). Default 256.
    pub max_name_bytes: usize,
    /// Longest free text stored, in bytes: a review's rejection reasons together (rule R14).
    /// Default 8,192.
    pub max_text_bytes: usize,
    /// Webhooks an app may have (each is sent every event it wants; rule R14). Default 25.
    pub max_webhooks_per_app: usize,
    /// Tester tokens of an app that have not expired, revoked ones included (each is listed
    /// and a revoked one is held by every edge until it expires; rule R14). Default 10,000.
    pub max_tester_tokens_per_app: usize,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        Self {
            max_packs: 100,
            max_bytes: 200_000_000_000,
            max_file_bytes: 8_000_000_000,
            warn_ratio_percent: 80,
            max_apps_per_account_holder: 25,
            max_users: 10_000,
            max_name_bytes: 256,
            max_text_bytes: 8_192,
            max_webhooks_per_app: 25,
            max_tester_tokens_per_app: 10_000,
        }
    }
}

/// Why a [`QuotaLimits`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaConfigError {
    /// A limit is zero, so nothing could ever be stored.
    #[error("quota limit `{0}` is 0; it must be at least 1")]
    Zero(&'static str),
    /// The warning ratio is not a percentage.
    #[error("quota `warn_ratio_percent` is {0}; it must be between 1 and 100")]
    BadRatio(u8),
}

impl QuotaLimits {
    /// Checks the limits at start-up.
    pub fn validate(&self) -> Result<(), QuotaConfigError> {
        if self.max_packs == 0 {
            return Err(QuotaConfigError::Zero("max_packs"));
        }
        if self.max_bytes == 0 {
            return Err(QuotaConfigError::Zero("max_bytes"));
        }
        if self.max_file_bytes == 0 {
            return Err(QuotaConfigError::Zero("max_file_bytes"));
        }
        if !(1..=100).contains(&self.warn_ratio_percent) {
            return Err(QuotaConfigError::BadRatio(self.warn_ratio_percent));
        }
        for (name, value) in [
            (
                "max_apps_per_account_holder",
                self.max_apps_per_account_holder,
            ),
            ("max_users", self.max_users),
            ("max_name_bytes", self.max_name_bytes),
            ("max_text_bytes", self.max_text_bytes),
            ("max_webhooks_per_app", self.max_webhooks_per_app),
            ("max_tester_tokens_per_app", self.max_tester_tokens_per_app),
        ] {
            if value == 0 {
                return Err(QuotaConfigError::Zero(name));
            }
        }
        Ok(())
    }

    /// The used bytes at and above which the Admins are warned.
    pub fn warn_threshold(&self) -> u64 {
        let scaled = u128::from(self.max_bytes) * u128::from(self.warn_ratio_percent) / 100;
        // At most `max_bytes`, since the ratio is at most 100 once validated; saturate if not.
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }

    /// Whether going from `before` to `after` used bytes crosses the warning threshold
    /// upward. Staying above it, or falling below, warns nobody.
    pub fn crosses_warning(&self, before: u64, after: u64) -> bool {
        let threshold = self.warn_threshold();
        before < threshold && after >= threshold
    }

    /// The bytes an app commits once a reservation of `file_size` more bytes is added to a
    /// pack now committing `pack_committed` (see [`pack_committed_bytes`]) out of
    /// `app_committed` for the whole app.
    pub fn projected_bytes(
        &self,
        app_committed: u64,
        pack_used: u64,
        pack_pending: u64,
        file_size: u64,
    ) -> u64 {
        let before = pack_committed_bytes(pack_used, pack_pending);
        let after = pack_committed_bytes(pack_used, pack_pending.saturating_add(file_size));
        app_committed.saturating_sub(before).saturating_add(after)
    }
}

/// What a pack commits of its app's quota: its used bytes (the largest eligible version)
/// or, when more, the archives reserved and not yet processed, summed (`pending`). Every
/// pending archive is staged at the origin whole, so they add up; but one pending version no
/// larger than the one it will replace adds nothing, since only the largest version counts
/// once it is processed. So R9's "refused before any byte is stored" holds for any mix of
/// reservations, sequential or at once, and updating a large pack near the limit still works.
pub fn pack_committed_bytes(used: u64, pending: u64) -> u64 {
    used.max(pending)
}

/// A pack's used bytes: the largest size among its eligible versions, given as
/// `(size, eligible)` pairs (rule R9). Only the largest counts, since versions share chunks.
pub fn pack_used_bytes(versions: impl IntoIterator<Item = (u64, bool)>) -> u64 {
    versions
        .into_iter()
        .filter(|&(_, eligible)| eligible)
        .map(|(size, _)| size)
        .max()
        .unwrap_or(0)
}

/// An app's used bytes: the sum of its live packs' used bytes.
pub fn app_used_bytes(packs: impl IntoIterator<Item = u64>) -> u64 {
    packs.into_iter().fold(0, u64::saturating_add)
}

#[cfg(test)]
#[path = "quota_test.rs"]
mod tests;
