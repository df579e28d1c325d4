//! Errors of the client layer. `Display` says what failed and where (broker
//! address, API); the cause is available through `source()`.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

use crate::security::oauth::OAuthError;
use crate::security::tls::TlsFailure;
use crate::security::{SecurityError, SecurityProtocol};

/// Everything that can go wrong talking to a Kafka cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    /// No bootstrap address answered.
    #[error("no bootstrap broker reachable ({addrs}): {last}")]
    NoBootstrap {
        addrs: String,
        #[source]
        last: Box<ClientError>,
    },
    /// Reading or writing the socket failed; the connection is closed.
    #[error("i/o error with {addr} during {api:?}: {source}")]
    Io {
        addr: String,
        api: ApiKey,
        #[source]
        source: std::io::Error,
    },
    /// The connection was closed (by the peer or after an earlier failure)
    /// while the request waited.
    #[error("connection to {addr} closed during {api:?}: {reason}")]
    ConnectionClosed {
        addr: String,
        api: ApiKey,
        reason: String,
    },
    /// No answer within the request timeout; the connection is closed.
    #[error("{api:?} request to {addr} timed out after {timeout:?}")]
    RequestTimeout {
        addr: String,
        api: ApiKey,
        timeout: Duration,
    },
    /// The peer sent bytes that are not a valid Kafka response.
    #[error("malformed {api:?} response from {addr}: {reason}")]
    Malformed {
        addr: String,
        api: ApiKey,
        reason: String,
    },
    /// The broker does not support any version of an API we can speak.
    #[error("{addr} supports no version of {api:?} that kmirror speaks ({detail})")]
    UnsupportedVersion {
        addr: String,
        api: ApiKey,
        detail: String,
    },
    /// The broker answered with an error code.
    #[error("{api:?} failed on {context}: {error}")]
    Broker {
        api: ApiKey,
        context: String,
        error: ResponseError,
        message: Option<String>,
    },
    /// Metadata does not know a topic or partition.
    #[error("unknown topic or partition {topic}-{partition}")]
    UnknownTopicPartition { topic: String, partition: i32 },
    /// The partition has no leader right now.
    #[error("partition {topic}-{partition} has no leader")]
    NoLeader { topic: String, partition: i32 },
    /// Fetched bytes cannot be forwarded.
    #[error("fetched data of {topic}-{partition} is unusable: {source}")]
    Records {
        topic: String,
        partition: i32,
        #[source]
        source: kmirror_wire::WireError,
    },
    /// Retries were exhausted; carries the last error.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        attempts: u32,
        #[source]
        last: Box<ClientError>,
    },
    /// The security settings cannot be used (a configuration error).
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// The TLS connection failed.
    #[error("TLS connection to {addr} failed: {failure}")]
    Tls { addr: String, failure: TlsFailure },
    /// The broker's listener does not enable our SASL mechanism.
    #[error("{addr} does not enable sasl.mechanism={mechanism} on this listener (it enables {}): set sasl.mechanism to one of them", enabled.join(", "))]
    SaslMechanismDisabled {
        addr: String,
        mechanism: &'static str,
        enabled: Vec<String>,
    },
    /// The broker refused our credentials.
    #[error("{addr} refused {mechanism} authentication of `{principal}`: {message}; check the credentials in sasl.jaas.config")]
    Authentication {
        addr: String,
        mechanism: &'static str,
        principal: String,
        message: String,
    },
    /// No OAUTHBEARER token could be had.
    #[error("no OAUTHBEARER token for {addr}: {source}")]
    OAuth {
        addr: String,
        #[source]
        source: OAuthError,
    },
    /// The listener speaks another protocol than `security.protocol`.
    #[error("{addr}: {hint}")]
    WrongListener { addr: String, hint: &'static str },
    /// The write lease of `scope` ran out: the group coordinator has not
    /// confirmed this member recently enough to be sure it still owns what
    /// it writes (see [`crate::lease`]).
    #[error("{scope}: not written: this worker's membership in the group is no longer confirmed (write lease expired)")]
    LeaseExpired { scope: String },
}

impl ClientError {
    /// Whether the cluster refused us for who we are or how we connect
    /// (credentials, certificates, protocol): retrying the same settings
    /// cannot help, and start-up should stop at once.
    pub fn is_security_refusal(&self) -> bool {
        match self {
            ClientError::Tls { .. }
            | ClientError::SaslMechanismDisabled { .. }
            | ClientError::Authentication { .. }
            | ClientError::OAuth { .. }
            | ClientError::WrongListener { .. } => true,
            ClientError::NoBootstrap { last, .. } | ClientError::RetriesExhausted { last, .. } => {
                last.is_security_refusal()
            }
            _ => false,
        }
    }

