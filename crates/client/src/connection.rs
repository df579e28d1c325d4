//! One TCP connection to one broker: correlation ids, pipelined requests, a
//! timeout on every request, and "poisoning" on any failure so no caller
//! waits forever on a socket that is gone.
//!
//! Requests are written as lists of `Bytes` segments with vectored writes so
//! that record batches fetched from one cluster reach the other cluster's
//! socket without being copied into a request buffer.

use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes, VersionRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::error::{ClientError, Result};
use crate::transport::Transport;
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
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "kmirror".to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
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
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    state: ConnectionState,
    next_correlation_id: AtomicI32,
    versions: BrokerVersions,
}

impl Drop for BrokerConnection {
    fn drop(&mut self) {
        self.state.reader.abort();
    }
}

/// What callers waiting on an answer need of the connection: where it goes
/// and how to declare it dead.
#[derive(Debug, Clone)]
struct ConnectionState {
    addr: Arc<str>,
    shared: Arc<StdMutex<Shared>>,
    reader: AbortHandle,
}

impl ConnectionState {
    fn poison(&self, reason: &str) {
        self.shared.lock().unwrap().poison(reason);
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
    /// Connects to `addr` (`host:port`) and negotiates API versions.
    pub async fn connect(addr: &str, config: &ConnectionConfig) -> Result<Arc<Self>> {
        let stream = tokio::time::timeout(config.connect_timeout, Transport::connect(addr))
            .await
            .map_err(|_| ClientError::ConnectTimeout {
                addr: addr.to_string(),
                timeout: config.connect_timeout,
            })?
            .map_err(|source| ClientError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        let mut conn = Self::start(addr, stream, config, BrokerVersions::default());
        let versions = tokio::time::timeout(config.connect_timeout, conn.handshake())
            .await
            .map_err(|_| ClientError::RequestTimeout {
                addr: addr.to_string(),
                api: ApiKey::ApiVersions,
                timeout: config.connect_timeout,
            })??;
        // Only this function holds the connection so far.
        Arc::get_mut(&mut conn)
            .expect("connection not shared before handshake")
            .versions = versions;
        Ok(conn)
    }

    fn start(
        addr: &str,
        stream: TcpStream,
        config: &ConnectionConfig,
        versions: BrokerVersions,
    ) -> Arc<Self> {
        let _ = stream.set_nodelay(true);
        let (read_half, write_half) = stream.into_split();
        let shared = Arc::new(StdMutex::new(Shared::default()));
        let reader = tokio::spawn(read_responses(
            read_half,
            shared.clone(),
            config.max_response_bytes,
        ));
        Arc::new(BrokerConnection {
            addr: addr.to_string(),
            client_id: StrBytes::from_string(config.client_id.clone()),
            request_timeout: config.request_timeout,
            writer: tokio::sync::Mutex::new(write_half),
            state: ConnectionState {
                addr: addr.into(),
                shared,
                reader: reader.abort_handle(),
            },
            next_correlation_id: AtomicI32::new(1),
            versions,
        })
    }

    /// The `host:port` this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// What the broker advertised in ApiVersions.
    pub fn versions(&self) -> &BrokerVersions {
        &self.versions
    }

    /// Whether the connection has failed and must be replaced.
    pub fn is_closed(&self) -> bool {
        self.state.shared.lock().unwrap().closed.is_some()
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
        let mut body = BytesMut::new();
        request
            .encode(&mut body, version)
            .map_err(|e| ClientError::Malformed {
                addr: self.addr.clone(),
                api,
                reason: format!("cannot encode request: {e}"),
            })?;
        let frame = self
            .round_trip(api, version, vec![body.freeze()], timeout)
            .await?;
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
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
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
            let mut shared = self.state.shared.lock().unwrap();
            if let Some(reason) = &shared.closed {
                return Err(self.state.closed_error(api, reason.clone()));
            }
            shared.pending.insert(correlation_id, slot);
        }
        {
            let mut writer = self.writer.lock().await;
            if let Err(source) = write_all_segments(&mut writer, &segments).await {
                self.state.poison(&format!("write failed: {source}"));
                return Err(ClientError::Io {
                    addr: self.addr.clone(),
                    api,
                    source,
                });
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
        Ok(BrokerVersions::new(response.api_keys.iter().map(|k| {
            (
                k.api_key,
                VersionRange {
                    min: k.min_version,
                    max: k.max_version,
                },
            )
        })))
    }
}

/// The API key of a request type.
pub fn api_key<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).expect("kafka-protocol request types have known keys")
}

/// Writes every segment, using vectored writes so segments are not joined.
async fn write_all_segments(
    writer: &mut OwnedWriteHalf,
    segments: &[Bytes],
) -> std::io::Result<()> {
    let mut index = 0;
    let mut offset = 0;
    while index < segments.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(&segments[index][offset..])
            .chain(segments[index + 1..].iter().map(|s| &s[..]))
            .take(64)
            .map(IoSlice::new)
            .collect();
        let mut written = writer.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while index < segments.len() && written >= segments[index].len() - offset {
            written -= segments[index].len() - offset;
            index += 1;
            offset = 0;
        }
        offset += written;
    }
    writer.flush().await
}

/// Reads response frames and hands each to the request waiting for its
/// correlation id. Ends (and poisons the connection) on EOF or any error.
async fn read_responses(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    shared: Arc<StdMutex<Shared>>,
    max_response_bytes: usize,
) {
    let reason = loop {
        let size = match reader.read_i32().await {
            Ok(size) => size,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break "connection closed by broker".to_string()
            }
            Err(e) => break format!("read failed: {e}"),
        };
        if size < 4 || size as usize > max_response_bytes {
            break format!("invalid response size {size}: not a Kafka response");
        }
        let size = size as usize;
        let mut frame = BytesMut::with_capacity(size);
        let mut failed = None;
        while frame.len() < size {
            let mut limited = (&mut reader).take((size - frame.len()) as u64);
            match limited.read_buf(&mut frame).await {
                Ok(0) => {
                    failed = Some("connection closed mid-response".to_string());
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    failed = Some(format!("read failed mid-response: {e}"));
                    break;
                }
            }
        }
        if let Some(reason) = failed {
            break reason;
        }
        let frame = frame.freeze();
        let correlation_id = (&frame[..4]).get_i32();
        let slot = shared.lock().unwrap().pending.remove(&correlation_id);
        match slot {
            Some(slot) => {
                let _ = slot.send(Ok(frame));
            }
            // A request that timed out or a peer inventing ids; a peer that
            // answers ids we never sent is not a Kafka broker.
            None => break format!("response with unknown correlation id {correlation_id}"),
        }
    };
    shared.lock().unwrap().poison(&reason);
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
