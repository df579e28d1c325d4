//! Who may call the REST API: a bearer token, HTTP basic credentials, or
//! both, checked on every request that changes state (and on reads when
//! asked), never on the `/livez` and `/readyz` probes.
//!
//! Secrets are kept only as SHA-256 digests and compared digest to digest
//! with `subtle`'s constant-time equality: comparing digests of equal length
//! also hides the secret's length, which a plain `ct_eq` of the raw bytes
//! would not. Every user is compared on each request, so the time does not
//! tell whether a user name exists either.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use kmirror_engine::config::properties::{Properties, PropertiesError};
use serde_json::json;
use subtle::{Choice, ConstantTimeEq};
use tracing::info;

use super::secret::{read_text, Secret};
use super::RestSecurityError;

const BASIC_FLAG: &str = "--rest-basic-auth-file";
/// The realm named in `WWW-Authenticate`; browsers show it in the prompt.
const REALM: &str = "kmirror";

/// A secret's SHA-256 digest.
#[derive(Clone, Copy)]
struct Digest([u8; 32]);

impl Digest {
    fn of(bytes: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Digest(out)
    }

    fn matches(&self, other: &Digest) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

/// The credentials a request may present.
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<Digest>,
    /// (user, password) digests.
    users: Vec<(Digest, Digest)>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token.map(|_| "[redacted]"))
            .field("users", &self.users.len())
            .finish()
    }
}

/// What a request's `Authorization` header is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// No `Authorization` header.
    Missing,
    /// A bearer token that is not the token.
    WrongToken,
    /// Anything else: wrong user or password, an unknown scheme, bad base64.
    Wrong,
}

