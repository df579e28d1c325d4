//! The byte stream under a connection: plain TCP, or TLS through rustls
//! (`security.protocol` SSL / SASL_SSL). SASL runs above this, as Kafka
//! requests on the open stream (see `security::sasl`).

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{ClientError, Result};
use crate::security::tls::TlsFailure;
use crate::security::SecurityConfig;

/// The write half of a broker stream.
pub struct BrokerWriter(Box<dyn AsyncWrite + Send + Unpin>);

impl std::fmt::Debug for BrokerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerWriter")
    }
}

impl AsyncWrite for BrokerWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The read half of a broker stream; knows whether it is TLS so that read
/// failures can say what went wrong (a refused client certificate shows up
/// only at the first read under TLS 1.3).
pub struct BrokerReader {
    inner: Box<dyn AsyncRead + Send + Unpin>,
    tls_host: Option<String>,
}

impl std::fmt::Debug for BrokerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerReader")
            .field("tls", &self.tls_host.is_some())
            .finish()
    }
}

impl BrokerReader {
    /// The TLS failure behind a read error on a TLS stream.
    pub fn tls_failure(&self, error: &std::io::Error) -> Option<TlsFailure> {
        self.tls_host
            .as_deref()
            .map(|host| TlsFailure::from_io(error, host))
    }

    /// Why a read failed, in words that say what to fix.
    pub fn describe_read_error(&self, error: &std::io::Error) -> String {
        match self.tls_failure(error) {
            Some(failure) => format!("read failed: {failure}"),
            None => format!("read failed: {error}"),
        }
    }
}

impl AsyncRead for BrokerReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
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

/// Opens transports to brokers.
#[derive(Debug, Clone, Copy)]
pub struct Transport;

impl Transport {
    /// Opens a TCP connection to `addr` (`host:port`) and, when the security
    /// protocol asks for it, runs the TLS handshake on it.
    pub async fn connect(
        addr: &str,
        security: &SecurityConfig,
    ) -> Result<(BrokerReader, BrokerWriter)> {
        let tcp = TcpStream::connect(addr)
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
                        inner: Box::new(read),
                        tls_host: None,
                    },
                    BrokerWriter(Box::new(write)),
                ))
            }
            Some(tls) => {
                let host = host_of(addr);
                let stream = tls
                    .connect(host, tcp)
                    .await
                    .map_err(|failure| ClientError::Tls {
                        addr: addr.to_string(),
                        failure,
                    })?;
                let (read, write) = tokio::io::split(stream);
                Ok((
                    BrokerReader {
                        inner: Box::new(read),
                        tls_host: Some(host.to_string()),
                    },
                    BrokerWriter(Box::new(write)),
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

    #[test]
    fn a_tls_record_read_as_a_size_is_named() {
        let alert = i32::from_be_bytes([0x15, 0x03, 0x03, 0x00]);
        assert!(describe_bad_frame_size(alert).contains("security.protocol to SSL"));
        assert!(describe_bad_frame_size(-5).contains("not a Kafka response"));
    }
}
