//! A client of one Kafka cluster: bootstrap, metadata cache with leader
//! tracking, a connection pool, and retries with backoff.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex, RwLock};
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{debug, warn};

use crate::backoff::Backoff;
use crate::connection::{BrokerConnection, ConnectionConfig};
use crate::error::{ClientError, Result};
use crate::metadata_refresh::RefreshQueue;
use crate::new_topics::NewTopics;
use crate::produce_batcher::{BatcherHandle, BatcherKey};

/// Settings of a cluster client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` addresses to learn the cluster from.
    pub bootstrap: Vec<String>,
    pub connection: ConnectionConfig,
    /// First pause between retries; doubles up to `retry_backoff_max`, with
    /// jitter so that many partitions do not retry in lockstep.
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// How long one call keeps retrying retriable errors before giving up.
    pub retry_deadline: Duration,
    /// First pause before connecting again to a broker that could not be
    /// reached; doubles per failure up to `reconnect_backoff_max`, with
    /// jitter (`reconnect.backoff.ms`, `reconnect.backoff.max.ms`).
    pub reconnect_backoff: Duration,
    pub reconnect_backoff_max: Duration,
    /// The connect timeout (`connection.connect_timeout`) doubles per
    /// consecutive failure to reach a broker, up to this
    /// (`socket.connection.setup.timeout.max.ms`).
    pub connect_timeout_max: Duration,
    /// Metadata of the topics in use is refreshed at least this often
    /// (`metadata.max.age.ms`), so new brokers and moved leaders are seen
    /// even when no request fails.
    pub metadata_max_age: Duration,
    /// How this client's batches are produced.
    pub produce: ProduceSettings,
    /// The name the caller knows the cluster by (kmirror: its alias), for
    /// logs; the bootstrap list when unset.
    pub label: Option<String>,
}

/// Produce settings of a client (`acks`, `delivery.timeout.ms`,
/// `max.in.flight.requests.per.connection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceSettings {
    /// -1 (all in-sync replicas, the default) or 1 (the leader only).
    pub acks: i16,
    /// How long a batch may keep failing before its partition gives up.
    pub delivery_timeout: Duration,
    /// Batches in flight per partition, and requests per broker connection;
    /// at most 5, the limit of idempotent producers.
    pub max_in_flight: usize,
}

impl Default for ProduceSettings {
    fn default() -> Self {
        ProduceSettings {
            acks: -1,
            delivery_timeout: Duration::from_secs(120),
            max_in_flight: crate::produce::MAX_IN_FLIGHT_PER_PARTITION,
        }
    }
}

impl ClientConfig {
    /// Pauses between the retries of one call: `retry.backoff.ms` doubled
    /// up to `retry.backoff.max.ms`, ±20 % jitter.
    pub fn retry_pauses(&self) -> Backoff {
        Backoff::new(self.retry_backoff, self.retry_backoff_max).with_jitter()
    }

    /// Pauses before connecting again to a broker that could not be
    /// reached: `reconnect.backoff.ms` doubled up to
    /// `reconnect.backoff.max.ms`, ±20 % jitter.
    pub fn reconnect_pauses(&self) -> Backoff {
        Backoff::new(self.reconnect_backoff, self.reconnect_backoff_max).with_jitter()
    }

    /// A config with defaults for the given comma-separated bootstrap list.
    pub fn new(bootstrap: &str) -> Self {
        ClientConfig {
            bootstrap: bootstrap
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            connection: ConnectionConfig::default(),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            retry_deadline: Duration::from_secs(10),
            // The Java clients' defaults.
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            connect_timeout_max: Duration::from_secs(30),
            metadata_max_age: Duration::from_secs(300),
            produce: ProduceSettings::default(),
            label: None,
        }
    }
}

/// Which socket a request travels on. A broker answers the requests of one
/// connection strictly in order, so a long-polling fetch would hold up a
/// produce or an admin call queued behind it: each kind gets its own socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Control,
    Fetch,
    Produce,
}

/// One partition as metadata describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// Broker id of the leader, -1 when there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: Option<ResponseError>,
}

/// One topic as metadata describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMetadata {
    pub name: String,
    pub topic_id: [u8; 16],
    pub is_internal: bool,
    pub error: Option<ResponseError>,
    /// Sorted by partition index.
    pub partitions: Vec<PartitionMetadata>,
}

