//! The chunk service over real gRPC on 127.0.0.1: `Have` and `Fetch` round trips, multi-frame
//! chunks reassembled and verified, missing and corrupt chunks, refused ids, a slow receiver
//! holding back the reads and a receiver that leaves stopping them.

// Test helpers outside `#[test]` functions: a failed setup step should fail the test at once.
#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use packyard_chunk_store::{
    ChunkIds, ChunkMeta, ChunkStats, ChunkStore, DiskChunkStore, MemoryChunkStore, Put, Result,
};
use packyard_core::chunk_list::Blake3Hash;
use packyard_net::cluster::NodeRole;
use packyard_net::cluster::test_support::{TestPki, listen};
use packyard_net::eventually::eventually;
use packyard_origin::{ChunkService, ChunkServiceConfig};
use packyard_proto::chunks::v1::chunk_store_client::ChunkStoreClient;
use packyard_proto::chunks::v1::chunk_store_server::{self, ChunkStoreServer};
use packyard_proto::chunks::v1::{ChunkFrame, FetchRequest, HaveReply, HaveRequest};
use tokio_stream::Stream;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};

type Client = ChunkStoreClient<Channel>;

/// Serves `store` on a fresh loopback port, over the cluster's mutual TLS; returns a client
/// with an edge's certificate.
async fn serve<S: ChunkStore + 'static>(store: Arc<S>, config: ChunkServiceConfig) -> Client {
    let service = ChunkService::new(store, config).unwrap();
    let pki = TestPki::new();
    let (addr, incoming) = listen(pki.node(NodeRole::Origin, "1")).await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service.into_server())
            .serve_with_incoming(incoming),
    );
    let channel = pki
        .node(NodeRole::Edge, "eu-1")
        .channel(&addr, NodeRole::Origin)
        .unwrap();
    ChunkStoreClient::new(channel)
}

/// Deterministic bytes that differ per seed.
fn bytes(seed: u8, len: usize) -> Vec<u8> {
    let mut x = u32::from(seed) + 1;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x.to_le_bytes()[3]
        })
        .collect()
}

fn put(store: &impl ChunkStore, seed: u8, len: usize) -> (Blake3Hash, Vec<u8>) {
    let data = bytes(seed, len);
    let id = Blake3Hash::of(&data);
    store.put(&id, &data).unwrap();
    (id, data)
}

fn wire(ids: &[Blake3Hash]) -> Vec<Vec<u8>> {
    ids.iter().map(|id| id.as_bytes().to_vec()).collect()
}

async fn fetch(client: &mut Client, ids: &[Blake3Hash]) -> Streaming<ChunkFrame> {
    let request = FetchRequest { ids: wire(ids) };
    client.fetch(request).await.unwrap().into_inner()
}

/// A fetched chunk: its id and bytes as reassembled from its frames, or `None` if missing.
type Received = (Blake3Hash, Option<Vec<u8>>);

/// Reads one chunk's frames, checking their order and size.
async fn next_chunk(stream: &mut Streaming<ChunkFrame>) -> Received {
    let mut data = Vec::new();
    loop {
        let frame = stream.message().await.unwrap().expect("another frame");
        let id = Blake3Hash::from_bytes(frame.id.as_slice().try_into().unwrap());
        if frame.missing {
            assert!(frame.data.is_empty() && frame.last && data.is_empty());
            return (id, None);
        }
        assert_eq!(frame.offset as usize, data.len(), "frames arrive in order");
        assert!(frame.data.len() <= 1 << 20, "a frame holds at most 1 MiB");
        data.extend_from_slice(&frame.data);
        if frame.last {
            return (id, Some(data));
        }
    }
}