    /// A failed first exchange with a broker, explained: a broker that
    /// closes the connection right after ApiVersions, or answers with TLS,
    /// has a listener of another `security.protocol`.
    pub(crate) fn with_listener_hint(self, protocol: SecurityProtocol) -> Self {
        match &self {
            ClientError::ConnectionClosed { addr, reason, .. } => {
                let hint = if reason.contains("answered with TLS") {
                    "the broker answered with TLS: this is an SSL or SASL_SSL listener; set security.protocol to SSL or SASL_SSL"
                } else if protocol.uses_tls() {
                    return self;
                } else if reason.contains("closed") {
                    "the broker closed the connection at once: if this listener is SSL or SASL_SSL, set security.protocol accordingly"
                } else {
                    return self;
                };
                ClientError::WrongListener {
                    addr: addr.clone(),
                    hint,
                }
            }
            _ => self,
        }
    }

    /// Whether retrying the same call later may succeed (possibly after a
    /// metadata refresh or reconnect).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::ConnectTimeout { .. }
            | ClientError::NoBootstrap { .. }
            | ClientError::Io { .. }
            | ClientError::ConnectionClosed { .. }
            | ClientError::RequestTimeout { .. }
            | ClientError::NoLeader { .. }
            | ClientError::UnknownTopicPartition { .. } => true,
            ClientError::Broker { error, .. } => error.is_retriable(),
            _ => false,
        }
    }

    /// Whether the error means our view of partition leadership is stale.
    pub fn needs_metadata_refresh(&self) -> bool {
        match self {
            ClientError::Broker { error, .. } => matches!(
                error,
                ResponseError::NotLeaderOrFollower
                    | ResponseError::UnknownTopicOrPartition
                    | ResponseError::LeaderNotAvailable
                    | ResponseError::FencedLeaderEpoch
                    | ResponseError::UnknownLeaderEpoch
                    | ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
                    // A topic id our metadata has and the broker not (the
                    // topic was deleted, maybe created again under a new id).
                    | ResponseError::UnknownTopicId
                    | ResponseError::InconsistentTopicId
            ),
            ClientError::NoLeader { .. }
            | ClientError::UnknownTopicPartition { .. }
            | ClientError::Connect { .. }
            | ClientError::ConnectTimeout { .. }
            | ClientError::Io { .. }
            | ClientError::ConnectionClosed { .. }
            | ClientError::RequestTimeout { .. } => true,
            _ => false,
        }
    }

    /// The cluster does not know the topic or partition (per its metadata
    /// or its answer), also when that was the last error before giving up.
    pub fn is_missing_topic(&self) -> bool {
        match self {
            ClientError::UnknownTopicPartition { .. } => true,
            ClientError::RetriesExhausted { last, .. } => last.is_missing_topic(),
            _ => self.broker_error() == Some(ResponseError::UnknownTopicOrPartition),
        }
    }

    /// What the broker refused to authorize, when it did.
    pub fn denied(&self) -> Option<Denied> {
        match self.broker_error()? {
            ResponseError::TopicAuthorizationFailed => Some(Denied::Topic),
            ResponseError::ClusterAuthorizationFailed => Some(Denied::Cluster),
            ResponseError::GroupAuthorizationFailed => Some(Denied::Group),
            _ => None,
        }
    }

    /// A batch larger than the broker or topic accepts
    /// (`message.max.bytes`, `max.message.bytes`).
    pub fn is_message_too_large(&self) -> bool {
        self.broker_error() == Some(ResponseError::MessageTooLarge)
    }

    /// The partition's leadership is moving (a topic created a moment ago,
    /// a leader election): asking again soon will likely succeed.
    pub fn is_leadership_moving(&self) -> bool {
        matches!(
            self.broker_error(),
            Some(ResponseError::NotLeaderOrFollower | ResponseError::LeaderNotAvailable)
        )
    }

    /// The broker's error code as a number, when it answered with one: for
    /// telling one refusal from another without the protocol's types.
    pub fn broker_code(&self) -> Option<i16> {
        self.broker_error().map(|error| error.code())
    }

    /// The cluster has no authorizer (SECURITY_DISABLED): ACL requests mean
    /// nothing there.
    pub fn is_security_disabled(&self) -> bool {
        self.broker_error() == Some(ResponseError::SecurityDisabled)
    }

    /// The fetch asked for an offset the partition no longer (or not yet)
    /// has: the reader must reset its position.
    pub fn is_offset_out_of_range(&self) -> bool {
        self.broker_error() == Some(ResponseError::OffsetOutOfRange)
    }

    /// The broker lost the fetch session or saw it out of step (KIP-227):
    /// the next, full, request may go at once.
    pub fn is_fetch_session_error(&self) -> bool {
        matches!(
            self.broker_error(),
            Some(
                ResponseError::FetchSessionIdNotFound
                    | ResponseError::InvalidFetchSessionEpoch
                    | ResponseError::FetchSessionTopicIdError
            )
        )
    }

    /// Fetching stopped for `context` (a partition and its broker) because
    /// of `cause`, an error that retrying cannot fix: the broker's code
    /// when it gave one, with the whole cause as the message.
    pub fn fetch_stopped(context: String, cause: &ClientError) -> ClientError {
        ClientError::Broker {
            api: ApiKey::Fetch,
            context,
            error: cause
                .broker_error()
                .unwrap_or(ResponseError::UnknownServerError),
            message: Some(cause.to_string()),
        }
    }

    /// The broker error code, when the broker answered with one.
    pub fn broker_error(&self) -> Option<ResponseError> {
        match self {
            ClientError::Broker { error, .. } => Some(*error),
            ClientError::RetriesExhausted { last, .. } => last.broker_error(),
            _ => None,
        }
    }
}

