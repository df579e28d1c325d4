//! Peers that are not (or no longer) Kafka: every failure is a typed error
//! naming the address and API, promptly, never a hang or a panic.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, FetchResponse, MetadataResponse, ProduceResponse,
};
use kafka_protocol::protocol::Decodable;
use kmirror_client::fetch::{fetch, FetchParams, PartitionFetch};
use kmirror_client::{ClientConfig, ClientError, KafkaClient, Purpose};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// Decoders below are fed arbitrary bytes; see `kmirror_client::alloc`.
#[global_allocator]
static ALLOC: kmirror_client::LazyHugeAlloc = kmirror_client::LazyHugeAlloc;

fn quick_config(addr: &str) -> ClientConfig {
    let mut config = ClientConfig::new(addr);
    config.connection.connect_timeout = Duration::from_secs(2);
    config.connection.request_timeout = Duration::from_secs(2);
    config.retry_deadline = Duration::from_secs(1);
    config
}

/// Runs `serve` for every connection to a fresh loopback listener.
async fn fake_peer<F, Fut>(serve: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

/// Reads one request frame and returns its correlation id.
async fn read_request(stream: &mut TcpStream) -> Option<i32> {
    let size = stream.read_i32().await.ok()?;
    let mut frame = vec![0u8; size as usize];
    stream.read_exact(&mut frame).await.ok()?;
    Some(i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]))
}

async fn connect_error(addr: &str) -> (ClientError, Duration) {
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        KafkaClient::connect(quick_config(addr)),
    )
    .await
    .expect("connect must not hang");
    (result.expect_err("connect must fail"), started.elapsed())
}

fn full_message(error: &ClientError) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        message.push_str(" / ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[tokio::test]
async fn unreachable_bootstrap_names_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let (error, took) = connect_error(&addr).await;
    let message = full_message(&error);
    assert!(message.contains(&addr), "{message}");
    assert!(message.contains("cannot connect"), "{message}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn peer_that_hangs_up_is_a_closed_connection() {
    let addr = fake_peer(|stream| async move { drop(stream) }).await;
    let (error, _) = connect_error(&addr).await;
    let message = full_message(&error);
    assert!(message.contains(&addr), "{message}");
    assert!(message.contains("ApiVersions"), "{message}");
}

#[tokio::test]
async fn silent_peer_times_out() {
    let addr = fake_peer(|mut stream| async move {
        let _ = read_request(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let (error, took) = connect_error(&addr).await;
    let message = full_message(&error);
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains(&addr), "{message}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[tokio::test]
async fn http_server_is_not_mistaken_for_kafka() {
    let addr = fake_peer(|mut stream| async move {
        let _ = read_request(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let (error, took) = connect_error(&addr).await;
    let message = full_message(&error);
    assert!(message.contains("not a Kafka response"), "{message}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn garbled_body_is_a_malformed_response() {
    let addr = fake_peer(|mut stream| async move {
        while let Some(correlation_id) = read_request(&mut stream).await {
            // Right framing and correlation id, nonsense after it.
            let mut frame = correlation_id.to_be_bytes().to_vec();
            frame.extend_from_slice(&[0xff, 0x7f, 0x00, 0x13, 0x37, 0xff, 0xff, 0xff, 0xff]);
            let mut out = (frame.len() as i32).to_be_bytes().to_vec();
            out.extend(frame);
            if stream.write_all(&out).await.is_err() {
                return;
            }
        }
    })
    .await;
    let (error, _) = connect_error(&addr).await;
    let message = full_message(&error);
    assert!(
        message.contains("malformed ApiVersions response"),
        "{message}"
    );
    assert!(message.contains(&addr), "{message}");
}

#[test]
fn broker_killed_mid_request_fails_the_request_promptly() {
    let cluster = kmirror_testbed::KafkaCluster::start("killed");
    let topic = kmirror_testbed::random_topic_name("killed");
    cluster.create_topic(&topic, 1, 1, &[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let error = rt.block_on(async {
        let client = KafkaClient::connect(ClientConfig::new(&cluster.bootstrap()))
            .await
            .unwrap();
        client
            .refresh_metadata(Some(std::slice::from_ref(&topic)))
            .await
            .unwrap();
        let leader = client.leader(&topic, 0).await.unwrap();
        let conn = client.connection(leader, Purpose::Fetch).await.unwrap();
        // A long poll on an empty partition: the broker holds it.
        let params = FetchParams {
            max_wait: Duration::from_secs(20),
            ..FetchParams::default()
        };
        let request = [PartitionFetch {
            topic: topic.clone(),
            partition: 0,
            offset: 0,
            max_bytes: 1024,
        }];
        let pending = fetch(&conn, &params, &request);
        tokio::pin!(pending);
        tokio::select! {
            result = &mut pending => panic!("fetch returned before the kill: {result:?}"),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        tokio::task::block_in_place(|| cluster.kill_broker(0));
        let started = Instant::now();
        let error = tokio::time::timeout(Duration::from_secs(10), pending)
            .await
            .expect("a fetch to a dead broker must fail, not hang")
            .expect_err("the broker is dead");
        assert!(started.elapsed() < Duration::from_secs(5));
        error
    });
    let message = full_message(&error);
    assert!(
        matches!(
            error,
            ClientError::ConnectionClosed {
                api: ApiKey::Fetch,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("127.0.0.1"), "{message}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Responses we decode, fed arbitrary bytes at every version we speak:
    /// an error or a value, never a panic.
    #[test]
    fn response_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), version in 0i16..18) {
        let bytes = Bytes::from(bytes);
        let _ = FetchResponse::decode(&mut bytes.clone(), version.clamp(4, 12));
        let _ = ProduceResponse::decode(&mut bytes.clone(), version.clamp(3, 12));
        let _ = MetadataResponse::decode(&mut bytes.clone(), version.clamp(0, 13));
        let _ = ApiVersionsResponse::decode(&mut bytes.clone(), version.clamp(0, 4));
    }
}
