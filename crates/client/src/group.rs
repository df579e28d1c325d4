//! The classic group membership calls (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup) for one group on one cluster, the way Kafka Connect uses
//! them with its own protocol type: the coordinator only counts members,
//! generations and opaque metadata and assignment bytes; what those bytes
//! mean, who assigns what and when to rejoin is the caller's business
//! (the engine's membership state machine). Nothing here loops on its own
//! except the few retries the protocol requires inside a join.
//!
//! A JoinGroup is held by the coordinator until every known member has
//! rejoined (up to the rebalance timeout), and a broker answers the
//! requests of one connection strictly in order. So JoinGroup and SyncGroup
//! travel on a connection of this [`GroupClient`]'s own, and Heartbeat and
//! LeaveGroup on the client's pooled control connection: a member's
//! heartbeats keep flowing while its own join is pending, and two groups of
//! one client never wait on each other's joins.
//!
//! ```no_run
//! # async fn demo() -> kmirror_client::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use kmirror_client::group::{group_signal, GroupSignal, JoinParams};
//! use kmirror_client::{ClientConfig, KafkaClient};
//!
//! let client = KafkaClient::connect(ClientConfig::new("127.0.0.1:9092")).await?;
//! let group = client.group("kmirror-a-b");
//! let protocols = [("v1".to_string(), Bytes::from_static(b"my metadata"))];
//! let joined = group
//!     .join(&JoinParams {
//!         member_id: "",
//!         instance_id: Some("worker-1"),
//!         protocol_type: "kmirror",
//!         protocols: &protocols,
//!         session_timeout: Duration::from_secs(10),
//!         rebalance_timeout: Duration::from_secs(60),
//!         reason: None,
//!     })
//!     .await?;
//! // The leader (unless told to skip) assigns every member; others send none.
//! let assignments = if joined.is_leader() && !joined.skip_assignment {
//!     joined.members.iter().map(|m| (m.member_id.clone(), Bytes::new())).collect()
//! } else {
//!     Vec::new()
//! };
//! let protocol = joined.protocol_name.clone().unwrap_or_default();
//! let mine = group
//!     .sync(joined.generation, &joined.member_id, Some("worker-1"), "kmirror", &protocol, assignments)
//!     .await?;
//! match group.heartbeat(joined.generation, &joined.member_id, Some("worker-1")).await {
//!     Ok(()) => {}
//!     Err(e) if group_signal(&e) == GroupSignal::Rebalance => { /* join again */ }
//!     Err(e) => return Err(e),
//! }
//! # let _ = mine; Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::{Message, Request, StrBytes};
use kafka_protocol::ResponseError;
use tracing::debug;

use crate::admin::Admin;
use crate::cluster::{KafkaClient, Purpose};
use crate::connection::{api_key, BrokerConnection};
use crate::error::{check_code, ClientError, Result};

/// How long past the rebalance timeout we wait for a JoinGroup or SyncGroup
/// answer: the coordinator answers at the rebalance timeout at the latest,
/// so this only covers the trip back (Kafka's Java client allows 5 s too).
const REBALANCE_ANSWER_LAPSE: Duration = Duration::from_secs(5);

/// How many times one `join` asks again when the coordinator moved, is not
/// available or is still loading the group, before telling the caller.
const JOIN_COORDINATOR_ATTEMPTS: u32 = 5;

/// First JoinGroup version that carries `group.instance.id` (KIP-345).
const JOIN_STATIC_MEMBERSHIP: i16 = 5;
/// First SyncGroup / Heartbeat version that carries `group.instance.id`.
const SYNC_HEARTBEAT_STATIC_MEMBERSHIP: i16 = 3;
/// First LeaveGroup version that names a list of members.
const LEAVE_MEMBER_LIST: i16 = 3;