/// What an authorization refusal was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// TOPIC_AUTHORIZATION_FAILED.
    Topic,
    /// CLUSTER_AUTHORIZATION_FAILED.
    Cluster,
    /// GROUP_AUTHORIZATION_FAILED.
    Group,
}

/// Turns a response error code into a `Result`, naming the API and what it
/// was about.
pub(crate) fn check_code(
    api: ApiKey,
    code: i16,
    context: impl FnOnce() -> String,
    message: Option<&kafka_protocol::protocol::StrBytes>,
) -> Result<(), ClientError> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(error) => Err(ClientError::Broker {
            api,
            context: context(),
            error,
            message: message.map(|m| m.to_string()),
        }),
    }
}

/// `std::io::Error` is not `Clone`; a copy keeps its kind and message, which
/// is all that retry decisions and log lines use. Needed where one failed
/// request carried the batches of many partitions and each learns why.
impl Clone for ClientError {
    fn clone(&self) -> Self {
        let io = |e: &std::io::Error| std::io::Error::new(e.kind(), e.to_string());
        match self {
            ClientError::Connect { addr, source } => ClientError::Connect {
                addr: addr.clone(),
                source: io(source),
            },
            ClientError::ConnectTimeout { addr, timeout } => ClientError::ConnectTimeout {
                addr: addr.clone(),
                timeout: *timeout,
            },
            ClientError::NoBootstrap { addrs, last } => ClientError::NoBootstrap {
                addrs: addrs.clone(),
                last: last.clone(),
            },
            ClientError::Io { addr, api, source } => ClientError::Io {
                addr: addr.clone(),
                api: *api,
                source: io(source),
            },
            ClientError::ConnectionClosed { addr, api, reason } => ClientError::ConnectionClosed {
                addr: addr.clone(),
                api: *api,
                reason: reason.clone(),
            },
            ClientError::RequestTimeout { addr, api, timeout } => ClientError::RequestTimeout {
                addr: addr.clone(),
                api: *api,
                timeout: *timeout,
            },
            ClientError::Malformed { addr, api, reason } => ClientError::Malformed {
                addr: addr.clone(),
                api: *api,
                reason: reason.clone(),
            },
            ClientError::UnsupportedVersion { addr, api, detail } => {
                ClientError::UnsupportedVersion {
                    addr: addr.clone(),
                    api: *api,
                    detail: detail.clone(),
                }
            }
            ClientError::Broker {
                api,
                context,
                error,
                message,
            } => ClientError::Broker {
                api: *api,
                context: context.clone(),
                error: *error,
                message: message.clone(),
            },
            ClientError::UnknownTopicPartition { topic, partition } => {
                ClientError::UnknownTopicPartition {
                    topic: topic.clone(),
                    partition: *partition,
                }
            }
            ClientError::NoLeader { topic, partition } => ClientError::NoLeader {
                topic: topic.clone(),
                partition: *partition,
            },
            ClientError::Records {
                topic,
                partition,
                source,
            } => ClientError::Records {
                topic: topic.clone(),
                partition: *partition,
                source: source.clone(),
            },
            ClientError::RetriesExhausted { attempts, last } => ClientError::RetriesExhausted {
                attempts: *attempts,
                last: last.clone(),
            },
            ClientError::Security(e) => ClientError::Security(e.clone()),
            ClientError::Tls { addr, failure } => ClientError::Tls {
                addr: addr.clone(),
                failure: failure.clone(),
            },
            ClientError::SaslMechanismDisabled {
                addr,
                mechanism,
                enabled,
            } => ClientError::SaslMechanismDisabled {
                addr: addr.clone(),
                mechanism,
                enabled: enabled.clone(),
            },
            ClientError::Authentication {
                addr,
                mechanism,
                principal,
                message,
            } => ClientError::Authentication {
                addr: addr.clone(),
                mechanism,
                principal: principal.clone(),
                message: message.clone(),
            },
            ClientError::OAuth { addr, source } => ClientError::OAuth {
                addr: addr.clone(),
                source: source.clone(),
            },
            ClientError::WrongListener { addr, hint } => ClientError::WrongListener {
                addr: addr.clone(),
                hint,
            },
            ClientError::LeaseExpired { scope } => ClientError::LeaseExpired {
                scope: scope.clone(),
            },
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
