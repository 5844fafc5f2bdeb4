//! [`Identity`]: who a cluster certificate speaks for, a [`NodeRole`] and an id, written in
//! the certificate as one URI subject alternative name, `spiffe://packyard/{role}/{id}`.
//!
//! The URI form is SPIFFE's: peers are recognised by what they are, not by the host name they
//! happen to be reached at, so a node keeps its certificate when it moves to another address.

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The trust domain of every Packyard identity URI.
const PREFIX: &str = "spiffe://packyard/";
/// The longest id: ids are DNS-label-like names (`eu-1`, `3`, `origin-a`).
pub const MAX_ID_LEN: usize = 64;

/// What a node is, and so which internal services it may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRole {
    /// A control-plane node: Raft, membership, and the services it serves to the others.
    Control,
    /// An origin: reports processing and follows the catalog.
    Origin,
    /// An edge: registers, heartbeats, follows the catalog and fetches chunks.
    Edge,
    /// A person running `packyard cluster` (status, join, leave): membership only.
    Operator,
}

impl NodeRole {
    /// Every role, in declaration order.
    pub const ALL: [NodeRole; 4] = [
        NodeRole::Control,
        NodeRole::Origin,
        NodeRole::Edge,
        NodeRole::Operator,
    ];

    /// The spelling in identity URIs, file names and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Control => "control",
            NodeRole::Origin => "origin",
            NodeRole::Edge => "edge",
            NodeRole::Operator => "operator",
        }
    }
}

impl fmt::Display for NodeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NodeRole {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| IdentityError::UnknownRole(s.to_owned()))
    }
}

/// A node's role and id, as its certificate states them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    /// What the node is.
    pub role: NodeRole,
    /// Which one: a control node's Raft id (`1`), an edge's `edge_id` (`eu-1`), a name.
    pub id: String,
}

/// Why an identity, or the certificate meant to carry one, is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The role is not one of control, origin, edge, operator.
    #[error("{0:?} is not a node role; use control, origin, edge or operator")]
    UnknownRole(String),
    /// The id is empty, too long, or has characters other than `A-Z a-z 0-9 . _ -`.
    #[error(
        "{0:?} is not a node id: use 1 to {MAX_ID_LEN} of A-Z a-z 0-9 . _ - (for example eu-1)"
    )]
    BadId(String),
    /// The bytes are not an X.509 certificate.
    #[error("the certificate cannot be read: {0}")]
    NotACertificate(String),
    /// The certificate names no Packyard identity (or more than one).
    #[error(
        "the certificate names no Packyard node identity (a URI {PREFIX}ROLE/ID); \
         issue one with `packyard cluster cert issue`"
    )]
    Missing,
}

impl Identity {
    /// An identity, with its id checked.
    pub fn new(role: NodeRole, id: impl Into<String>) -> Result<Self, IdentityError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self { role, id })
        } else {
            Err(IdentityError::BadId(id))
        }
    }

    /// The URI subject alternative name, `spiffe://packyard/{role}/{id}`.
    pub fn uri(&self) -> String {
        format!("{PREFIX}{}/{}", self.role, self.id)
    }

    /// Parses a URI made by [`Identity::uri`].
    pub fn from_uri(uri: &str) -> Result<Self, IdentityError> {
        let rest = uri.strip_prefix(PREFIX).ok_or(IdentityError::Missing)?;
        let (role, id) = rest.split_once('/').ok_or(IdentityError::Missing)?;
        Identity::new(role.parse()?, id)
    }

    /// The identity a DER certificate names: its one `spiffe://packyard/…` URI.
    pub fn from_certificate(cert: &CertificateDer<'_>) -> Result<Self, IdentityError> {
        let (_, parsed) = X509Certificate::from_der(cert.as_ref())
            .map_err(|e| IdentityError::NotACertificate(e.to_string()))?;
        let san = parsed
            .subject_alternative_name()
            .map_err(|e| IdentityError::NotACertificate(e.to_string()))?
            .ok_or(IdentityError::Missing)?;
        let mut found = san.value.general_names.iter().filter_map(|n| match n {
            GeneralName::URI(uri) if uri.starts_with(PREFIX) => Some(*uri),
            _ => None,
        });
        match (found.next(), found.next()) {
            (Some(uri), None) => Identity::from_uri(uri),
            _ => Err(IdentityError::Missing),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip_through_their_uri() {
        for role in NodeRole::ALL {
            let id = Identity::new(role, "eu-1.a_b").unwrap();
            assert_eq!(Identity::from_uri(&id.uri()).unwrap(), id);
            assert_eq!(role.as_str().parse::<NodeRole>().unwrap(), role);
        }
        assert_eq!(
            Identity::new(NodeRole::Edge, "eu-1").unwrap().uri(),
            "spiffe://packyard/edge/eu-1"
        );
    }

    #[test]
    fn bad_roles_ids_and_uris_say_what_is_wrong() {
        for bad in ["", "eu/1", "a b", &"x".repeat(MAX_ID_LEN + 1), "é"] {
            let err = Identity::new(NodeRole::Edge, bad).unwrap_err();
            assert!(matches!(err, IdentityError::BadId(_)), "{bad:?}: {err}");
        }
        let err = "reviewer".parse::<NodeRole>().unwrap_err();
        assert!(
            err.to_string()
                .contains("control, origin, edge or operator")
        );
        for uri in [
            "spiffe://other/edge/eu-1",
            "spiffe://packyard/edge",
            "https://packyard/edge/1",
        ] {
            assert_eq!(
                Identity::from_uri(uri),
                Err(IdentityError::Missing),
                "{uri}"
            );
        }
        assert!(matches!(
            Identity::from_uri("spiffe://packyard/edge/eu/1"),
            Err(IdentityError::BadId(_))
        ));
    }
}
