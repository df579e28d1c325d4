//! Idempotent raw produce.
//!
//! Each fetched batch gets a new header (our producer id, epoch and
//! sequence; see `kmirror_wire::batch::rewrite_header`) and is sent as is, up
//! to five batches in flight per partition; the batches of all partitions led
//! by one broker share requests (see [`crate::produce_batcher`]). On a
//! retriable failure every unacknowledged batch is resent in order with
//! identical bytes, so the broker's sequence check turns resends of
//! batches it already has into duplicates it acknowledges with their original
//! offsets: no loss, no duplicate.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use kmirror_wire::batch::{rewrite_header, ProducerStamp};
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::backoff::Backoff;
use crate::cluster::KafkaClient;
use crate::connection::BrokerConnection;
use crate::error::{check_code, ClientError, Result};
use crate::forwardable::ForwardableBatch;
use crate::lease::WriteLease;
use crate::produce_batcher::{BatchOutcome, BatcherHandle, BatcherKey, TransactionTag};
use crate::produce_request::OutgoingBatch;
use crate::transaction::TransactionalProducer;

/// Kafka's limit for idempotent producers: more in flight and the broker can
/// no longer tell a retry from a gap.
pub const MAX_IN_FLIGHT_PER_PARTITION: usize = 5;

/// First pause before resending after the target said it does not know the
/// topic or partition (doubling from there, like every retry).
const MISSING_TOPIC_FIRST_BACKOFF: Duration = Duration::from_millis(20);

/// How long "unknown topic or partition" answers are logged at debug level
/// only: about the time a broker takes to create a new topic's logs.
const QUIET_MISSING_TOPIC: Duration = Duration::from_secs(2);

/// The same for a topic this client created a moment ago: a broker took
/// tens of seconds to bring up 10,000 new partitions at once.
const QUIET_NEW_TOPIC: Duration = Duration::from_secs(60);

/// A producer id and epoch from InitProducerId.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdentity {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl ProducerIdentity {
    /// No producer yet: what InitProducerId is sent for a new one.
    pub const NONE: ProducerIdentity = ProducerIdentity {
        producer_id: -1,
        producer_epoch: -1,
    };
}

/// Asks the cluster for a fresh idempotent producer id.
pub async fn init_producer_id(client: &KafkaClient) -> Result<ProducerIdentity> {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let context = || format!("cluster {}", client.cluster_display());
    client
        .with_retries("init producer id", || async {
            let conn = client.any_connection().await?;
            request_producer_id(&conn, &request, context).await
        })
        .await
}

/// One InitProducerId on `conn` (any broker for an idempotent producer, the
/// transaction coordinator for a transactional one).
pub(crate) async fn request_producer_id(
    conn: &BrokerConnection,
    request: &InitProducerIdRequest,
    context: impl FnOnce() -> String,
) -> Result<ProducerIdentity> {
    let response: InitProducerIdResponse = conn.request(request).await?;
    check_code(ApiKey::InitProducerId, response.error_code, context, None)?;
    Ok(ProducerIdentity {
        producer_id: response.producer_id.0,
        producer_epoch: response.producer_epoch,
    })
}

/// Settings of a partition sender.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// -1 (all in-sync replicas): required for idempotence.
    pub acks: i16,
    /// How long the broker may wait for replication.
    pub timeout: Duration,
    /// How long a batch may keep failing with retriable errors before the
    /// partition gives up (and is paused by the caller); like the Java
    /// producer's `delivery.timeout.ms`. Must outlast a leader election
    /// after a broker crash (the broker session timeout, 9 s by default).
    pub delivery_timeout: Duration,
    /// How long a batch may keep failing because the target does not know
    /// the topic or partition before the partition gives up. Much shorter
    /// than `delivery_timeout`: a deleted topic (or one never created, with
    /// auto-create off) does not come back by waiting; this only covers
    /// metadata propagation right after a creation. Giving up lets the owner
    /// pause the partition with that error and create the topic. A topic
    /// the sender's client itself created or grew less than
    /// `delivery_timeout` ago gets `delivery_timeout` until the sender's
    /// first batch lands there (see [`crate::new_topics`]).
    pub missing_topic_timeout: Duration,
    /// First pause before a resend; doubles up to `retry_backoff_max`.
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// Checked before every batch is put on the wire, first send or resend;
    /// an expired lease fails the batch at once (no retry).
    pub lease: Option<WriteLease>,
    /// Batches in flight once the first was acknowledged (1 to
    /// [`MAX_IN_FLIGHT_PER_PARTITION`]).
    pub max_in_flight: usize,
}

