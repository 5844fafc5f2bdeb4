//! [`ClusterTls`]: a node's mutual-TLS material, loaded from PEM and reloaded when the files
//! change. Every new connection, accepted or dialled, takes the configuration in force at that
//! moment; connections already open keep theirs.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::client::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{RootCertStore, version};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::client_verdict::{DeferredVerifier, judge};
use super::files::ClusterTlsFiles;
use super::identity::{Identity, IdentityError, NodeRole};
use super::peer_verifier::PeerVerifier;

/// A certificate that expires sooner than this is warned about at every load.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// The gauge [`ClusterTls::report_expiry`] keeps: when the node's cluster certificate
/// expires, in Unix seconds. Every service exports it.
pub const EXPIRY_GAUGE: &str = "packyard_cluster_tls_expiry_timestamp_seconds";

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// [`EXPIRY_GAUGE`], described and registered on `recorder`.
pub fn expiry_gauge(recorder: &dyn metrics::Recorder) -> metrics::Gauge {
    recorder.describe_gauge(
        EXPIRY_GAUGE.into(),
        None,
        "When this node's cluster certificate expires, in Unix seconds.".into(),
    );
    recorder.register_gauge(&metrics::Key::from_static_name(EXPIRY_GAUGE), &METADATA)
}

/// Why a node's TLS material cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterTlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM.
    #[error("{what}: {reason}")]
    Pem {
        /// Which file (or PEM text) it was.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The node's certificate names no identity, or a bad one.
    #[error("the node certificate: {0}")]
    Identity(#[from] IdentityError),
    /// rustls refused the certificate, key or CA.
    #[error("the certificate, key and CA do not make a TLS configuration: {0}")]
    Rustls(String),
    /// The configuration names no files.
    #[error("cluster_tls: {0}")]
    Config(String),
}

/// The PEM texts of a node's material.
#[derive(Clone, PartialEq, Eq)]
struct Pems {
    ca: Vec<u8>,
    cert: Vec<u8>,
    key: Vec<u8>,
}

/// Everything built from one set of PEM texts.
struct Loaded {
    pems: Pems,
    identity: Identity,
    not_after: OffsetDateTime,
    server: Arc<ServerConfig>,
    /// Judges the client certificates of accepted connections against the CA.
    client_verifier: Arc<dyn ClientCertVerifier>,
    /// One client configuration per role a connection may expect to reach.
    clients: Vec<(NodeRole, Arc<ClientConfig>)>,
}

/// A node's cluster TLS. Cheap to clone; every clone sees reloads.
#[derive(Clone)]
pub struct ClusterTls {
    current: Arc<RwLock<Arc<Loaded>>>,
}

impl std::fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTls")
            .field("identity", &self.identity())
            .finish_non_exhaustive()
    }
}

impl ClusterTls {
    /// The material in PEM texts: the CA certificate(s), the node's certificate (chain) and
    /// its private key.
    pub fn from_pem(ca: &str, cert: &str, key: &str) -> Result<Self, ClusterTlsError> {
        let loaded = build(Pems {
            ca: ca.as_bytes().to_vec(),
            cert: cert.as_bytes().to_vec(),
            key: key.as_bytes().to_vec(),
        })?;
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(loaded))),
        })
    }

    /// The material in the files `files` names.
    pub fn load(files: &ClusterTlsFiles) -> Result<Self, ClusterTlsError> {
        let loaded = build(read(files)?)?;
        warn_if_expiring(&loaded);
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(loaded))),
        })
    }

    fn now(&self) -> Arc<Loaded> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whom this node's certificate names.
    pub fn identity(&self) -> Identity {
        self.now().identity.clone()
    }

    /// When this node's certificate expires.
    pub fn not_after(&self) -> OffsetDateTime {
        self.now().not_after
    }

    /// Keeps `gauge` at when this node's certificate expires, in Unix seconds, read again
    /// every minute so a reloaded certificate shows, until `stop` resolves: what an alert on
    /// certificates about to expire reads (`packyard_cluster_tls_expiry_timestamp_seconds`).
    pub async fn report_expiry(self, gauge: metrics::Gauge, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            #[allow(
                clippy::cast_precision_loss,
                reason = "Unix seconds stay far below 2^53"
            )]
            gauge.set(self.not_after().unix_timestamp() as f64);
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    }

    /// The configuration for a connection this node accepts: its certificate, and a client
    /// certificate asked for (its key proven by the handshake) but judged afterwards by the
    /// returned [`Acceptance`], so that a refusal reaches the caller as a status that says
    /// why.
    pub fn acceptance(&self) -> Acceptance {
        let loaded = self.now();
        Acceptance {
            server: Arc::clone(&loaded.server),
            verifier: Arc::clone(&loaded.client_verifier),
        }
    }

    /// The configuration for a connection this node dials to a `expect` node: its own
    /// certificate, and the server's checked against the CA and that role.
    pub fn client_config(&self, expect: NodeRole) -> Arc<ClientConfig> {
        let loaded = self.now();
        let found = loaded.clients.iter().find(|(role, _)| *role == expect);
        // `build` makes one for every role.
        found.map_or_else(
            || Arc::clone(&loaded.clients[0].1),
            |(_, config)| Arc::clone(config),
        )
    }

    /// Reads `files` again and, when they changed and still make a usable configuration
    /// for the same identity, uses them for new connections. True when it switched.
    pub fn reload(&self, files: &ClusterTlsFiles) -> Result<bool, ClusterTlsError> {
        let pems = read(files)?;
        let old = self.now();
        if pems == old.pems {
            return Ok(false);
        }
        let new = build(pems)?;
        if new.identity != old.identity {
            return Err(ClusterTlsError::Config(format!(
                "the new certificate is for {}, but this node is {}; keeping the old one",
                new.identity, old.identity
            )));
        }
        warn_if_expiring(&new);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(new);
        Ok(true)
    }

    /// Reloads `files` every `files.reload_secs` until `stop` resolves. A change that does
    /// not load (a key written before its certificate, say) is logged and tried again at the
    /// next read; the material in force stays meanwhile.
    pub async fn watch(self, files: ClusterTlsFiles, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_secs(files.reload_secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {}
            }
            match self.reload(&files) {
                Ok(true) => tracing::info!(
                    identity = %self.identity(),
                    not_after = %self.not_after(),
                    "cluster certificate reloaded"
                ),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cluster certificate not reloaded"),
            }
        }
    }
}

