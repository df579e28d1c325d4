//! One TCP connection to one broker: correlation ids, pipelined requests, a
//! timeout on every request, and "poisoning" on any failure so no caller
//! waits forever on a socket that is gone.
//!
//! Requests are written as lists of `Bytes` segments with vectored writes so
//! that record batches fetched from one cluster reach the other cluster's
//! socket without being copied into a request buffer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes, VersionRange};
use tokio::sync::{oneshot, Notify};
use tokio::task::AbortHandle;
use tracing::{debug, warn};

use crate::error::{ClientError, Result};
use crate::security::{sasl, SecurityConfig};
use crate::transport::{BrokerReader, BrokerWriter, SocketOptions, Transport, WriteFailure};
use crate::versions::BrokerVersions;

/// Responses larger than this are refused as garbage: the size prefix of a
/// frame is untrusted and sizes an allocation.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Settings of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Sent in every request header; shows up in broker logs and quotas.
    pub client_id: String,
    /// Bound on TCP connect plus the ApiVersions handshake.
    pub connect_timeout: Duration,
    /// Bound on waiting for any response unless a call sets its own.
    pub request_timeout: Duration,
    /// Largest response frame accepted.
    pub max_response_bytes: usize,
    /// TLS and SASL (`security.protocol`); PLAINTEXT by default.
    pub security: SecurityConfig,
    /// Socket buffer sizes (`send.buffer.bytes`, `receive.buffer.bytes`).
    pub socket: SocketOptions,
    /// A pooled connection unused this long is closed and replaced at its
    /// next use (`connections.max.idle.ms`), before the broker closes it
    /// under a request; `None` keeps connections however long they idle.
    pub max_idle: Option<Duration>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "kmirror".to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            security: SecurityConfig::plaintext(),
            socket: SocketOptions::default(),
            // The Java clients' default, under the broker's 10 minutes.
            max_idle: Some(Duration::from_secs(540)),
        }
    }
}

type ResponseSlot = oneshot::Sender<std::result::Result<Bytes, String>>;

/// State shared between callers and the reader task.
#[derive(Debug, Default)]
struct Shared {
    pending: HashMap<i32, ResponseSlot>,
    /// Why the connection is dead; `None` while it is usable.
    closed: Option<String>,
    /// The TLS failure that ended it, if one did (a refused client
    /// certificate shows up at the first read under TLS 1.3).
    tls_failure: Option<crate::security::tls::TlsFailure>,
}

/// What the reader task and waiting callers share.
#[derive(Debug, Default)]
struct SharedState {
    inner: StdMutex<Shared>,
    /// Woken whenever the last pending request is answered, so that a
    /// re-authentication can start on a quiet connection.
    drained: Notify,
}

impl Shared {
    /// Marks the connection dead and fails every waiting request.
    fn poison(&mut self, reason: &str) {
        if self.closed.is_none() {
            self.closed = Some(reason.to_string());
        }
        for (_, slot) in self.pending.drain() {
            let _ = slot.send(Err(reason.to_string()));
        }
    }
}

/// A connection to one broker, shareable between tasks.
#[derive(Debug)]
pub struct BrokerConnection {
    addr: String,
    client_id: StrBytes,
    request_timeout: Duration,
    writer: tokio::sync::Mutex<BrokerWriter>,
    state: ConnectionState,
    next_correlation_id: AtomicI32,
    versions: BrokerVersions,
    /// The task that re-authenticates before the SASL session expires.
    reauthentication: StdMutex<Option<AbortHandle>>,
    /// When the last request was written, for `connections.max.idle.ms`.
    last_request: StdMutex<tokio::time::Instant>,
}