impl TopicMetadata {
    pub fn partition(&self, partition: i32) -> Option<&PartitionMetadata> {
        self.partitions.iter().find(|p| p.partition == partition)
    }
}

/// A snapshot of what the cluster told us.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    /// Broker id to `host:port`.
    pub brokers: HashMap<i32, String>,
    pub topics: HashMap<String, TopicMetadata>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    metadata: RwLock<Arc<Metadata>>,
    connections: tokio::sync::Mutex<HashMap<(i32, Purpose), Arc<BrokerConnection>>>,
    /// A control connection not tied to a broker id (the bootstrap one).
    any: StdMutex<Option<Arc<BrokerConnection>>>,
    /// Produce request coalescing per broker (see `produce_batcher`).
    batchers: StdMutex<HashMap<BatcherKey, BatcherHandle>>,
    /// Brokers that could not be reached lately, by address.
    unreachable: StdMutex<HashMap<String, ConnectFailures>>,
    /// Refreshes of named topics waiting for the next Metadata request.
    refreshes: RefreshQueue,
    /// Topics created or grown through this client lately.
    new_topics: NewTopics,
}

/// Consecutive failures to reach one broker and when to try it again.
#[derive(Debug, Clone, Copy)]
struct ConnectFailures {
    count: u32,
    retry_at: tokio::time::Instant,
}

/// One socket per broker for a single long-polling reader, apart from the
/// client's shared pool. A broker answers the requests of one connection
/// strictly in order, so two fetchers sharing a socket would each wait out
/// the other's long poll before their own request is even read (seen: a
/// partition with a backlog fetched once a second behind two idle 500 ms
/// polls). The sockets close when the lane is dropped.
#[derive(Debug)]
pub struct ConnectionLane {
    client: KafkaClient,
    pool: tokio::sync::Mutex<HashMap<i32, Arc<BrokerConnection>>>,
}

impl ConnectionLane {
    /// This lane's connection to broker `id`, reconnecting when it failed.
    pub async fn connection(&self, id: i32) -> Result<Arc<BrokerConnection>> {
        self.client.pooled_connection(&self.pool, id, id).await
    }
}

/// A [`KafkaClient`] that does not keep it alive.
#[derive(Debug, Clone)]
pub(crate) struct WeakClient(std::sync::Weak<Inner>);

impl WeakClient {
    pub(crate) fn upgrade(&self) -> Option<KafkaClient> {
        self.0.upgrade().map(|inner| KafkaClient { inner })
    }
}

/// A cheaply cloneable client of one cluster.
#[derive(Debug, Clone)]
pub struct KafkaClient {
    inner: Arc<Inner>,
}

