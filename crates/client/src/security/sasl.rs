//! SASL authentication of a Kafka connection (KIP-43 handshake v1, then
//! SaslAuthenticate round trips), for PLAIN, SCRAM-SHA-256/512 and
//! OAUTHBEARER. The same exchange runs again on a live connection before the
//! broker's session lifetime ends (KIP-368), so long-lived connections are
//! never dropped for an expired session.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::oauth::{ClientCredentials, OAuthTokenSource};
use super::scram::{ScramClient, ScramHash};
use super::SecurityError;
use crate::connection::ExclusiveConnection;
use crate::error::{ClientError, Result};

/// `sasl.mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    Scram(ScramHash),
    OAuthBearer,
}

impl SaslMechanism {
    /// Kafka's default when `sasl.mechanism` is unset is GSSAPI, which is
    /// refused with a message that says so.
    pub fn parse(value: Option<&str>) -> Result<Self, SecurityError> {
        match value.map(str::trim) {
            None | Some("") => Err(SecurityError::GssapiDefault),
            Some("PLAIN") => Ok(SaslMechanism::Plain),
            Some("SCRAM-SHA-256") => Ok(SaslMechanism::Scram(ScramHash::Sha256)),
            Some("SCRAM-SHA-512") => Ok(SaslMechanism::Scram(ScramHash::Sha512)),
            Some("OAUTHBEARER") => Ok(SaslMechanism::OAuthBearer),
            Some(other) => Err(SecurityError::UnsupportedMechanism(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(hash) => hash.mechanism(),
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who we are. `Debug` never shows a password or secret.
pub enum SaslCredentials {
    Password { user: String, password: String },
    OAuth(ClientCredentials),
}

impl fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslCredentials::Password { user, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"[redacted]")
                .finish(),
            SaslCredentials::OAuth(credentials) => credentials.fmt(f),
        }
    }
}

/// A mechanism with its credentials, shared by all connections to a
/// cluster (which also share one cached OAuth token).
#[derive(Debug)]
pub struct SaslSettings {
    mechanism: SaslMechanism,
    credentials: SaslCredentials,
    tokens: Option<OAuthTokenSource>,
}

impl SaslSettings {
    pub(crate) fn new(
        mechanism: SaslMechanism,
        credentials: SaslCredentials,
    ) -> Result<Self, SecurityError> {
        let tokens = match &credentials {
            SaslCredentials::OAuth(client) => Some(OAuthTokenSource::new(client.clone())?),
            SaslCredentials::Password { .. } => None,
        };
        Ok(SaslSettings {
            mechanism,
            credentials,
            tokens,
        })
    }

    pub fn mechanism(&self) -> SaslMechanism {
        self.mechanism
    }

    /// Who authenticates, for messages: the user, or the OAuth client id.
    pub fn principal(&self) -> &str {
        match &self.credentials {
            SaslCredentials::Password { user, .. } => user,
            SaslCredentials::OAuth(client) => client.client_id(),
        }
    }
}

/// Authenticates the connection; returns the session lifetime the broker
/// granted (`None`: it never expires).
pub(crate) async fn authenticate(
    conn: &mut ExclusiveConnection<'_>,
    settings: &SaslSettings,
) -> Result<Option<Duration>> {
    let mechanism = settings.mechanism;
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let answer = conn.request_at_version(&handshake, 1).await?;
    if let Some(error) = ResponseError::try_from_code(answer.error_code) {
        return Err(match error {
            ResponseError::UnsupportedSaslMechanism => ClientError::SaslMechanismDisabled {
                addr: conn.addr().to_string(),
                mechanism: mechanism.name(),
                enabled: answer.mechanisms.iter().map(|m| m.to_string()).collect(),
            },
            other => ClientError::Broker {
                api: ApiKey::SaslHandshake,
                context: format!("broker {}", conn.addr()),
                error: other,
                message: None,
            },
        });
    }
    let addr = conn.addr().to_string();
    let refused = |message: String| ClientError::Authentication {
        addr: addr.clone(),
        mechanism: mechanism.name(),
        principal: settings.principal().to_string(),
        message,
    };
    let response = match (&settings.credentials, mechanism) {
        (SaslCredentials::Password { user, password }, SaslMechanism::Plain) => {
            // authzid empty: authorize as the authenticated user.
            let message = format!("\0{user}\0{password}");
            step(conn, message.into_bytes(), &refused).await?
        }
        (SaslCredentials::Password { user, password }, SaslMechanism::Scram(hash)) => {
            let (client, first) = ScramClient::start(hash, user, password);
            let server_first = step(conn, first, &refused).await?;
            let (done, last) = client
                .respond(&server_first.auth_bytes)
                .map_err(|e| refused(e.to_string()))?;
            let server_final = step(conn, last, &refused).await?;
            done.verify(&server_final.auth_bytes)
                .map_err(|e| refused(e.to_string()))?;
            server_final
        }
        (SaslCredentials::OAuth(_), SaslMechanism::OAuthBearer) => {
            let tokens = settings
                .tokens
                .as_ref()
                .expect("OAuth credentials come with a token source");
            let token = tokens.token().await.map_err(|source| ClientError::OAuth {
                addr: conn.addr().to_string(),
                source,
            })?;
            // RFC 7628 initial client response, no authzid, no extensions.
            let message = format!("n,,\u{1}auth=Bearer {}\u{1}\u{1}", token.expose());
            step(conn, message.into_bytes(), &refused).await?
        }
        _ => unreachable!("credentials are built for their mechanism"),
    };
    Ok(u64::try_from(response.session_lifetime_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis))
}

/// One SaslAuthenticate round trip.
async fn step(
    conn: &mut ExclusiveConnection<'_>,
    auth_bytes: Vec<u8>,
    refused: &impl Fn(String) -> ClientError,
) -> Result<SaslAuthenticateResponse> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(auth_bytes));
    let response = conn.request(&request).await?;
    if response.error_code != 0 {
        let message = response
            .error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_else(|| format!("error code {}", response.error_code));
        return Err(refused(message));
    }
    Ok(response)
}

/// When to re-authenticate a session of `lifetime`: at 85 to 95 % of it,
/// like Kafka's Java client, so that many connections do not re-authenticate
/// at once.
pub(crate) fn reauthentication_delay(lifetime: Duration) -> Duration {
    use rand::Rng as _;
    let factor = rand::thread_rng().gen_range(0.85..0.95);
    lifetime.mul_f64(factor)
}