impl Drop for BrokerConnection {
    fn drop(&mut self) {
        self.state.reader.abort();
        if let Some(task) = self.reauthentication.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// What callers waiting on an answer need of the connection: where it goes
/// and how to declare it dead.
#[derive(Debug, Clone)]
struct ConnectionState {
    addr: Arc<str>,
    shared: Arc<SharedState>,
    reader: AbortHandle,
}

impl ConnectionState {
    fn poison(&self, reason: &str) {
        self.shared.inner.lock().unwrap().poison(reason);
        self.reader.abort();
    }

    fn closed_error(&self, api: ApiKey, reason: String) -> ClientError {
        ClientError::ConnectionClosed {
            addr: self.addr.to_string(),
            api,
            reason,
        }
    }

    fn strip_response_header(&self, api: ApiKey, version: i16, mut frame: Bytes) -> Result<Bytes> {
        ResponseHeader::decode(&mut frame, api.response_header_version(version)).map_err(|e| {
            self.poison("malformed response header");
            ClientError::Malformed {
                addr: self.addr.to_string(),
                api,
                reason: format!("bad response header: {e}"),
            }
        })?;
        Ok(frame)
    }
}

impl BrokerConnection {
    /// Connects to `addr` (`host:port`): TCP, TLS when the security
    /// protocol says so, API versions, then SASL authentication.
    pub async fn connect(addr: &str, config: &ConnectionConfig) -> Result<Arc<Self>> {
        let timeout = |api| ClientError::RequestTimeout {
            addr: addr.to_string(),
            api,
            timeout: config.connect_timeout,
        };
        let deadline = tokio::time::Instant::now() + config.connect_timeout;
        let (reader, writer) = tokio::time::timeout_at(
            deadline,
            Transport::connect(addr, &config.security, &config.socket),
        )
        .await
        .map_err(|_| ClientError::ConnectTimeout {
            addr: addr.to_string(),
            timeout: config.connect_timeout,
        })??;
        let mut conn = Self::start(addr, reader, writer, config, BrokerVersions::default());
        let versions = tokio::time::timeout_at(deadline, conn.handshake())
            .await
            .map_err(|_| timeout(ApiKey::ApiVersions))?
            .map_err(
                |e| match conn.state.shared.inner.lock().unwrap().tls_failure.take() {
                    Some(failure) => ClientError::Tls {
                        addr: addr.to_string(),
                        failure,
                    },
                    None => e.with_listener_hint(config.security.protocol()),
                },
            )?;
        // Only this function holds the connection so far.
        Arc::get_mut(&mut conn)
            .expect("connection not shared before handshake")
            .versions = versions;
        if let Some(settings) = config.security.sasl() {
            let lifetime = tokio::time::timeout_at(deadline, async {
                let mut exclusive = conn.exclusive().await?;
                sasl::authenticate(&mut exclusive, settings).await
            })
            .await
            .map_err(|_| timeout(ApiKey::SaslAuthenticate))??;
            if let Some(lifetime) = lifetime {
                conn.schedule_reauthentication(settings.clone(), lifetime);
            }
        }
        Ok(conn)
    }

    /// Re-authenticates before the broker's session ends (KIP-368); a
    /// failure closes the connection, so the next request reconnects and
    /// authenticates afresh.
    fn schedule_reauthentication(
        self: &Arc<Self>,
        settings: Arc<sasl::SaslSettings>,
        lifetime: std::time::Duration,
    ) {
        let weak = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            let mut lifetime = lifetime;
            loop {
                tokio::time::sleep(sasl::reauthentication_delay(lifetime)).await;
                let Some(conn) = weak.upgrade() else { return };
                if conn.is_closed() {
                    return;
                }
                let result = async {
                    let mut exclusive = conn.exclusive().await?;
                    sasl::authenticate(&mut exclusive, &settings).await
                }
                .await;
                match result {
                    Ok(Some(next)) => {
                        debug!(addr = %conn.addr, lifetime = ?next, "re-authenticated");
                        lifetime = next;
                    }
                    Ok(None) => return,
                    Err(e) => {
                        warn!(addr = %conn.addr, error = %e, "re-authentication failed; reconnecting");
                        conn.state.poison(&format!("re-authentication failed: {e}"));
                        return;
                    }
                }
            }
        });
        *self.reauthentication.lock().unwrap() = Some(task.abort_handle());
    }

    fn start(
        addr: &str,
        reader: BrokerReader,
        writer: BrokerWriter,
        config: &ConnectionConfig,
        versions: BrokerVersions,
    ) -> Arc<Self> {
        let shared = Arc::new(SharedState::default());
        let reader = tokio::spawn(read_responses(
            reader,
            shared.clone(),
            config.max_response_bytes,
        ));
        Arc::new(BrokerConnection {
            addr: addr.to_string(),
            client_id: StrBytes::from_string(config.client_id.clone()),
            request_timeout: config.request_timeout,
            writer: tokio::sync::Mutex::new(writer),
            state: ConnectionState {
                addr: addr.into(),
                shared,
                reader: reader.abort_handle(),
            },
            next_correlation_id: AtomicI32::new(1),
            versions,
            reauthentication: StdMutex::new(None),
            last_request: StdMutex::new(tokio::time::Instant::now()),
        })
    }

