//! How an accepting node judges the client certificate of a cluster connection: once per
//! connection, right after the handshake, against the CA in force, so that every call on the
//! connection is answered with a status that says why it was refused (a TLS alert would
//! race with the client's first request and often arrive as a bare "connection closed").
//!
//! The handshake itself still makes the client prove it holds the key of the certificate it
//! presents ([`DeferredVerifier`] checks the handshake signature); only the judgement of the
//! certificate is moved to [`judge`].

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::identity::Identity;

/// Offers client authentication, lets any certificate through the handshake (with a valid
/// handshake signature), and leaves the verdict to [`judge`].
#[derive(Debug)]
pub(crate) struct DeferredVerifier {
    pub(crate) inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for DeferredVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The identity `certs` (the client's chain, if it sent one) prove under `verifier` (the
/// CA's web-PKI verifier), or why they prove none, worded for the caller.
pub(crate) fn judge(
    verifier: &dyn ClientCertVerifier,
    certs: Option<&[CertificateDer<'static>]>,
) -> Result<Identity, String> {
    let Some((end_entity, intermediates)) = certs.and_then(<[_]>::split_first) else {
        return Err("the connection presented no client certificate".into());
    };
    verifier
        .verify_client_cert(end_entity, intermediates, UnixTime::now())
        .map_err(|e| match e {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                "the client certificate was not issued by this cluster's CA".to_owned()
            }
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            ) => "the client certificate has expired; issue a new one with \
                  `packyard cluster cert issue`"
                .to_owned(),
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
            ) => "the client certificate is not valid yet (is this machine's clock right?)"
                .to_owned(),
            other => format!("the client certificate is not acceptable: {other}"),
        })?;
    Identity::from_certificate(end_entity).map_err(|e| e.to_string())
}
