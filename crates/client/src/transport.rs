//! The byte stream under a connection. Plain TCP today; TLS (rustls) and SASL
//! authentication slot in here without the layers above changing.

use tokio::net::TcpStream;

/// Opens transports to brokers.
#[derive(Debug, Clone, Copy)]
pub struct Transport;

impl Transport {
    /// Opens a plaintext TCP connection.
    pub async fn connect(addr: &str) -> std::io::Result<TcpStream> {
        TcpStream::connect(addr).await
    }
}
