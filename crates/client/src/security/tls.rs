//! TLS to brokers through rustls: the trust roots and client identity from
//! the stores, Kafka's host name check (`ssl.endpoint.identification.algorithm`)
//! and TLS versions, and handshake failures turned into what to fix.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

use super::stores::ClientIdentity;
use super::tls_stream::{self, TlsReader, TlsWriter};
use super::{IgnoredSetting, SecurityError, StoreProblem};

/// The TLS versions `ssl.protocol` and `ssl.enabled.protocols` allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsVersions {
    pub tls12: bool,
    pub tls13: bool,
}

impl TlsVersions {
    /// Java enables TLSv1.2 and TLSv1.3 by default; `ssl.protocol=TLSv1.2`
    /// alone caps the context at 1.2. Versions rustls cannot speak (TLSv1,
    /// TLSv1.1) are dropped and reported.
    pub fn from_settings(
        protocol: Option<&str>,
        enabled: Option<&str>,
        ignored: &mut Vec<IgnoredSetting>,
    ) -> Result<Self, SecurityError> {
        let mut versions = TlsVersions {
            tls12: true,
            tls13: true,
        };
        if let Some(enabled) = enabled.filter(|e| !e.trim().is_empty()) {
            versions = TlsVersions {
                tls12: false,
                tls13: false,
            };
            for name in enabled.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match name {
                    "TLSv1.2" => versions.tls12 = true,
                    "TLSv1.3" => versions.tls13 = true,
                    _ => ignored.push(IgnoredSetting {
                        key: format!("ssl.enabled.protocols={name}"),
                        reason: "rustls speaks TLSv1.2 and TLSv1.3 only",
                    }),
                }
            }
        } else if let Some(protocol) = protocol.map(str::trim) {
            match protocol {
                "TLSv1.2" => versions.tls13 = false,
                "TLSv1.3" | "TLS" | "" => {}
                other => {
                    return Err(SecurityError::InvalidValue {
                        key: "ssl.protocol",
                        value: other.to_string(),
                        expected: "TLSv1.2 or TLSv1.3",
                    })
                }
            }
        }
        if !versions.tls12 && !versions.tls13 {
            return Err(SecurityError::NoTlsVersion);
        }
        Ok(versions)
    }
}

/// A ready rustls client configuration.
pub struct TlsSettings {
    config: Arc<rustls::ClientConfig>,
    verify_hostname: bool,
    mutual: bool,
    versions: TlsVersions,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("verify_hostname", &self.verify_hostname)
            .field("client_certificate", &self.mutual)
            .field("versions", &self.versions)
            .finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsSettings {
    pub(crate) fn build(
        trusted: Option<Vec<CertificateDer<'static>>>,
        identity: Option<ClientIdentity>,
        verify_hostname: bool,
        versions: TlsVersions,
    ) -> Result<Self, SecurityError> {
        let mut roots = RootCertStore::empty();
        match trusted {
            Some(certs) => {
                for cert in certs {
                    roots.add(cert).map_err(|_| SecurityError::Store {
                        key: "ssl.truststore.location",
                        path: "(truststore)".into(),
                        problem: StoreProblem::BadCertificate,
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(native.certs);
                if added == 0 {
                    return Err(SecurityError::NoSystemRoots);
                }
            }
        }
        let provider = provider();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|_| SecurityError::NoSystemRoots)?;
        let verifier: Arc<dyn ServerCertVerifier> = if verify_hostname {
            webpki
        } else {
            Arc::new(ChainOnlyVerifier(webpki))
        };
        let mut protocol_versions = Vec::new();
        if versions.tls13 {
            protocol_versions.push(&rustls::version::TLS13);
        }
        if versions.tls12 {
            protocol_versions.push(&rustls::version::TLS12);
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&protocol_versions)
            .map_err(|_| SecurityError::NoTlsVersion)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mutual = identity.is_some();
        let mut config = match identity {
            Some(identity) => builder
                .with_client_auth_cert(identity.chain, identity.key)
                .map_err(|e| SecurityError::UnusableIdentity(e.to_string()))?,
            None => builder.with_no_client_auth(),
        };
        // The handshake's traffic keys go to kmirror's own record layer
        // (see `tls_stream`); they never leave the process.
        config.enable_secret_extraction = true;
        Ok(TlsSettings {
            config: Arc::new(config),
            verify_hostname,
            mutual,
            versions,
        })
    }

    /// Runs the TLS handshake on an open TCP connection to `host`.
    pub(crate) async fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<(TlsReader, TlsWriter), TlsFailure> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| TlsFailure::BadHostName(host.to_string()))?;
        tls_stream::connect(self.config.clone(), name, tcp, host).await
    }
}

/// Checks the chain like webpki but accepts a certificate issued for
/// another name: `ssl.endpoint.identification.algorithm` set empty.
#[derive(Debug)]
struct ChainOnlyVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the name only after the chain verified.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Why a TLS connection failed, said as what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsFailure {
    #[error("`{0}` is not a valid TLS server name")]
    BadHostName(String),
    #[error("the broker's certificate is not signed by a CA in ssl.truststore.* (or, with no truststore set, the system's roots)")]
    Untrusted,
    #[error("the broker's certificate has expired or is not yet valid: renew it on the broker")]
    Expired,
    #[error("the broker's certificate is not valid for host `{0}`: connect with a name the certificate lists, or set ssl.endpoint.identification.algorithm= (empty) to check the chain only")]
    HostnameMismatch(String),
    #[error("the broker refused the client certificate, or requires one and none is set ({0}): set ssl.keystore.* to a certificate signed by a CA the broker trusts")]
    ClientCertificateRefused(String),
    #[error("the broker closed the connection during the TLS handshake: is this a PLAINTEXT or SASL_PLAINTEXT listener? check security.protocol")]
    ClosedDuringHandshake,
    #[error("the broker does not speak TLS on this port: set security.protocol to PLAINTEXT or SASL_PLAINTEXT, or use its SSL listener")]
    NotTls,
    #[error("the broker's certificate was refused: {0}")]
    BadCertificate(String),
    #[error("TLS failed: {0}")]
    Other(String),
}

impl TlsFailure {
    /// Classifies an I/O error of a TLS stream (handshake or later read).
    pub fn from_io(error: &std::io::Error, host: &str) -> Self {
        if let Some(tls) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Self::from_rustls(tls, host);
        }
        match error.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => TlsFailure::ClosedDuringHandshake,
            std::io::ErrorKind::InvalidData => TlsFailure::NotTls,
            _ => TlsFailure::Other(error.to_string()),
        }
    }

    pub(crate) fn from_rustls(error: &rustls::Error, host: &str) -> Self {
        use rustls::AlertDescription as Alert;
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    TlsFailure::Untrusted
                }
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => TlsFailure::Expired,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    TlsFailure::HostnameMismatch(host.to_string())
                }
                other => TlsFailure::BadCertificate(format!("{other:?}")),
            },
            rustls::Error::AlertReceived(
                alert @ (Alert::CertificateRequired
                | Alert::BadCertificate
                | Alert::UnknownCA
                | Alert::CertificateUnknown
                | Alert::HandshakeFailure
                | Alert::AccessDenied),
            ) => TlsFailure::ClientCertificateRefused(format!("{alert:?}")),
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                TlsFailure::NotTls
            }
            other => TlsFailure::Other(other.to_string()),
        }
    }
}
