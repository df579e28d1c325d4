//! The client side of the guard, for the commands that call a running
//! kmirror's API (`kmirror status`): the CA to trust for `https://` URLs
//! and the credentials to send. The flags and variables mirror the
//! server's, so one environment serves both.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use rustls::RootCertStore;
use tracing::debug;

use super::secret::{secret_from_file_or_env, Secret};
use super::{tls, RestSecurityError, TOKEN_VARIABLE};

const PASSWORD_VARIABLE: &str = "KMIRROR_REST_PASSWORD";

/// Flags of the commands that call the REST API.
#[derive(Debug, Clone, Default, Args)]
pub struct RestClientArgs {
    /// PEM file of the CA certificate(s) to trust for an `https://` URL
    /// (default: the system's trust roots).
    #[arg(long, env = "KMIRROR_REST_CA_FILE", value_name = "FILE")]
    rest_ca_file: Option<PathBuf>,
    /// File holding the bearer token to send; or set KMIRROR_REST_TOKEN.
    #[arg(long, env = "KMIRROR_REST_AUTH_TOKEN_FILE", value_name = "FILE")]
    rest_auth_token_file: Option<PathBuf>,
    /// User for HTTP basic authentication; the password comes from
    /// `--rest-password-file` or KMIRROR_REST_PASSWORD.
    #[arg(long, env = "KMIRROR_REST_USER")]
    rest_user: Option<String>,
    /// File holding the password of `--rest-user`.
    #[arg(long, env = "KMIRROR_REST_PASSWORD_FILE", value_name = "FILE")]
    rest_password_file: Option<PathBuf>,
}

impl RestClientArgs {
    /// An HTTP client that trusts the CA and sends the credentials with
    /// every request.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, RestSecurityError> {
        let tls = rustls::ClientConfig::builder_with_provider(tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| RestSecurityError::Client {
                reason: e.to_string(),
            })?
            .with_root_certificates(self.roots()?)
            .with_no_client_auth();
        let mut headers = HeaderMap::new();
        if let Some(value) = self.authorization()? {
            headers.insert(AUTHORIZATION, value);
        }
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .default_headers(headers)
            .timeout(timeout)
            .build()
            .map_err(|e| RestSecurityError::Client {
                reason: e.to_string(),
            })
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, RestSecurityError> {
        let mut roots = RootCertStore::empty();
        match &self.rest_ca_file {
            Some(path) => {
                for cert in tls::read_certificates("--rest-ca-file", path)? {
                    roots
                        .add(cert)
                        .map_err(|_| RestSecurityError::MalformedPem {
                            flag: "--rest-ca-file",
                            path: path.clone(),
                        })?;
                }
            }
            None => {
                // An unreadable system store leaves `https://` URLs failing
                // with "unknown issuer", which names the fix (`--rest-ca-file`).
                let native = rustls_native_certs::load_native_certs();
                for error in &native.errors {
                    debug!(error = %error, "system trust roots: cannot load some");
                }
                let (added, ignored) = roots.add_parsable_certificates(native.certs);
                debug!(added, ignored, "system trust roots loaded");
            }
        }
        Ok(Arc::new(roots))
    }

    /// The `Authorization` header, marked sensitive so that reqwest and
    /// hyper never show it.
    fn authorization(&self) -> Result<Option<HeaderValue>, RestSecurityError> {
        let token = secret_from_file_or_env(
            "--rest-auth-token-file",
            self.rest_auth_token_file.as_deref(),
            TOKEN_VARIABLE,
            std::env::var_os(TOKEN_VARIABLE),
            "bearer token",
        )?;
        let password = self.password()?;
        let text = match (token, &self.rest_user, password) {
            (Some(_), Some(_), _) => return Err(RestSecurityError::TokenAndUser),
            (Some(token), None, None) => format!("Bearer {}", token.expose()),
            (Some(_), None, Some(_)) | (None, None, Some(_)) => {
                return Err(RestSecurityError::HalfBasicCredentials {
                    given: "a password",
                    missing: "--rest-user",
                })
            }
            (None, Some(user), Some(password)) => {
                let pair = format!("{user}:{}", password.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            (None, Some(_), None) => {
                return Err(RestSecurityError::HalfBasicCredentials {
                    given: "--rest-user",
                    missing: "--rest-password-file or KMIRROR_REST_PASSWORD",
                })
            }
            (None, None, None) => return Ok(None),
        };
        let mut value =
            HeaderValue::from_str(&text).map_err(|_| RestSecurityError::NotAHeaderValue {
                what: "the token or password",
            })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    fn password(&self) -> Result<Option<Secret>, RestSecurityError> {
        secret_from_file_or_env(
            "--rest-password-file",
            self.rest_password_file.as_deref(),
            PASSWORD_VARIABLE,
            std::env::var_os(PASSWORD_VARIABLE),
            "password",
        )
    }
}