impl KafkaClient {
    /// Connects to the first bootstrap broker that answers and loads the
    /// broker list.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        let client = KafkaClient {
            inner: Arc::new(Inner {
                config,
                metadata: RwLock::new(Arc::new(Metadata::default())),
                connections: tokio::sync::Mutex::new(HashMap::new()),
                any: StdMutex::new(None),
                batchers: StdMutex::new(HashMap::new()),
                unreachable: StdMutex::new(HashMap::new()),
                refreshes: RefreshQueue::default(),
                new_topics: NewTopics::default(),
            }),
        };
        client.check_listener().await?;
        client.refresh_metadata(Some(&[])).await?;
        tokio::spawn(refresh_metadata_periodically(client.downgrade()));
        Ok(client)
    }

    /// Connects to `addr`, after the reconnect backoff when it failed
    /// lately, with a connect timeout that grows with its failures.
    async fn connect_to(&self, addr: &str) -> Result<Arc<BrokerConnection>> {
        let config = &self.inner.config;
        let failures = self.inner.unreachable.lock().unwrap().get(addr).copied();
        let mut connection = config.connection.clone();
        if let Some(failures) = failures {
            tokio::time::sleep_until(failures.retry_at).await;
            connection.connect_timeout = connect_timeout_after(config, failures.count);
        }
        let result = BrokerConnection::connect(addr, &connection).await;
        let mut unreachable = self.inner.unreachable.lock().unwrap();
        match &result {
            Ok(_) => {
                unreachable.remove(addr);
            }
            Err(_) => {
                let count = failures.map_or(1, |f| f.count.saturating_add(1));
                let backoff = config.reconnect_pauses().jittered_pause_after(count);
                unreachable.insert(
                    addr.to_string(),
                    ConnectFailures {
                        count,
                        retry_at: tokio::time::Instant::now() + backoff,
                    },
                );
            }
        }
        result
    }

    /// Whether `conn` may be used again: open and not idle for longer than
    /// `connections.max.idle.ms`.
    fn reusable(&self, conn: &BrokerConnection) -> bool {
        !conn.is_closed()
            && self
                .inner
                .config
                .connection
                .max_idle
                .is_none_or(|max_idle| !conn.idle_longer_than(max_idle))
    }

    /// A listener that requires SASL answers ApiVersions but closes the
    /// connection at the next request of a client that did not
    /// authenticate: said at once instead of retried as a network failure.
    async fn check_listener(&self) -> Result<()> {
        if self.inner.config.connection.security.protocol().uses_sasl() {
            return Ok(());
        }
        let conn = self.any_connection().await?;
        match conn.request(&MetadataRequest::default().with_topics(Some(Vec::new()))).await {
            Err(ClientError::ConnectionClosed { addr, .. }) => Err(ClientError::WrongListener {
                addr,
                hint: "the broker closed the connection after ApiVersions, as a listener that requires SASL does: set security.protocol to SASL_PLAINTEXT or SASL_SSL and sasl.mechanism / sasl.jaas.config",
            }),
            _ => Ok(()),
        }
    }

    /// A reference that does not keep the client alive, for its own
    /// background tasks (which end once the client is dropped).
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    /// Where produce batches for `key.broker` are coalesced into requests;
    /// started on first use.
    pub(crate) fn produce_batcher(&self, key: BatcherKey) -> BatcherHandle {
        let mut batchers = self.inner.batchers.lock().unwrap();
        if let Some(handle) = batchers.get(&key) {
            if !handle.is_closed() {
                return handle.clone();
            }
        }
        let handle = BatcherHandle::spawn(self.downgrade(), key.clone());
        batchers.insert(key, handle.clone());
        handle
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The cluster as logs name it: its label (kmirror: the alias) or,
    /// without one, the bootstrap list.
    pub fn cluster_label(&self) -> String {
        match &self.inner.config.label {
            Some(label) => label.clone(),
            None => self.bootstrap_display(),
        }
    }

    /// The cluster as errors name it: its label with the bootstrap list
    /// (`kafka-b (127.0.0.1:9092)`), or the bootstrap list alone.
    pub fn cluster_display(&self) -> String {
        match &self.inner.config.label {
            Some(label) => format!("{label} ({})", self.bootstrap_display()),
            None => self.bootstrap_display(),
        }
    }

    /// The bootstrap list as one string, for messages.
    pub fn bootstrap_display(&self) -> String {
        self.inner.config.bootstrap.join(",")
    }

    /// The latest metadata snapshot.
    pub fn metadata(&self) -> Arc<Metadata> {
        self.inner.metadata.read().unwrap().clone()
    }

    /// A control connection to some live broker of the cluster.
    pub async fn any_connection(&self) -> Result<Arc<BrokerConnection>> {
        if let Some(conn) = self.inner.any.lock().unwrap().clone() {
            if self.reusable(&conn) {
                return Ok(conn);
            }
        }
        let known: Vec<String> = self.metadata().brokers.values().cloned().collect();
        let mut candidates: Vec<String> = known
            .into_iter()
            .chain(self.inner.config.bootstrap.iter().cloned())
            .collect();
        // Brokers not in their reconnect backoff first, as the Java client
        // picks a node to ask.
        {
            let unreachable = self.inner.unreachable.lock().unwrap();
            candidates.sort_by_key(|addr| unreachable.get(addr).map(|f| f.retry_at));
        }
        let mut last = None;
        for addr in candidates {
            match self.connect_to(&addr).await {
                Ok(conn) => {
                    *self.inner.any.lock().unwrap() = Some(conn.clone());
                    return Ok(conn);
                }
                // Credentials, certificates or protocol refused: every
                // broker of the cluster will say the same.
                Err(e) if e.is_security_refusal() || matches!(e, ClientError::Security(_)) => {
                    return Err(e)
                }
                Err(e) => {
                    debug!(addr, error = %e, "broker not reachable");
                    last = Some(e);
                }
            }
        }
        Err(ClientError::NoBootstrap {
            addrs: self.bootstrap_display(),
            last: Box::new(last.unwrap_or_else(|| ClientError::ConnectionClosed {
                addr: String::new(),
                api: ApiKey::ApiVersions,
                reason: "no bootstrap address configured".into(),
            })),
        })
    }

    /// A connection to broker `id` for the given purpose, reconnecting when
    /// the cached one has failed.
    pub async fn connection(&self, id: i32, purpose: Purpose) -> Result<Arc<BrokerConnection>> {
        self.pooled_connection(&self.inner.connections, (id, purpose), id)
            .await
    }

    /// Sockets of their own for one long-polling reader: see
    /// [`ConnectionLane`].
    pub fn lane(&self) -> ConnectionLane {
        ConnectionLane {
            client: self.clone(),
            pool: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The connection to broker `id` kept in `pool` under `key`, dialled
    /// again when it failed or idled too long.
    async fn pooled_connection<K: std::hash::Hash + Eq>(
        &self,
        pool: &tokio::sync::Mutex<HashMap<K, Arc<BrokerConnection>>>,
        key: K,
        id: i32,
    ) -> Result<Arc<BrokerConnection>> {
        let mut held = pool.lock().await;
        if let Some(conn) = held.get(&key) {
            if self.reusable(conn) {
                return Ok(conn.clone());
            }
        }
        let addr = match self.metadata().brokers.get(&id) {
            Some(addr) => addr.clone(),
            None => {
                drop(held);
                let addr = self.broker_address(id).await?;
                held = pool.lock().await;
                addr
            }
        };
        let conn = self.connect_to(&addr).await?;
        held.insert(key, conn.clone());
        Ok(conn)
    }

    /// A new connection to broker `id` that is not pooled: for a caller whose
    /// requests the broker may hold for a long time (a JoinGroup waits for
    /// the whole group), so that nobody else queues behind them.
    pub async fn unpooled_connection(&self, id: i32) -> Result<Arc<BrokerConnection>> {
        let addr = self.broker_address(id).await?;
        self.connect_to(&addr).await
    }

    /// The `host:port` of broker `id`, from the cached metadata or, when it
    /// does not know the broker, from fresh metadata.
    async fn broker_address(&self, id: i32) -> Result<String> {
        if let Some(addr) = self.metadata().brokers.get(&id) {
            return Ok(addr.clone());
        }
        self.refresh_metadata(Some(&[])).await?;
        self.metadata()
            .brokers
            .get(&id)
            .cloned()
            .ok_or_else(|| ClientError::ConnectionClosed {
                addr: format!("broker id {id}"),
                api: ApiKey::Metadata,
                reason: "broker is not in the cluster metadata".into(),
            })
    }

    /// Loads metadata: `None` for every topic, `Some(&[])` for brokers only,
    /// or the named topics (merged into the cached snapshot). Named
    /// refreshes asked while one is on the wire share the next request (see
    /// [`crate::metadata_refresh`]).
    pub async fn refresh_metadata(&self, topics: Option<&[String]>) -> Result<Arc<Metadata>> {
        let Some(topics) = topics else {
            return self.load_metadata(None).await;
        };
        let (waiter, outcome) = tokio::sync::oneshot::channel();
        if self.inner.refreshes.join(topics, waiter) {
            // Its own task: a caller that gives up must not strand the
            // others waiting on the same request.
            let client = self.clone();
            tokio::spawn(async move {
                while let Some((topics, waiters)) = client.inner.refreshes.take() {
                    let result = client.load_metadata(Some(&topics)).await;
                    for waiter in waiters {
                        let _ = waiter.send(result.clone());
                    }
                }
            });
        }
        outcome.await.unwrap_or_else(|_| {
            Err(ClientError::ConnectionClosed {
                addr: self.cluster_label(),
                api: ApiKey::Metadata,
                reason: "the metadata refresh task ended".into(),
            })
        })
    }

    /// One Metadata request, merged into the cache. Boxed as `Send`: the
    /// retries inside may refresh metadata again, and a recursive `async
    /// fn` cannot be proven `Send` for the refresh task.
    fn load_metadata<'a>(
        &'a self,
        topics: Option<&'a [String]>,
    ) -> Pin<Box<dyn Future<Output = Result<Arc<Metadata>>> + Send + 'a>> {
        Box::pin(async move {
            let request = MetadataRequest::default()
                .with_allow_auto_topic_creation(false)
                .with_topics(topics.map(|names| {
                    names
                        .iter()
                        .map(|n| {
                            MetadataRequestTopic::default()
                                .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                        })
                        .collect()
                }));
            let response: MetadataResponse = self
                .with_retries("metadata", || async {
                    let conn = self.any_connection().await?;
                    conn.request(&request).await
                })
                .await?;
            let fresh = metadata_from_response(&response);
            let merged = {
                let mut current = self.inner.metadata.write().unwrap();
                let mut next = (**current).clone();
                next.cluster_id = fresh.cluster_id;
                next.controller_id = fresh.controller_id;
                next.brokers = fresh.brokers;
                if topics.is_none() {
                    next.topics = fresh.topics;
                } else {
                    for (name, topic) in fresh.topics {
                        if topic.error == Some(ResponseError::UnknownTopicOrPartition) {
                            next.topics.remove(&name);
                        } else {
                            next.topics.insert(name, topic);
                        }
                    }
                }
                let next = Arc::new(next);
                *current = next.clone();
                next
            };
            Ok(merged)
        })
    }

    /// Metadata of one topic, asked from the cluster.
    pub async fn topic_metadata(&self, topic: &str) -> Result<TopicMetadata> {
        let metadata = self.refresh_metadata(Some(&[topic.to_string()])).await?;
        metadata
            .topics
            .get(topic)
            .cloned()
            .ok_or_else(|| ClientError::UnknownTopicPartition {
                topic: topic.to_string(),
                partition: -1,
            })
    }

    /// Notes topics this client just created or grew (see
    /// [`crate::new_topics`]).
    pub(crate) fn note_new_topics<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        self.inner.new_topics.record(topics);
    }

    /// Whether this client created or grew `topic` less than `within` ago:
    /// the brokers may still be bringing its partitions up.
    pub fn created_within(&self, topic: &str, within: Duration) -> bool {
        self.inner.new_topics.created_within(topic, within)
    }

    /// The leader broker id of a partition, from the cache or, when the cache
    /// does not know, from the cluster.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<i32> {
        if let Some(leader) = cached_leader(&self.metadata(), topic, partition) {
            return Ok(leader);
        }
        let metadata = self.refresh_metadata(Some(&[topic.to_string()])).await?;
        leader_of(&metadata, topic, partition)
    }

    /// Runs `call` until it succeeds, fails with a non-retriable error, or
    /// the retry deadline passes; refreshes metadata between attempts when the
    /// error says leadership may have moved.
    pub async fn with_retries<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let config = &self.inner.config;
        let started = tokio::time::Instant::now();
        let deadline = started + config.retry_deadline;
        let mut backoff = config.retry_pauses();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match call().await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            if !error.is_retriable() {
                return Err(error);
            }
            if tokio::time::Instant::now() + backoff.peek() > deadline {
                return Err(ClientError::RetriesExhausted {
                    attempts,
                    last: Box::new(error),
                });
            }
            // A fresh cluster answers "loading" or "not available" for a
            // moment (coordinators loading, a topic's leader being elected
            // just after its creation): expected, so a warning only once
            // it persists.
            if attempts < QUIET_RETRY_ATTEMPTS && started.elapsed() < QUIET_RETRY_TIME {
                debug!(cluster = %self.cluster_label(), what, attempts, error = %error, "retrying");
            } else {
                warn!(cluster = %self.cluster_label(), what, attempts, error = %error, "retrying");
            }
            tokio::time::sleep(backoff.next_pause()).await;
            if error.needs_metadata_refresh() && what != "metadata" {
                let _ = Box::pin(self.refresh_metadata(Some(&[]))).await;
            }
        }
    }
}

