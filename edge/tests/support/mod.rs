//! An edge on 127.0.0.1 over a state filled by hand and a chunk source the test controls,
//! and the archives it serves.

#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use packyard_net::node::Clock;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusBuilder;
use packyard_core::device_manifest::ManifestPolicy;
use packyard_core::http_range::RangeLimits;
use packyard_core::tester_token::{BetaChannel, Claims, TokenSigner, TokenVerifier};
use packyard_core::{Blake3Hash, ChunkList, ChunkRef};
use packyard_edge::cache::{CacheConfig, CacheCounters, ChunkCache, DiskConfig};
use packyard_edge::http::{EdgeService, HttpLimits, ServeSettings, serve};
use packyard_edge::metrics::EdgeMetrics;
use packyard_edge::state::ServingState;
use packyard_edge::sync::{ChunkSource, Chunks, FetchError, FetchFuture, TokenKeys};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use packyard_proto::catalog::v1::watch_event::Body;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const APP: &str = "app1";
pub const SEED: [u8; 32] = *b"edge-test-seed-0123456789abcdef-";
/// The longest token lifetime the test edge accepts: a day.
pub const MAX_TOKEN_LIFETIME: u64 = 86_400;

/// The cluster's signing key in these tests (generation 1).
pub fn signer() -> TokenSigner {
    TokenSigner::from_seed(1, &SEED)
}
pub const EAGER: &str = r#"{"prefetch":{"installationEventTypes":["firstInstallation"]}}"#;
pub const LAZY: &str = r#"{"onDemand":{}}"#;

/// An archive cut into chunks of varying sizes (`piece` to `2 * piece` bytes).
#[derive(Clone)]
pub struct Archive {
    pub bytes: Vec<u8>,
    pub list: ChunkList,
    pub chunks: HashMap<Blake3Hash, Bytes>,
}

impl Archive {
    pub fn new(len: usize, seed: u64, piece: usize) -> Self {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        let mut refs = Vec::new();
        let mut chunks = HashMap::new();
        let mut at = 0;
        let mut i = 0;
        while at < len {
            let size = (piece + (i * 37) % piece).min(len - at);
            let chunk = &bytes[at..at + size];
            let id = Blake3Hash::of(chunk);
            refs.push(ChunkRef {
                id,
                len: u32::try_from(size).unwrap(),
            });
            chunks.insert(id, Bytes::copy_from_slice(chunk));
            at += size;
            i += 1;
        }
        let list = ChunkList::new(Blake3Hash::of(&bytes), refs).unwrap();
        Self {
            bytes,
            list,
            chunks,
        }
    }

    /// The watch-stream message announcing this archive as `pack` version `n`.
    pub fn completed(&self, pack: &str, ident: &str, n: u32, policy: &str) -> pb::VersionCompleted {
        let version = packyard_core::catalog::CompletedVersion {
            app: APP.into(),
            pack: pack.into(),
            identifier: packyard_core::AssetPackIdentifier::parse(ident).expect("an identifier"),
            number: n,
            size: self.bytes.len() as u64,
            chunk_list: self.list.clone(),
            metadata: packyard_core::catalog::VersionMetadata {
                download_policy: serde_json::from_str(policy).expect("a download policy"),
                platforms: [packyard_core::Platform::Ios].into(),
                language: None,
            },
        };
        pb::VersionCompleted::from(&version)
    }

    pub fn etag(&self) -> String {
        self.list.etag()
    }
}

pub fn channel(pack: &str, channel: pb::Channel, version: u32) -> Change {
    Change::ChannelUpdated(pb::ChannelUpdated {
        app_id: APP.into(),
        pack_id: pack.into(),
        channel: channel.into(),
        version,
    })
}

pub fn app_change() -> Change {
    Change::App(pb::App {
        app_id: APP.into(),
        primary_language: "en-US".into(),
    })
}

pub fn changes(index: u64, items: Vec<Change>) -> pb::WatchEvent {
    pb::WatchEvent {
        index,
        body: Some(Body::Changes(pb::Changes {
            items: items
                .into_iter()
                .map(|c| pb::Change { change: Some(c) })
                .collect(),
        })),
    }
}

/// An empty snapshot, so the state counts as synced.
pub fn empty_snapshot() -> pb::WatchEvent {
    pb::WatchEvent {
        index: 1,
        body: Some(Body::Snapshot(pb::Snapshot::default())),
    }
}

/// Chunks from memory, each fetch counted.
#[derive(Default)]
pub struct MemorySource {
    pub chunks: Mutex<HashMap<Blake3Hash, Bytes>>,
    pub fetches: Mutex<HashMap<Blake3Hash, usize>>,
}

