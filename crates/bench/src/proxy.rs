//! A delaying TCP proxy on loopback: a far region without kernel netem.
//!
//! Every byte that enters one side leaves the other side `one_way_delay`
//! later (so a request and its response see twice that: 15 ms each way is a
//! 30 ms round trip), optionally paced to a bandwidth cap shared by all
//! connections in that direction, as a WAN link is. Data is read as soon as
//! it arrives and held in a bounded queue per connection and direction
//! ([`WINDOW_CHUNKS`] reads of up to 64 KiB, about a large TCP window), so
//! the delay adds latency without cutting throughput, and ordering is kept
//! because a chunk never overtakes the one before it.
//!
//! The proxy listens on 127.0.0.1 only. Its upstream can be given up front
//! or found lazily on the first connection (see [`Upstream::Lazy`]): a
//! broker that advertises the proxy's address is reached through it while
//! it is still starting, before its own port is known to the caller.
//! Dropping the proxy closes its listener and every connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// Reads queued per connection and direction before the proxy stops
/// reading (and TCP pushes back on the sender).
pub const WINDOW_CHUNKS: usize = 64;
const CHUNK: usize = 64 * 1024;
/// See [`Shared::pace`].
const PACING_SLACK: Duration = Duration::from_millis(5);
/// How long a connection waits for a lazy upstream to become known.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(90);

/// Where the proxy forwards connections to.
#[derive(Clone)]
pub enum Upstream {
    Fixed(SocketAddr),
    /// Asked on each new connection until it answers; connections made
    /// before it knows wait (up to 90 s).
    Lazy(Arc<dyn Fn() -> Option<SocketAddr> + Send + Sync>),
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::Fixed(addr) => write!(f, "Fixed({addr})"),
            Upstream::Lazy(_) => write!(f, "Lazy"),
        }
    }
}

/// The link the proxy emulates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkSettings {
    /// Added to every byte in each direction.
    pub one_way_delay: Duration,
    /// Bytes per second in each direction, shared by all connections;
    /// `None` is unlimited.
    pub bandwidth: Option<u64>,
}

const UP: usize = 0;
const DOWN: usize = 1;

#[derive(Debug)]
struct Shared {
    delay_micros: AtomicU64,
    /// Bytes per second; 0 is unlimited.
    rate: AtomicU64,
    /// Per direction: when the link is free to send the next chunk.
    next_free: [Mutex<Instant>; 2],
    /// Per direction: bytes delivered.
    delivered: [AtomicU64; 2],
}

impl Shared {
    fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_micros.load(Ordering::Relaxed))
    }

    /// Waits until `len` bytes may leave in direction `dir` under the cap.
    async fn pace(&self, dir: usize, len: usize) {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return;
        }
        let done = {
            let mut next = self.next_free[dir].lock().unwrap();
            // Timers wake up to a millisecond late; a link idle for less
            // than PACING_SLACK is treated as busy until now, so that the
            // lateness is not lost from the link's capacity.
            let now = Instant::now();
            let start = (*next).max(now.checked_sub(PACING_SLACK).unwrap_or(now));
            *next = start + Duration::from_secs_f64(len as f64 / rate as f64);
            *next
        };
        tokio::time::sleep_until(done).await;
    }
}

/// A running proxy; see the module documentation.
#[derive(Debug)]
pub struct DelayProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The accept loop and every connection's tasks, aborted on drop.
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl DelayProxy {
    /// Binds `127.0.0.1:port` (0 for any free port) and starts forwarding.
    /// Must be called inside a Tokio runtime, which then runs the proxy.
    pub async fn start(port: u16, upstream: Upstream, link: LinkSettings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            delay_micros: AtomicU64::new(0),
            rate: AtomicU64::new(0),
            next_free: [Mutex::new(Instant::now()), Mutex::new(Instant::now())],
            delivered: [AtomicU64::new(0), AtomicU64::new(0)],
        });
        let tasks: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let proxy = DelayProxy {
            addr,
            shared: shared.clone(),
            tasks: tasks.clone(),
        };
        proxy.set_link(link);
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                let upstream = upstream.clone();
                let registry_inner = registry.clone();
                let task = tokio::spawn(async move {
                    if let Err(e) = serve(client, upstream, shared, registry_inner).await {
                        eprintln!("[delay-proxy] connection failed: {e}");
                    }
                });
                let mut handles = registry.lock().unwrap();
                handles.retain(|h| !h.is_finished());
                handles.push(task.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Ok(proxy)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes delay and bandwidth for every byte from now on.
    pub fn set_link(&self, link: LinkSettings) {
        self.shared
            .delay_micros
            .store(link.one_way_delay.as_micros() as u64, Ordering::Relaxed);
        self.shared
            .rate
            .store(link.bandwidth.unwrap_or(0), Ordering::Relaxed);
    }

    /// Bytes delivered upstream (client to server) and downstream so far.
    pub fn delivered(&self) -> (u64, u64) {
        (
            self.shared.delivered[UP].load(Ordering::Relaxed),
            self.shared.delivered[DOWN].load(Ordering::Relaxed),
        )
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        for handle in self.tasks.lock().unwrap().drain(..) {
            handle.abort();
        }
    }
}