impl Credentials {
    pub fn new(token: Option<&Secret>, users: Vec<(String, Secret)>) -> Self {
        Credentials {
            token: token.map(|t| Digest::of(t.expose().as_bytes())),
            users: users
                .iter()
                .map(|(user, password)| {
                    (
                        Digest::of(user.as_bytes()),
                        Digest::of(password.expose().as_bytes()),
                    )
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.token.is_none() && self.users.is_empty()
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value (RFC 7235: the scheme is
    /// case-insensitive).
    pub fn check(&self, header: Option<&HeaderValue>) -> Verdict {
        let Some(header) = header else {
            return Verdict::Missing;
        };
        let Ok(header) = header.to_str() else {
            return Verdict::Wrong;
        };
        let header = header.trim();
        let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let Some(token) = &self.token else {
                return Verdict::WrongToken;
            };
            if bool::from(token.matches(&Digest::of(value.as_bytes()))) {
                Verdict::Allowed
            } else {
                Verdict::WrongToken
            }
        } else if scheme.eq_ignore_ascii_case("basic") {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) else {
                return Verdict::Wrong;
            };
            // RFC 7617: the user id holds no colon, the password may.
            let Some(colon) = decoded.iter().position(|&b| b == b':') else {
                return Verdict::Wrong;
            };
            let user = Digest::of(&decoded[..colon]);
            let password = Digest::of(&decoded[colon + 1..]);
            let mut allowed = Choice::from(0);
            for (known_user, known_password) in &self.users {
                allowed |= known_user.matches(&user) & known_password.matches(&password);
            }
            if bool::from(allowed) {
                Verdict::Allowed
            } else {
                Verdict::Wrong
            }
        } else {
            Verdict::Wrong
        }
    }
}

/// Reads the basic-auth credentials file: a Java properties file of
/// `user=password` lines, the format of Kafka Connect's
/// `PropertyFileLoginModule` (so `user: password` and `user password` are
/// read too, as `java.util.Properties` reads them; values are taken as Java
/// takes them, trailing blanks included). Unlike Connect, where an empty
/// file lets every request through, an empty file is an error.
pub fn read_basic_auth_file(path: &Path) -> Result<Vec<(String, Secret)>, RestSecurityError> {
    let text = read_text(BASIC_FLAG, path)?;
    let bad_line = |line: Option<u32>, problem| RestSecurityError::BadCredentialsLine {
        path: path.to_path_buf(),
        line: line.unwrap_or(0),
        problem,
    };
    let properties = Properties::parse(&text).map_err(|e| match e {
        PropertiesError::MalformedUnicodeEscape { line } => {
            bad_line(Some(line), "malformed \\uxxxx escape")
        }
    })?;
    if properties.is_empty() {
        return Err(RestSecurityError::Empty {
            flag: BASIC_FLAG,
            path: path.to_path_buf(),
            what: "user=password lines",
        });
    }
    let mut users = Vec::with_capacity(properties.len());
    for (user, entry) in properties.iter() {
        if user.contains(':') {
            return Err(bad_line(
                entry.line,
                "a user name cannot hold ':' (RFC 7617)",
            ));
        }
        if entry.value.is_empty() {
            return Err(bad_line(
                entry.line,
                "the user has no password; write user=password",
            ));
        }
        users.push((user.to_string(), Secret::new(entry.value.clone())));
    }
    Ok(users)
}

/// Which requests need credentials, and the credentials.
#[derive(Debug)]
pub struct AccessPolicy {
    pub credentials: Credentials,
    /// Reads (GET, HEAD, OPTIONS) need credentials too.
    pub protect_reads: bool,
}

impl AccessPolicy {
    /// Probes stay open: an orchestrator's liveness and readiness checks
    /// carry no credentials, and their answers reveal nothing.
    pub fn needs_credentials(&self, method: &Method, path: &str) -> bool {
        let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if read && matches!(path, "/livez" | "/readyz") {
            return false;
        }
        !read || self.protect_reads
    }

    /// The challenges of a 401: one per configured scheme (RFC 7235).
    fn challenges(&self, verdict: Verdict) -> Vec<HeaderValue> {
        let mut challenges = Vec::new();
        if self.credentials.has_token() {
            let challenge = if verdict == Verdict::WrongToken {
                format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")
            } else {
                format!("Bearer realm=\"{REALM}\"")
            };
            challenges.push(HeaderValue::from_str(&challenge).expect("ASCII"));
        }
        if self.credentials.has_users() {
            let challenge = format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"");
            challenges.push(HeaderValue::from_str(&challenge).expect("ASCII"));
        }
        challenges
    }
}

/// The axum middleware: lets the request through or answers 401 in
/// Connect's error shape. Neither the presented nor the expected secret
/// is logged, only the method and path.
pub async fn require_credentials(
    State(policy): State<Arc<AccessPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if !policy.needs_credentials(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let verdict = policy
        .credentials
        .check(request.headers().get(AUTHORIZATION));
    if verdict == Verdict::Allowed {
        return next.run(request).await;
    }
    let message = match verdict {
        Verdict::Missing => "credentials required: send a bearer token or basic credentials",
        _ => "the credentials are not valid",
    };
    info!(
        method = %request.method(),
        path = request.uri().path(),
        reason = if verdict == Verdict::Missing { "no credentials" } else { "wrong credentials" },
        "REST request refused"
    );
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error_code": 401, "message": message })),
    )
        .into_response();
    for challenge in policy.challenges(verdict) {
        response.headers_mut().append(WWW_AUTHENTICATE, challenge);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn credentials() -> Credentials {
        Credentials::new(
            Some(&Secret::new("t0ken".into())),
            vec![
                ("admin".into(), Secret::new("pa:ss".into())),
                ("ops".into(), Secret::new("other".into())),
            ],
        )
    }

    #[test]
    fn a_token_or_a_known_user_with_its_password_is_allowed() {
        let c = credentials();
        let bearer = |t: &str| HeaderValue::from_str(&format!("Bearer {t}")).unwrap();
        assert_eq!(c.check(None), Verdict::Missing);
        assert_eq!(c.check(Some(&bearer("t0ken"))), Verdict::Allowed);
        assert_eq!(
            c.check(Some(&HeaderValue::from_static("bearer t0ken"))),
            Verdict::Allowed
        );
        assert_eq!(c.check(Some(&bearer("t0ke"))), Verdict::WrongToken);
        assert_eq!(c.check(Some(&bearer("t0ken2"))), Verdict::WrongToken);
        assert_eq!(c.check(Some(&basic("admin", "pa:ss"))), Verdict::Allowed);
        assert_eq!(c.check(Some(&basic("ops", "other"))), Verdict::Allowed);
        // A password of another user, a wrong one, an unknown user.
        assert_eq!(c.check(Some(&basic("admin", "other"))), Verdict::Wrong);
        assert_eq!(c.check(Some(&basic("admin", "pa:s"))), Verdict::Wrong);
        assert_eq!(c.check(Some(&basic("root", "pa:ss"))), Verdict::Wrong);
        assert_eq!(
            c.check(Some(&HeaderValue::from_static("Basic !!notbase64"))),
            Verdict::Wrong
        );
        assert_eq!(
            c.check(Some(&HeaderValue::from_static("Digest x"))),
            Verdict::Wrong
        );
        // The token is no basic password, and basic-only accepts no token.
        assert_eq!(c.check(Some(&basic("admin", "t0ken"))), Verdict::Wrong);
        let basic_only = Credentials::new(None, vec![("admin".into(), Secret::new("x".into()))]);
        assert_eq!(basic_only.check(Some(&bearer(""))), Verdict::WrongToken);
        assert_eq!(basic_only.check(Some(&bearer("x"))), Verdict::WrongToken);
        assert!(!format!("{c:?}").contains("t0ken"));
    }

    #[test]
    fn writes_need_credentials_reads_only_when_asked_probes_never() {
        let open_reads = AccessPolicy {
            credentials: credentials(),
            protect_reads: false,
        };
        let guarded_reads = AccessPolicy {
            credentials: credentials(),
            protect_reads: true,
        };
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(open_reads.needs_credentials(&method, "/connectors"));
            assert!(open_reads.needs_credentials(&method, "/livez"));
        }
        assert!(!open_reads.needs_credentials(&Method::GET, "/connectors"));
        assert!(guarded_reads.needs_credentials(&Method::GET, "/connectors"));
        assert!(guarded_reads.needs_credentials(&Method::HEAD, "/metrics"));
        for probe in ["/livez", "/readyz"] {
            assert!(!guarded_reads.needs_credentials(&Method::GET, probe));
        }
        assert!(guarded_reads.needs_credentials(&Method::GET, "/livez/"));
    }

    #[test]
    fn the_credentials_file_reads_connect_and_colon_forms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(
            &path,
            "# Connect's PropertyFileLoginModule form\nadmin=secret\nops: pass:word\nci deploy\n",
        )
        .unwrap();
        let users = read_basic_auth_file(&path).unwrap();
        let users: Vec<(&str, &str)> = users
            .iter()
            .map(|(u, p)| (u.as_str(), p.expose()))
            .collect();
        assert_eq!(
            users,
            [("admin", "secret"), ("ops", "pass:word"), ("ci", "deploy")]
        );

        std::fs::write(&path, "# nobody\n\n").unwrap();
        let error = read_basic_auth_file(&path).unwrap_err();
        assert!(matches!(error, RestSecurityError::Empty { .. }), "{error}");
        std::fs::write(&path, "admin=secret\nlonely\n").unwrap();
        let error = read_basic_auth_file(&path).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