/// The connect timeout after `failures` failed attempts in a row:
/// `socket.connection.setup.timeout.ms` doubled per failure, at most
/// `socket.connection.setup.timeout.max.ms` (never below the first).
fn connect_timeout_after(config: &ClientConfig, failures: u32) -> Duration {
    let first = config.connection.connect_timeout;
    Backoff::new(first, config.connect_timeout_max.max(first)).pause_after(failures + 1)
}

/// Refreshes the metadata of the topics in use every `metadata.max.age.ms`
/// until the client is dropped.
async fn refresh_metadata_periodically(client: WeakClient) {
    let Some(max_age) = client.upgrade().map(|c| c.config().metadata_max_age) else {
        return;
    };
    loop {
        // A tiny age must not turn this into a busy loop.
        tokio::time::sleep(max_age.max(Duration::from_millis(100))).await;
        let Some(client) = client.upgrade() else {
            return;
        };
        let topics: Vec<String> = client.metadata().topics.keys().cloned().collect();
        if let Err(e) = client.refresh_metadata(Some(&topics)).await {
            debug!(error = %e, "periodic metadata refresh failed");
        }
    }
}

/// Retries of one call logged at debug level, while both hold: fewer
/// attempts than this...
const QUIET_RETRY_ATTEMPTS: u32 = 8;
/// ...and less time than this since the first (a fresh cluster creates
/// its 50 `__consumer_offsets` partitions in a few seconds).
const QUIET_RETRY_TIME: Duration = Duration::from_secs(5);

