//! The byte stream under a connection: plain TCP, or TLS through rustls
//! (`security.protocol` SSL / SASL_SSL). SASL runs above this, as Kafka
//! requests on the open stream (see `security::sasl`).

use std::io::IoSlice;

use bytes::Bytes;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, TcpStream};

use crate::error::{ClientError, Result};
use crate::plain_frames::PlainFrames;
use crate::security::tls::TlsFailure;
use crate::security::tls_stream::{FrameError, TlsReader, TlsWriter};
use crate::security::SecurityConfig;

/// The write half of a broker stream.
pub struct BrokerWriter(WriterKind);

enum WriterKind {
    Plain(OwnedWriteHalf),
    /// Boxed: ring's key schedules make it large.
    Tls(Box<TlsWriter>),
}

impl std::fmt::Debug for BrokerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerWriter")
    }
}

/// Asked right before every write system call of a request: whether the
/// rest of it may still go out (see [`crate::lease`]).
pub type WriteGate<'a> = &'a (dyn Fn() -> bool + Sync);

/// Why a request was not written whole.
#[derive(Debug)]
pub enum WriteFailure {
    Io(std::io::Error),
    /// The gate closed. `started`: part of the request (or, over TLS, of
    /// its sealed records) is already out, so the stream is unusable.
    Withheld {
        started: bool,
    },
}

impl BrokerWriter {
    /// Writes every segment in order, asking `gate` before each write.
    /// Over plain TCP with vectored writes, so segments are not joined;
    /// over TLS sealed into full records.
    pub async fn write_segments(
        &mut self,
        segments: &[Bytes],
        gate: WriteGate<'_>,
    ) -> Result<(), WriteFailure> {
        match &mut self.0 {
            WriterKind::Plain(tcp) => write_all_vectored(tcp, segments, gate).await,
            WriterKind::Tls(tls) => tls.write_segments(segments, gate).await,
        }
    }
}

/// Writes every segment with vectored writes.
async fn write_all_vectored(
    tcp: &mut OwnedWriteHalf,
    segments: &[Bytes],
    gate: WriteGate<'_>,
) -> Result<(), WriteFailure> {
    let mut index = 0;
    let mut offset = 0;
    let mut started = false;
    while index < segments.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(&segments[index][offset..])
            .chain(segments[index + 1..].iter().map(|s| &s[..]))
            .take(64)
            .map(IoSlice::new)
            .collect();
        let mut written = write_gated(tcp, &slices, gate, started).await?;
        started = true;
        while index < segments.len() && written >= segments[index].len() - offset {
            written -= segments[index].len() - offset;
            index += 1;
            offset = 0;
        }
        offset += written;
    }
    Ok(())
}

/// One write system call of `slices` once the socket takes data and the
/// gate is open; the bytes it took.
///
/// By hand rather than `AsyncWriteExt::write_vectored`, which makes the
/// system call inside its poll: the gate must be asked after the wait for
/// room, right before the call, or a process frozen in that wait would
/// write on waking without asking again.
pub(crate) async fn write_gated(
    tcp: &OwnedWriteHalf,
    slices: &[IoSlice<'_>],
    gate: WriteGate<'_>,
    started: bool,
) -> Result<usize, WriteFailure> {
    loop {
        tcp.writable().await.map_err(WriteFailure::Io)?;
        if !gate() {
            return Err(WriteFailure::Withheld { started });
        }
        match tcp.try_write_vectored(slices) {
            Ok(0) => return Err(WriteFailure::Io(std::io::ErrorKind::WriteZero.into())),
            Ok(written) => return Ok(written),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(WriteFailure::Io(e)),
        }
    }
}

/// Why no response frame could be read, in words for the poisoned
/// connection's callers.
#[derive(Debug)]
pub struct ReadFailure {
    pub reason: String,
    /// The TLS failure behind it (a refused client certificate shows up
    /// only at the first read under TLS 1.3).
    pub tls_failure: Option<TlsFailure>,
}

/// The read half of a broker stream; knows whether it is TLS so that read
/// failures can say what went wrong.
pub struct BrokerReader {
    inner: ReaderKind,
    tls_host: Option<String>,
}

enum ReaderKind {
    Plain(PlainFrames),
    Tls(Box<TlsReader>),
}

impl std::fmt::Debug for BrokerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerReader")
            .field("tls", &self.tls_host.is_some())
            .finish()
    }
}

