//! [`Registration`]: the edge announces itself to the control plane, learns the tester-token
//! secret, and sends a heartbeat every lease / 3.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use packyard_catalog_client::{CatalogClient, Stop};
use packyard_core::tester_token::TokenKey;
use packyard_proto::catalog::v1 as pb;
use tonic::Code;

use super::{Chunks, SavedState};
use crate::served::ServedCounter;
use crate::state::ServingState;

/// The lease assumed when the control plane names none.
const DEFAULT_LEASE: Duration = Duration::from_secs(15);
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// The secret tester tokens are checked with, once the control plane has handed it over, and
/// its generation. Until then every beta request is refused (401); the store channel needs no
/// secret. When the watch stream says a newer generation is in force, the secret held stops
/// opening anything at once ([`TokenSecret::expect`]) until the new one is fetched.
#[derive(Debug, Clone, Default)]
pub struct TokenSecret(Arc<SecretInner>);

#[derive(Debug, Default)]
struct SecretInner {
    held: RwLock<Option<(Arc<TokenKey>, u64)>>,
    /// The newest generation the edge has heard of.
    wanted: AtomicU64,
    /// Woken when the secret held is older than the one wanted.
    stale: Notify,
}

impl TokenSecret {
    /// No secret yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A secret known from the start (tests, or a configured secret).
    pub fn with_key(key: TokenKey) -> Self {
        let s = Self::new();
        s.set(key, 0);
        s
    }

    /// Holds `key`, of `generation`.
    pub fn set(&self, key: TokenKey, generation: u64) {
        *self.0.held.write().unwrap_or_else(PoisonError::into_inner) =
            Some((Arc::new(key), generation));
    }

    /// The secret, if known and not older than the newest generation heard of.
    pub fn get(&self) -> Option<Arc<TokenKey>> {
        let held = self.0.held.read().unwrap_or_else(PoisonError::into_inner);
        let (key, generation) = held.as_ref()?;
        (*generation >= self.0.wanted.load(Ordering::SeqCst)).then(|| Arc::clone(key))
    }

    /// The cluster's secret is of `generation` now: an older one held stops opening anything
    /// and the registration fetches the new one.
    pub fn expect(&self, generation: u64) {
        let before = self.0.wanted.fetch_max(generation, Ordering::SeqCst);
        if generation > before && self.held_generation() < generation {
            self.0.stale.notify_one();
        }
    }

    fn held_generation(&self) -> u64 {
        self.0
            .held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |(_, g)| *g)
    }

    /// Resolves once the secret held is older than the newest generation heard of.
    async fn stale(&self) {
        loop {
            let notified = self.0.stale.notified();
            if self.held_generation() < self.0.wanted.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// What the edge tells the control plane about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationInfo {
    /// The edge's id, stable across restarts.
    pub edge_id: String,
    /// Its region.
    pub region: String,
    /// Where devices reach it.
    pub public_urls: Vec<String>,
    /// Its chunk cache's capacity (memory + disk budgets).
    pub cache_capacity_bytes: u64,
}

/// Registers and heartbeats until stopped. The control plane may not implement the edge
/// registry (an older node answers `Unimplemented`): that is logged and retried, and the edge
/// serves the store channel meanwhile.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The control plane.
    pub client: CatalogClient,
    /// What to announce.
    pub info: RegistrationInfo,
    /// Where the tester-token secret goes.
    pub secret: TokenSecret,
    /// The serving state, for the applied index and the versions held ready.
    pub state: Arc<RwLock<ServingState>>,
    /// The cache, for the bytes held and the versions held ready.
    pub chunks: Chunks,
    /// What devices were served, per version.
    pub served: ServedCounter,
    /// Where the secret is saved for the next start, when the edge saves its state.
    pub saved: Option<Arc<Mutex<SavedState>>>,
}

impl Registration {
    /// Runs until `stop`.
    pub async fn run(self, stop: Stop) {
        let restart = || packyard_net::backoff(BACKOFF_START, BACKOFF_MAX);
        let mut delays = restart();
        while !stop.is_stopped() {
            let request = pb::RegisterEdgeRequest {
                edge_id: self.info.edge_id.clone(),
                region: self.info.region.clone(),
                public_urls: self.info.public_urls.clone(),
                cache_capacity_bytes: self.info.cache_capacity_bytes,
            };
            let registered = tokio::select! {
                () = stop.stopped() => return,
                r = self.client.register(request) => r,
            };
            match registered {
                Ok(reply) => {
                    delays = restart();
                    self.registered(&reply);
                    let lease = lease(reply.lease_ms);
                    tracing::info!(edge = %self.info.edge_id, ?lease, "registered with the control plane");
                    if !self.heartbeats(lease, &stop).await {
                        return;
                    }
                    continue;
                }
                Err(status) if status.code() == Code::Unimplemented => {
                    tracing::info!(
                        "the control plane does not offer edge registration yet; \
                         serving the store channel and retrying"
                    );
                    delays = packyard_net::backoff(BACKOFF_MAX, BACKOFF_MAX);
                }
                Err(status) => {
                    tracing::warn!(error = %status, "cannot register with the control plane; retrying");
                }
            }
            if !stop.sleep(delays.next().unwrap_or(BACKOFF_MAX)).await {
                return;
            }
        }
    }