async fn resolve(upstream: &Upstream) -> std::io::Result<SocketAddr> {
    match upstream {
        Upstream::Fixed(addr) => Ok(*addr),
        Upstream::Lazy(find) => {
            let deadline = Instant::now() + RESOLVE_TIMEOUT;
            loop {
                if let Some(addr) = find() {
                    return Ok(addr);
                }
                if Instant::now() > deadline {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the proxy's upstream address never became known",
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve(
    client: TcpStream,
    upstream: Upstream,
    shared: Arc<Shared>,
    registry: Arc<Mutex<Vec<AbortHandle>>>,
) -> std::io::Result<()> {
    let addr = resolve(&upstream).await?;
    let server = TcpStream::connect(addr).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = tokio::spawn(pump(client_read, server_write, shared.clone(), UP));
    let down = tokio::spawn(pump(server_read, client_write, shared, DOWN));
    {
        let mut handles = registry.lock().unwrap();
        handles.push(up.abort_handle());
        handles.push(down.abort_handle());
    }
    // One side failing ends the connection: the other pump would otherwise
    // wait forever on a peer that is gone.
    let up_abort = up.abort_handle();
    let down_abort = down.abort_handle();
    tokio::select! {
        r = up => { if !matches!(r, Ok(Ok(()))) { down_abort.abort(); } }
        r = down => { if !matches!(r, Ok(Ok(()))) { up_abort.abort(); } }
    }
    Ok(())
}

/// Copies `from` to `to`, each chunk delivered `delay` after it was read.
/// Ends after EOF on `from` (half-closing `to`) or on an error.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: Arc<Shared>,
    dir: usize,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<(Instant, Bytes)>(WINDOW_CHUNKS);
    let reader = async move {
        let mut buf = BytesMut::with_capacity(CHUNK);
        loop {
            buf.reserve(CHUNK);
            match from.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let chunk = buf.split().freeze();
                    if tx.send((Instant::now(), chunk)).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let writer = async {
        while let Some((read_at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(read_at + shared.delay()).await;
            shared.pace(dir, chunk.len()).await;
            to.write_all(&chunk).await?;
            shared.delivered[dir].fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        to.shutdown().await
    };
    let ((), result) = tokio::join!(reader, writer);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adds_the_round_trip_and_keeps_the_bytes() {
        let server = echo_server().await;
        let proxy = DelayProxy::start(
            0,
            Upstream::Fixed(server),
            LinkSettings {
                one_way_delay: Duration::from_millis(15),
                bandwidth: None,
            },
        )
        .await
        .unwrap();
        assert!(proxy.addr().ip().is_loopback());
        let mut socket = TcpStream::connect(proxy.addr()).await.unwrap();
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let started = std::time::Instant::now();
        let (mut r, mut w) = socket.split();
        let send = async {
            w.write_all(&payload).await.unwrap();
        };
        let mut back = vec![0u8; payload.len()];
        let receive = async {
            r.read_exact(&mut back).await.unwrap();
        };
        tokio::join!(send, receive);
        let elapsed = started.elapsed();
        assert_eq!(back, payload);
        assert!(elapsed >= Duration::from_millis(30), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn caps_bandwidth() {
        let server = echo_server().await;
        let proxy = DelayProxy::start(
            0,
            Upstream::Fixed(server),
            LinkSettings {
                one_way_delay: Duration::ZERO,
                bandwidth: Some(2_000_000),
            },
        )
        .await
        .unwrap();
        let mut socket = TcpStream::connect(proxy.addr()).await.unwrap();
        let payload = vec![7u8; 1_000_000];
        let started = std::time::Instant::now();
        let (mut r, mut w) = socket.split();
        let send = async {
            w.write_all(&payload).await.unwrap();
        };
        let mut back = vec![0u8; payload.len()];
        let receive = async {
            r.read_exact(&mut back).await.unwrap();
        };
        tokio::join!(send, receive);
        let elapsed = started.elapsed();
        // 1 MB at 2 MB/s each way, pipelined: about half a second, and
        // not much more (timer lateness must not eat the link's capacity).
        assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(800), "{elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waits_for_a_lazy_upstream() {
        let server = echo_server().await;
        let known = Arc::new(Mutex::new(None));
        let find = known.clone();
        let proxy = DelayProxy::start(
            0,
            Upstream::Lazy(Arc::new(move || *find.lock().unwrap())),
            LinkSettings::default(),
        )
        .await
        .unwrap();
        let mut socket = TcpStream::connect(proxy.addr()).await.unwrap();
        socket.write_all(b"ping").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        *known.lock().unwrap() = Some(server);
        let mut back = [0u8; 4];
        socket.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        drop(proxy);
        // Closed with the proxy.
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut rest))
            .await
            .expect("the connection closes when the proxy is dropped");
        assert!(n.is_ok_and(|n| n == 0) || rest.is_empty());
    }
}