impl BrokerReader {
    /// The next response frame (without its size prefix), at most
    /// `max_bytes` long.
    pub async fn read_frame(
        &mut self,
        max_bytes: usize,
    ) -> std::result::Result<Bytes, ReadFailure> {
        let result = match &mut self.inner {
            ReaderKind::Plain(frames) => frames.read_frame(max_bytes).await,
            ReaderKind::Tls(tls) => tls.read_frame(max_bytes).await,
        };
        result.map_err(|error| match error {
            FrameError::Closed { mid_frame: false } => ReadFailure {
                reason: "connection closed by broker".to_string(),
                tls_failure: None,
            },
            FrameError::Closed { mid_frame: true } => ReadFailure {
                reason: "connection closed mid-response".to_string(),
                tls_failure: None,
            },
            FrameError::BadSize(size) => ReadFailure {
                reason: describe_bad_frame_size(size),
                tls_failure: None,
            },
            FrameError::Io(error) => {
                let tls_failure = self
                    .tls_host
                    .as_deref()
                    .map(|host| TlsFailure::from_io(&error, host));
                let reason = match &tls_failure {
                    Some(failure) => format!("read failed: {failure}"),
                    None => format!("read failed: {error}"),
                };
                ReadFailure {
                    reason,
                    tls_failure,
                }
            }
        })
    }
}

/// A frame size that cannot start a Kafka response. A TLS record header
/// (content type 21 alert or 22 handshake, version 3.x) read as a size means
/// the broker speaks TLS on this port.
pub fn describe_bad_frame_size(size: i32) -> String {
    let bytes = size.to_be_bytes();
    if matches!(bytes[0], 0x15 | 0x16) && bytes[1] == 0x03 {
        "the broker answered with TLS: this is an SSL or SASL_SSL listener; set security.protocol to SSL or SASL_SSL".to_string()
    } else {
        format!("invalid response size {size}: not a Kafka response")
    }
}

/// TCP socket options (`send.buffer.bytes`, `receive.buffer.bytes`); `None`
/// leaves the operating system's default, as Kafka's `-1` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketOptions {
    pub send_buffer_bytes: Option<u32>,
    pub receive_buffer_bytes: Option<u32>,
}

impl SocketOptions {
    /// Connects to `addr`, trying each address it resolves to in turn (as
    /// `TcpStream::connect` does), with the buffer sizes set before the
    /// connection is made: the receive buffer bounds the TCP window offered
    /// in the handshake, so setting it afterwards would be too late.
    async fn connect(&self, addr: &str) -> std::io::Result<TcpStream> {
        if *self == SocketOptions::default() {
            return TcpStream::connect(addr).await;
        }
        let mut last = None;
        for resolved in tokio::net::lookup_host(addr).await? {
            let socket = if resolved.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(bytes) = self.send_buffer_bytes {
                socket.set_send_buffer_size(bytes)?;
            }
            if let Some(bytes) = self.receive_buffer_bytes {
                socket.set_recv_buffer_size(bytes)?;
            }
            match socket.connect(resolved).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the host name resolves to no address",
            )
        }))
    }
}

/// Opens transports to brokers.
#[derive(Debug, Clone, Copy)]
pub struct Transport;

impl Transport {
    /// Opens a TCP connection to `addr` (`host:port`) and, when the security
    /// protocol asks for it, runs the TLS handshake on it.
    pub async fn connect(
        addr: &str,
        security: &SecurityConfig,
        socket: &SocketOptions,
    ) -> Result<(BrokerReader, BrokerWriter)> {
        let tcp = socket
            .connect(addr)
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        match security.tls() {
            None => {
                let (read, write) = tcp.into_split();
                Ok((
                    BrokerReader {
                        inner: ReaderKind::Plain(PlainFrames::new(
                            read,
                            socket.receive_buffer_bytes,
                        )),
                        tls_host: None,
                    },
                    BrokerWriter(WriterKind::Plain(write)),
                ))
            }
            Some(tls) => {
                let host = host_of(addr);
                let (read, write) =
                    tls.connect(host, tcp)
                        .await
                        .map_err(|failure| ClientError::Tls {
                            addr: addr.to_string(),
                            failure,
                        })?;
                Ok((
                    BrokerReader {
                        inner: ReaderKind::Tls(Box::new(read)),
                        tls_host: Some(host.to_string()),
                    },
                    BrokerWriter(WriterKind::Tls(Box::new(write))),
                ))
            }
        }
    }
}

