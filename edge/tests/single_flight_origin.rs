//! 1,000 concurrent requests for a pack the edge has never seen cause exactly one origin
//! fetch per chunk: the requests share the cache's single-flight fills, through the real
//! `ChunkStore.Fetch` client.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use packyard_chunk_store::{ChunkStore, MemoryChunkStore};
use packyard_core::Blake3Hash;
use packyard_edge::sync::OriginFetcher;
use packyard_net::cluster::NodeRole;
use packyard_net::cluster::test_support::{TestPki, listen};
use packyard_proto::catalog::v1 as pb;
use packyard_proto::catalog::v1::change::Change;
use packyard_proto::chunks::v1 as chunks_pb;
use packyard_proto::chunks::v1::chunk_store_server::{
    ChunkStore as ChunkStoreRpc, ChunkStoreServer,
};
use support::{Archive, LAZY, TestEdge, app_change, changes, channel};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// An origin's chunk service over a memory store that counts `Fetch` requests per chunk and
/// answers slowly, so that requests for the same chunk overlap.
struct CountingOrigin {
    store: MemoryChunkStore,
    fetches: Arc<Mutex<HashMap<Blake3Hash, usize>>>,
}

type FrameStream = Pin<Box<dyn Stream<Item = Result<chunks_pb::ChunkFrame, Status>> + Send>>;

#[tonic::async_trait]
impl ChunkStoreRpc for CountingOrigin {
    async fn have(
        &self,
        request: Request<chunks_pb::HaveRequest>,
    ) -> Result<Response<chunks_pb::HaveReply>, Status> {
        let present = request
            .into_inner()
            .ids
            .iter()
            .map(|id| {
                let id = Blake3Hash::from_bytes(id.as_slice().try_into().unwrap());
                self.store.contains(&id).unwrap()
            })
            .collect();
        Ok(Response::new(chunks_pb::HaveReply { present }))
    }

    type FetchStream = FrameStream;

    async fn fetch(
        &self,
        request: Request<chunks_pb::FetchRequest>,
    ) -> Result<Response<FrameStream>, Status> {
        let mut frames = Vec::new();
        for raw in request.into_inner().ids {
            let id = Blake3Hash::from_bytes(raw.as_slice().try_into().unwrap());
            *self.fetches.lock().unwrap().entry(id).or_default() += 1;
            let bytes = self.store.get(&id).unwrap().unwrap_or_default();
            // Two frames per chunk, to exercise reassembly.
            let half = bytes.len() / 2;
            for (offset, data, last) in [
                (0, bytes.slice(..half), false),
                (half, bytes.slice(half..), true),
            ] {
                frames.push(Ok(chunks_pb::ChunkFrame {
                    id: raw.clone(),
                    offset: u32::try_from(offset).unwrap(),
                    data,
                    last,
                    missing: false,
                }));
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(Response::new(Box::pin(tokio_stream::iter(frames))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_fetch_each_chunk_from_the_origin_once() {
    let archive = Archive::new(64_000, 11, 4 << 10);
    let store = MemoryChunkStore::new();
    for (id, bytes) in &archive.chunks {
        store.put(id, bytes).unwrap();
    }
    let fetches = Arc::new(Mutex::new(HashMap::new()));
    let origin = CountingOrigin {
        store,
        fetches: Arc::clone(&fetches),
    };
    let pki = TestPki::new();
    let (origin_addr, incoming) = listen(pki.node(NodeRole::Origin, "1")).await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ChunkStoreServer::new(origin))
            .serve_with_incoming(incoming),
    );

    let events = [
        support::empty_snapshot(),
        changes(
            2,
            vec![
                app_change(),
                Change::VersionCompleted(archive.completed("p1", "level-1", 1, LAZY)),
                channel("p1", pb::Channel::Store, 1),
            ],
        ),
    ];
    let edge_tls = pki.node(NodeRole::Edge, "eu-1");
    let fetcher = Arc::new(
        OriginFetcher::connect(
            &edge_tls,
            &packyard_net::cluster::Addresses::one(&origin_addr),
        )
        .unwrap(),
    );
    let edge = TestEdge::start(&events, fetcher, None).await;
    let url = format!("{}/apps/app1/store/level-1", edge.url);
    let client = support::h2_client();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK);
            r.bytes().await.unwrap()
        });
    }
    let mut done = 0;
    while let Some(body) = tasks.join_next().await {
        assert_eq!(body.unwrap(), Bytes::from(archive.bytes.clone()));
        done += 1;
    }
    assert_eq!(done, 1000);
    let fetches = fetches.lock().unwrap();
    assert_eq!(fetches.len(), archive.list.chunks().len());
    assert!(fetches.values().all(|&n| n == 1), "{fetches:?}");
    let page = edge.metrics.render();
    assert!(
        page.contains(&format!(
            "packyard_edge_origin_fetches_total {}",
            archive.list.chunks().len()
        )),
        "{page}"
    );
}