/// What a membership call's error means for the caller's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSignal {
    /// The group is rebalancing (REBALANCE_IN_PROGRESS): join again with the
    /// same member id; the current assignment stays valid until then.
    Rebalance,
    /// This member's generation is over (ILLEGAL_GENERATION): a newer one
    /// exists that this member is still part of, or will be once it joins
    /// again. Its work stays its own until the next assignment says
    /// otherwise.
    Rejoin,
    /// The coordinator no longer knows this member (UNKNOWN_MEMBER_ID, e.g.
    /// after its session expired): its work may be another member's by now,
    /// so stop it and join again. Joining with the old member id is fine:
    /// [`GroupClient::join`] starts over with a new one when the coordinator
    /// does not know it.
    UnknownMember,
    /// Another process registered with this member's `group.instance.id`
    /// (FENCED_INSTANCE_ID): this one must stop and not rejoin on its own.
    Fenced,
    /// The coordinator moved, is not available, is loading the group, or
    /// could not be reached: the coordinator was forgotten, the next call
    /// looks it up again. Try again after a backoff.
    CoordinatorMoved,
    /// The coordinator refused the member for good (authorization, protocol
    /// mismatch, group full, session timeout out of the broker's range,
    /// unsupported version, ...): retrying the same request cannot help.
    Refused,
}

/// What an error of [`GroupClient`]'s calls means (see [`GroupSignal`]).
pub fn group_signal(error: &ClientError) -> GroupSignal {
    match error {
        ClientError::Broker { error, .. } => match error {
            ResponseError::RebalanceInProgress => GroupSignal::Rebalance,
            ResponseError::IllegalGeneration
            // `join` handles it; should it reach a caller, a new join does.
            | ResponseError::MemberIdRequired => GroupSignal::Rejoin,
            ResponseError::UnknownMemberId => GroupSignal::UnknownMember,
            ResponseError::FencedInstanceId => GroupSignal::Fenced,
            // NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
            // COORDINATOR_LOAD_IN_PROGRESS, and any other error Kafka calls
            // retriable (REQUEST_TIMED_OUT, NETWORK_EXCEPTION, ...).
            e if e.is_retriable() => GroupSignal::CoordinatorMoved,
            _ => GroupSignal::Refused,
        },
        ClientError::Connect { .. }
        | ClientError::ConnectTimeout { .. }
        | ClientError::NoBootstrap { .. }
        | ClientError::Io { .. }
        | ClientError::ConnectionClosed { .. }
        | ClientError::RequestTimeout { .. } => GroupSignal::CoordinatorMoved,
        // A coordinator lookup that gave up carries why.
        ClientError::RetriesExhausted { last, .. } => group_signal(last),
        _ => GroupSignal::Refused,
    }
}

/// One JoinGroup's input.
#[derive(Clone, Copy)]
pub struct JoinParams<'a> {
    /// The member id from the last join, "" on the first.
    pub member_id: &'a str,
    /// `group.instance.id` for static membership (KIP-345): a member that
    /// comes back under the same instance id within the session timeout
    /// takes over its old place without a rebalance.
    pub instance_id: Option<&'a str>,
    /// The group's protocol type, the same for every member ("kmirror").
    pub protocol_type: &'a str,
    /// The protocols this member speaks, preferred first: (name, metadata).
    pub protocols: &'a [(String, Bytes)],
    /// A member that sends no heartbeat for this long is removed.
    pub session_timeout: Duration,
    /// How long the coordinator waits for every member to rejoin.
    pub rebalance_timeout: Duration,
    /// Why the member joins, shown in the broker's log (JoinGroup v8+).
    pub reason: Option<&'a str>,
}

impl fmt::Debug for JoinParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinParams")
            .field("member_id", &self.member_id)
            .field("instance_id", &self.instance_id)
            .field("protocol_type", &self.protocol_type)
            .field("protocols", &ProtocolsDebug(self.protocols))
            .field("session_timeout", &self.session_timeout)
            .field("rebalance_timeout", &self.rebalance_timeout)
            .field("reason", &self.reason)
            .finish()
    }
}

/// Protocols as `name (N bytes)`: metadata is opaque and can be long.
struct ProtocolsDebug<'a>(&'a [(String, Bytes)]);

impl fmt::Debug for ProtocolsDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(name, metadata)| format!("{name} ({} bytes)", metadata.len())),
            )
            .finish()
    }
}

/// The answer to a join: this member's place in the new generation.
#[derive(Clone, PartialEq, Eq)]
pub struct Joined {
    pub generation: i32,
    /// This member's id, to use in every later call of the generation.
    pub member_id: String,
    /// The leader's member id.
    pub leader: String,
    /// The protocol the coordinator chose among those every member speaks.
    pub protocol_name: Option<String>,
    /// KIP-814 (JoinGroup v9): a static leader that came back to an
    /// unchanged group must not assign again and syncs with no assignments;
    /// `members` is still filled so it can rebuild its view.
    pub skip_assignment: bool,
    /// Every member with its metadata; empty unless this member leads.
    pub members: Vec<JoinedMember>,
}

