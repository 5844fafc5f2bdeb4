//! [`Registration`]: the edge announces itself to the control plane, learns the public keys
//! tester tokens are checked with, and sends a heartbeat every lease / 3.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use packyard_catalog_client::{CatalogClient, Stop};
use packyard_core::tester_token::{Claims, TokenError, TokenVerifier};
use packyard_proto::catalog::v1 as pb;
use quick_cache::sync::Cache;
use tonic::Code;

use super::{Chunks, SavedState};
use crate::served::ServedCounter;
use crate::state::ServingState;

/// The lease assumed when the control plane names none.
const DEFAULT_LEASE: Duration = Duration::from_secs(15);
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// The public keys tester tokens are checked with, once the control plane has handed them
/// over, with the generation of the key that signed last. Until then every beta request is
/// refused (503); the store channel needs no key. When the watch stream says a newer key
/// signs now, the keys held go on checking the tokens they signed while the registration
/// fetches the new set ([`TokenKeys::expect`]), so a rotation closes nothing. Each token is
/// verified once and its claims kept ([`TokenKeys::claims`]).
#[derive(Debug, Clone)]
pub struct TokenKeys(Arc<KeysInner>);

#[derive(Debug)]
struct KeysInner {
    held: RwLock<Option<(Arc<TokenVerifier>, u64)>>,
    /// The newest generation the edge has heard of.
    wanted: AtomicU64,
    /// Woken when the keys held are older than the ones wanted.
    stale: Notify,
    /// Tokens verified with the keys held, and what they claim; emptied when the keys change.
    verified: Cache<String, Claims>,
}

/// How many verified tokens an edge keeps: a token is a few hundred bytes.
const VERIFIED_TOKENS: usize = 100_000;

impl Default for TokenKeys {
    fn default() -> Self {
        Self(Arc::new(KeysInner {
            held: RwLock::new(None),
            wanted: AtomicU64::new(0),
            stale: Notify::new(),
            verified: Cache::new(VERIFIED_TOKENS),
        }))
    }
}

/// Why a token's claims cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimsError {
    /// The edge holds no keys yet, or not the newer one that signed the token.
    NotYet(String),
    /// The token proves nothing.
    Token(TokenError),
}

impl TokenKeys {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys known from the start (tests).
    pub fn with_verifier(verifier: TokenVerifier) -> Self {
        let s = Self::new();
        let generation = verifier.newest_generation();
        s.set(verifier, generation);
        s
    }

    /// Holds `verifier`, whose newest key is of `generation`.
    pub fn set(&self, verifier: TokenVerifier, generation: u64) {
        *self.0.held.write().unwrap_or_else(PoisonError::into_inner) =
            Some((Arc::new(verifier), generation));
        // A key retired with the rotation must not open what it verified before.
        self.0.verified.clear();
    }

    /// The keys, if any are held.
    pub fn get(&self) -> Option<Arc<TokenVerifier>> {
        let held = self.0.held.read().unwrap_or_else(PoisonError::into_inner);
        held.as_ref().map(|(keys, _)| Arc::clone(keys))
    }

    /// What `token` claims, if one of the keys held signed it: verified once, then kept.
    pub fn claims(&self, token: &str) -> Result<Claims, ClaimsError> {
        if let Some(claims) = self.0.verified.get(token) {
            return Ok(claims);
        }
        let keys = self.get().ok_or_else(|| {
            ClaimsError::NotYet(
                "this edge cannot check tester tokens yet (not registered with the control plane)"
                    .into(),
            )
        })?;
        match keys.verify_signature(token) {
            Ok(claims) => {
                self.0.verified.insert(token.to_owned(), claims.clone());
                Ok(claims)
            }
            Err(TokenError::UnknownKey(g)) if g > keys.newest_generation() => {
                self.expect(g);
                Err(ClaimsError::NotYet(format!(
                    "this tester token is signed with key {g}, which this edge is still \
                     fetching; retry shortly"
                )))
            }
            Err(e) => Err(ClaimsError::Token(e)),
        }
    }

    /// The cluster's key is of `generation` now: the registration fetches the public keys
    /// if the ones held are older.
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

    /// Resolves once the keys held are older than the newest generation heard of.
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
    /// Where the tester-token keys go.
    pub secret: TokenKeys,
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
        let mut failures = 0;
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
                    failures = 0;
                    self.registered(&reply);
                    let lease = lease(reply.lease_ms);
                    tracing::info!(
                        edge = %self.info.edge_id,
                        lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX),
                        "registered with the control plane"
                    );
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
                    failures += 1;
                    packyard_catalog_client::report_retry(
                        "cannot register with the control plane",
                        &status,
                        failures,
                    );
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
        match TokenVerifier::from_bytes(&reply.tester_token_keys) {
            Some(keys) => self.hold_keys(
                keys,
                &reply.tester_token_keys,
                reply.tester_token_generation,
            ),
            None => tracing::warn!(
                "the control plane sent no usable tester-token keys; beta channels stay closed"
            ),
        }
    }

    /// Sends heartbeats every lease / 3 until the control plane forgets the edge (false when
    /// stopped instead); fetches the tester token keys whenever a newer one signs.
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

    /// Fetches the public keys in force (false when stopped first). A failure waits a second
    /// before the next try; the keys held go on checking the tokens they signed meanwhile.
    async fn refresh_secret(&self, stop: &Stop) -> bool {
        let request = pb::TokenSecretRequest {
            edge_id: self.info.edge_id.clone(),
        };
        let fetched = tokio::select! {
            () = stop.stopped() => return false,
            r = self.client.token_secret(request) => r,
        };
        match fetched {
            Ok(reply) => match TokenVerifier::from_bytes(&reply.tester_token_keys) {
                Some(keys) => {
                    self.hold_keys(
                        keys,
                        &reply.tester_token_keys,
                        reply.tester_token_generation,
                    );
                    tracing::info!(
                        generation = reply.tester_token_generation,
                        "the tester token key was rotated; fetched the public keys"
                    );
                    true
                }
                None => {
                    tracing::warn!("unusable tester-token keys; retrying");
                    stop.sleep(Duration::from_secs(1)).await
                }
            },
            Err(status) => {
                tracing::warn!(error = %status, "cannot fetch the rotated tester-token keys; retrying");
                stop.sleep(Duration::from_secs(1)).await
            }
        }
    }

    /// Holds the keys in force and saves them for the next start.
    fn hold_keys(&self, keys: TokenVerifier, raw: &[u8], generation: u64) {
        self.secret.set(keys, generation);
        if let Some(saved) = &self.saved {
            let saved = saved.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = saved.save_secret(raw, generation) {
                tracing::warn!(error = %e, "cannot save the tester-token keys for the next start");
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
