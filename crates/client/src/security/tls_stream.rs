//! A TLS connection to a broker as two independent halves: rustls runs the
//! handshake (unbuffered API) and keeps the key schedule; application
//! records go through [`super::record`] straight between the socket and
//! kmirror's own buffers.
//!
//! Reads land in the buffer response frames are cut from, many records per
//! `recv`; each record is decrypted where it lies and its plaintext moved
//! down next to the previous one's, so a whole response frame ends up
//! contiguous without a copy through another buffer. Writes seal records
//! from the request's segments (header and batch `Bytes`) into one reused
//! buffer sent about 1 MiB at a time.
//!
//! Post-handshake messages are handled as rustls would: session tickets go
//! to rustls's resumption store, a key update switches the read key and, if
//! the broker asks, the writer answers with its own before its next record;
//! the writer also updates its key before the suite's confidentiality limit.
//! A close_notify reads as end of stream; any other fatal alert is an error
//! carrying the `rustls::Error` so [`super::tls::TlsFailure`] can say what
//! to fix.

use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes, BytesMut};
use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::kernel::KernelConnection;
use rustls::pki_types::ServerName;
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};
use rustls::{AlertDescription, SupportedCipherSuite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tracing::debug;

use super::record::{
    self, DirectionKeys, RecordVersion, CONTENT_ALERT, CONTENT_APPLICATION_DATA, CONTENT_HANDSHAKE,
    MAX_PLAINTEXT,
};
use super::tls::TlsFailure;
use crate::recv_pool::{self, FrameBuffer};
use crate::transport::{write_gated, WriteFailure, WriteGate};

/// Sealed records are sent once this much is buffered: few `send` calls
/// per produce request, a bounded buffer per connection.
const WRITE_CHUNK: usize = 1 << 20;
/// Free space a new read buffer gets beyond the current frame.
const MIN_READ: usize = 64 * 1024;
/// Below this much free space (a full record) the read buffer is replaced.
const MIN_SPARE: usize = MAX_PLAINTEXT + 256;
/// Post-handshake messages are tickets and key updates, a few hundred
/// bytes; more than this pending is not a broker.
const MAX_HANDSHAKE_PENDING: usize = 64 * 1024;
/// rustls's own ceiling on one key's sequence numbers.
const SEQ_SOFT_LIMIT: u64 = 0xffff_ffff_ffff_0000;

const HANDSHAKE_HELLO_REQUEST: u8 = 0;
const HANDSHAKE_NEW_SESSION_TICKET: u8 = 4;
const HANDSHAKE_KEY_UPDATE: u8 = 24;
/// A KeyUpdate message that does not ask the peer to update in turn.
const KEY_UPDATE_NOT_REQUESTED: [u8; 5] = [HANDSHAKE_KEY_UPDATE, 0, 0, 1, 0];

/// What both halves reach: rustls's key schedule and the broker's request
/// for a key update, which the read half sees and the write half answers.
struct TlsShared {
    /// The broker's host, for logs.
    host: String,
    kernel: Mutex<KernelConnection<ClientConnectionData>>,
    key_update_requested: AtomicBool,
}

fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// Runs the handshake on `tcp` and returns the connection's two halves.
pub(crate) async fn connect(
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    mut tcp: TcpStream,
    host: &str,
) -> Result<(TlsReader, TlsWriter), TlsFailure> {
    let mut conn = UnbufferedClientConnection::new(config, name)
        .map_err(|e| TlsFailure::from_rustls(&e, host))?;
    let mut incoming = BytesMut::with_capacity(MIN_READ);
    let mut outgoing = Vec::new();
    loop {
        enum Next {
            Continue,
            Read,
            Send,
            Done,
        }
        let UnbufferedStatus { discard, state } = conn.process_tls_records(&mut incoming);
        let next = match state {
            Err(error) => {
                // rustls queues an alert telling the broker why; send it
                // (best effort) so the broker's log says so too.
                incoming.advance(discard);
                let mut nothing = [0u8; 0];
                let UnbufferedStatus { state, .. } = conn.process_tls_records(&mut nothing);
                if let Ok(ConnectionState::EncodeTlsData(mut alert)) = state {
                    let mut buf = vec![0u8; 64];
                    if let Ok(len) = alert.encode(&mut buf) {
                        let _ = tcp.write_all(&buf[..len]).await;
                    }
                }
                return Err(TlsFailure::from_rustls(&error, host));
            }
            Ok(ConnectionState::EncodeTlsData(mut data)) => {
                // Handshake messages queue up here until rustls asks for
                // them to be sent.
                let start = outgoing.len();
                let mut room = 4096;
                loop {
                    outgoing.resize(start + room, 0);
                    match data.encode(&mut outgoing[start..]) {
                        Ok(len) => {
                            outgoing.truncate(start + len);
                            break;
                        }
                        Err(EncodeError::InsufficientSize(needed)) => room = needed.required_size,
                        Err(EncodeError::AlreadyEncoded) => {
                            outgoing.truncate(start);
                            break;
                        }
                    }
                }
                Next::Continue
            }
            Ok(ConnectionState::TransmitTlsData(data)) => {
                // Nothing happens between here and the write below.
                data.done();
                Next::Send
            }
            Ok(ConnectionState::BlockedHandshake) => Next::Read,
            Ok(ConnectionState::WriteTraffic(_)) => Next::Done,
            Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => {
                return Err(TlsFailure::ClosedDuringHandshake)
            }
            Ok(other) => {
                return Err(TlsFailure::Other(format!(
                    "unexpected TLS state {other:?} during the handshake"
                )))
            }
        };
        incoming.advance(discard);
        match next {
            Next::Continue => {}
            Next::Send => {
                if !outgoing.is_empty() {
                    tcp.write_all(&outgoing)
                        .await
                        .map_err(|e| TlsFailure::from_io(&e, host))?;
                    outgoing.clear();
                }
            }
            Next::Read => {
                if incoming.capacity() - incoming.len() < 4096 {
                    incoming.reserve(MIN_READ);
                }
                let read = tcp
                    .read_buf(&mut incoming)
                    .await
                    .map_err(|e| TlsFailure::from_io(&e, host))?;
                if read == 0 {
                    return Err(TlsFailure::ClosedDuringHandshake);
                }
            }
            Next::Done => break,
        }
    }
    let version = conn
        .protocol_version()
        .and_then(RecordVersion::from_protocol)
        .ok_or_else(|| TlsFailure::Other("no TLS version negotiated".into()))?;
    let (secrets, kernel) = conn
        .dangerous_into_kernel_connection()
        .map_err(|e| TlsFailure::from_rustls(&e, host))?;
    debug!(%host, ?version, suite = ?kernel.negotiated_cipher_suite().suite(), "TLS connection up");
    let limit = confidentiality_limit(kernel.negotiated_cipher_suite());
    let unsupported = || TlsFailure::Other("negotiated a cipher suite kmirror cannot run".into());
    let read_keys =
        DirectionKeys::new(version, secrets.rx.0, &secrets.rx.1).ok_or_else(unsupported)?;
    let write_keys =
        DirectionKeys::new(version, secrets.tx.0, &secrets.tx.1).ok_or_else(unsupported)?;
    let shared = Arc::new(TlsShared {
        host: host.to_string(),
        kernel: Mutex::new(kernel),
        key_update_requested: AtomicBool::new(false),
    });
    let (read, write) = tcp.into_split();
    let reader = TlsReader {
        tcp: read,
        keys: read_keys,
        version,
        // What the handshake left unread starts the next record.
        cipher: 0,
        buf: incoming.into(),
        plain: 0,
        handshake: Vec::new(),
        shared: shared.clone(),
        peer_closed: false,
        sized_for_frame: None,
    };
    reader.assert_invariants();
    let writer = TlsWriter {
        tcp: write,
        keys: write_keys,
        version,
        limit,
        out: Vec::with_capacity(WRITE_CHUNK + MAX_PLAINTEXT + 64),
        shared,
    };
    Ok((reader, writer))
}

/// Records one key may seal before it must be replaced.
fn confidentiality_limit(suite: SupportedCipherSuite) -> u64 {
    let limit = match suite {
        SupportedCipherSuite::Tls13(suite) => suite.common.confidentiality_limit,
        SupportedCipherSuite::Tls12(suite) => suite.common.confidentiality_limit,
    };
    limit.min(SEQ_SOFT_LIMIT)
}

/// Why a frame could not be read.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The stream ended (or the broker sent close_notify); `mid_frame` when
    /// part of a response had arrived.
    Closed {
        mid_frame: bool,
    },
    /// A size prefix no Kafka response has.
    BadSize(i32),
    Io(io::Error),
}

