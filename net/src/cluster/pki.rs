//! [`ClusterCa`]: the certificate authority of one cluster, and the node certificates it
//! issues ([`CertRequest`] → [`IssuedCert`]). Pure: PEM in, PEM out; the files are written by
//! the caller (`packyard cluster ca init`, `cert issue`, `packyard dev`).
//!
//! Keys are ECDSA P-256. A node certificate carries its [`Identity`] as a URI subject
//! alternative name, both server and client authentication (every node is both), and any
//! DNS names or addresses it should also answer to for other TLS tools.

use std::net::IpAddr;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;

use super::identity::Identity;

/// How long a new CA is valid by default: ten years.
pub const DEFAULT_CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a node certificate is valid by default: one year.
pub const DEFAULT_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// Certificates start this long before they are made, so a peer whose clock is a little
/// behind does not refuse them as not yet valid.
const BACKDATE: Duration = Duration::from_secs(300);

/// Why a certificate could not be made or a CA not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The CA's certificate or key PEM cannot be read, or they do not belong together.
    #[error("the cluster CA cannot be used: {0}")]
    BadCa(String),
    /// A name given for the certificate cannot be written in one.
    #[error("{0:?} cannot be a DNS name in a certificate")]
    BadName(String),
    /// The validity period is empty or not representable.
    #[error("the validity period is not usable: {0}")]
    BadValidity(String),
    /// Signing failed.
    #[error("cannot make the certificate: {0}")]
    Signing(String),
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// The first moment it is valid.
    pub not_before: OffsetDateTime,
    /// The last moment it is valid.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From a few minutes ago for `length`.
    pub fn starting_now(length: Duration) -> Result<Self, PkiError> {
        let now = OffsetDateTime::now_utc();
        let bad = |e: time::error::ConversionRange| PkiError::BadValidity(e.to_string());
        let back = time::Duration::try_from(BACKDATE).map_err(bad)?;
        let length = time::Duration::try_from(length).map_err(bad)?;
        let not_after = now
            .checked_add(length)
            .ok_or_else(|| PkiError::BadValidity("the end is past year 9999".into()))?;
        Ok(Self {
            not_before: now - back,
            not_after,
        })
    }
}

/// A certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate (one PEM block).
    pub cert_pem: String,
    /// Its private key (PKCS#8 PEM). Keep it readable by its owner only.
    pub key_pem: String,
    /// When it stops being valid.
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// What a node certificate should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// Whom it is for.
    pub identity: Identity,
    /// When it is valid.
    pub validity: Validity,
    /// Host names to add as DNS subject alternative names (for other TLS tools; Packyard
    /// peers recognise each other by identity, not host name).
    pub dns_names: Vec<String>,
    /// Addresses to add as IP subject alternative names.
    pub ips: Vec<IpAddr>,
}

impl CertRequest {
    /// A certificate for `identity`, valid from now for `length`, with no extra names.
    pub fn new(identity: Identity, length: Duration) -> Result<Self, PkiError> {
        Ok(Self {
            identity,
            validity: Validity::starting_now(length)?,
            dns_names: Vec::new(),
            ips: Vec::new(),
        })
    }
}

/// A cluster's certificate authority: its certificate and signing key.
pub struct ClusterCa {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterCa(…)")
    }
}

impl ClusterCa {
    /// A new CA named `name` (its common name), valid as `validity` says.
    pub fn generate(name: &str, validity: Validity) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(signing)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.serial_number = Some(serial()?);
        let cert = params.self_signed(&key).map_err(signing)?;
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        Ok(Self {
            cert_pem,
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA made earlier, from its certificate and key PEM.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let bad = |what: &str, e: rcgen::Error| PkiError::BadCa(format!("{what}: {e}"));
        let key = KeyPair::from_pem(key_pem).map_err(|e| bad("the key", e))?;
        let cert = rustls_pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| PkiError::BadCa(format!("the certificate: {e}")))?;
        let cert: rustls_pki_types::CertificateDer<'static> = cert;
        if !spki_matches(&cert, &key) {
            return Err(PkiError::BadCa(
                "the key does not belong to the certificate".into(),
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&cert, key).map_err(|e| bad("the certificate", e))?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            issuer,
        })
    }

    /// The CA certificate (PEM): every node trusts it.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's signing key (PEM): keep it off the nodes, readable by its owner only.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues a node certificate with a new key.
    pub fn issue(&self, request: &CertRequest) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate().map_err(signing)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, request.identity.to_string());
        let uri = request
            .identity
            .uri()
            .try_into()
            .map_err(|_| PkiError::BadName(request.identity.uri()))?;
        params.subject_alt_names.push(SanType::URI(uri));
        for name in &request.dns_names {
            let dns = name
                .clone()
                .try_into()
                .map_err(|_| PkiError::BadName(name.clone()))?;
            params.subject_alt_names.push(SanType::DnsName(dns));
        }
        params
            .subject_alt_names
            .extend(request.ips.iter().copied().map(SanType::IpAddress));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = request.validity.not_before;
        params.not_after = request.validity.not_after;
        if params.not_after <= params.not_before {
            return Err(PkiError::BadValidity("it ends before it begins".to_owned()));
        }
        params.serial_number = Some(serial()?);
        let cert = params.signed_by(&key, &self.issuer).map_err(signing)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            not_after: request.validity.not_after,
        })
    }
}

fn signing(e: rcgen::Error) -> PkiError {
    PkiError::Signing(e.to_string())
}

/// A random 128-bit serial number (positive: the top bit clear).
fn serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| PkiError::Signing(format!("the system random source failed: {e}")))?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Whether `key` is the key of `cert`.
fn spki_matches(cert: &rustls_pki_types::CertificateDer<'_>, key: &KeyPair) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(cert.as_ref())
        .is_ok_and(|(_, c)| c.public_key().subject_public_key.data.as_ref() == key.public_key_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::identity::NodeRole;

    #[test]
    fn a_ca_issues_node_certificates_that_name_their_identity() {
        let ca = ClusterCa::generate(
            "test CA",
            Validity::starting_now(DEFAULT_CA_VALIDITY).unwrap(),
        )
        .unwrap();
        let identity = Identity::new(NodeRole::Edge, "eu-1").unwrap();
        let mut request = CertRequest::new(identity.clone(), DEFAULT_CERT_VALIDITY).unwrap();
        request.dns_names.push("edge-eu-1.internal".into());
        request.ips.push("10.0.0.7".parse().unwrap());
        let issued = ca.issue(&request).unwrap();
        let der =
            rustls_pki_types::pem::PemObject::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
        assert_eq!(Identity::from_certificate(&der).unwrap(), identity);

        let again = ClusterCa::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
        let second = again.issue(&request).unwrap();
        assert_ne!(
            second.key_pem, issued.key_pem,
            "every certificate gets its own key"
        );
    }

    #[test]
    fn a_ca_key_that_is_not_the_certificates_is_refused() {
        let validity = Validity::starting_now(DEFAULT_CA_VALIDITY).unwrap();
        let a = ClusterCa::generate("a", validity).unwrap();
        let b = ClusterCa::generate("b", validity).unwrap();
        let err = ClusterCa::from_pem(a.cert_pem(), b.key_pem()).unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");
        let err = ClusterCa::from_pem("not pem", a.key_pem()).unwrap_err();
        assert!(err.to_string().contains("certificate"), "{err}");
    }
}