    /// The connection to itself: no other request is in flight or can be
    /// sent until the returned value is dropped. For SASL exchanges, which
    /// the broker must see on a quiet connection.
    pub(crate) async fn exclusive(&self) -> Result<ExclusiveConnection<'_>> {
        let writer = self.writer.lock().await;
        let drained = async {
            loop {
                let notified = self.state.shared.drained.notified();
                if self.state.shared.inner.lock().unwrap().pending.is_empty() {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(self.request_timeout, drained)
            .await
            .is_err()
        {
            return Err(ClientError::RequestTimeout {
                addr: self.addr.clone(),
                api: ApiKey::SaslHandshake,
                timeout: self.request_timeout,
            });
        }
        Ok(ExclusiveConnection { conn: self, writer })
    }

    /// The `host:port` this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// How long a request waits for its answer unless the caller says.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// What the broker advertised in ApiVersions.
    pub fn versions(&self) -> &BrokerVersions {
        &self.versions
    }

    /// Whether the connection has failed and must be replaced.
    pub fn is_closed(&self) -> bool {
        self.state.shared.inner.lock().unwrap().closed.is_some()
    }

    /// Whether no request was written for `max_idle` and none awaits an
    /// answer.
    pub fn idle_longer_than(&self, max_idle: Duration) -> bool {
        self.last_request.lock().unwrap().elapsed() > max_idle
            && self.state.shared.inner.lock().unwrap().pending.is_empty()
    }

    /// The version to use for `api` with this broker.
    pub fn version_for(&self, api: ApiKey, ours: VersionRange) -> Result<i16> {
        self.versions
            .negotiate(api, ours)
            .map_err(|detail| ClientError::UnsupportedVersion {
                addr: self.addr.clone(),
                api,
                detail,
            })
    }

    /// The highest version of `api` both speak within `ours`, ignoring
    /// kmirror's usual cap (see [`crate::versions::version_cap`]); `None`
    /// when there is none.
    pub fn version_within(&self, api: ApiKey, ours: VersionRange) -> Option<i16> {
        self.versions.negotiate_within(api, ours).ok()
    }

    /// Sends a request at the highest common version and decodes the answer.
    pub async fn request<R: Request>(&self, request: &R) -> Result<R::Response> {
        let api = api_key::<R>();
        let version = self.version_for(api, R::VERSIONS)?;
        self.request_at(request, version, self.request_timeout)
            .await
    }

    /// Sends a request at a given version with a given timeout.
    pub async fn request_at<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        self.request_owned(request, version, timeout, |body| body)
            .await
    }

    /// Like [`Self::request_at`], with `own` applied to the response body
    /// before it is decoded. The decoded response's byte fields are slices
    /// of what `own` returns, so it can tie something (a memory budget) to
    /// the lifetime of the response's bytes.
    pub async fn request_owned<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
        own: impl FnOnce(Bytes) -> Bytes,
    ) -> Result<R::Response> {
        let api = api_key::<R>();
        let body = self.encode_body(request, api, version)?;
        let frame = self.round_trip(api, version, vec![body], timeout).await?;
        self.decode_response::<R::Response>(api, version, own(frame))
    }

    /// Sends a request whose body is given as segments (see module docs) and
    /// returns the response body after the response header.
    pub async fn round_trip(
        &self,
        api: ApiKey,
        version: i16,
        body: Vec<Bytes>,
        timeout: Duration,
    ) -> Result<Bytes> {
        self.send(api, version, body, timeout)
            .await?
            .response()
            .await
    }

    /// Writes a request and returns once it is on the socket, so callers can
    /// keep several requests in flight in a known order; the answer is
    /// awaited through the returned [`PendingResponse`].
    pub async fn send(
        &self,
        api: ApiKey,
        version: i16,
        body: Vec<Bytes>,
        timeout: Duration,
    ) -> Result<PendingResponse> {
        self.send_gated(api, version, body, timeout, &|| Ok(()))
            .await
    }

    /// [`Self::send`], asking `may_write` right before every write system
    /// call of the request (after any wait for the connection or for room
    /// in the socket): a write lease's check (see [`crate::lease`]). Refused
    /// before the first byte, the request is not sent and the connection
    /// stays usable; refused half-way, the connection is closed so that the
    /// broker drops the partial request. Either way `may_write`'s error is
    /// returned.
    pub async fn send_gated(
        &self,
        api: ApiKey,
        version: i16,
        body: Vec<Bytes>,
        timeout: Duration,
        may_write: &(dyn Fn() -> Result<()> + Sync),
    ) -> Result<PendingResponse> {
        let mut writer = self.writer.lock().await;
        self.send_on(&mut writer, api, version, body, timeout, may_write)
            .await
    }