/// The read half: cuts response frames out of decrypted records.
pub struct TlsReader {
    tcp: OwnedReadHalf,
    keys: DirectionKeys,
    version: RecordVersion,
    /// `[0, plain)`: application bytes not yet cut into frames;
    /// `[plain, cipher)`: spent record headers and tags;
    /// `[cipher, len)`: records not yet opened.
    buf: FrameBuffer,
    plain: usize,
    cipher: usize,
    /// Post-handshake messages not yet complete.
    handshake: Vec<u8>,
    shared: Arc<TlsShared>,
    peer_closed: bool,
    /// The frame (by total length) the buffer was last sized for.
    sized_for_frame: Option<usize>,
}

impl std::fmt::Debug for TlsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsReader")
            .field("version", &self.version)
            .field("buffered", &self.buf.len())
            .finish()
    }
}

impl TlsReader {
    fn assert_invariants(&self) {
        debug_assert!(self.plain <= self.cipher && self.cipher <= self.buf.len());
    }

    /// The next response frame, without its size prefix.
    pub(crate) async fn read_frame(&mut self, max_bytes: usize) -> Result<Bytes, FrameError> {
        loop {
            let mut frame_len = None;
            if self.plain >= 4 {
                let size = i32::from_be_bytes(self.buf[..4].try_into().unwrap());
                if size < 4 || size as usize > max_bytes {
                    return Err(FrameError::BadSize(size));
                }
                let total = 4 + size as usize;
                if self.plain >= total {
                    let frame = self.buf.split_frame(total).slice(4..);
                    self.plain -= total;
                    self.cipher -= total;
                    self.sized_for_frame = None;
                    return Ok(frame);
                }
                frame_len = Some(total);
            }
            if self.open_records().map_err(FrameError::Io)? {
                continue;
            }
            if self.peer_closed {
                return Err(FrameError::Closed {
                    mid_frame: self.plain >= 4,
                });
            }
            self.make_room(frame_len);
            let read = self
                .tcp
                .read_buf(&mut *self.buf)
                .await
                .map_err(FrameError::Io)?;
            if read == 0 {
                return Err(FrameError::Closed {
                    mid_frame: self.plain >= 4,
                });
            }
        }
    }

