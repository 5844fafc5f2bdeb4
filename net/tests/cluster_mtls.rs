//! The cluster's mutual TLS over real sockets: a gRPC service behind [`incoming`] and
//! [`require`], called by a node with the right certificate and by every kind of outsider.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use packyard_net::cluster::{
    CertRequest, ClusterCa, ClusterTls, ClusterTlsFiles, DEFAULT_CA_VALIDITY,
    DEFAULT_CERT_VALIDITY, Identity, IssuedCert, ListenerLimits, NodeRole, Validity, caller,
    incoming, require, test_support::raw_channel, write_atomically,
};
use packyard_net::eventually::eventually;
use packyard_proto::chunks::v1 as pb;
use packyard_proto::chunks::v1::chunk_store_client::ChunkStoreClient;
use packyard_proto::chunks::v1::chunk_store_server::{ChunkStore, ChunkStoreServer};
use tonic::{Code, Request, Response, Status};

/// A chunk service that remembers who called it.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Identity>>>);

#[tonic::async_trait]
impl ChunkStore for Recorder {
    async fn have(
        &self,
        request: Request<pb::HaveRequest>,
    ) -> Result<Response<pb::HaveReply>, Status> {
        let who = caller(&request)
            .cloned()
            .ok_or_else(|| Status::internal("no caller"))?;
        self.0.lock().unwrap().push(who);
        Ok(Response::new(pb::HaveReply {
            present: vec![true; request.get_ref().ids.len()],
        }))
    }

    type FetchStream = tokio_stream::Empty<Result<pb::ChunkFrame, Status>>;

    async fn fetch(
        &self,
        _: Request<pb::FetchRequest>,
    ) -> Result<Response<Self::FetchStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// Whether the call failed below gRPC: the connection itself was refused or dropped.
fn is_transport_error(status: &Status) -> bool {
    std::error::Error::source(status)
        .is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some())
}

fn ca(name: &str) -> ClusterCa {
    ClusterCa::generate(name, Validity::starting_now(DEFAULT_CA_VALIDITY).unwrap()).unwrap()
}

fn issue(ca: &ClusterCa, role: NodeRole, id: &str) -> IssuedCert {
    let request =
        CertRequest::new(Identity::new(role, id).unwrap(), DEFAULT_CERT_VALIDITY).unwrap();
    ca.issue(&request).unwrap()
}

fn tls(ca: &ClusterCa, cert: &IssuedCert) -> ClusterTls {
    ClusterTls::from_pem(ca.cert_pem(), &cert.cert_pem, &cert.key_pem).unwrap()
}

/// An "origin" serving the chunk store to edges only, on a port of its own.
async fn serve(server_tls: ClusterTls) -> (String, Recorder) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let recorder = Recorder::default();
    let service = ChunkStoreServer::with_interceptor(
        recorder.clone(),
        require("ChunkStore", &[NodeRole::Edge]),
    );
    let limits = ListenerLimits {
        handshake_timeout: Duration::from_secs(2),
        ..ListenerLimits::default()
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming(listener, server_tls, limits)),
    );
    (addr, recorder)
}

async fn have(channel: tonic::transport::Channel) -> Result<pb::HaveReply, Status> {
    let mut client = ChunkStoreClient::new(channel);
    let request = pb::HaveRequest {
        ids: vec![vec![7; 32]],
    };
    tokio::time::timeout(Duration::from_secs(10), client.have(request))
        .await
        .expect("the call ends")
        .map(Response::into_inner)
}

#[tokio::test]
async fn only_the_role_a_service_serves_gets_an_answer() {
    let ca = ca("cluster");
    let (addr, recorder) = serve(tls(&ca, &issue(&ca, NodeRole::Origin, "o1"))).await;

    let edge = tls(&ca, &issue(&ca, NodeRole::Edge, "eu-1"));
    let reply = have(edge.channel(&addr, NodeRole::Origin).unwrap())
        .await
        .unwrap();
    assert_eq!(reply.present, [true]);
    assert_eq!(
        recorder.0.lock().unwrap().as_slice(),
        [Identity::new(NodeRole::Edge, "eu-1").unwrap()],
        "the handler learns who called"
    );

    for role in [NodeRole::Control, NodeRole::Origin, NodeRole::Operator] {
        let other = tls(&ca, &issue(&ca, role, "x"));
        let status = have(other.channel(&addr, NodeRole::Origin).unwrap())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}: {status}");
        assert!(status.message().contains("edge nodes only"), "{status}");
        assert!(status.message().contains(&format!("{role} x")), "{status}");
    }

    let anonymous = raw_channel(&addr, ca.cert_pem(), NodeRole::Origin, None);
    let status = have(anonymous).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status}");
    assert!(status.message().contains("mutual TLS"), "{status}");
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        1,
        "no refused call reached the handler"
    );
}

#[tokio::test]
async fn certificates_from_another_ca_or_out_of_date_are_refused_saying_why() {
    let ca_ = ca("cluster");
    let (addr, recorder) = serve(tls(&ca_, &issue(&ca_, NodeRole::Origin, "o1"))).await;

    let foreign = ca("someone else");
    let forged = issue(&foreign, NodeRole::Edge, "eu-1");
    let channel = raw_channel(
        &addr,
        ca_.cert_pem(),
        NodeRole::Origin,
        Some((&forged.cert_pem, &forged.key_pem)),
    );
    let status = have(channel).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("not issued by this cluster's CA"),
        "{status:?}"
    );

    let identity = Identity::new(NodeRole::Edge, "eu-1").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let expired = ca_
        .issue(&CertRequest {
            identity,
            validity: Validity {
                not_before: now - time::Duration::days(30),
                not_after: now - time::Duration::days(1),
            },
            dns_names: Vec::new(),
            ips: Vec::new(),
        })
        .unwrap();
    let channel = raw_channel(
        &addr,
        ca_.cert_pem(),
        NodeRole::Origin,
        Some((&expired.cert_pem, &expired.key_pem)),
    );
    let status = have(channel).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("has expired"), "{status:?}");

    // Plain HTTP/2, no TLS at all: the listener reads garbage and hangs up.
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    let status = have(plain).await.unwrap_err();
    assert!(is_transport_error(&status), "{status:?}");
    assert!(
        recorder.0.lock().unwrap().is_empty(),
        "nothing reached the handler"
    );
}