/// What an accepted connection is handshaken and judged with: one generation of the material.
pub struct Acceptance {
    /// The handshake's configuration.
    pub server: Arc<ServerConfig>,
    verifier: Arc<dyn ClientCertVerifier>,
}

impl std::fmt::Debug for Acceptance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptance")
    }
}

impl Acceptance {
    /// The identity the client's chain proves under the CA, or why it proves none.
    pub fn judge(&self, certs: Option<&[CertificateDer<'static>]>) -> Result<Identity, String> {
        judge(&*self.verifier, certs)
    }
}

fn read(files: &ClusterTlsFiles) -> Result<Pems, ClusterTlsError> {
    let (ca, cert, key) = files.paths().map_err(ClusterTlsError::Config)?;
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| ClusterTlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    Ok(Pems {
        ca: read(ca)?,
        cert: read(cert)?,
        key: read(key)?,
    })
}

fn warn_if_expiring(loaded: &Loaded) {
    let left = loaded.not_after - OffsetDateTime::now_utc();
    if left < time::Duration::try_from(EXPIRY_WARNING).unwrap_or(time::Duration::ZERO) {
        tracing::warn!(
            identity = %loaded.identity,
            not_after = %loaded.not_after,
            "the cluster certificate expires soon; issue a new one with `packyard cluster cert issue` \
             (it is picked up without a restart)"
        );
    }
}

fn pem_err(what: &str) -> impl Fn(rustls_pki_types::pem::Error) -> ClusterTlsError + '_ {
    move |e| ClusterTlsError::Pem {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, ClusterTlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err(what))?;
    if certs.is_empty() {
        return Err(ClusterTlsError::Pem {
            what: what.to_owned(),
            reason: "holds no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

fn rustls_err(e: impl std::fmt::Display) -> ClusterTlsError {
    ClusterTlsError::Rustls(e.to_string())
}

fn build(pems: Pems) -> Result<Loaded, ClusterTlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in certificates(&pems.ca, "the cluster CA")? {
        roots.add(ca).map_err(rustls_err)?;
    }
    let roots = Arc::new(roots);
    let chain = certificates(&pems.cert, "the node certificate")?;
    let key = PrivateKeyDer::from_pem_slice(&pems.key).map_err(pem_err("the node key"))?;
    let identity = Identity::from_certificate(&chain[0])?;
    // A node certificate from another CA, or one expired, would only fail at every peer; say
    // so at start-up instead.
    let parsed = rustls::server::ParsedCertificate::try_from(&chain[0]).map_err(rustls_err)?;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        &roots,
        &chain[1..],
        rustls_pki_types::UnixTime::now(),
        provider.signature_verification_algorithms.all,
    )
    .map_err(|e| {
        ClusterTlsError::Rustls(format!(
            "the node certificate is not valid under the cluster CA: {e}"
        ))
    })?;
    let not_after = X509Certificate::from_der(chain[0].as_ref())
        .map_err(|e| ClusterTlsError::Pem {
            what: "the node certificate".into(),
            reason: e.to_string(),
        })?
        .1
        .validity()
        .not_after
        .to_datetime();

    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
            .build()
            .map_err(rustls_err)?;
    let deferred = Arc::new(DeferredVerifier {
        inner: Arc::clone(&client_verifier),
    });
    let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&version::TLS13])
        .map_err(rustls_err)?
        .with_client_cert_verifier(deferred)
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(rustls_err)?;
    server.alpn_protocols = vec![b"h2".to_vec()];

    let clients = NodeRole::ALL
        .into_iter()
        .map(|role| client(&provider, &roots, role, &chain, &key).map(|c| (role, Arc::new(c))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded {
        pems,
        identity,
        not_after,
        server: Arc::new(server),
        client_verifier,
        clients,
    })
}

fn client(
    provider: &Arc<CryptoProvider>,
    roots: &Arc<RootCertStore>,
    expect: NodeRole,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<ClientConfig, ClusterTlsError> {
    let verifier = PeerVerifier::new(
        Arc::clone(roots),
        expect,
        provider.signature_verification_algorithms,
    );
    let mut config = ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(&[&version::TLS13])
        .map_err(rustls_err)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(chain.to_vec(), key.clone_key())
        .map_err(rustls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}