    /// Makes room for the next `recv`. Once a frame's size is known the
    /// buffer is replaced, once, by one sized for the rest of that frame's
    /// records, so the frame is read in large `recv`s into a single
    /// allocation as over plain TCP; otherwise the buffer is replaced only
    /// when less than a record fits, since each replacement copies what it
    /// holds.
    fn make_room(&mut self, frame_len: Option<usize>) {
        let unopened = self.buf.len() - self.cipher;
        let spare = self.buf.capacity() - self.buf.len();
        let rest_of_frame = frame_len.map(|total| {
            record::ciphertext_len(total - self.plain, self.keys.overhead())
                .saturating_sub(unopened)
        });
        let resize_for_frame = frame_len.is_some()
            && self.sized_for_frame != frame_len
            && spare < rest_of_frame.unwrap_or(0);
        if spare >= MIN_SPARE && !resize_for_frame {
            return;
        }
        // MIN_READ on top absorbs records shorter than the estimate assumes
        // (brokers send some between parts of a response).
        let wanted = rest_of_frame.unwrap_or(0) + MIN_READ;
        let mut fresh = recv_pool::take(self.plain + unopened + wanted);
        fresh.extend_from_slice(&self.buf[..self.plain]);
        fresh.extend_from_slice(&self.buf[self.cipher..]);
        self.cipher = self.plain;
        self.buf = fresh;
        self.sized_for_frame = frame_len;
    }

