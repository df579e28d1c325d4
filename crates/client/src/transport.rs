//! The byte stream under a connection: plain TCP, or TLS through rustls
//! (`security.protocol` SSL / SASL_SSL). SASL runs above this, as Kafka
//! requests on the open stream (see `security::sasl`).

use std::io::IoSlice;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use crate::error::{ClientError, Result};
use crate::recv_pool;
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

impl BrokerWriter {
    /// Writes every segment in order. Over plain TCP with vectored writes,
    /// so segments are not joined; over TLS sealed into full records.
    pub async fn write_segments(&mut self, segments: &[Bytes]) -> std::io::Result<()> {
        match &mut self.0 {
            WriterKind::Plain(tcp) => write_all_vectored(tcp, segments).await,
            WriterKind::Tls(tls) => tls.write_segments(segments).await,
        }
    }
}

/// Writes every segment with vectored writes.
async fn write_all_vectored(tcp: &mut OwnedWriteHalf, segments: &[Bytes]) -> std::io::Result<()> {
    let mut index = 0;
    let mut offset = 0;
    while index < segments.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(&segments[index][offset..])
            .chain(segments[index + 1..].iter().map(|s| &s[..]))
            .take(64)
            .map(IoSlice::new)
            .collect();
        let mut written = tcp.write_vectored(&slices).await?;
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
    Ok(())
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
    Plain(OwnedReadHalf),
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
            ReaderKind::Plain(tcp) => read_plain_frame(tcp, max_bytes).await,
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

/// Reads one frame over plain TCP straight into a buffer of its size.
async fn read_plain_frame(
    tcp: &mut OwnedReadHalf,
    max_bytes: usize,
) -> std::result::Result<Bytes, FrameError> {
    let size = match tcp.read_i32().await {
        Ok(size) => size,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(FrameError::Closed { mid_frame: false })
        }
        Err(e) => return Err(FrameError::Io(e)),
    };
    if size < 4 || size as usize > max_bytes {
        return Err(FrameError::BadSize(size));
    }
    let size = size as usize;
    let mut frame = recv_pool::take(size);
    while frame.len() < size {
        let mut limited = (&mut *tcp).take((size - frame.len()) as u64);
        match limited.read_buf(&mut *frame).await {
            Ok(0) => return Err(FrameError::Closed { mid_frame: true }),
            Ok(_) => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(frame.freeze())
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
                        inner: ReaderKind::Plain(read),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_strips_port_and_brackets() {
        assert_eq!(host_of("127.0.0.1:9092"), "127.0.0.1");
        assert_eq!(host_of("kafka-a-1.example:9093"), "kafka-a-1.example");
        assert_eq!(host_of("[::1]:9092"), "::1");
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