    fn registered(&self, reply: &pb::RegisterEdgeReply) {
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .saw_index(reply.catalog_index);
        if reply.tester_token_secret.is_empty() {
            tracing::warn!(
                "the control plane sent no tester-token secret; beta channels stay closed"
            );
            return;
        }
        match TokenKey::new(&reply.tester_token_secret) {
            Ok(key) => self.hold_secret(
                key,
                &reply.tester_token_secret,
                reply.tester_token_generation,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "unusable tester-token secret; beta channels stay closed")
            }
        }
    }

    /// Sends heartbeats every lease / 3 until the control plane forgets the edge (false when
    /// stopped instead); fetches the tester token secret whenever it is stale.
    async fn heartbeats(&self, mut lease: Duration, stop: &Stop) -> bool {
        loop {
            tokio::select! {
                () = stop.stopped() => return false,
                () = tokio::time::sleep(lease / 3) => {}
                () = self.secret.stale() => {
                    if !self.refresh_secret(stop).await {
                        return false;
                    }
                    continue;
                }
            }
            let request = self.heartbeat();
            let sent = tokio::select! {
                () = stop.stopped() => return false,
                r = self.client.heartbeat(request) => r,
            };
            match sent {
                Ok(reply) => lease = self::lease(reply.lease_ms),
                Err(status) if status.code() == Code::NotFound => {
                    tracing::info!("the control plane forgot this edge; registering again");
                    return true;
                }
                Err(status) => tracing::warn!(error = %status, "heartbeat failed"),
            }
        }
    }

    /// Fetches the secret in force (false when stopped first). A failure waits a second
    /// before the next try; the beta channels stay closed meanwhile.
    async fn refresh_secret(&self, stop: &Stop) -> bool {
        let request = pb::TokenSecretRequest {
            edge_id: self.info.edge_id.clone(),
        };
        let fetched = tokio::select! {
            () = stop.stopped() => return false,
            r = self.client.token_secret(request) => r,
        };
        match fetched.map(|r| {
            (
                TokenKey::new(&r.tester_token_secret),
                r.tester_token_generation,
                r.tester_token_secret,
            )
        }) {
            Ok((Ok(key), generation, raw)) => {
                self.hold_secret(key, &raw, generation);
                tracing::info!(
                    generation,
                    "the tester token secret was rotated; fetched the new one"
                );
                true
            }
            Ok((Err(e), _, _)) => {
                tracing::warn!(error = %e, "unusable tester-token secret; beta channels stay closed");
                stop.sleep(Duration::from_secs(1)).await
            }
            Err(status) => {
                tracing::warn!(error = %status, "cannot fetch the rotated tester-token secret; retrying");
                stop.sleep(Duration::from_secs(1)).await
            }
        }
    }

    /// Holds the secret in force and saves it for the next start.
    fn hold_secret(&self, key: TokenKey, raw: &[u8], generation: u64) {
        self.secret.set(key, generation);
        if let Some(saved) = &self.saved {
            let saved = saved.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = saved.save_secret(raw, generation) {
                tracing::warn!(error = %e, "cannot save the tester-token secret for the next start");
            }
        }
    }

    fn heartbeat(&self) -> pb::HeartbeatRequest {
        let (applied_index, versions) = {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            (state.applied_index(), state.served_versions())
        };
        let cache = self.chunks.cache();
        let ready = versions
            .iter()
            .filter(|v| {
                v.chunk_list.chunks().iter().all(|c| {
                    let r = cache.residence(&c.id);
                    r.memory || r.disk
                })
            })
            .map(|v| pb::VersionRef {
                pack_id: v.pack.to_string(),
                version: v.number,
            })
            .collect();
        pb::HeartbeatRequest {
            edge_id: self.info.edge_id.clone(),
            applied_index,
            cached_bytes: cache.memory_bytes() + cache.disk_bytes(),
            ready,
            served: self
                .served
                .snapshot()
                .into_iter()
                .map(|s| pb::VersionServed {
                    version: Some(pb::VersionRef {
                        pack_id: s.pack_id,
                        version: s.number,
                    }),
                    devices: s.devices,
                    requests: s.requests,
                })
                .collect(),
        }
    }
}

fn lease(ms: u32) -> Duration {
    if ms == 0 {
        DEFAULT_LEASE
    } else {
        Duration::from_millis(u64::from(ms))
    }
}
