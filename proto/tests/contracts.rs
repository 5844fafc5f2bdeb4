//! The generated contracts work end to end: messages round-trip through their wire encoding,
//! and a generated server and client talk over a real loopback socket.

use packyard_proto::catalog::v1::{self as catalog, change::Change, watch_event::Body};
use packyard_proto::chunks::v1::{
    self as chunks,
    chunk_store_client::ChunkStoreClient,
    chunk_store_server::{ChunkStore, ChunkStoreServer},
};
use prost::Message;
use tonic::{Request, Response, Status};

#[test]
fn watch_event_round_trips_through_the_wire_format() {
    let event = catalog::WatchEvent {
        index: 42,
        body: Some(Body::Changes(catalog::Changes {
            items: vec![catalog::Change {
                change: Some(Change::ChannelUpdated(catalog::ChannelUpdated {
                    app_id: "app-1".into(),
                    pack_id: "pack-1".into(),
                    channel: catalog::Channel::Store.into(),
                    version: 3,
                })),
            }],
        })),
    };
    let bytes = event.encode_to_vec();
    let back = catalog::WatchEvent::decode(bytes.as_slice()).unwrap();
    assert_eq!(back, event);
    assert!(catalog::WatchEvent::decode(&b"\xff\xff\xff"[..]).is_err());
}

/// A chunk store holding one chunk, enough to exercise the generated service code.
struct OneChunk {
    id: Vec<u8>,
    data: Vec<u8>,
}

#[tonic::async_trait]
impl ChunkStore for OneChunk {
    async fn have(
        &self,
        request: Request<chunks::HaveRequest>,
    ) -> Result<Response<chunks::HaveReply>, Status> {
        let present = request
            .into_inner()
            .ids
            .iter()
            .map(|id| *id == self.id)
            .collect();
        Ok(Response::new(chunks::HaveReply { present }))
    }

    type FetchStream = tokio_stream::Iter<std::vec::IntoIter<Result<chunks::ChunkFrame, Status>>>;

    async fn fetch(
        &self,
        request: Request<chunks::FetchRequest>,
    ) -> Result<Response<Self::FetchStream>, Status> {
        let frames = request
            .into_inner()
            .ids
            .into_iter()
            .map(|id| {
                let missing = id != self.id;
                Ok(chunks::ChunkFrame {
                    data: if missing {
                        Default::default()
                    } else {
                        self.data.clone().into()
                    },
                    id,
                    offset: 0,
                    last: true,
                    missing,
                })
            })
            .collect::<Vec<_>>();
        Ok(Response::new(tokio_stream::iter(frames)))
    }
}

#[tokio::test]
async fn generated_client_and_server_talk_over_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = OneChunk {
        id: vec![7; 32],
        data: b"chunk bytes".to_vec(),
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ChunkStoreServer::new(store))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut client = ChunkStoreClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let have = client
        .have(chunks::HaveRequest {
            ids: vec![vec![7; 32], vec![8; 32]],
        })
        .await;
    assert_eq!(have.unwrap().into_inner().present, vec![true, false]);

    let mut stream = client
        .fetch(chunks::FetchRequest {
            ids: vec![vec![8; 32], vec![7; 32]],
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert!(first.missing && first.data.is_empty());
    let second = stream.message().await.unwrap().unwrap();
    assert_eq!((&second.data[..], second.last), (&b"chunk bytes"[..], true));
    assert!(stream.message().await.unwrap().is_none());
}
