//! [`Lease`]: a named duty one node holds until a time, through the Raft log, so that nodes
//! that share work (origins over one bucket) never do it twice at once: which origin
//! processes a version (`processing/{versionId}`), which one collects the bucket's garbage
//! (`gc`).
//!
//! A lease is taken or renewed by its holder for a time to live, counted from the envelope's
//! timestamp (the proposing node's clock, so every replica decides alike); anyone may take
//! it once it has run out. Its holder lets it go when done.

use serde::{Deserialize, Serialize};

use super::*;

/// The longest lease name.
pub const MAX_LEASE_NAME_LEN: usize = 256;
/// The longest holder name.
pub const MAX_LEASE_HOLDER_LEN: usize = 160;
/// The longest a lease may be taken for at once: 10 minutes. A holder renews it.
pub const MAX_LEASE_TTL_MS: u64 = 600_000;

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The node holding it (`origin:{id}`).
    pub holder: String,
    /// When it runs out, unless renewed.
    pub until: Timestamp,
}

/// What [`Command::AcquireLease`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquireLease {
    /// The lease.
    pub name: String,
    /// Who takes it.
    pub holder: String,
    /// For how long, in milliseconds from the command's time: 1 to [`MAX_LEASE_TTL_MS`].
    pub ttl_ms: u64,
}

/// What [`Command::ReleaseLease`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseLease {
    /// The lease.
    pub name: String,
    /// Who lets it go: only its holder can.
    pub holder: String,
}

fn check_names(name: &str, holder: &str) -> Result<(), Refusal> {
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    if name.is_empty() || name.len() > MAX_LEASE_NAME_LEN || !plain(name) {
        return Err(Refusal::invalid(
            "name",
            format!("a lease name is 1 to {MAX_LEASE_NAME_LEN} printable ASCII characters"),
        ));
    }
    if holder.is_empty() || holder.len() > MAX_LEASE_HOLDER_LEN || !plain(holder) {
        return Err(Refusal::invalid(
            "holder",
            format!("a holder is 1 to {MAX_LEASE_HOLDER_LEN} printable ASCII characters"),
        ));
    }
    Ok(())
}

impl Catalog {
    /// `AcquireLease`: takes `name` for `holder`, or renews it, unless another holder's lease
    /// has not run out yet (a conflict naming that holder and when it runs out). Leases that
    /// have run out are forgotten on the way.
    pub(super) fn acquire_lease(
        &mut self,
        ctx: &Ctx,
        take: AcquireLease,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        check_names(&take.name, &take.holder)?;
        if !(1..=MAX_LEASE_TTL_MS).contains(&take.ttl_ms) {
            return Err(Refusal::invalid(
                "ttl_ms",
                format!("a lease lasts 1 to {MAX_LEASE_TTL_MS} milliseconds"),
            ));
        }
        if let Some(held) = self.lease_holder(&take.name, ctx.at)
            && held.holder != take.holder
        {
            return Err(Refusal::conflict(format!(
                "lease {} is held by {} until {}",
                take.name,
                held.holder,
                held.until.to_rfc3339()
            )));
        }
        self.leases.retain(|_, lease| lease.until > ctx.at);
        self.leases.insert(
            take.name,
            Lease {
                holder: take.holder,
                until: Timestamp(ctx.at.0.saturating_add(take.ttl_ms)),
            },
        );
        Ok(Vec::new())
    }

    /// `ReleaseLease`: its holder lets a lease go; releasing a lease one does not hold (any
    /// more) changes nothing.
    pub(super) fn release_lease(
        &mut self,
        ctx: &Ctx,
        release: ReleaseLease,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_system(&ctx.actor)?;
        check_names(&release.name, &release.holder)?;
        if self
            .leases
            .get(&release.name)
            .is_some_and(|l| l.holder == release.holder)
        {
            self.leases.remove(&release.name);
        }
        Ok(Vec::new())
    }

    /// Who holds `name` at `now`; `None` if nobody does, or the lease has run out.
    pub fn lease_holder(&self, name: &str, now: Timestamp) -> Option<&Lease> {
        self.leases.get(name).filter(|lease| lease.until > now)
    }
}