/// The host part of `host:port`, without IPv6 brackets.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// A connected pair of streams on loopback, for the tests of this crate's
/// readers and writers: ours, and the peer's.
#[cfg(test)]
pub(crate) async fn loopback_pair() -> (TcpStream, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap());
    let (ours, accepted) = tokio::join!(ours, listener.accept());
    (ours.unwrap(), accepted.unwrap().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn host_of_strips_port_and_brackets() {
        assert_eq!(host_of("127.0.0.1:9092"), "127.0.0.1");
        assert_eq!(host_of("kafka-a-1.example:9093"), "kafka-a-1.example");
        assert_eq!(host_of("[::1]:9092"), "::1");
    }

    /// A connected pair: our write half and the peer's stream.
    async fn pair() -> (OwnedWriteHalf, TcpStream) {
        let (ours, peer) = loopback_pair().await;
        (ours.into_split().1, peer)
    }

    #[tokio::test]
    async fn a_closed_gate_withholds_the_request_before_its_first_byte() {
        let (mut ours, mut peer) = pair().await;
        let segments = [Bytes::from_static(b"frame")];
        let outcome = write_all_vectored(&mut ours, &segments, &|| false).await;
        assert!(matches!(
            outcome,
            Err(WriteFailure::Withheld { started: false })
        ));
        drop(ours);
        let mut received = Vec::new();
        peer.read_to_end(&mut received).await.unwrap();
        assert!(received.is_empty(), "{} bytes went out", received.len());
    }

    #[tokio::test]
    async fn a_gate_closing_half_way_stops_the_rest_and_says_so() {
        let (mut ours, mut peer) = pair().await;
        // Far more than the socket takes at once: several system calls.
        let segments = [Bytes::from(vec![7u8; 64 << 20])];
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let gate = || calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 1;
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            peer.read_to_end(&mut received).await.unwrap();
            received.len()
        });
        let outcome = write_all_vectored(&mut ours, &segments, &gate).await;
        assert!(matches!(
            outcome,
            Err(WriteFailure::Withheld { started: true })
        ));
        drop(ours);
        let received = reader.await.unwrap();
        assert!(
            received > 0 && received < 64 << 20,
            "received {received} bytes"
        );
    }

    #[tokio::test]
    async fn an_open_gate_writes_every_segment_in_order() {
        let (mut ours, mut peer) = pair().await;
        let segments = [
            Bytes::from_static(b"ab"),
            Bytes::from(vec![1u8; 3 << 20]),
            Bytes::from_static(b"cd"),
        ];
        let expected: Vec<u8> = segments.iter().flat_map(|s| s.to_vec()).collect();
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            peer.read_to_end(&mut received).await.unwrap();
            received
        });
        write_all_vectored(&mut ours, &segments, &|| true)
            .await
            .unwrap();
        drop(ours);
        assert!(reader.await.unwrap() == expected);
    }

    #[tokio::test]
    async fn socket_buffer_sizes_are_applied() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let options = SocketOptions {
            send_buffer_bytes: Some(24 * 1024),
            receive_buffer_bytes: Some(16 * 1024),
        };
        let stream = options.connect(&addr).await.unwrap();
        let socket = TcpSocket::from_std_stream(stream.into_std().unwrap());
        // Linux doubles the size asked for (bookkeeping overhead).
        let received = socket.recv_buffer_size().unwrap();
        let sent = socket.send_buffer_size().unwrap();
        assert!(
            received == 16 * 1024 || received == 32 * 1024,
            "SO_RCVBUF {received}"
        );
        assert!(sent == 24 * 1024 || sent == 48 * 1024, "SO_SNDBUF {sent}");
    }

    #[test]
    fn a_tls_record_read_as_a_size_is_named() {
        let alert = i32::from_be_bytes([0x15, 0x03, 0x03, 0x00]);
        assert!(describe_bad_frame_size(alert).contains("security.protocol to SSL"));
        assert!(describe_bad_frame_size(-5).contains("not a Kafka response"));
    }
}
