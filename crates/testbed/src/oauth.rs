//! An OAuth 2 token endpoint on loopback, for OAUTHBEARER listeners.
//!
//! `POST /token` serves the client-credentials grant (client id and secret
//! as HTTP basic credentials, or as `client_id`/`client_secret` form fields)
//! with an RS256 JWT (`sub` = client id, `iat`, `exp`, `scope`, `aud`, `iss`);
//! `GET /jwks` serves the public key. Brokers validate tokens against the
//! JWKS; kmirror and the Java clients fetch them from `/token`.
//!
//! JWTs are signed with `ring` directly: a JWS in compact form is three
//! base64url parts, and the JWKS needs the key's modulus and exponent, which
//! only the key itself gives (a JWT crate would want the key as PKCS#1 PEM
//! and still not write the JWKS).

use std::collections::HashMap;
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

use crate::pki::{random_secret, test_pki};

/// The JVM system property that Kafka 4.x (and 3.9.1) checks every OAuth URL
/// (token endpoint, JWKS) against; unset, it refuses them all.
pub(crate) const ALLOWED_URLS_PROPERTY: &str = "org.apache.kafka.sasl.oauthbearer.allowed.urls";

/// Settings of a [`TokenServer`]. `Default`: client `kmirror` with a random
/// secret, tokens valid one hour, audience `kafka`, scope `kafka`.
#[derive(Clone)]
pub struct TokenServerOptions {
    /// `(client id, client secret)` pairs the endpoint accepts; the first
    /// is what [`TokenServer::client_id`] reports.
    pub clients: Vec<(String, String)>,
    /// How long each token is valid (`exp - iat`, and `expires_in`).
    pub lifetime: Duration,
    pub audience: String,
    /// The `scope` claim when the request asks for none.
    pub default_scope: String,
    /// The `kid` of the signing key in tokens and the JWKS. `None`: derived
    /// from the key, so every server of the process has the same one and a
    /// broker checking one server's JWKS accepts another's tokens (unless
    /// the audience differs). Set it to make tokens a broker cannot verify.
    pub key_id: Option<String>,
}

impl fmt::Debug for TokenServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.clients.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("TokenServerOptions")
            .field("clients", &ids)
            .field("lifetime", &self.lifetime)
            .field("audience", &self.audience)
            .field("default_scope", &self.default_scope)
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Default for TokenServerOptions {
    fn default() -> Self {
        Self {
            clients: vec![("kmirror".to_string(), random_secret("oauth-secret"))],
            lifetime: Duration::from_secs(3600),
            audience: "kafka".to_string(),
            default_scope: "kafka".to_string(),
            key_id: None,
        }
    }
}

/// A running token endpoint. Dropping it stops the server.
pub struct TokenServer {
    address: SocketAddr,
    options: TokenServerOptions,
    counters: Arc<Counters>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServer")
            .field("address", &self.address)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Counters {
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    jwks_requests: AtomicU64,
}

struct Endpoint {
    options: TokenServerOptions,
    key: RsaKeyPair,
    key_id: String,
    issuer: String,
    counters: Arc<Counters>,
}

impl TokenServer {
    /// Starts the endpoint on a free 127.0.0.1 port, signing with the test
    /// PKI's RSA key, and adds its URLs to the allowed URLs of every JVM the
    /// test bed starts from now on.
    ///
    /// # Panics
    /// If it cannot bind or the key is unusable.
    pub fn start(options: TokenServerOptions) -> Self {
        assert!(!options.clients.is_empty(), "a token server needs a client");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = listener.local_addr().expect("local address");
        let der = std::fs::read(&test_pki().oauth_signing_key).expect("read the OAuth RSA key");
        let key = RsaKeyPair::from_pkcs8(&der).expect("the JDK writes a usable RSA key");
        let counters = Arc::new(Counters::default());
        let key_id = options.key_id.clone().unwrap_or_else(|| {
            let modulus = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key.public()).n;
            let digest = ring::digest::digest(&ring::digest::SHA256, &modulus);
            URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12])
        });
        let endpoint = Arc::new(Endpoint {
            options: options.clone(),
            key,
            key_id,
            issuer: format!("http://{address}"),
            counters: Arc::clone(&counters),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("token-server-{}", address.port()))
            .spawn(move || serve(listener, endpoint, stopped))
            .expect("spawn the token server thread");
        let server = Self {
            address,
            options,
            counters,
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        allow_url(&server.token_url());
        allow_url(&server.jwks_url());
        server
    }

    /// `http://127.0.0.1:<port>/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.address)
    }

    /// `http://127.0.0.1:<port>/jwks`.
    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks", self.address)
    }

    pub fn client_id(&self) -> &str {
        &self.options.clients[0].0
    }

    pub fn client_secret(&self) -> &str {
        &self.options.clients[0].1
    }

    pub fn audience(&self) -> &str {
        &self.options.audience
    }

    pub fn lifetime(&self) -> Duration {
        self.options.lifetime
    }

    /// `POST /token` requests so far, refused ones included.
    pub fn token_requests(&self) -> u64 {
        self.counters.token_requests.load(Ordering::SeqCst)
    }

    /// Tokens handed out so far.
    pub fn tokens_issued(&self) -> u64 {
        self.counters.tokens_issued.load(Ordering::SeqCst)
    }

    /// `GET /jwks` requests so far.
    pub fn jwks_requests(&self) -> u64 {
        self.counters.jwks_requests.load(Ordering::SeqCst)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every URL a token server of this process serves, comma-separated, for
/// [`ALLOWED_URLS_PROPERTY`]; `None` before the first server starts.
pub(crate) fn allowed_urls() -> Option<String> {
    let urls = allowed().lock().unwrap();
    (!urls.is_empty()).then(|| urls.join(","))
}

fn allowed() -> &'static Mutex<Vec<String>> {
    static URLS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    URLS.get_or_init(Mutex::default)
}

fn allow_url(url: &str) {
    allowed().lock().unwrap().push(url.to_string());
}

fn serve(
    listener: TcpListener,
    endpoint: Arc<Endpoint>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the token server");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        let app = Router::new()
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(endpoint);
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
}

async fn token(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    endpoint
        .counters
        .token_requests
        .fetch_add(1, Ordering::SeqCst);
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some((id, secret)) = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    }) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let known = endpoint
        .options
        .clients
        .iter()
        .any(|(i, s)| *i == id && *s == secret);
    if !known {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let scope = form
        .get("scope")
        .cloned()
        .unwrap_or_else(|| endpoint.options.default_scope.clone());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let lifetime = endpoint.options.lifetime.as_secs().max(1);
    let claims = json!({
        "sub": id,
        "iat": now,
        "exp": now + lifetime,
        "scope": scope,
        "aud": endpoint.options.audience,
        "iss": endpoint.issuer,
    });
    let token = endpoint.sign(&claims);
    endpoint
        .counters
        .tokens_issued
        .fetch_add(1, Ordering::SeqCst);
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }))
    .into_response()
}

async fn jwks(State(endpoint): State<Arc<Endpoint>>) -> Json<Value> {
    endpoint
        .counters
        .jwks_requests
        .fetch_add(1, Ordering::SeqCst);
    let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(endpoint.key.public());
    Json(json!({"keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": endpoint.key_id,
        "n": URL_SAFE_NO_PAD.encode(&public.n),
        "e": URL_SAFE_NO_PAD.encode(&public.e),
    }]}))
}

impl Endpoint {
    /// `claims` as an RS256 JWS in compact form.
    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.key_id});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RS256 signing");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// `Authorization: Basic base64(id:secret)`, as Kafka's client sends it.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}