impl SendConfig {
    /// The settings `client` was configured with (`acks`,
    /// `request.timeout.ms`, `delivery.timeout.ms`, `retry.backoff*`,
    /// `max.in.flight.requests.per.connection`), no lease.
    pub fn for_client(client: &KafkaClient) -> Self {
        let config = client.config();
        SendConfig {
            acks: config.produce.acks,
            timeout: config.connection.request_timeout,
            delivery_timeout: config.produce.delivery_timeout,
            retry_backoff: config.retry_backoff,
            retry_backoff_max: config.retry_backoff_max,
            max_in_flight: config
                .produce
                .max_in_flight
                .clamp(1, MAX_IN_FLIGHT_PER_PARTITION),
            ..SendConfig::default()
        }
    }
}

impl Default for SendConfig {
    fn default() -> Self {
        SendConfig {
            acks: -1,
            timeout: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(120),
            missing_topic_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            lease: None,
            max_in_flight: MAX_IN_FLIGHT_PER_PARTITION,
        }
    }
}

/// The broker's acknowledgement of one forwarded batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack<T> {
    pub tag: T,
    /// Offset of the batch's first record on the target; -1 when the broker
    /// reported a duplicate without offsets (only after a long outage).
    pub base_offset: i64,
    /// Records in the batch.
    pub records: i32,
    /// Upstream offsets covered: `base_offset + lastOffsetDelta` of the
    /// source batch is `last_offset_delta` past its base.
    pub last_offset_delta: i32,
}

/// A batch sent but not yet acknowledged.
#[derive(Debug)]
struct InFlight<T> {
    tag: T,
    batch: OutgoingBatch,
    records: i32,
    last_offset_delta: i32,
    /// `None` once the outcome was taken and the batch awaits a resend.
    response: Option<oneshot::Receiver<BatchOutcome>>,
    /// Why the last attempt to put the batch on the wire failed, reported
    /// in place of its missing response.
    unsent: Option<ClientError>,
    attempts: u32,
    /// When this batch first failed, for the delivery timeout.
    first_failure: Option<tokio::time::Instant>,
}

/// Sends batches to one target partition in order, idempotently.
///
/// Used by one task: [`PartitionSender::send`] puts a batch on the wire
/// (waiting while the window is full), [`PartitionSender::next_ack`] returns
/// acknowledgements in order.
#[derive(Debug)]
pub struct PartitionSender<T> {
    client: KafkaClient,
    topic: Arc<str>,
    partition: i32,
    identity: ProducerIdentity,
    next_sequence: i32,
    config: SendConfig,
    window: VecDeque<InFlight<T>>,
    /// Whether the broker has acknowledged a batch of this sender yet. Until
    /// it has, only one batch is in flight: a broker with no state for our
    /// producer id accepts any first sequence, so a later batch landing
    /// before a failed first one (say, on a topic created a moment ago)
    /// would leave a gap no resend can fill.
    acknowledged_any: bool,
    /// The transaction the batches belong to, for a transactional sender.
    transaction: Option<TransactionTag>,
    /// A transactional sender's own request batcher and its broker: a
    /// produce request names one transactional id, so its batches share
    /// requests with no other producer's.
    own_batcher: Option<(i32, BatcherHandle)>,
}