    /// Opens every complete record buffered; whether any was.
    fn open_records(&mut self) -> io::Result<bool> {
        let mut opened = false;
        while !self.peer_closed {
            let Some(len) =
                record::complete_record_len(&self.buf[self.cipher..]).map_err(tls_error)?
            else {
                break;
            };
            let (content_type, content_len) = self
                .keys
                .open(&mut self.buf, self.plain, self.cipher)
                .map_err(tls_error)?;
            self.cipher += len;
            opened = true;
            let content = self.plain..self.plain + content_len;
            match content_type {
                CONTENT_APPLICATION_DATA if self.handshake.is_empty() => self.plain += content_len,
                CONTENT_HANDSHAKE => {
                    if self.handshake.len() + content_len > MAX_HANDSHAKE_PENDING {
                        return Err(tls_error(rustls::Error::InvalidMessage(
                            rustls::InvalidMessage::MessageTooLarge,
                        )));
                    }
                    self.handshake.extend_from_slice(&self.buf[content]);
                    self.handle_handshake()?;
                }
                CONTENT_ALERT => {
                    let alert = self.buf[content].to_vec();
                    self.handle_alert(&alert)?;
                }
                other => {
                    return Err(tls_error(rustls::Error::InappropriateMessage {
                        expect_types: vec![rustls::ContentType::ApplicationData],
                        got_type: rustls::ContentType::from(other),
                    }))
                }
            }
            self.assert_invariants();
        }
        Ok(opened)
    }

    fn handle_alert(&mut self, alert: &[u8]) -> io::Result<()> {
        let &[level, description] = alert else {
            return Err(tls_error(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::MessageTooShort,
            )));
        };
        let description = AlertDescription::from(description);
        match description {
            AlertDescription::CloseNotify => {
                self.peer_closed = true;
                Ok(())
            }
            // Warnings (TLS 1.2) and user_canceled carry no verdict.
            AlertDescription::UserCanceled => Ok(()),
            _ if level == 1 && self.version == RecordVersion::Tls12 => Ok(()),
            _ => Err(tls_error(rustls::Error::AlertReceived(description))),
        }
    }

    /// Handles every complete post-handshake message.
    fn handle_handshake(&mut self) -> io::Result<()> {
        while self.handshake.len() >= 4 {
            let body_len =
                u32::from_be_bytes([0, self.handshake[1], self.handshake[2], self.handshake[3]])
                    as usize;
            if self.handshake.len() < 4 + body_len {
                break;
            }
            let message: Vec<u8> = self.handshake.drain(..4 + body_len).collect();
            let body = &message[4..];
            match (self.version, message[0]) {
                (RecordVersion::Tls13, HANDSHAKE_NEW_SESSION_TICKET) => self
                    .shared
                    .kernel
                    .lock()
                    .unwrap()
                    .handle_new_session_ticket(body)
                    .map_err(tls_error)?,
                (RecordVersion::Tls13, HANDSHAKE_KEY_UPDATE) => {
                    let requested = match body {
                        [0] => false,
                        [1] => true,
                        _ => {
                            return Err(tls_error(rustls::Error::InvalidMessage(
                                rustls::InvalidMessage::InvalidKeyUpdate,
                            )))
                        }
                    };
                    // A key update must end its record (RFC 8446 5.1): what
                    // follows is under the new key.
                    if !self.handshake.is_empty() {
                        return Err(tls_error(rustls::Error::PeerMisbehaved(
                            rustls::PeerMisbehaved::KeyEpochWithPendingFragment,
                        )));
                    }
                    let (seq, secrets) = self
                        .shared
                        .kernel
                        .lock()
                        .unwrap()
                        .update_rx_secret()
                        .map_err(tls_error)?;
                    self.keys =
                        DirectionKeys::new(self.version, seq, &secrets).ok_or_else(|| {
                            tls_error(rustls::Error::General(
                                "key update to an unknown suite".into(),
                            ))
                        })?;
                    debug!(host = %self.shared.host, requested, "TLS read key updated");
                    if requested {
                        self.shared
                            .key_update_requested
                            .store(true, Ordering::Release);
                    }
                }
                // kmirror never renegotiates; RFC 5246 lets a client ignore this.
                (RecordVersion::Tls12, HANDSHAKE_HELLO_REQUEST) => {}
                (_, other) => {
                    return Err(tls_error(rustls::Error::InappropriateHandshakeMessage {
                        expect_types: vec![rustls::HandshakeType::NewSessionTicket],
                        got_type: rustls::HandshakeType::from(other),
                    }))
                }
            }
        }
        Ok(())
    }
}