    /// [`Self::send_gated`] on a writer the caller already holds.
    async fn send_on(
        &self,
        writer: &mut BrokerWriter,
        api: ApiKey,
        version: i16,
        body: Vec<Bytes>,
        timeout: Duration,
        may_write: &(dyn Fn() -> Result<()> + Sync),
    ) -> Result<PendingResponse> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        *self.last_request.lock().unwrap() = tokio::time::Instant::now();
        let header = self.encode_header(api, version, correlation_id)?;
        let body_len: usize = body.iter().map(Bytes::len).sum();
        let frame_len =
            i32::try_from(header.len() + body_len).map_err(|_| ClientError::Malformed {
                addr: self.addr.clone(),
                api,
                reason: "request larger than 2 GiB".into(),
            })?;
        let mut prefix = BytesMut::with_capacity(4 + header.len());
        prefix.put_i32(frame_len);
        prefix.extend_from_slice(&header);
        let mut segments = Vec::with_capacity(body.len() + 1);
        segments.push(prefix.freeze());
        segments.extend(body);

        let (slot, response) = oneshot::channel();
        {
            let mut shared = self.state.shared.inner.lock().unwrap();
            if let Some(reason) = &shared.closed {
                return Err(self.state.closed_error(api, reason.clone()));
            }
            shared.pending.insert(correlation_id, slot);
        }
        match writer
            .write_segments(&segments, &|| may_write().is_ok())
            .await
        {
            Ok(()) => {}
            Err(WriteFailure::Io(source)) => {
                self.state.poison(&format!("write failed: {source}"));
                return Err(ClientError::Io {
                    addr: self.addr.clone(),
                    api,
                    source,
                });
            }
            Err(WriteFailure::Withheld { started }) => {
                let refused = may_write().err().unwrap_or_else(|| {
                    self.state
                        .closed_error(api, "the request was withheld".into())
                });
                if started {
                    self.state
                        .poison(&format!("a request was withheld half-written: {refused}"));
                } else {
                    self.state
                        .shared
                        .inner
                        .lock()
                        .unwrap()
                        .pending
                        .remove(&correlation_id);
                }
                return Err(refused);
            }
        }
        Ok(PendingResponse {
            conn: self.state.clone(),
            api,
            version,
            timeout,
            response,
        })
    }

    fn encode_body<R: Request>(&self, request: &R, api: ApiKey, version: i16) -> Result<Bytes> {
        let mut body = BytesMut::new();
        request
            .encode(&mut body, version)
            .map_err(|e| ClientError::Malformed {
                addr: self.addr.clone(),
                api,
                reason: format!("cannot encode request: {e}"),
            })?;
        Ok(body.freeze())
    }

    fn encode_header(&self, api: ApiKey, version: i16, correlation_id: i32) -> Result<BytesMut> {
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut buf = BytesMut::with_capacity(64);
        header
            .encode(&mut buf, api.request_header_version(version))
            .map_err(|e| ClientError::Malformed {
                addr: self.addr.clone(),
                api,
                reason: format!("cannot encode request header: {e}"),
            })?;
        Ok(buf)
    }

    /// Decodes a response body; a body that does not decode poisons the
    /// connection, since the peer is not speaking Kafka as we understand it.
    pub fn decode_response<T: Decodable>(
        &self,
        api: ApiKey,
        version: i16,
        mut body: Bytes,
    ) -> Result<T> {
        T::decode(&mut body, version).map_err(|e| {
            self.state.poison("malformed response");
            ClientError::Malformed {
                addr: self.addr.clone(),
                api,
                reason: format!("v{version} body does not decode: {e}"),
            }
        })
    }

    async fn handshake(&self) -> Result<BrokerVersions> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kmirror"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        // v3 has been spoken since Kafka 2.4. An older broker answers an
        // unknown version with a v0 body carrying its own ranges.
        let mut body = BytesMut::new();
        request
            .encode(&mut body, 3)
            .expect("ApiVersions v3 always encodes");
        let frame = self
            .round_trip(
                ApiKey::ApiVersions,
                3,
                vec![body.freeze()],
                self.request_timeout,
            )
            .await?;
        let response = match ApiVersionsResponse::decode(&mut frame.clone(), 3) {
            Ok(response) => response,
            Err(_) => self.decode_response::<ApiVersionsResponse>(ApiKey::ApiVersions, 0, frame)?,
        };
        crate::error::check_code(
            ApiKey::ApiVersions,
            response.error_code,
            || format!("broker {}", self.addr),
            None,
        )?;
        let features = response
            .finalized_features
            .iter()
            .map(|f| (f.name.to_string(), f.max_version_level));
        Ok(BrokerVersions::new(response.api_keys.iter().map(|k| {
            (
                k.api_key,
                VersionRange {
                    min: k.min_version,
                    max: k.max_version,
                },
            )
        }))
        .with_features(features))
    }
}