impl<T: Send + 'static> PartitionSender<T> {
    pub fn new(
        client: KafkaClient,
        topic: &str,
        partition: i32,
        identity: ProducerIdentity,
        config: SendConfig,
    ) -> Self {
        PartitionSender {
            client,
            topic: topic.into(),
            partition,
            identity,
            next_sequence: 0,
            config,
            window: VecDeque::new(),
            acknowledged_any: false,
            transaction: None,
            own_batcher: None,
        }
    }

    /// A sender whose batches belong to `producer`'s transactions: they
    /// carry the transactional bit and its identity. The caller enrols the
    /// partition in each transaction before sending to it
    /// ([`TransactionalProducer::enrol`]) and, after each end, gives the
    /// sender the producer's identity again ([`Self::adopt`]).
    pub fn transactional(
        client: KafkaClient,
        topic: &str,
        partition: i32,
        producer: &TransactionalProducer,
        config: SendConfig,
    ) -> Self {
        PartitionSender {
            transaction: Some(producer.tag()),
            ..PartitionSender::new(client, topic, partition, producer.identity(), config)
        }
    }

    /// Takes a new producer identity (a transactional producer's epoch,
    /// bumped at the end of each transaction with protocol 2 or by a
    /// recovery): sequences start again at 0 under a new epoch. Only with
    /// nothing in flight.
    pub fn adopt(&mut self, identity: ProducerIdentity) {
        assert!(
            self.window.is_empty(),
            "a producer identity changes only with nothing in flight"
        );
        if identity != self.identity {
            self.identity = identity;
            self.next_sequence = 0;
            self.acknowledged_any = false;
        }
    }

    /// Forgets every batch in flight without waiting for its answer: after
    /// the transaction they belonged to was aborted.
    pub fn abandon(&mut self) {
        self.window.clear();
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Batches sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.window.len()
    }

    /// The tag of the oldest unacknowledged batch: after [`Self::next_ack`]
    /// returned an error, that of the batch the target refused.
    pub fn oldest_tag(&self) -> Option<&T> {
        self.window.front().map(|entry| &entry.tag)
    }

    /// Whether another batch may be sent without waiting for an ack.
    pub fn has_room(&self) -> bool {
        let limit = if self.acknowledged_any {
            self.config
                .max_in_flight
                .clamp(1, MAX_IN_FLIGHT_PER_PARTITION)
        } else {
            1
        };
        self.window.len() < limit
    }

    /// Rewrites `batch`'s header with our producer identity and the next
    /// sequence and puts it on the wire; the rest of the batch is sent
    /// without a copy. The caller must have room ([`Self::has_room`]);
    /// otherwise it should first take an ack.
    pub async fn send(&mut self, batch: &ForwardableBatch, tag: T) -> Result<()> {
        assert!(self.has_room(), "send without room in the in-flight window");
        let batch = batch.batch();
        let stamp = ProducerStamp {
            producer_id: self.identity.producer_id,
            producer_epoch: self.identity.producer_epoch,
            base_sequence: self.next_sequence,
            transactional: self.transaction.is_some(),
        };
        let header =
            rewrite_header(&batch.bytes, &stamp).map_err(|source| ClientError::Records {
                topic: self.topic.to_string(),
                partition: self.partition,
                source,
            })?;
        let records = batch.header.records_count;
        // Sequences wrap at i32::MAX as in the Java producer.
        self.next_sequence = self.next_sequence.wrapping_add(records) & i32::MAX;
        let outgoing = OutgoingBatch {
            header: Bytes::copy_from_slice(&header),
            body: batch.bytes.slice(kmirror_wire::batch::BATCH_HEADER_LEN..),
        };
        let entry = InFlight {
            tag,
            batch: outgoing,
            records,
            last_offset_delta: batch.header.last_offset_delta,
            response: None,
            unsent: None,
            attempts: 0,
            first_failure: None,
        };
        // In the window before the only await, so that a caller dropping
        // this loses nothing: an entry never submitted is resent by
        // `next_ack`, as is one whose write failed.
        self.window.push_back(entry);
        let last = self.window.len() - 1;
        match self.route().await {
            Ok(batcher) => self.submit(last, &batcher),
            Err(e) => {
                debug!(topic = %self.topic, partition = self.partition, error = %e, "send failed, will resend");
                self.window[last].unsent = Some(e);
            }
        }
        Ok(())
    }

    /// Waits for the oldest batch's acknowledgement. `None` when nothing is in
    /// flight. An `Err` is final for this sender: the partition should be
    /// paused and a new sender (new producer id) used when it resumes.
    pub async fn next_ack(&mut self) -> Option<Result<Ack<T>>> {
        loop {
            let front = self.window.front_mut()?;
            // Polled through `&mut` and cleared only once complete, so that a
            // caller selecting over this future can drop it without losing
            // the response.
            let outcome = match front.response.as_mut() {
                Some(receiver) => {
                    let received = receiver.await;
                    front.response = None;
                    received.unwrap_or_else(|_| Err(batcher_gone()))
                }
                None => Err(front
                    .unsent
                    .take()
                    .unwrap_or_else(|| ClientError::ConnectionClosed {
                        addr: format!("the leader of {}-{}", self.topic, self.partition),
                        api: ApiKey::Produce,
                        reason: "not sent yet: resent in order after an earlier batch failed"
                            .into(),
                    })),
            };
            match outcome {
                Ok(base_offset) => {
                    self.acknowledged_any = true;
                    let done = self.window.pop_front().expect("front exists");
                    return Some(Ok(Ack {
                        tag: done.tag,
                        base_offset,
                        records: done.records,
                        last_offset_delta: done.last_offset_delta,
                    }));
                }
                Err(e) if e.is_retriable() || is_sequence_fallout(&e) => {
                    let front = self.window.front_mut().expect("front exists");
                    front.attempts += 1;
                    let first_failure = *front
                        .first_failure
                        .get_or_insert_with(tokio::time::Instant::now);
                    // A topic this client created a moment ago, on which
                    // this sender has not written yet, is still being
                    // brought up: the full patience. Once a batch landed,
                    // "unknown" means deleted again.
                    let new_topic = !self.acknowledged_any
                        && self
                            .client
                            .created_within(&self.topic, self.config.delivery_timeout);
                    let give_up_after = if e.is_missing_topic() && !new_topic {
                        self.config
                            .missing_topic_timeout
                            .min(self.config.delivery_timeout)
                    } else {
                        self.config.delivery_timeout
                    };
                    if first_failure.elapsed() > give_up_after {
                        return Some(Err(ClientError::RetriesExhausted {
                            attempts: front.attempts,
                            last: Box::new(e),
                        }));
                    }
                    // A topic created a moment ago is usually writable
                    // within milliseconds: start with a short pause then.
                    let first = if e.is_missing_topic() {
                        MISSING_TOPIC_FIRST_BACKOFF.min(self.config.retry_backoff)
                    } else {
                        self.config.retry_backoff
                    };
                    let backoff = Backoff::new(first, self.config.retry_backoff_max)
                        .pause_after(front.attempts);
                    // A topic created a moment ago answers "unknown" or "not
                    // the leader" for a while as its logs are created and its
                    // leaders elected: expected, not a warning, unless it
                    // lasts.
                    let settling = e.is_missing_topic()
                        || matches!(
                            e.broker_error(),
                            Some(
                                ResponseError::NotLeaderOrFollower
                                    | ResponseError::LeaderNotAvailable
                            )
                        );
                    let quiet_for = if new_topic {
                        QUIET_NEW_TOPIC
                    } else {
                        QUIET_MISSING_TOPIC
                    };
                    if settling && first_failure.elapsed() < quiet_for {
                        debug!(cluster = %self.client.cluster_label(), topic = %self.topic, partition = self.partition, error = %e, attempt = front.attempts, "topic not writable yet, resending");
                    } else {
                        warn!(cluster = %self.client.cluster_label(), topic = %self.topic, partition = self.partition, error = %e, attempt = front.attempts, "produce failed, resending unacknowledged batches");
                    }
                    self.resend_window(e.needs_metadata_refresh(), backoff)
                        .await;
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Waits for every response still pending, waits a backoff, finds the
    /// leader again and resends every unacknowledged batch in order with
    /// identical bytes and sequences. A batch that cannot be put on the wire
    /// keeps the error in `unsent` (it and those after it are tried again
    /// next round).
    ///
    /// Cancel-safe, as [`Self::next_ack`] must be (callers select over it):
    /// the window stays in place and an attempt's response is cleared only
    /// once it arrived, so a caller that drops this at any await loses no
    /// batch and forgets no attempt still out (one that may yet land).
    async fn resend_window(&mut self, refresh: bool, backoff: Duration) {
        // Responses after a failed one are useless: the broker rejected them
        // (out of order) or will report them as duplicates on resend. Each
        // is awaited in place and dropped only once it came.
        for entry in self.window.iter_mut() {
            if let Some(receiver) = entry.response.as_mut() {
                let _ = receiver.await;
                entry.response = None;
            }
            entry.unsent = None;
        }
        tokio::time::sleep(backoff).await;
        if refresh {
            let _ = self
                .client
                .refresh_metadata(Some(&[self.topic.to_string()]))
                .await;
        }
        for i in 0..self.window.len() {
            // The only await is before the batch joins a request: a drop
            // there leaves it (and those after it) unsent, and the next
            // call resends them.
            match self.route().await {
                Ok(batcher) => self.submit(i, &batcher),
                Err(e) => {
                    debug!(topic = %self.topic, partition = self.partition, error = %e, "resend failed, will retry");
                    self.window[i].unsent = Some(e);
                    break;
                }
            }
        }
    }

    /// Puts the window's batch `i` into `batcher`'s next request.
    fn submit(&mut self, i: usize, batcher: &BatcherHandle) {
        let response = self.submission(&self.window[i], batcher);
        self.window[i].response = Some(response);
    }

    fn submission(
        &self,
        entry: &InFlight<T>,
        batcher: &BatcherHandle,
    ) -> oneshot::Receiver<BatchOutcome> {
        batcher.submit(
            self.topic.clone(),
            self.partition,
            entry.batch.clone(),
            self.config.lease.clone(),
        )
    }

    /// The request batcher of the partition's leader, with the lease
    /// checked last.
    async fn route(&mut self) -> Result<BatcherHandle> {
        let leader = self.client.leader(&self.topic, self.partition).await?;
        // Last, right before the batch joins a request: a lookup above may
        // have taken a while.
        if let Some(lease) = &self.config.lease {
            lease.check()?;
        }
        let key = BatcherKey {
            broker: leader,
            acks: self.config.acks,
            timeout_ms: self.config.timeout.as_millis().min(i32::MAX as u128) as i32,
            max_in_flight: self.config.max_in_flight,
            transaction: self.transaction.clone(),
        };
        Ok(if key.transaction.is_some() {
            match &self.own_batcher {
                Some((broker, handle)) if *broker == leader && !handle.is_closed() => {
                    handle.clone()
                }
                _ => {
                    let handle = BatcherHandle::spawn(self.client.downgrade(), key);
                    self.own_batcher = Some((leader, handle.clone()));
                    handle
                }
            }
        } else {
            self.client.produce_batcher(key)
        })
    }
}

fn batcher_gone() -> ClientError {
    ClientError::ConnectionClosed {
        addr: String::new(),
        api: ApiKey::Produce,
        reason: "the request carrying the batch was abandoned".into(),
    }
}

/// An out-of-order sequence right after a resend is the broker rejecting
/// batches that followed a failed one; resending in order repairs it.
fn is_sequence_fallout(error: &ClientError) -> bool {
    matches!(
        error.broker_error(),
        Some(ResponseError::OutOfOrderSequenceNumber)
    )
}
