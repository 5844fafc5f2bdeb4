//! [`PeerVerifier`]: how a node checks the server it dials. The certificate must chain to the
//! cluster CA and name the role the caller meant to reach; the host name is not checked, since
//! peers know each other by [`Identity`], and an edge reached at a new address keeps its
//! certificate.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::identity::{Identity, NodeRole};

/// The server's certificate is valid but speaks for another kind of node.
#[derive(Debug, thiserror::Error)]
#[error(
    "the peer's certificate is for {found}; this connection expected a node of role {expected}"
)]
pub struct WrongPeerRole {
    /// The role dialled.
    pub expected: NodeRole,
    /// Whom the certificate names.
    pub found: Identity,
}

/// Verifies servers against the cluster CA and one expected role.
#[derive(Debug)]
pub(crate) struct PeerVerifier {
    roots: Arc<RootCertStore>,
    expect: NodeRole,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PeerVerifier {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        expect: NodeRole,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> Self {
        Self {
            roots,
            expect,
            algorithms,
        }
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        let found = Identity::from_certificate(end_entity).map_err(other)?;
        if found.role != self.expect {
            return Err(other(WrongPeerRole {
                expected: self.expect,
                found,
            }));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