/// The write half: seals request bytes into records.
pub struct TlsWriter {
    tcp: OwnedWriteHalf,
    keys: DirectionKeys,
    version: RecordVersion,
    /// Records one key may seal (the suite's confidentiality limit).
    limit: u64,
    /// Sealed records not yet sent; kept between requests.
    out: Vec<u8>,
    shared: Arc<TlsShared>,
}

impl std::fmt::Debug for TlsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsWriter")
            .field("version", &self.version)
            .finish()
    }
}

impl TlsWriter {
    /// Seals and sends `segments` as one stream of full records.
    pub(crate) async fn write_segments(
        &mut self,
        segments: &[Bytes],
        gate: WriteGate<'_>,
    ) -> Result<(), WriteFailure> {
        // Asked before anything is sealed: sealing spends record sequence
        // numbers, so a request stopped after it leaves the stream unusable.
        if !gate() {
            return Err(WriteFailure::Withheld { started: false });
        }
        let mut remaining: usize = segments.iter().map(Bytes::len).sum();
        let mut pieces = segments.iter().map(|s| &s[..]);
        let mut current: &[u8] = &[];
        while remaining > 0 {
            self.update_key_if_due().map_err(WriteFailure::Io)?;
            let len = remaining.min(MAX_PLAINTEXT);
            self.keys
                .seal(&mut self.out, CONTENT_APPLICATION_DATA, len, |out| {
                    let mut needed = len;
                    while needed > 0 {
                        if current.is_empty() {
                            current = pieces.next().expect("segments hold `remaining` bytes");
                        }
                        let take = needed.min(current.len());
                        out.extend_from_slice(&current[..take]);
                        current = &current[take..];
                        needed -= take;
                    }
                })
                .map_err(|e| WriteFailure::Io(tls_error(e)))?;
            remaining -= len;
            if self.out.len() >= WRITE_CHUNK {
                self.send_out(gate).await?;
            }
        }
        self.send_out(gate).await
    }

    /// Writes the sealed records, asking `gate` before each system call.
    async fn send_out(&mut self, gate: WriteGate<'_>) -> Result<(), WriteFailure> {
        let mut sent = 0;
        while sent < self.out.len() {
            let slice = [IoSlice::new(&self.out[sent..])];
            match write_gated(&self.tcp, &slice, gate, true).await {
                Ok(written) => sent += written,
                Err(e) => {
                    self.out.clear();
                    return Err(e);
                }
            }
        }
        self.out.clear();
        Ok(())
    }

    /// Sends a KeyUpdate and switches to the next key when the broker asked
    /// for one or this key reached its limit. TLS 1.2 has no key update: the
    /// connection fails and is replaced.
    fn update_key_if_due(&mut self) -> io::Result<()> {
        let requested = self.shared.key_update_requested.load(Ordering::Acquire)
            && self
                .shared
                .key_update_requested
                .swap(false, Ordering::AcqRel);
        if !requested && self.keys.seq() + 1 < self.limit {
            return Ok(());
        }
        if self.version == RecordVersion::Tls12 {
            return Err(tls_error(rustls::Error::EncryptError));
        }
        self.keys
            .seal(
                &mut self.out,
                CONTENT_HANDSHAKE,
                KEY_UPDATE_NOT_REQUESTED.len(),
                |out| out.extend_from_slice(&KEY_UPDATE_NOT_REQUESTED),
            )
            .map_err(tls_error)?;
        let (seq, secrets) = self
            .shared
            .kernel
            .lock()
            .unwrap()
            .update_tx_secret()
            .map_err(tls_error)?;
        self.keys = DirectionKeys::new(self.version, seq, &secrets).ok_or_else(|| {
            tls_error(rustls::Error::General(
                "key update to an unknown suite".into(),
            ))
        })?;
        debug!(host = %self.shared.host, requested, "TLS write key updated");
        Ok(())
    }
}