impl Joined {
    /// Whether this member leads the generation (and so assigns).
    pub fn is_leader(&self) -> bool {
        self.leader == self.member_id
    }
}

impl fmt::Debug for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Joined")
            .field("generation", &self.generation)
            .field("member_id", &self.member_id)
            .field("leader", &self.leader)
            .field("protocol_name", &self.protocol_name)
            .field("skip_assignment", &self.skip_assignment)
            .field("members", &self.members)
            .finish()
    }
}

/// A member of the group as the leader sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    /// The metadata it sent for the chosen protocol.
    pub metadata: Bytes,
}

impl fmt::Debug for JoinedMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinedMember")
            .field("member_id", &self.member_id)
            .field("instance_id", &self.instance_id)
            .field("metadata", &format_args!("{} bytes", self.metadata.len()))
            .finish()
    }
}

impl KafkaClient {
    /// The membership calls of `group_id` on this cluster (with a fresh
    /// coordinator cache and a join connection of its own).
    pub fn group(&self, group_id: &str) -> GroupClient {
        GroupClient::new(self.admin(), group_id)
    }
}

/// The membership calls of one group on one cluster. Cheap to clone;
/// clones share the coordinator cache and the join connection.
#[derive(Clone)]
pub struct GroupClient {
    /// Coordinator lookup and its cache.
    admin: Admin,
    group_id: String,
    shared: Arc<Shared>,
}

/// What clones of one [`GroupClient`] share.
#[derive(Default)]
struct Shared {
    /// The connection JoinGroup and SyncGroup travel on (see the module docs
    /// for why it is not pooled).
    join_connection: StdMutex<Option<CoordinatorConnection>>,
    /// The rebalance timeout of the last join, which also bounds how long
    /// the coordinator may hold the SyncGroup that follows it.
    rebalance_timeout: StdMutex<Duration>,
}

struct CoordinatorConnection {
    broker: i32,
    connection: Arc<BrokerConnection>,
}

impl fmt::Debug for GroupClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupClient")
            .field("group_id", &self.group_id)
            .field("cluster", &self.admin.client().cluster_label())
            .finish()
    }
}