impl MemorySource {
    pub fn with(archives: &[&Archive]) -> Arc<Self> {
        let s = Self::default();
        for a in archives {
            s.chunks.lock().unwrap().extend(a.chunks.clone());
        }
        Arc::new(s)
    }

    pub fn total_fetches(&self) -> usize {
        self.fetches.lock().unwrap().values().sum()
    }
}

impl ChunkSource for MemorySource {
    fn fetch(&self, id: Blake3Hash) -> FetchFuture {
        *self.fetches.lock().unwrap().entry(id).or_default() += 1;
        let found = self.chunks.lock().unwrap().get(&id).cloned();
        Box::pin(async move { found.ok_or(FetchError::Missing(id)) })
    }
}

/// A token for `app`'s `channel` that expires in `ttl` seconds (or expired, with `ttl`
/// negative), issued an hour before it expires.
pub fn token(app: &str, channel: BetaChannel, ttl: i64) -> String {
    signed(&signer(), "tt-test", app, channel, ttl, 3_600)
}

/// A token `jti` signed by `signer`, expiring in `ttl` seconds, `lifetime` seconds after it
/// was issued.
pub fn signed(
    signer: &TokenSigner,
    jti: &str,
    app: &str,
    channel: BetaChannel,
    ttl: i64,
    lifetime: u64,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = now.checked_add_signed(ttl).unwrap();
    signer.sign(&Claims {
        jti: jti.into(),
        app: app.into(),
        channel,
        iat: exp - lifetime,
        exp,
    })
}

/// An edge serving on 127.0.0.1.
pub struct TestEdge {
    pub url: String,
    pub state: Arc<RwLock<ServingState>>,
    pub cache: ChunkCache,
    pub metrics: EdgeMetrics,
    _stop: oneshot::Sender<()>,
}

impl TestEdge {
    /// Starts an edge over `source`, with a disk tier in `disk` if given, after applying
    /// `events` to its state.
    pub async fn start(
        events: &[pb::WatchEvent],
        source: Arc<dyn ChunkSource>,
        disk: Option<&Path>,
    ) -> Self {
        Self::start_with_clock(events, source, disk, Clock::System).await
    }

    /// [`start`](Self::start) on `clock`: the time the edge checks token expiry by.
    pub async fn start_with_clock(
        events: &[pb::WatchEvent],
        source: Arc<dyn ChunkSource>,
        disk: Option<&Path>,
        clock: Clock,
    ) -> Self {
        let counters = Arc::new(CacheCounters::new());
        let config = CacheConfig {
            memory_bytes: 64 << 20,
            disk: disk.map(|root| DiskConfig {
                root: root.to_path_buf(),
                bytes: 64 << 20,
            }),
        };
        let cache = ChunkCache::open(&config, Arc::clone(&counters)).unwrap();
        let metrics = metrics(counters);
        let mut state = ServingState::new();
        for e in events {
            state.apply(e);
        }
        let state = Arc::new(RwLock::new(state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let service = Arc::new(EdgeService {
            state: Arc::clone(&state),
            chunks: Chunks::new(cache.clone(), source, metrics.clone()),
            secret: TokenKeys::with_verifier(TokenVerifier::new(&[signer().public_key()])),
            metrics: metrics.clone(),
            served: packyard_edge::served::ServedCounter::new(),
            access_log: None,
            settings: ServeSettings {
                metrics_on_device_port: true,
                max_token_lifetime_secs: MAX_TOKEN_LIFETIME,
                public_urls: vec![url.clone()],
                range_limits: RangeLimits::default(),
                manifest_policy: ManifestPolicy::default(),
                clock,
            },
        });
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(
            listener,
            None,
            service,
            HttpLimits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            url,
            state,
            cache,
            metrics,
            _stop: stop,
        }
    }

    pub fn apply(&self, event: &pb::WatchEvent) {
        self.state.write().unwrap().apply(event);
    }
}

/// Metrics rendered by their own recorder, not the process's.
pub fn metrics(counters: Arc<CacheCounters>) -> EdgeMetrics {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    EdgeMetrics::new(
        Arc::new(recorder),
        Arc::new(move || handle.render()),
        counters,
    )
}

/// Chunks in a memory-only cache, filled from `source`.
pub fn memory_chunks(source: Arc<dyn ChunkSource>) -> Chunks {
    let counters = Arc::new(CacheCounters::new());
    let config = CacheConfig {
        memory_bytes: 16 << 20,
        disk: None,
    };
    let cache = ChunkCache::open(&config, Arc::clone(&counters)).unwrap();
    Chunks::new(cache, source, metrics(counters))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

pub fn h2_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}
