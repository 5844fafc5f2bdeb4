//! [`Api`]: what every handler shares: the store, the node's watch feed, the configuration,
//! and the two things the deterministic catalog leaves to its caller, the clock and new ids.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use packyard_core::Blake3Hash;
use packyard_core::catalog::{Actor, ApiKeyId, Catalog, Command, Envelope, Event, Timestamp};

use super::config::ApiConfig;
use super::error::ApiError;
use crate::metrics::ControlMetrics;
use crate::store::CatalogStore;
use crate::watch::ChangeFeed;

/// The admin API over one store.
#[derive(Debug)]
pub(crate) struct Api<S> {
    pub(crate) store: S,
    /// The node's watch feed: its last index is the catalog index edges catch up to.
    pub(crate) feed: Arc<ChangeFeed>,
    pub(crate) config: ApiConfig,
    pub(crate) metrics: ControlMetrics,
    /// Keys whose last use is being recorded now, so a burst of requests records it once.
    pub(crate) touching: Mutex<HashSet<ApiKeyId>>,
}

impl<S: CatalogStore> Api<S> {
    /// Runs `f` on the catalog; a store failure is a 503.
    pub(crate) async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        Ok(self.store.read(f).await?)
    }

    /// Like [`Api::read`], for reads that can themselves be refused.
    pub(crate) async fn read_or_refuse<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> Result<R, ApiError> + Send + 'static,
    {
        self.store.read(f).await?
    }

    /// Proposes `command` as `actor`, stamped with the current time, and waits until it is
    /// applied. The catalog applies it whole or refuses it whole.
    pub(crate) async fn propose(
        &self,
        actor: &Actor,
        command: Command,
    ) -> Result<Vec<Event>, ApiError> {
        let envelope = Envelope {
            actor: actor.clone(),
            at: now(),
            command,
        };
        Ok(self.store.write(envelope).await??)
    }

    /// The user whose key the `Authorization: Bearer` header carries. A key used for the
    /// first time in [`packyard_core::catalog::KEY_USE_RESOLUTION_MS`] has its use recorded
    /// in the background (`TouchApiKey`), without making the request wait.
    pub(crate) async fn authenticate(
        api: &Arc<Self>,
        headers: &HeaderMap,
    ) -> Result<Actor, ApiError> {
        let value =
            headers
                .get(axum::http::header::AUTHORIZATION)
                .ok_or(ApiError::Unauthenticated(
                    "this endpoint needs an API key: send the header Authorization: Bearer <key>",
                ))?;
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthenticated(
                "the Authorization header must read Bearer <key>",
            ))?;
        let hash = Blake3Hash::of(key.as_bytes());
        let at = now();
        let found = api
            .read(move |c| {
                c.live_key_by_hash(&hash)
                    .map(|k| (k.user.clone(), k.id.clone(), k.use_is_news(at)))
            })
            .await?;
        let (user, id, news) = found.ok_or(ApiError::Unauthenticated(
            "this API key is unknown or was revoked; ask an Admin of your app for a new one",
        ))?;
        if news {
            Self::record_use(api, id);
        }
        Ok(Actor::User(user))
    }

    /// Records, once, that key `id` was used now.
    fn record_use(api: &Arc<Self>, id: ApiKeyId) {
        let touching = || api.touching.lock().unwrap_or_else(PoisonError::into_inner);
        if !touching().insert(id.clone()) {
            return;
        }
        let api = Arc::clone(api);
        tokio::spawn(async move {
            let command = Command::TouchApiKey { id: id.clone() };
            if let Err(e) = api.propose(&Actor::System, command).await {
                tracing::debug!(key = %id, error = %e, "the key's last use was not recorded");
            }
            api.touching
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        });
    }
}

/// The current time as a catalog timestamp. The leader stamps commands; followers replay.
pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// A new random 128-bit id, as 32 lower-case hex digits.
pub(crate) fn new_id() -> Result<String, ApiError> {
    Ok(hex(&random_bytes::<16>()?))
}

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| ApiError::Internal(format!("the system random source failed: {e}")))?;
    Ok(buf)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