impl GroupClient {
    /// The membership calls of `group_id`, sharing `admin`'s coordinator
    /// cache.
    pub fn new(admin: Admin, group_id: &str) -> Self {
        GroupClient {
            admin,
            group_id: group_id.to_string(),
            shared: Arc::default(),
        }
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Joins the group (or rejoins it with the last member id) and waits
    /// until the coordinator completes the generation: when every known
    /// member has rejoined, or the rebalance timeout has passed.
    ///
    /// Handled inside: MEMBER_ID_REQUIRED (JoinGroup v4+ gives a new member
    /// its id and wants it back at once), UNKNOWN_MEMBER_ID for a non-empty
    /// member id (the old id expired: join again as a new member), and up to
    /// a few retries when the coordinator moved or is loading. Every other
    /// error goes to the caller; see [`group_signal`].
    pub async fn join(&self, params: &JoinParams<'_>) -> Result<Joined> {
        let mut member_id = params.member_id.to_string();
        let mut coordinator_attempts = 0;
        // Each of these happens at most once per join; a coordinator that
        // keeps asking is answered with its error instead of a loop.
        let mut id_required_seen = false;
        let mut unknown_member_seen = false;
        loop {
            let error = match self.join_once(params, &member_id).await {
                Ok(joined) => return Ok(joined),
                Err(JoinFailure::MemberIdRequired { member_id: given }) if !id_required_seen => {
                    id_required_seen = true;
                    debug!(group = %self.group_id, member_id = %given, "joining with the member id the coordinator gave");
                    member_id = given;
                    continue;
                }
                Err(JoinFailure::MemberIdRequired { .. }) => self.join_error(
                    ResponseError::MemberIdRequired,
                    &member_id,
                    "the coordinator asked twice for a member id",
                ),
                Err(JoinFailure::Other(error)) => error,
            };
            self.forget_coordinator_if_moved(&error);
            let unknown_member = error.broker_error() == Some(ResponseError::UnknownMemberId);
            if unknown_member && !member_id.is_empty() && !unknown_member_seen {
                unknown_member_seen = true;
                debug!(group = %self.group_id, member_id, "member id no longer known; joining as a new member");
                member_id.clear();
                continue;
            }
            coordinator_attempts += 1;
            if !retry_join(&error) || coordinator_attempts >= JOIN_COORDINATOR_ATTEMPTS {
                return Err(error);
            }
            debug!(group = %self.group_id, error = %error, attempt = coordinator_attempts, "join failed; asking the coordinator again");
            let backoff = self.admin.client().config().retry_backoff * coordinator_attempts;
            tokio::time::sleep(backoff).await;
        }
    }

    async fn join_once(
        &self,
        params: &JoinParams<'_>,
        member_id: &str,
    ) -> Result<Joined, JoinFailure> {
        let conn = self.join_connection().await?;
        let version = version::<JoinGroupRequest>(&conn)?;
        if params.instance_id.is_some() && version < JOIN_STATIC_MEMBERSHIP {
            return Err(static_membership_unsupported(&conn, ApiKey::JoinGroup, version).into());
        }
        let request = JoinGroupRequest::default()
            .with_group_id(group_id(&self.group_id))
            .with_session_timeout_ms(millis(params.session_timeout))
            .with_rebalance_timeout_ms(millis(params.rebalance_timeout))
            .with_member_id(str_bytes(member_id))
            .with_group_instance_id(params.instance_id.map(str_bytes))
            .with_protocol_type(str_bytes(params.protocol_type))
            .with_protocols(
                params
                    .protocols
                    .iter()
                    .map(|(name, metadata)| {
                        JoinGroupRequestProtocol::default()
                            .with_name(str_bytes(name))
                            .with_metadata(metadata.clone())
                    })
                    .collect(),
            )
            .with_reason(params.reason.filter(|_| version >= 8).map(str_bytes));
        *self.shared.rebalance_timeout.lock().unwrap() = params.rebalance_timeout;
        let timeout = self.rebalance_wait(params.rebalance_timeout);
        let response = conn.request_at(&request, version, timeout).await?;
        self.joined(member_id, response)
    }

    /// The join answer, or why there is none.
    fn joined(&self, member_id: &str, response: JoinGroupResponse) -> Result<Joined, JoinFailure> {
        if ResponseError::try_from_code(response.error_code)
            == Some(ResponseError::MemberIdRequired)
        {
            return Err(JoinFailure::MemberIdRequired {
                member_id: response.member_id.to_string(),
            });
        }
        check_code(
            ApiKey::JoinGroup,
            response.error_code,
            || self.context(member_id),
            None,
        )?;
        Ok(Joined {
            generation: response.generation_id,
            member_id: response.member_id.to_string(),
            leader: response.leader.to_string(),
            protocol_name: response.protocol_name.map(|p| p.to_string()),
            skip_assignment: response.skip_assignment,
            members: response
                .members
                .into_iter()
                .map(|m| JoinedMember {
                    member_id: m.member_id.to_string(),
                    instance_id: m.group_instance_id.map(|i| i.to_string()),
                    metadata: m.metadata,
                })
                .collect(),
        })
    }

    /// Sends this member's SyncGroup and returns its assignment. The leader
    /// passes every member's assignment (none when the join said
    /// `skip_assignment`), the others an empty list; a follower's answer
    /// waits until the leader's sync arrived.
    pub async fn sync(
        &self,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        protocol_type: &str,
        protocol_name: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Bytes> {
        self.forgetting_moved(async {
            let conn = self.join_connection().await?;
            let version = version::<SyncGroupRequest>(&conn)?;
            if instance_id.is_some() && version < SYNC_HEARTBEAT_STATIC_MEMBERSHIP {
                return Err(static_membership_unsupported(
                    &conn,
                    ApiKey::SyncGroup,
                    version,
                ));
            }
            // v5 lets the coordinator check that every member agrees on them.
            let v5 = version >= 5;
            let request = SyncGroupRequest::default()
                .with_group_id(group_id(&self.group_id))
                .with_generation_id(generation)
                .with_member_id(str_bytes(member_id))
                .with_group_instance_id(instance_id.map(str_bytes))
                .with_protocol_type(v5.then(|| str_bytes(protocol_type)))
                .with_protocol_name(v5.then(|| str_bytes(protocol_name)))
                .with_assignments(
                    assignments
                        .into_iter()
                        .map(|(member, assignment)| {
                            SyncGroupRequestAssignment::default()
                                .with_member_id(StrBytes::from_string(member))
                                .with_assignment(assignment)
                        })
                        .collect(),
                );
            // A follower's SyncGroup is held until the leader's arrives, which
            // the leader sends only after it assigned; the coordinator gives up
            // on it after the rebalance timeout of the join.
            let rebalance_timeout = *self.shared.rebalance_timeout.lock().unwrap();
            let timeout = self.rebalance_wait(rebalance_timeout);
            let response = conn.request_at(&request, version, timeout).await?;
            check_code(
                ApiKey::SyncGroup,
                response.error_code,
                || self.context(member_id),
                None,
            )?;
            Ok(response.assignment)
        })
        .await
    }

    /// Tells the coordinator this member is alive. Never retried here: the
    /// caller's heartbeat clock decides when to try again. An error says
    /// what to do next through [`group_signal`].
    pub async fn heartbeat(
        &self,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<()> {
        self.forgetting_moved(async {
            let conn = self.control_connection().await?;
            let version = version::<HeartbeatRequest>(&conn)?;
            if instance_id.is_some() && version < SYNC_HEARTBEAT_STATIC_MEMBERSHIP {
                return Err(static_membership_unsupported(
                    &conn,
                    ApiKey::Heartbeat,
                    version,
                ));
            }
            let request = HeartbeatRequest::default()
                .with_group_id(group_id(&self.group_id))
                .with_generation_id(generation)
                .with_member_id(str_bytes(member_id))
                .with_group_instance_id(instance_id.map(str_bytes));
            let timeout = self.admin.client().config().connection.request_timeout;
            let response = conn.request_at(&request, version, timeout).await?;
            check_code(
                ApiKey::Heartbeat,
                response.error_code,
                || self.context(member_id),
                None,
            )
        })
        .await
    }

    /// Leaves the group at once, so that the others rebalance now rather
    /// than after this member's session timeout. A static member that
    /// means to come back (a restart) should not leave. Not retried; the
    /// member's own answer is checked, not only the request's.
    pub async fn leave(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<()> {
        self.forgetting_moved(async {
            let conn = self.control_connection().await?;
            let version = version::<LeaveGroupRequest>(&conn)?;
            let mut request = LeaveGroupRequest::default().with_group_id(group_id(&self.group_id));
            if version >= LEAVE_MEMBER_LIST {
                request = request.with_members(vec![MemberIdentity::default()
                    .with_member_id(str_bytes(member_id))
                    .with_group_instance_id(instance_id.map(str_bytes))
                    .with_reason(reason.filter(|_| version >= 5).map(str_bytes))]);
            } else if instance_id.is_some() {
                return Err(static_membership_unsupported(
                    &conn,
                    ApiKey::LeaveGroup,
                    version,
                ));
            } else {
                request = request.with_member_id(str_bytes(member_id));
            }
            let timeout = self.admin.client().config().connection.request_timeout;
            let response = conn.request_at(&request, version, timeout).await?;
            check_code(
                ApiKey::LeaveGroup,
                response.error_code,
                || self.context(member_id),
                None,
            )?;
            // v3+ answers per member; the request-level code can be success
            // while our member was refused (unknown, fenced).
            for member in &response.members {
                check_code(
                    ApiKey::LeaveGroup,
                    member.error_code,
                    || self.context(member.member_id.as_str()),
                    None,
                )?;
            }
            Ok(())
        })
        .await
    }

    /// The connection for JoinGroup and SyncGroup: this client's own, to
    /// the current coordinator, replaced when it failed or the coordinator
    /// changed.
    async fn join_connection(&self) -> Result<Arc<BrokerConnection>> {
        let coordinator = self.admin.find_coordinator(&self.group_id).await?;
        if let Some(current) = self.shared.join_connection.lock().unwrap().as_ref() {
            if current.broker == coordinator && !current.connection.is_closed() {
                return Ok(current.connection.clone());
            }
        }
        let conn = self
            .admin
            .client()
            .unpooled_connection(coordinator)
            .await
            .inspect_err(|_| self.admin.forget_coordinator(&self.group_id))?;
        *self.shared.join_connection.lock().unwrap() = Some(CoordinatorConnection {
            broker: coordinator,
            connection: conn.clone(),
        });
        Ok(conn)
    }

    /// The pooled control connection to the coordinator, for the calls the
    /// broker answers at once (Heartbeat, LeaveGroup).
    async fn control_connection(&self) -> Result<Arc<BrokerConnection>> {
        let coordinator = self.admin.find_coordinator(&self.group_id).await?;
        self.admin
            .client()
            .connection(coordinator, Purpose::Control)
            .await
            .inspect_err(|_| self.admin.forget_coordinator(&self.group_id))
    }

    /// `call`'s outcome, the coordinator forgotten when it says it moved.
    async fn forgetting_moved<T>(
        &self,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = call.await;
        if let Err(e) = &result {
            self.forget_coordinator_if_moved(e);
        }
        result
    }

    fn forget_coordinator_if_moved(&self, error: &ClientError) {
        if group_signal(error) == GroupSignal::CoordinatorMoved {
            self.admin.forget_coordinator(&self.group_id);
        }
    }

    /// How long to wait for an answer the coordinator may hold for up to
    /// `rebalance_timeout`: never less than the usual request timeout.
    fn rebalance_wait(&self, rebalance_timeout: Duration) -> Duration {
        let usual = self.admin.client().config().connection.request_timeout;
        usual.max(rebalance_timeout + REBALANCE_ANSWER_LAPSE)
    }

    fn context(&self, member_id: &str) -> String {
        format!("group {} member {member_id}", self.group_id)
    }

    fn join_error(&self, error: ResponseError, member_id: &str, message: &str) -> ClientError {
        ClientError::Broker {
            api: ApiKey::JoinGroup,
            context: self.context(member_id),
            error,
            message: Some(message.to_string()),
        }
    }
}

/// Whether `join` should ask again: the coordinator moved, is not available
/// or still loads the group, or its connection broke before an answer. Not
/// a request that timed out (it already waited the whole rebalance timeout)
/// nor a coordinator lookup that already retried until its deadline.
fn retry_join(error: &ClientError) -> bool {
    group_signal(error) == GroupSignal::CoordinatorMoved
        && !matches!(
            error,
            ClientError::RequestTimeout { .. } | ClientError::RetriesExhausted { .. }
        )
}

/// A join attempt that did not complete.
enum JoinFailure {
    /// The coordinator gave a new member its id and wants a join with it.
    MemberIdRequired {
        member_id: String,
    },
    Other(ClientError),
}

impl From<ClientError> for JoinFailure {
    fn from(error: ClientError) -> Self {
        JoinFailure::Other(error)
    }
}

/// The highest version of `R` both sides speak.
fn version<R: Request>(conn: &BrokerConnection) -> Result<i16> {
    conn.version_for(api_key::<R>(), <R as Message>::VERSIONS)
}

fn static_membership_unsupported(
    conn: &BrokerConnection,
    api: ApiKey,
    version: i16,
) -> ClientError {
    ClientError::UnsupportedVersion {
        addr: conn.addr().to_string(),
        api,
        detail: format!(
            "static membership (group.instance.id) needs a newer version than v{version}; upgrade the brokers or run without a worker id"
        ),
    }
}

/// A duration in whole milliseconds for an INT32 field, saturating.
fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn group_id(s: &str) -> GroupId {
    GroupId(str_bytes(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(error: ResponseError) -> ClientError {
        ClientError::Broker {
            api: ApiKey::Heartbeat,
            context: "group g member m".into(),
            error,
            message: None,
        }
    }

    #[test]
    fn membership_errors_map_to_what_the_member_must_do() {
        use GroupSignal::*;
        let cases = [
            (ResponseError::RebalanceInProgress, Rebalance),
            (ResponseError::UnknownMemberId, UnknownMember),
            (ResponseError::IllegalGeneration, Rejoin),
            (ResponseError::MemberIdRequired, Rejoin),
            (ResponseError::FencedInstanceId, Fenced),
            (ResponseError::NotCoordinator, CoordinatorMoved),
            (ResponseError::CoordinatorNotAvailable, CoordinatorMoved),
            (ResponseError::CoordinatorLoadInProgress, CoordinatorMoved),
            (ResponseError::RequestTimedOut, CoordinatorMoved),
            (ResponseError::GroupAuthorizationFailed, Refused),
            (ResponseError::InconsistentGroupProtocol, Refused),
            (ResponseError::GroupMaxSizeReached, Refused),
            (ResponseError::InvalidSessionTimeout, Refused),
            (ResponseError::UnsupportedVersion, Refused),
            (ResponseError::Unknown(-2), Refused),
        ];
        for (error, signal) in cases {
            assert_eq!(group_signal(&broker(error)), signal, "{error:?}");
        }
    }

    #[test]
    fn connection_failures_mean_the_coordinator_must_be_found_again() {
        let failures = [
            ClientError::Connect {
                addr: "a:1".into(),
                source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            },
            ClientError::ConnectTimeout {
                addr: "a:1".into(),
                timeout: Duration::from_secs(1),
            },
            ClientError::Io {
                addr: "a:1".into(),
                api: ApiKey::JoinGroup,
                source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            },
            ClientError::ConnectionClosed {
                addr: "a:1".into(),
                api: ApiKey::Heartbeat,
                reason: "peer closed".into(),
            },
            ClientError::RequestTimeout {
                addr: "a:1".into(),
                api: ApiKey::SyncGroup,
                timeout: Duration::from_secs(1),
            },
        ];
        for failure in &failures {
            assert_eq!(
                group_signal(failure),
                GroupSignal::CoordinatorMoved,
                "{failure}"
            );
        }
        // A join retries all of them but a timeout, which already waited
        // out the rebalance.
        let retried: Vec<bool> = failures.iter().map(retry_join).collect();
        assert_eq!(retried, [true, true, true, true, false]);
    }

    #[test]
    fn an_exhausted_lookup_signals_its_last_error() {
        let exhausted = |last| ClientError::RetriesExhausted {
            attempts: 3,
            last: Box::new(last),
        };
        assert_eq!(
            group_signal(&exhausted(broker(ResponseError::CoordinatorNotAvailable))),
            GroupSignal::CoordinatorMoved
        );
        assert!(!retry_join(&exhausted(broker(
            ResponseError::CoordinatorNotAvailable
        ))));
        assert_eq!(
            group_signal(&exhausted(broker(ResponseError::GroupAuthorizationFailed))),
            GroupSignal::Refused
        );
    }

    #[test]
    fn refusals_that_no_retry_fixes() {
        let unsupported = ClientError::UnsupportedVersion {
            addr: "a:1".into(),
            api: ApiKey::JoinGroup,
            detail: "old broker".into(),
        };
        let malformed = ClientError::Malformed {
            addr: "a:1".into(),
            api: ApiKey::SyncGroup,
            reason: "short".into(),
        };
        assert_eq!(group_signal(&unsupported), GroupSignal::Refused);
        assert_eq!(group_signal(&malformed), GroupSignal::Refused);
        assert!(!retry_join(&unsupported));
    }

    #[test]
    fn debug_output_shows_metadata_as_its_length() {
        let joined = Joined {
            generation: 3,
            member_id: "m-1".into(),
            leader: "m-1".into(),
            protocol_name: Some("v1".into()),
            skip_assignment: false,
            members: vec![JoinedMember {
                member_id: "m-1".into(),
                instance_id: Some("w1".into()),
                metadata: Bytes::from(vec![7u8; 4096]),
            }],
        };
        let text = format!("{joined:?}");
        assert!(text.contains("4096 bytes"), "{text}");
        assert!(!text.contains("7, 7"), "{text}");
        let protocols = [("v1".to_string(), Bytes::from(vec![1u8; 300]))];
        let params = JoinParams {
            member_id: "",
            instance_id: None,
            protocol_type: "kmirror",
            protocols: &protocols,
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(60),
            reason: None,
        };
        let text = format!("{params:?}");
        assert!(text.contains("v1 (300 bytes)"), "{text}");
    }

    #[test]
    fn timeouts_become_saturated_milliseconds() {
        assert_eq!(millis(Duration::from_secs(10)), 10_000);
        assert_eq!(millis(Duration::from_secs(u64::MAX / 2)), i32::MAX);
    }
}