/// The API key of a request type.
pub fn api_key<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).expect("kafka-protocol request types have known keys")
}

/// Reads response frames and hands each to the request waiting for its
/// correlation id. Ends (and poisons the connection) on EOF or any error.
async fn read_responses(
    mut reader: BrokerReader,
    shared: Arc<SharedState>,
    max_response_bytes: usize,
) {
    let reason = loop {
        let frame = match reader.read_frame(max_response_bytes).await {
            Ok(frame) => frame,
            Err(failure) => {
                if failure.tls_failure.is_some() {
                    shared.inner.lock().unwrap().tls_failure = failure.tls_failure;
                }
                break failure.reason;
            }
        };
        let correlation_id = (&frame[..4]).get_i32();
        let (slot, drained) = {
            let mut inner = shared.inner.lock().unwrap();
            let slot = inner.pending.remove(&correlation_id);
            (slot, inner.pending.is_empty())
        };
        if drained {
            shared.drained.notify_waiters();
        }
        match slot {
            Some(slot) => {
                let _ = slot.send(Ok(frame));
            }
            // A request that timed out or a peer inventing ids; a peer that
            // answers ids we never sent is not a Kafka broker.
            None => break format!("response with unknown correlation id {correlation_id}"),
        }
    };
    shared.inner.lock().unwrap().poison(&reason);
    shared.drained.notify_waiters();
}

/// A connection held alone (see [`BrokerConnection::exclusive`]).
#[derive(Debug)]
pub(crate) struct ExclusiveConnection<'a> {
    conn: &'a BrokerConnection,
    writer: tokio::sync::MutexGuard<'a, BrokerWriter>,
}

impl ExclusiveConnection<'_> {
    pub(crate) fn addr(&self) -> &str {
        &self.conn.addr
    }

    /// Sends a request at the highest common version and decodes the answer.
    pub(crate) async fn request<R: Request>(&mut self, request: &R) -> Result<R::Response> {
        let version = self.conn.version_for(api_key::<R>(), R::VERSIONS)?;
        self.request_at_version(request, version).await
    }

    /// Sends a request at `version` (which the broker must support).
    pub(crate) async fn request_at_version<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response> {
        let api = api_key::<R>();
        self.conn
            .version_for(
                api,
                VersionRange {
                    min: version,
                    max: version,
                },
            )
            .map_err(|_| ClientError::UnsupportedVersion {
                addr: self.conn.addr.clone(),
                api,
                detail: format!("kmirror needs v{version}"),
            })?;
        let body = self.conn.encode_body(request, api, version)?;
        let frame = self
            .conn
            .send_on(
                &mut self.writer,
                api,
                version,
                vec![body],
                self.conn.request_timeout,
                &|| Ok(()),
            )
            .await?
            .response()
            .await?;
        self.conn
            .decode_response::<R::Response>(api, version, frame)
    }
}

/// A request on the wire whose answer has not been read yet.
#[derive(Debug)]
pub struct PendingResponse {
    conn: ConnectionState,
    api: ApiKey,
    version: i16,
    timeout: Duration,
    response: oneshot::Receiver<std::result::Result<Bytes, String>>,
}

impl PendingResponse {
    /// Waits for the answer and returns its body after the response header.
    pub async fn response(self) -> Result<Bytes> {
        let PendingResponse {
            conn,
            api,
            version,
            timeout,
            response,
        } = self;
        let frame = match tokio::time::timeout(timeout, response).await {
            Err(_) => {
                // The Java client closes the connection on a request timeout
                // too: the broker may still be working on the request.
                conn.poison("request timed out");
                return Err(ClientError::RequestTimeout {
                    addr: conn.addr.to_string(),
                    api,
                    timeout,
                });
            }
            Ok(Err(_)) => return Err(conn.closed_error(api, "connection dropped".into())),
            Ok(Ok(Err(reason))) => return Err(conn.closed_error(api, reason)),
            Ok(Ok(Ok(frame))) => frame,
        };
        conn.strip_response_header(api, version, frame)
    }
}