#[tokio::test]
async fn have_and_fetch_round_trip_a_multi_frame_chunk() {
    let store = Arc::new(MemoryChunkStore::new());
    let (big, big_bytes) = put(&*store, 1, 3_670_016); // 3.5 MiB: four frames
    let (small, small_bytes) = put(&*store, 2, 1_000);
    let absent = Blake3Hash::of(b"never stored");
    let mut client = serve(store, ChunkServiceConfig::default()).await;

    let have = client
        .have(HaveRequest {
            ids: wire(&[big, absent, small]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(have.present, vec![true, false, true]);

    let mut stream = fetch(&mut client, &[small, big]).await;
    assert_eq!(next_chunk(&mut stream).await, (small, Some(small_bytes)));

    let mut frames = Vec::new();
    while let Some(frame) = stream.message().await.unwrap() {
        frames.push(frame);
    }
    let shape: Vec<_> = frames
        .iter()
        .map(|f| (f.offset, f.data.len(), f.last))
        .collect();
    let mib = 1usize << 20;
    assert_eq!(
        shape,
        vec![
            (0, mib, false),
            (1 << 20, mib, false),
            (2 << 20, mib, false),
            (3 << 20, mib / 2, true)
        ]
    );
    let reassembled: Vec<u8> = frames.iter().flat_map(|f| f.data.iter().copied()).collect();
    assert_eq!(Blake3Hash::of(&reassembled), big);
    assert_eq!(reassembled, big_bytes);
}

#[tokio::test]
async fn missing_chunks_are_reported_in_request_order() {
    let store = Arc::new(MemoryChunkStore::new());
    let (a, a_bytes) = put(&*store, 3, 10);
    let gone = Blake3Hash::of(b"gone");
    let also_gone = Blake3Hash::of(b"also gone");
    let mut client = serve(store, ChunkServiceConfig::default()).await;

    let mut stream = fetch(&mut client, &[gone, a, also_gone, a]).await;
    assert_eq!(next_chunk(&mut stream).await, (gone, None));
    assert_eq!(next_chunk(&mut stream).await, (a, Some(a_bytes.clone())));
    assert_eq!(next_chunk(&mut stream).await, (also_gone, None));
    assert_eq!(next_chunk(&mut stream).await, (a, Some(a_bytes)));
    assert!(stream.message().await.unwrap().is_none());

    let empty = fetch(&mut client, &[]).await.message().await.unwrap();
    assert!(empty.is_none(), "an empty request is an empty stream");
}

#[tokio::test]
async fn ids_that_are_not_32_bytes_or_too_many_are_refused() {
    let config = ChunkServiceConfig {
        max_fetch_ids: 8,
        ..ChunkServiceConfig::default()
    };
    let mut client = serve(Arc::new(MemoryChunkStore::new()), config).await;
    let good = vec![0u8; 32];

    let e = client
        .have(HaveRequest {
            ids: vec![good.clone(), vec![0; 31]],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("ids[1]: is 31 bytes"),
        "{}",
        e.message()
    );

    let e = client
        .have(HaveRequest {
            ids: vec![good.clone(); 4097],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("4097 ids"), "{}", e.message());
    let at_limit = HaveRequest {
        ids: vec![good.clone(); 4096],
    };
    assert_eq!(
        client
            .have(at_limit)
            .await
            .unwrap()
            .into_inner()
            .present
            .len(),
        4096
    );

    let e = client
        .fetch(FetchRequest {
            ids: vec![vec![0; 64]],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("ids[0]: is 64 bytes"),
        "{}",
        e.message()
    );

    let e = client
        .fetch(FetchRequest { ids: vec![good; 9] })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("9 ids"), "{}", e.message());
}

#[tokio::test]
async fn a_corrupt_chunk_on_disk_is_reported_missing_and_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskChunkStore::open(dir.path()).unwrap());
    let (bad, _) = put(&*store, 4, 50_000);
    let (good, good_bytes) = put(&*store, 5, 50_000);
    let path = store.path_of(&bad);
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[100] ^= 0x80;
    std::fs::write(&path, on_disk).unwrap();
    let mut client = serve(store.clone(), ChunkServiceConfig::default()).await;

    let mut stream = fetch(&mut client, &[bad, good]).await;
    assert_eq!(next_chunk(&mut stream).await, (bad, None));
    assert_eq!(next_chunk(&mut stream).await, (good, Some(good_bytes)));
    assert!(stream.message().await.unwrap().is_none());
    assert!(!path.exists(), "the corrupt chunk was removed");
    assert_eq!(store.stats().unwrap().corrupt_found, 1);
    let have = client
        .have(HaveRequest { ids: wire(&[bad]) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(have.present, vec![false]);
}

/// A store that counts the chunks read from it, and reads only as many as the test allows
/// (all of them unless the test says otherwise): a read past the allowance waits.
struct GatedStore {
    inner: MemoryChunkStore,
    gate: Mutex<Gate>,
    opened: Condvar,
}

#[derive(Default)]
struct Gate {
    reads: usize,
    allowed: usize,
}

impl Default for GatedStore {
    fn default() -> Self {
        Self {
            inner: MemoryChunkStore::new(),
            gate: Mutex::new(Gate {
                reads: 0,
                allowed: usize::MAX,
            }),
            opened: Condvar::new(),
        }
    }
}

impl GatedStore {
    /// Lets `n` reads in all through.
    fn allow(&self, n: usize) {
        self.gate.lock().unwrap().allowed = n;
        self.opened.notify_all();
    }

    /// The reads made so far.
    fn reads(&self) -> usize {
        self.gate.lock().unwrap().reads
    }
}

impl ChunkStore for GatedStore {
    fn contains(&self, id: &Blake3Hash) -> Result<bool> {
        self.inner.contains(id)
    }
    fn get(&self, id: &Blake3Hash) -> Result<Option<Bytes>> {
        let mut gate = self.gate.lock().unwrap();
        // Never for ever: a test that failed part-way must not hang the runtime's shutdown.
        let give_up = Instant::now() + Duration::from_secs(60);
        while gate.reads >= gate.allowed && Instant::now() < give_up {
            gate = self
                .opened
                .wait_timeout(gate, Duration::from_millis(100))
                .unwrap()
                .0;
        }
        gate.reads += 1;
        drop(gate);
        self.inner.get(id)
    }
    fn put(&self, id: &Blake3Hash, bytes: &[u8]) -> Result<Put> {
        self.inner.put(id, bytes)
    }
    fn remove(&self, id: &Blake3Hash) -> Result<bool> {
        self.inner.remove(id)
    }
    fn remove_if_written_before(&self, id: &Blake3Hash, cutoff: SystemTime) -> Result<bool> {
        self.inner.remove_if_written_before(id, cutoff)
    }
    fn meta(&self, id: &Blake3Hash) -> Result<Option<ChunkMeta>> {
        self.inner.meta(id)
    }
    fn ids(&self) -> Result<ChunkIds<'_>> {
        self.inner.ids()
    }
    fn stats(&self) -> Result<ChunkStats> {
        self.inner.stats()
    }
}

/// The reads the server made once the fetches it served have ended: a fetch's task holds a
/// clone of the store while it runs, so they have ended when only the test and the service
/// hold it again. Nothing reads after that.
async fn reads_once_the_fetches_ended(store: &Arc<GatedStore>) -> usize {
    // The test's and the service's.
    eventually(
        "the fetch ends once its receiver left",
        PATIENCE,
        || async { Arc::strong_count(store) <= 2 },
    )
    .await;
    store.reads()
}

/// Waits until the store was read `n` times.
async fn reads_reach(store: &GatedStore, n: usize) {
    eventually(format!("{n} reads"), PATIENCE, || async {
        let reads = store.reads();
        if reads >= n {
            Ok(())
        } else {
            Err(format!("{reads} reads"))
        }
    })
    .await;
}

#[tokio::test]
async fn a_slow_receiver_holds_back_the_reads_from_the_store() {
    let store = Arc::new(GatedStore::default());
    let (id, data) = put(&store.inner, 6, 1 << 20);
    let config = ChunkServiceConfig {
        frame_buffer: 2,
        ..ChunkServiceConfig::default()
    };
    let mut client = serve(store.clone(), config).await;

    // 64 MiB requested; the receiver takes one chunk and stops.
    let mut stream = fetch(&mut client, &[id; 64]).await;
    assert_eq!(next_chunk(&mut stream).await, (id, Some(data.clone())));
    // The server reads ahead into the frames it may hold for the receiver...
    reads_reach(&store, 3).await;
    let mut rest = fetch(&mut client, &[id; 64]).await;
    // ...and no further: while that receiver keeps still, a second fetch runs to the end
    // beside it, and when the first leaves, its reads stop where they were.
    let mut received = 0;
    while rest.message().await.unwrap().is_some() {
        received += 1;
    }
    assert_eq!(received, 64);
    drop(stream);
    let reads = reads_once_the_fetches_ended(&store).await - 64;
    // One chunk delivered, two frames in the channel, one chunk waiting to be queued, and
    // what the HTTP/2 windows and the codec buffers hold: a handful, never the whole request.
    assert!(
        reads <= 10,
        "{reads} of 64 chunks read ahead of a receiver that took one"
    );
}

#[tokio::test]
async fn a_receiver_that_leaves_stops_the_reads() {
    let store = Arc::new(GatedStore::default());
    let (id, data) = put(&store.inner, 7, 1 << 20);
    // Room for every frame asked for, so only the receiver leaving can stop the reads; and
    // one read allowed until it has left, so none are made ahead of it.
    let config = ChunkServiceConfig {
        frame_buffer: 64,
        ..ChunkServiceConfig::default()
    };
    let (mut client, left) = serve_noticing(store.clone(), config).await;
    store.allow(1);

    let mut stream = fetch(&mut client, &[id; 64]).await;
    assert_eq!(next_chunk(&mut stream).await, (id, Some(data)));
    drop(stream);
    eventually("the service sees its receiver leave", PATIENCE, || async {
        left.load(Ordering::SeqCst)
    })
    .await;
    // From now on the store would hand over all 64 chunks at once: the fetch stops by itself.
    store.allow(usize::MAX);
    let reads = reads_once_the_fetches_ended(&store).await;
    // The chunk delivered, and at most the one whose read was under way when it left.
    assert!(
        reads <= 2,
        "{reads} of 64 chunks read for a receiver that left after one"
    );
}

/// A wait in these tests fails after this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// [`serve`], with a flag the service sets once it has let go of a `Fetch` stream (its frames
/// and the channel behind them dropped): the receiver has left, as far as it knows.
async fn serve_noticing<S: ChunkStore + 'static>(
    store: Arc<S>,
    config: ChunkServiceConfig,
) -> (Client, Arc<AtomicBool>) {
    let left = Arc::new(AtomicBool::new(false));
    let service = Noticing {
        inner: ChunkService::new(store, config).unwrap(),
        left: left.clone(),
    };
    let pki = TestPki::new();
    let (addr, incoming) = listen(pki.node(NodeRole::Origin, "1")).await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ChunkStoreServer::new(service))
            .serve_with_incoming(incoming),
    );
    let channel = pki
        .node(NodeRole::Edge, "eu-1")
        .channel(&addr, NodeRole::Origin)
        .unwrap();
    (ChunkStoreClient::new(channel), left)
}

/// The chunk service, each `Fetch` stream wrapped to say when it is dropped.
struct Noticing<S> {
    inner: ChunkService<S>,
    left: Arc<AtomicBool>,
}

#[tonic::async_trait]
impl<S: ChunkStore + 'static> chunk_store_server::ChunkStore for Noticing<S> {
    async fn have(&self, request: Request<HaveRequest>) -> Result<Response<HaveReply>, Status> {
        chunk_store_server::ChunkStore::have(&self.inner, request).await
    }

    type FetchStream = Pin<Box<dyn Stream<Item = Result<ChunkFrame, Status>> + Send>>;

    async fn fetch(
        &self,
        request: Request<FetchRequest>,
    ) -> Result<Response<Self::FetchStream>, Status> {
        let frames = chunk_store_server::ChunkStore::fetch(&self.inner, request)
            .await?
            .into_inner();
        let left = SetOnDrop(self.left.clone());
        Ok(Response::new(Box::pin(Watched {
            frames,
            _left: left,
        })))
    }
}

/// A stream that sets its flag once dropped. Fields drop in order: the frames (and the
/// channel's receiving end) first, then the flag.
struct Watched<F> {
    frames: F,
    _left: SetOnDrop,
}

impl<F: Stream + Unpin> Stream for Watched<F> {
    type Item = F::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Item>> {
        Pin::new(&mut self.frames).poll_next(cx)
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
