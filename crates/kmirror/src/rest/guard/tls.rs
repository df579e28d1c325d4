//! TLS for the REST API: the certificate chain and key from PEM files, and
//! a listener that hands axum connections whose handshake is done.
//!
//! Why a hand-written listener: axum 0.8's `serve` accepts any
//! [`axum::serve::Listener`], so wrapping tokio-rustls in one keeps the one
//! `axum::serve` path (graceful shutdown included) for plain and TLS; the
//! crates that do this for us (axum-server) bring their own server loop and
//! pick rustls' aws-lc-rs provider by default.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use super::secret::read_bytes;
use super::RestSecurityError;

const CERT_FLAG: &str = "--rest-tls-cert";
const KEY_FLAG: &str = "--rest-tls-key";

/// A client that opens a connection and sends nothing must not hold a task
/// forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The crypto provider of every TLS config kmirror makes: named explicitly,
/// so that no process-wide default has to be installed or guessed.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server config for `cert` (a PEM chain, leaf first) and `key` (a PEM
/// private key), checked to belong together.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, RestSecurityError> {
    let chain = read_certificates(CERT_FLAG, cert)?;
    let key_der = read_private_key(KEY_FLAG, key)?;
    let unusable = |e: rustls::Error| RestSecurityError::UnusableKeyPair {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        // rustls' errors name the problem (an unsupported key type),
        // never key bytes.
        reason: match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                "the key is not the one of the certificate (the first in the file)".to_string()
            }
            other => other.to_string(),
        },
    };
    let provider = crypto_provider();
    // `with_single_cert` checks that the key's public half is the leaf's
    // (rustls 0.23's `keys_match`), so a mismatch fails here, at start.
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unusable)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(unusable)?;
    Ok(Arc::new(config))
}

/// Every `CERTIFICATE` block of a PEM file, at least one.
pub fn read_certificates(
    flag: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, RestSecurityError> {
    let bytes = read_bytes(flag, path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(flag, path, e))?;
    if chain.is_empty() {
        return Err(RestSecurityError::NoCertificate {
            flag,
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_private_key(
    flag: &'static str,
    path: &Path,
) -> Result<PrivateKeyDer<'static>, RestSecurityError> {
    let bytes = read_bytes(flag, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => RestSecurityError::NoPrivateKey {
            flag,
            path: path.to_path_buf(),
        },
        other => pem_error(flag, path, other),
    })
}

/// The PEM parser's own messages may quote the file (a base64 error, an
/// illegal line): only their kind is kept.
fn pem_error(flag: &'static str, path: &Path, error: pem::Error) -> RestSecurityError {
    match error {
        pem::Error::Io(source) => RestSecurityError::Unreadable {
            flag,
            path: path.to_path_buf(),
            source,
        },
        _ => RestSecurityError::MalformedPem {
            flag,
            path: path.to_path_buf(),
        },
    }
}

/// A TCP listener whose connections come out with their TLS handshake done.
/// Handshakes run in their own tasks, so one slow client delays no other;
/// a failed one is logged at debug (a port scanner or a plain-HTTP client)
/// and dropped.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<(Handshake, SocketAddr)>,
}

/// A handshake's outcome: done, failed, or timed out.
type Handshake = Result<io::Result<TlsStream<TcpStream>>, tokio::time::error::Elapsed>;

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .field("handshakes", &self.handshakes.len())
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                // axum's own accept loop: retries and backs off on errors.
                (stream, peer) = axum::serve::Listener::accept(&mut self.tcp) => {
                    let acceptor = self.acceptor.clone();
                    self.handshakes.spawn(async move {
                        (tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await, peer)
                    });
                }
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    match done {
                        Ok((Ok(Ok(stream)), peer)) => return (stream, peer),
                        Ok((Ok(Err(e)), peer)) => {
                            debug!(peer = %peer, error = %e, "REST API: TLS handshake failed");
                        }
                        Ok((Err(_), peer)) => {
                            debug!(peer = %peer, "REST API: TLS handshake timed out");
                        }
                        Err(e) => debug!(error = %e, "REST API: TLS handshake task ended"),
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
