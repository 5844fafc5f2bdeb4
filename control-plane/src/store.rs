//! [`CatalogStore`]: what the admin API needs from the replicated catalog, and
//! [`MemoryStore`], the single-process implementation every other one must match.

use std::future::Future;
use std::sync::Arc;

use packyard_core::catalog::{Actor, Catalog, Command, Envelope, Event, Refusal, Timestamp};
use tokio::sync::RwLock;

use crate::watch::{ChangeFeed, apply_and_publish};

/// Why the store could not take a write or answer a read. Distinct from a [`Refusal`]: a
/// refusal is the catalog's answer to a command; a `StoreError` means there was no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No leader is known right now (an election is under way); the caller may retry.
    #[error("the control plane has no leader right now; retry shortly")]
    NoLeader,
    /// The store cannot reach a quorum or its disk; the caller may retry.
    #[error("the control plane is unavailable: {0}")]
    Unavailable(String),
}

/// The outcome of a committed command: the events it caused, or the catalog's refusal.
pub type Applied = Result<Vec<Event>, Refusal>;

/// How long an internal service (edge registry, origin reports) waits for its write to apply
/// before it sends the calling node elsewhere.
pub const INTERNAL_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A catalog that commands are proposed to and read from.
///
/// Writes resolve once the command is committed (durably, on a quorum, for a replicated
/// store) and applied; reads are linearizable: they see every write acknowledged before
/// they began. Implementations forward writes to their leader themselves, so callers never
/// care which node they talk to.
pub trait CatalogStore: Send + Sync + 'static {
    /// Proposes `envelope` and waits for it to be applied; also answers the log index it was
    /// committed at, which [`CatalogStore::read_applied`] can wait for.
    fn write_at(
        &self,
        envelope: Envelope,
    ) -> impl Future<Output = Result<(u64, Applied), StoreError>> + Send;

    /// Proposes `envelope` and waits for it to be applied.
    fn write(
        &self,
        envelope: Envelope,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        async move { Ok(self.write_at(envelope).await?.1) }
    }

    /// Proposes `command` as Packyard itself (no user, no key), stamped `at`: what the
    /// leader's timers and the internal services (edge registry, origin reports, webhook
    /// deliveries) write.
    fn write_as_system(
        &self,
        at: Timestamp,
        command: Command,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        self.write(Envelope {
            actor: Actor::System,
            at,
            command,
            key: None,
        })
    }

    /// [`CatalogStore::write_as_system`] for an internal service answering another node:
    /// a write not applied within [`INTERNAL_WRITE_TIMEOUT`] (this node cut off from the
    /// majority, its proposal waiting on a commit that cannot come) is answered `Unavailable`,
    /// so the caller moves on to another member instead of waiting here for the heal.
    fn write_as_system_within(
        &self,
        at: Timestamp,
        command: Command,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        async move {
            tokio::time::timeout(INTERNAL_WRITE_TIMEOUT, self.write_as_system(at, command))
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(format!(
                        "this node did not commit the write within {} s; ask another member",
                        INTERNAL_WRITE_TIMEOUT.as_secs()
                    )))
                })
        }
    }

    /// Runs `f` on a linearizable view of the catalog.
    fn read<R, F>(&self, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static;

    /// Runs `f` on this node's copy as it is, without making sure it is current: for what may
    /// be a little behind, such as a write's own authentication (the catalog checks the key
    /// again when it applies the write).
    fn read_local<R, F>(&self, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static;

    /// Runs `f` on this node's copy once it has applied log index `index`: a read that sees
    /// a write this caller made, without another round to a quorum.
    fn read_applied<R, F>(
        &self,
        index: u64,
        f: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static;

    /// Whether this node leads the cluster now. Work that must happen once per cluster, not
    /// once per node (delivering webhooks, advancing rollouts), runs only where this is true.
    fn is_leader(&self) -> impl Future<Output = bool> + Send;
}

/// A catalog in one process's memory: one writer at a time, readers see every finished write.
/// The reference behaviour for replicated stores, and the store of API-level tests. Each
/// write counts as one log entry, numbered from 1, and feeds the watch stream.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    catalog: Arc<RwLock<Catalog>>,
    feed: Arc<ChangeFeed>,
}

impl MemoryStore {
    /// A store holding `catalog`.
    pub fn new(catalog: Catalog) -> Self {
        Self {
            catalog: Arc::new(RwLock::new(catalog)),
            feed: Arc::new(ChangeFeed::new(1024, 0)),
        }
    }

    /// The feed of what each write changed, for the watch stream.
    pub fn feed(&self) -> Arc<ChangeFeed> {
        self.feed.clone()
    }
}

impl CatalogStore for MemoryStore {
    async fn write_at(&self, envelope: Envelope) -> Result<(u64, Applied), StoreError> {
        let mut catalog = self.catalog.write().await;
        let index = self.feed.last_index() + 1;
        Ok((
            index,
            apply_and_publish(&mut catalog, &self.feed, index, envelope),
        ))
    }

    async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        Ok(f(&*self.catalog.read().await))
    }

    async fn read_local<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.read(f).await
    }

    /// Every write is applied by the time it returns.
    async fn read_applied<R, F>(&self, _index: u64, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        self.read(f).await
    }

    /// A single process is its own leader.
    async fn is_leader(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use packyard_core::catalog::{Actor, AppId, Command, CreateUser, Timestamp, UserId};
    use packyard_core::quota::QuotaLimits;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_internal_write_that_cannot_apply_is_answered_unavailable_after_the_timeout() {
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        // A write that cannot apply, as on a node cut off from the majority.
        let held = store.catalog.write().await;
        let command = Command::SetLimits {
            limits: QuotaLimits::default(),
        };
        let started = tokio::time::Instant::now();
        let answer = store.write_as_system_within(Timestamp(1), command).await;
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{answer:?}"
        );
        assert_eq!(started.elapsed(), INTERNAL_WRITE_TIMEOUT);
        drop(held);
        let command = Command::SetLimits {
            limits: QuotaLimits::default(),
        };
        assert!(
            store
                .write_as_system_within(Timestamp(2), command)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_write_is_visible_to_the_next_read_and_refusals_pass_through() {
        let store = MemoryStore::new(Catalog::new(QuotaLimits::default()));
        let create_operator = Envelope {
            actor: Actor::System,
            at: Timestamp(1),
            command: Command::CreateUser(CreateUser {
                id: UserId::from("u1"),
                name: "Op".into(),
                email: "op@example.com".into(),
                roles: vec![],
                operator: true,
            }),
            key: None,
        };
        assert!(store.write(create_operator.clone()).await.unwrap().is_ok());
        let seen = store
            .read(|c| c.user(&UserId::from("u1")).is_some())
            .await
            .unwrap();
        assert!(seen);
        // The same id twice: the catalog refuses, the store reports the refusal.
        assert!(store.write(create_operator).await.unwrap().is_err());
        let apps = store
            .read(|c| c.app(&AppId::from("nope")).is_none())
            .await
            .unwrap();
        assert!(apps);
    }
}
