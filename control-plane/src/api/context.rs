//! [`Api`]: what every handler shares: the store, the node's watch feed, the configuration,
//! and the two things the deterministic catalog leaves to its caller, the clock (in the
//! configuration, [`ApiConfig::clock`]) and new ids.
//!
//! How a request reads ([`within_request`]): every read it makes sees the catalog at least as
//! of the request's start (linearizable), with at most one round to a quorum. A request that
//! writes reads its answer from this node's copy once it has applied that write (no round at
//! all: the write was committed after the request began). A request that only reads makes
//! one linearizable read first, and every later read of it is local. A write's own
//! authentication reads the local copy as it is; the key goes into the envelope and the
//! catalog refuses the command if the key was revoked before the entry was applied.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::HeaderMap;
use packyard_core::Blake3Hash;
use packyard_core::catalog::{Actor, ApiKeyId, Catalog, Command, Envelope, Event};

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

/// What one request has done that its reads must see.
#[derive(Debug, Default)]
pub(crate) struct Consistency {
    /// The log index of the request's last write, 0 before it writes.
    after: AtomicU64,
    /// Whether one linearizable read was made.
    barrier: AtomicBool,
    /// The key the request was authenticated with.
    key: Mutex<Option<ApiKeyId>>,
}

tokio::task_local! {
    static REQUEST: Consistency;
}

/// Runs one request's handling with its own [`Consistency`].
pub(crate) async fn within_request<F: Future>(f: F) -> F::Output {
    REQUEST.scope(Consistency::default(), f).await
}

impl<S: CatalogStore> Api<S> {
    /// Runs `f` on the catalog as of at least the start of the request (see the module
    /// documentation); a store failure is a 503.
    pub(crate) async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> R + Send + 'static,
    {
        let seen = REQUEST.try_with(|c| {
            (
                c.after.load(Ordering::SeqCst),
                c.barrier.load(Ordering::SeqCst),
            )
        });
        Ok(match seen {
            Ok((after, _)) if after > 0 => self.store.read_applied(after, f).await?,
            Ok((_, true)) => self.store.read_local(f).await?,
            Ok((_, false)) => {
                let read = self.store.read(f).await?;
                let _ = REQUEST.try_with(|c| c.barrier.store(true, Ordering::SeqCst));
                read
            }
            // Outside a request (background work): a linearizable read.
            Err(_) => self.store.read(f).await?,
        })
    }

    /// `GET` of one resource: the document `read` renders, or its refusal.
    pub(crate) async fn show<F>(&self, read: F) -> Result<axum::response::Response, ApiError>
    where
        F: FnOnce(&Catalog) -> Result<serde_json::Value, ApiError> + Send + 'static,
    {
        let doc = self.read_or_refuse(read).await?;
        Ok(super::document::respond(axum::http::StatusCode::OK, doc))
    }

    /// `GET` of a whole collection (no paging) at `path`: the documents `read` finds, or its
    /// refusal.
    pub(crate) async fn list<F>(
        &self,
        path: String,
        read: F,
    ) -> Result<axum::response::Response, ApiError>
    where
        F: FnOnce(&Catalog) -> Result<Vec<serde_json::Value>, ApiError> + Send + 'static,
    {
        let data = self.read_or_refuse(read).await?;
        Ok(super::document::respond_list(data, &path, None))
    }

    /// Like [`Api::read`], for reads that can themselves be refused.
    pub(crate) async fn read_or_refuse<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Catalog) -> Result<R, ApiError> + Send + 'static,
    {
        self.read(f).await?
    }

    /// Proposes `command` as `actor`, stamped with the current time, and waits until it is
    /// applied. The catalog applies it whole or refuses it whole.
    pub(crate) async fn propose(
        &self,
        actor: &Actor,
        command: Command,
    ) -> Result<Vec<Event>, ApiError> {
        let key = REQUEST
            .try_with(|c| c.key.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .ok()
            .flatten()
            .filter(|_| *actor != Actor::System);
        let envelope = Envelope {
            actor: actor.clone(),
            at: self.config.clock.now(),
            command,
            key,
        };
        let (index, applied) = self.store.write_at(envelope).await?;
        let _ = REQUEST.try_with(|c| c.after.fetch_max(index, Ordering::SeqCst));
        Ok(applied?)
    }

    /// The user whose key the `Authorization: Bearer` header carries. A key used for the
    /// first time in [`packyard_core::catalog::KEY_USE_RESOLUTION_MS`] has its use recorded
    /// in the background (`TouchApiKey`), without making the request wait. A request that
    /// will write (`for_write`) checks the key against this node's copy as it is, since the
    /// catalog checks it again when it applies the write, and refuses a key missing there
    /// only after a linearizable read; a request that only reads checks it with its one
    /// linearizable read.
    pub(crate) async fn authenticate(
        api: &Arc<Self>,
        headers: &HeaderMap,
        for_write: bool,
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
            .and_then(bearer)
            .ok_or(ApiError::Unauthenticated(
                "the Authorization header must read Bearer <key>",
            ))?;
        let hash = Blake3Hash::of(key.as_bytes());
        let at = api.config.clock.now();
        let lookup = move |c: &Catalog| {
            c.live_key_by_hash(&hash)
                .map(|k| (k.user.clone(), k.id.clone(), k.use_is_news(at)))
        };
        let found = if for_write {
            match api.store.read_local(lookup).await? {
                Some(found) => Some(found),
                // This node's copy may be behind (it has just restarted and not yet
                // re-applied its log, or it is catching up): only a current read can say a
                // key is unknown.
                None => api.read(lookup).await?,
            }
        } else {
            api.read(lookup).await?
        };
        let (user, id, news) = found.ok_or(ApiError::Unauthenticated(
            "this API key is unknown or was revoked; create a new one with another of your keys, \
             or ask an operator",
        ))?;
        let _ = REQUEST.try_with(|c| {
            *c.key.lock().unwrap_or_else(PoisonError::into_inner) = Some(id.clone());
        });
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

/// The credential of an `Authorization` value of the `Bearer` scheme, whose name is
/// case-insensitive (RFC 9110 §11.1), followed by one or more spaces.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    let key = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
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

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_as_rfc_9110_says() {
        for value in [
            "Bearer pyk_1",
            "bearer pyk_1",
            "BEARER  pyk_1",
            "bEaReR pyk_1 ",
        ] {
            assert_eq!(bearer(value), Some("pyk_1"), "{value:?}");
        }
        for value in [
            "Bearer",
            "Bearer ",
            "Basic pyk_1",
            "Bearerpyk_1",
            "pyk_1",
            "",
        ] {
            assert_eq!(bearer(value), None, "{value:?}");
        }
    }
}
