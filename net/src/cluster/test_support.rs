//! Channels that present whatever the test says, for tests that play an outsider against the
//! cluster: no client certificate, one from another CA, an expired one, one of the wrong role.
//! Built only with the `test-support` feature.

use std::sync::Arc;

use rustls::client::ClientConfig;
use rustls::{RootCertStore, version};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::Channel;

use super::cluster_tls::ClusterTls;
use super::identity::NodeRole;
use super::peer_verifier::PeerVerifier;

/// A channel to `addr` that checks the server against `ca_pem` (expecting `expect`) and
/// presents `client` (certificate and key PEM) unchecked, or no certificate at all.
pub fn raw_channel(
    addr: &str,
    ca_pem: &str,
    expect: NodeRole,
    client: Option<(&str, &str)>,
) -> Channel {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let verifier = PeerVerifier::new(
        Arc::new(roots),
        expect,
        provider.signature_verification_algorithms,
    );
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13])
        .expect("TLS 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("certificate PEM");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key PEM");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client certificate")
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    ClusterTls::channel_with(addr, Arc::new(config)).expect("address")
}

/// A cluster CA made for one test, and node material it issues.
#[derive(Debug)]
pub struct TestPki {
    /// The CA.
    pub ca: super::pki::ClusterCa,
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPki {
    /// A new CA.
    pub fn new() -> Self {
        let validity =
            super::pki::Validity::starting_now(super::pki::DEFAULT_CA_VALIDITY).expect("validity");
        Self {
            ca: super::pki::ClusterCa::generate("test cluster CA", validity).expect("CA"),
        }
    }

    /// A certificate and key for `role` `id`, valid for a year.
    pub fn issue(&self, role: NodeRole, id: &str) -> super::pki::IssuedCert {
        let identity = super::identity::Identity::new(role, id).expect("identity");
        let request = super::pki::CertRequest::new(identity, super::pki::DEFAULT_CERT_VALIDITY)
            .expect("request");
        self.ca.issue(&request).expect("certificate")
    }

    /// The TLS material of node `role` `id`.
    pub fn node(&self, role: NodeRole, id: &str) -> ClusterTls {
        let cert = self.issue(role, id);
        ClusterTls::from_pem(self.ca.cert_pem(), &cert.cert_pem, &cert.key_pem).expect("material")
    }

    /// The files of node `role` `id`, written into `dir` as `packyard cluster cert issue`
    /// writes them (`ca.pem`, `{role}-{id}.pem`, `{role}-{id}.key`).
    pub fn write_node(
        &self,
        dir: &std::path::Path,
        role: NodeRole,
        id: &str,
    ) -> super::files::ClusterTlsFiles {
        let cert = self.issue(role, id);
        let identity = super::identity::Identity::new(role, id).expect("identity");
        super::files::write_node_files(dir, self.ca.cert_pem(), &identity, &cert).expect("write")
    }
}

/// A loopback listener on a free port with `tls`, as tonic's incoming connections; and its
/// `HOST:PORT`.
pub async fn listen(
    tls: ClusterTls,
) -> (
    String,
    impl tokio_stream::Stream<Item = std::io::Result<super::incoming::ClusterConn>> + Send + 'static,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("its address").to_string();
    let incoming =
        super::incoming::incoming(listener, tls, super::incoming::ListenerLimits::default());
    (addr, incoming)
}