#[tokio::test]
async fn a_node_refuses_a_server_of_another_role() {
    let ca = ca("cluster");
    // An edge pretending to be the origin: its certificate is valid, its role is not.
    let (addr, _) = serve(tls(&ca, &issue(&ca, NodeRole::Edge, "impostor"))).await;
    let edge = tls(&ca, &issue(&ca, NodeRole::Edge, "eu-1"));
    let status = have(edge.channel(&addr, NodeRole::Origin).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("WrongPeerRole") && status.message().contains("impostor"),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_renewed_certificate_is_used_for_new_connections_without_a_restart() {
    let ca = ca("cluster");
    let dir = tempfile::tempdir().unwrap();
    let files = ClusterTlsFiles::in_dir(dir.path(), "origin-o1");
    let write = |cert: &IssuedCert| {
        write_atomically(files.ca_file.as_ref().unwrap(), ca.cert_pem(), false).unwrap();
        write_atomically(files.cert_file.as_ref().unwrap(), &cert.cert_pem, false).unwrap();
        write_atomically(files.key_file.as_ref().unwrap(), &cert.key_pem, true).unwrap();
    };
    let first = issue(&ca, NodeRole::Origin, "o1");
    write(&first);
    let origin = ClusterTls::load(&files).unwrap();
    let before = origin.not_after();
    assert!(
        !origin.reload(&files).unwrap(),
        "unchanged files change nothing"
    );

    let renewed = ca
        .issue(
            &CertRequest::new(
                Identity::new(NodeRole::Origin, "o1").unwrap(),
                DEFAULT_CERT_VALIDITY * 2,
            )
            .unwrap(),
        )
        .unwrap();
    write(&renewed);
    assert!(origin.reload(&files).unwrap());
    assert!(
        origin.not_after() > before,
        "the renewed certificate is in force"
    );

    // A certificate for someone else is not taken over the node's own.
    write(&issue(&ca, NodeRole::Origin, "o2"));
    let err = origin.reload(&files).unwrap_err();
    assert!(err.to_string().contains("keeping the old one"), "{err}");
    assert_eq!(
        origin.identity(),
        Identity::new(NodeRole::Origin, "o1").unwrap()
    );

    // A key that is not the certificate's (written half-way through a renewal) is refused.
    let other = issue(&ca, NodeRole::Origin, "o1");
    write_atomically(files.cert_file.as_ref().unwrap(), &renewed.cert_pem, false).unwrap();
    write_atomically(files.key_file.as_ref().unwrap(), &other.key_pem, true).unwrap();
    assert!(origin.reload(&files).is_err());
    let (addr, _) = serve(origin.clone()).await;
    let edge = tls(&ca, &issue(&ca, NodeRole::Edge, "eu-1"));
    have(edge.channel(&addr, NodeRole::Origin).unwrap())
        .await
        .unwrap();
}

#[test]
fn a_node_certificate_that_the_configured_ca_did_not_issue_is_refused_at_start() {
    let ca_ = ca("cluster");
    let other = ca("other");
    let cert = issue(&other, NodeRole::Control, "1");
    let err = ClusterTls::from_pem(ca_.cert_pem(), &cert.cert_pem, &cert.key_pem).unwrap_err();
    assert!(
        err.to_string().contains("not valid under the cluster CA"),
        "{err}"
    );
}

#[tokio::test]
async fn a_running_listener_presents_a_renewed_certificate_without_a_restart() {
    let ca = ca("cluster");
    let dir = tempfile::tempdir().unwrap();
    let mut files = ClusterTlsFiles::in_dir(dir.path(), "origin-o1");
    files.reload_secs = 1;
    let write = |cert: &IssuedCert| {
        write_atomically(files.ca_file.as_ref().unwrap(), ca.cert_pem(), false).unwrap();
        write_atomically(files.key_file.as_ref().unwrap(), &cert.key_pem, true).unwrap();
        write_atomically(files.cert_file.as_ref().unwrap(), &cert.cert_pem, false).unwrap();
    };
    write(&issue(&ca, NodeRole::Origin, "o1"));
    let origin = ClusterTls::load(&files).unwrap();
    let (addr, _) = serve(origin.clone()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(origin.clone().watch(files.clone(), async {
        let _ = stopped.await;
    }));
    let edge = tls(&ca, &issue(&ca, NodeRole::Edge, "eu-1"));
    // What a new connection to the listener is shown.
    let presented = || async {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(edge.client_config(NodeRole::Origin));
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let conn = connector.connect(name, tcp).await.unwrap();
        conn.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    };
    let renewed = issue(&ca, NodeRole::Origin, "o1");
    let renewed_der = rustls_pki_types::pem::PemObject::from_pem_slice(renewed.cert_pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    assert_ne!(presented().await, renewed_der);
    // An operator renews the certificate in place; the listener is not restarted.
    write(&renewed);
    eventually(
        "the renewed certificate is presented",
        Duration::from_secs(30),
        || async { presented().await == renewed_der },
    )
    .await;
    // And calls over new connections go on working with it.
    have(edge.channel(&addr, NodeRole::Origin).unwrap())
        .await
        .unwrap();
    drop(stop);
}
