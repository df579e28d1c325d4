//! The REST API's guard: optional TLS and credentials for requests that
//! change state (and for reads, when asked). Set up once at start; a
//! setting that cannot be used stops `kmirror run` with exit code 2.
//!
//! - [`tls`]: the certificate chain and key, and the TLS listener;
//! - [`auth`]: tokens and basic credentials, the axum middleware;
//! - [`secret`]: secrets from files and the environment;
//! - [`client`]: the same settings on the client side, for the commands
//!   that call the API (`kmirror status`).

pub mod auth;
pub mod client;
mod error;
pub mod secret;
pub mod tls;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use rustls::ServerConfig;

use self::auth::{AccessPolicy, Credentials};
pub use self::error::RestSecurityError;
use self::secret::secret_from_file_or_env;

/// The environment variable that may hold the bearer token itself (a flag
/// would show it in `ps`).
pub const TOKEN_VARIABLE: &str = "KMIRROR_REST_TOKEN";

/// `kmirror run`'s flags for the REST API's guard.
#[derive(Debug, Clone, Default, Args)]
pub struct RestGuardArgs {
    /// PEM file with the REST API's certificate chain (leaf first); with
    /// `--rest-tls-key`, the API is served over HTTPS only.
    #[arg(long, env = "KMIRROR_REST_TLS_CERT", value_name = "FILE")]
    rest_tls_cert: Option<PathBuf>,
    /// PEM file with the private key of `--rest-tls-cert` (PKCS#8, RSA or
    /// EC, unencrypted).
    #[arg(long, env = "KMIRROR_REST_TLS_KEY", value_name = "FILE")]
    rest_tls_key: Option<PathBuf>,
    /// File holding the bearer token that requests changing state must
    /// send (`Authorization: Bearer <token>`). The token may instead come
    /// from the environment variable KMIRROR_REST_TOKEN.
    #[arg(long, env = "KMIRROR_REST_AUTH_TOKEN_FILE", value_name = "FILE")]
    rest_auth_token_file: Option<PathBuf>,
    /// File of `user=password` lines (Kafka Connect's
    /// PropertyFileLoginModule format; `user: password` works too) for HTTP
    /// basic authentication of requests that change state.
    #[arg(long, env = "KMIRROR_REST_BASIC_AUTH_FILE", value_name = "FILE")]
    rest_basic_auth_file: Option<PathBuf>,
    /// Require the credentials for reads too (the status, metrics, the live
    /// page, connector listings); `/livez` and `/readyz` stay open.
    #[arg(long, env = "KMIRROR_REST_AUTH_READ")]
    rest_auth_read: bool,
}

/// The guard, ready to serve.
#[derive(Clone, Default)]
pub struct RestGuard {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// `None`: every request is let through.
    pub access: Option<Arc<AccessPolicy>>,
    /// The certificate chain served, trusted when calling the other
    /// workers (see [`super::peers`]).
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl RestGuardArgs {
    /// Reads the files and the environment.
    pub fn load(&self) -> Result<RestGuard, RestSecurityError> {
        self.load_with_env(|name| std::env::var_os(name))
    }

    /// [`RestGuardArgs::load`] with the environment given by `env`.
    pub fn load_with_env(
        &self,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<RestGuard, RestSecurityError> {
        let (tls, chain) = match (&self.rest_tls_cert, &self.rest_tls_key) {
            (Some(cert), Some(key)) => (
                Some(tls::server_config(cert, key)?),
                tls::read_certificates("--rest-tls-cert", cert)?,
            ),
            (Some(_), None) => {
                return Err(RestSecurityError::HalfTls {
                    missing: "--rest-tls-key",
                })
            }
            (None, Some(_)) => {
                return Err(RestSecurityError::HalfTls {
                    missing: "--rest-tls-cert",
                })
            }
            (None, None) => (None, Vec::new()),
        };
        let token = secret_from_file_or_env(
            "--rest-auth-token-file",
            self.rest_auth_token_file.as_deref(),
            TOKEN_VARIABLE,
            env(TOKEN_VARIABLE),
            "bearer token",
        )?;
        let users = match &self.rest_basic_auth_file {
            Some(path) => auth::read_basic_auth_file(path)?,
            None => Vec::new(),
        };
        let credentials = Credentials::new(token.as_ref(), users);
        let access = if credentials.is_empty() {
            if self.rest_auth_read {
                return Err(RestSecurityError::ReadGuardWithoutCredentials);
            }
            None
        } else {
            Some(Arc::new(AccessPolicy {
                credentials,
                protect_reads: self.rest_auth_read,
            }))
        };
        Ok(RestGuard { tls, access, chain })
    }
}

impl std::fmt::Debug for RestGuard {
    /// rustls' config holds the signing key: only whether TLS is on shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestGuard")
            .field("tls", &self.tls.is_some())
            .field("access", &self.access)
            .finish()
    }
}

impl RestGuard {
    /// What an operator should hear about where the API is exposed: it can
    /// create connectors that reach any host, so an unguarded API off
    /// loopback lets anyone who reaches the port do that.
    pub fn exposure_warnings(&self, address: SocketAddr) -> Vec<&'static str> {
        if address.ip().is_loopback() {
            return Vec::new();
        }
        let mut warnings = Vec::new();
        if self.access.is_none() {
            warnings.push(
                "the REST API listens beyond loopback without authentication: anyone who \
                 reaches it can create connectors; set --rest-auth-token-file or \
                 --rest-basic-auth-file",
            );
        } else if self.tls.is_none() {
            warnings.push(
                "the REST API listens beyond loopback with credentials over plain HTTP: they \
                 cross the network readable; set --rest-tls-cert and --rest-tls-key",
            );
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unguarded_apis_beyond_loopback_are_warned_about() {
        let open = RestGuard::default();
        let loopback: SocketAddr = "127.0.0.1:8083".parse().unwrap();
        let everywhere: SocketAddr = "0.0.0.0:8083".parse().unwrap();
        let v6_loopback: SocketAddr = "[::1]:8083".parse().unwrap();
        assert!(open.exposure_warnings(loopback).is_empty());
        assert!(open.exposure_warnings(v6_loopback).is_empty());
        let warnings = open.exposure_warnings(everywhere);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("without authentication"));

        let with_token = RestGuard {
            tls: None,
            access: Some(Arc::new(AccessPolicy {
                credentials: Credentials::new(Some(&secret::Secret::new("t".into())), Vec::new()),
                protect_reads: false,
            })),
            chain: Vec::new(),
        };
        let warnings = with_token.exposure_warnings(everywhere);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("plain HTTP"));
    }

    #[test]
    fn read_guard_without_credentials_and_half_tls_are_refused() {
        let args = RestGuardArgs {
            rest_auth_read: true,
            ..Default::default()
        };
        assert!(matches!(
            args.load_with_env(|_| None),
            Err(RestSecurityError::ReadGuardWithoutCredentials)
        ));
        let guard = args
            .load_with_env(|name| (name == TOKEN_VARIABLE).then(|| "t0ken".into()))
            .unwrap();
        assert!(guard.access.unwrap().protect_reads);
        let error = args
            .load_with_env(|name| (name == TOKEN_VARIABLE).then(|| " ".into()))
            .unwrap_err();
        assert!(error.to_string().contains(TOKEN_VARIABLE), "{error}");
        let args = RestGuardArgs {
            rest_tls_cert: Some("cert.pem".into()),
            ..Default::default()
        };
        let error = args.load().unwrap_err();
        assert!(error.to_string().contains("--rest-tls-key"), "{error}");
    }
}