fn cached_leader(metadata: &Metadata, topic: &str, partition: i32) -> Option<i32> {
    let p = metadata.topics.get(topic)?.partition(partition)?;
    (p.leader >= 0 && p.error.is_none()).then_some(p.leader)
}

/// The leader of a partition according to `metadata`, or why there is none.
pub fn leader_of(metadata: &Metadata, topic: &str, partition: i32) -> Result<i32> {
    let unknown = || ClientError::UnknownTopicPartition {
        topic: topic.to_string(),
        partition,
    };
    let t = metadata.topics.get(topic).ok_or_else(unknown)?;
    let p = t.partition(partition).ok_or_else(unknown)?;
    if p.leader < 0 {
        return Err(ClientError::NoLeader {
            topic: topic.to_string(),
            partition,
        });
    }
    Ok(p.leader)
}

fn metadata_from_response(response: &MetadataResponse) -> Metadata {
    let brokers = response
        .brokers
        .iter()
        .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
        .collect();
    let topics = response
        .topics
        .iter()
        .filter_map(|t| {
            let name = t.name.as_ref()?.0.to_string();
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions
                .iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                    error: ResponseError::try_from_code(p.error_code),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            Some((
                name.clone(),
                TopicMetadata {
                    name,
                    topic_id: *t.topic_id.as_bytes(),
                    is_internal: t.is_internal,
                    error: ResponseError::try_from_code(t.error_code),
                    partitions,
                },
            ))
        })
        .collect();
    Metadata {
        cluster_id: response.cluster_id.as_ref().map(|s| s.to_string()),
        controller_id: response.controller_id.0,
        brokers,
        topics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_doubles_up_to_its_max() {
        let mut config = ClientConfig::new("127.0.0.1:1");
        config.reconnect_backoff = Duration::from_millis(50);
        config.reconnect_backoff_max = Duration::from_millis(300);
        let pauses: Vec<u128> = (1..=5)
            .map(|failures| config.reconnect_pauses().pause_after(failures).as_millis())
            .collect();
        assert_eq!(pauses, vec![50, 100, 200, 300, 300]);
    }

    #[test]
    fn connect_timeout_grows_up_to_its_max() {
        let mut config = ClientConfig::new("127.0.0.1:1");
        config.connection.connect_timeout = Duration::from_secs(2);
        config.connect_timeout_max = Duration::from_secs(10);
        let timeouts: Vec<u64> = (0..=4)
            .map(|failures| connect_timeout_after(&config, failures).as_secs())
            .collect();
        assert_eq!(timeouts, vec![2, 4, 8, 10, 10]);
        // A max below the first timeout does not shorten it.
        config.connect_timeout_max = Duration::from_secs(1);
        assert_eq!(connect_timeout_after(&config, 3), Duration::from_secs(2));
    }
}
