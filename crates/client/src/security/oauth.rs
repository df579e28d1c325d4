//! OAUTHBEARER tokens from the OAuth 2 client-credentials flow, as Kafka's
//! `OAuthBearerLoginCallbackHandler` gets them: `clientId`, `clientSecret`
//! and `scope` from the JAAS options, POSTed with HTTP basic authentication
//! to `sasl.oauthbearer.token.endpoint.url`. One token per cluster, shared by
//! its connections and fetched again once 80 % of its lifetime has passed.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use tokio::sync::Mutex;

use super::jaas::JaasModule;
use super::{Properties, SecurityError};

/// Bound on one token request.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Lifetime assumed when the endpoint states none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The client-credentials settings. `Debug` hides the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    endpoint: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    /// CA certificates for an https endpoint, from `ssl.truststore.*` as
    /// Kafka's login handler uses them; `None`: the system's roots.
    trusted: Option<Vec<CertificateDer<'static>>>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scope", &self.scope)
            .finish()
    }
}

impl ClientCredentials {
    pub(crate) fn from_settings(
        props: &Properties,
        module: &JaasModule,
        trusted: Option<Vec<CertificateDer<'static>>>,
    ) -> Result<Self, SecurityError> {
        let get = |key: &str| props.get(key);
        let endpoint = get("sasl.oauthbearer.token.endpoint.url")
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or(SecurityError::Missing {
                key: "sasl.oauthbearer.token.endpoint.url",
                context: "sasl.mechanism=OAUTHBEARER (kmirror gets tokens with the client-credentials flow)",
            })?;
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(SecurityError::InvalidValue {
                key: "sasl.oauthbearer.token.endpoint.url",
                value: endpoint.to_string(),
                expected: "an http:// or https:// URL",
            });
        }
        let option = |name: &'static str| {
            module.option(name).ok_or(SecurityError::JaasOption {
                option: name,
                mechanism: "OAUTHBEARER",
            })
        };
        Ok(ClientCredentials {
            endpoint: endpoint.to_string(),
            client_id: option("clientId")?.to_string(),
            client_secret: option("clientSecret")?.to_string(),
            scope: module
                .option("scope")
                .or_else(|| get("sasl.oauthbearer.scope"))
                .map(str::to_string),
            trusted,
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// A bearer token. `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Token {
    value: Arc<str>,
    refresh_at: Instant,
}

impl Token {
    /// The token text, for the SASL message only.
    pub(crate) fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuthError {
    #[error("token request to {endpoint} failed: {reason}")]
    Request { endpoint: String, reason: String },
    #[error("token endpoint {endpoint} refused the client credentials (HTTP {status}): check clientId and clientSecret in sasl.jaas.config")]
    Refused { endpoint: String, status: u16 },
    #[error("token endpoint {endpoint} answered HTTP {status}")]
    Status { endpoint: String, status: u16 },
    #[error("token endpoint {endpoint} answered without an access_token")]
    NoToken { endpoint: String },
}

/// Fetches and caches tokens for one set of client credentials.
#[derive(Debug)]
pub struct OAuthTokenSource {
    credentials: ClientCredentials,
    cached: Mutex<Option<Token>>,
    http: reqwest::Client,
}

impl OAuthTokenSource {
    pub(crate) fn new(credentials: ClientCredentials) -> Result<Self, SecurityError> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots(credentials.trusted.as_deref()))
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(TOKEN_REQUEST_TIMEOUT)
            .build()
            .map_err(|e| SecurityError::TokenClient(e.to_string()))?;
        Ok(OAuthTokenSource {
            credentials,
            cached: Mutex::new(None),
            http,
        })
    }

    /// A token that is not due for refresh, fetched if needed.
    pub async fn token(&self) -> Result<Token, OAuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.clone());
            }
        }
        let token = self.fetch().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    async fn fetch(&self) -> Result<Token, OAuthError> {
        let c = &self.credentials;
        let endpoint = c.endpoint.clone();
        let basic = STANDARD.encode(format!(
            "{}:{}",
            form_encode(&c.client_id),
            form_encode(&c.client_secret)
        ));
        let mut body = String::from("grant_type=client_credentials");
        if let Some(scope) = &c.scope {
            body.push_str("&scope=");
            body.push_str(&form_encode(scope));
        }
        let requested = Instant::now();
        let response = self
            .http
            .post(&c.endpoint)
            .header("Authorization", format!("Basic {basic}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| OAuthError::Request {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        let status = response.status().as_u16();
        if status == 400 || status == 401 || status == 403 {
            return Err(OAuthError::Refused { endpoint, status });
        }
        if !(200..300).contains(&status) {
            return Err(OAuthError::Status { endpoint, status });
        }
        let json: serde_json::Value = response.json().await.map_err(|e| OAuthError::Request {
            endpoint: endpoint.clone(),
            reason: e.to_string(),
        })?;
        let value = json
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::NoToken {
                endpoint: endpoint.clone(),
            })?;
        let lifetime = jwt_lifetime(value)
            .or_else(|| {
                json.get("expires_in")
                    .and_then(|e| e.as_u64())
                    .map(Duration::from_secs)
            })
            .unwrap_or(DEFAULT_LIFETIME);
        Ok(Token {
            value: value.into(),
            refresh_at: requested + lifetime.mul_f64(0.8),
        })
    }
}

/// The time left until a JWT's `exp` claim, if the token is a JWT.
fn jwt_lifetime(token: &str) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Duration::from_secs_f64((exp - now).max(0.0)))
}

fn roots(trusted: Option<&[CertificateDer<'static>]>) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    match trusted {
        Some(certs) => roots.add_parsable_certificates(certs.iter().cloned()),
        None => roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs),
    };
    roots
}

/// `application/x-www-form-urlencoded` encoding, as Java's `URLEncoder`.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_matches_java() {
        assert_eq!(form_encode("a b+c/d=é"), "a+b%2Bc%2Fd%3D%C3%A9");
        assert_eq!(form_encode("A-z_0.9*"), "A-z_0.9*");
    }

    #[test]
    fn reads_the_lifetime_of_a_jwt() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"x","exp":{}}}"#, now + 600));
        let lifetime = jwt_lifetime(&format!("e30.{claims}.sig")).unwrap();
        assert!(lifetime <= Duration::from_secs(600) && lifetime > Duration::from_secs(590));
        assert_eq!(jwt_lifetime("opaque-token"), None);
    }

    #[test]
    fn debug_hides_the_secret_and_token() {
        let credentials = ClientCredentials {
            endpoint: "https://idp/token".into(),
            client_id: "kmirror".into(),
            client_secret: "hunter2".into(),
            scope: None,
            trusted: None,
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
        let token = Token {
            value: "eyJ-secret".into(),
            refresh_at: Instant::now(),
        };
        assert!(!format!("{token:?}").contains("secret"));
    }
}
