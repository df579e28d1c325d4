//! One produce request for many partitions.
//!
//! A broker works through the requests of a connection one at a time and
//! each request has a fixed cost, so sending every forwarded batch as its own
//! request caps a replicator at the broker's request rate (a couple of
//! thousand a second on two cores) and queues latency behind it when
//! producers upstream write small batches. Like the Java producer, kmirror
//! puts the waiting batches of every partition led by the same broker into
//! one request, at most one batch per partition (brokers refuse more from an
//! idempotent producer). Up to [`MAX_REQUESTS_IN_FLIGHT`] requests are
//! outstanding per broker; while they are, new batches gather for the next
//! one. Requests therefore grow with load and nothing waits when the
//! broker keeps up: there is no linger.
//!
//! Per partition, batches go out in the order they were submitted, which is
//! what the idempotent sequence check needs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::{Decodable, Message};
use kafka_protocol::ResponseError;
use tokio::sync::{mpsc, oneshot};

use crate::cluster::{Purpose, WeakClient};
use crate::connection::BrokerConnection;
use crate::error::{ClientError, Result};
use crate::lease::WriteLease;
use crate::produce_request::{encode_produce_body, OutgoingBatch, TopicBatches};

/// Requests outstanding per broker, as the Java producer's
/// `max.in.flight.requests.per.connection` default.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 5;

/// Batch bytes per request beyond which further batches wait for the next
/// one (a single larger batch still goes alone). Far below the broker's
/// `socket.request.max.bytes` (100 MiB).
const MAX_REQUEST_BYTES: usize = 8 << 20;

/// Which requests a batcher makes: one broker, one durability setting, and
/// for a transactional producer its transactional id (a produce request
/// names one, so it carries that producer's batches only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BatcherKey {
    pub broker: i32,
    pub acks: i16,
    pub timeout_ms: i32,
    /// Requests outstanding at once (`max.in.flight.requests.per.connection`).
    pub max_in_flight: usize,
    pub transaction: Option<TransactionTag>,
}

/// The transaction a batcher's requests belong to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TransactionTag {
    pub transactional_id: Arc<str>,
    /// Produce v12 and later enrol partitions in the transaction themselves
    /// (transaction protocol 2, KIP-890); a producer of protocol 1 must not
    /// send them, as the Java producer does not.
    pub max_produce_version: i16,
}

/// The outcome of one batch: its base offset on the target (-1 when the
/// broker reports a duplicate it no longer has offsets for).
pub type BatchOutcome = Result<i64>;

/// One batch waiting to be sent.
#[derive(Debug)]
struct Submission {
    topic: Arc<str>,
    partition: i32,
    batch: OutgoingBatch,
    /// Checked again right before the request is written: a batch may wait
    /// here while the process is frozen (see [`crate::lease`]).
    lease: Option<WriteLease>,
    reply: oneshot::Sender<BatchOutcome>,
    /// When the batch was handed in, for latency traces.
    submitted: std::time::Instant,
}

/// Where batches for one broker are handed in.
#[derive(Debug, Clone)]
pub(crate) struct BatcherHandle {
    submissions: mpsc::UnboundedSender<Submission>,
}

impl BatcherHandle {
    /// Starts the batcher task for `key`; it ends when every handle is gone.
    pub(crate) fn spawn(client: WeakClient, key: BatcherKey) -> Self {
        let (submissions, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(client, key, receiver));
        BatcherHandle { submissions }
    }

    /// Queues `batch` for `topic`-`partition`; the receiver yields its
    /// outcome. Batches of a partition go out in submission order.
    pub(crate) fn submit(
        &self,
        topic: Arc<str>,
        partition: i32,
        batch: OutgoingBatch,
        lease: Option<WriteLease>,
    ) -> oneshot::Receiver<BatchOutcome> {
        let (reply, outcome) = oneshot::channel();
        let submission = Submission {
            topic,
            partition,
            batch,
            lease,
            reply,
            submitted: std::time::Instant::now(),
        };
        if let Err(mpsc::error::SendError(submission)) = self.submissions.send(submission) {
            let _ = submission
                .reply
                .send(Err(closed("the produce batcher stopped")));
        }
        outcome
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.submissions.is_closed()
    }
}

fn closed(reason: &str) -> ClientError {
    ClientError::ConnectionClosed {
        addr: String::new(),
        api: ApiKey::Produce,
        reason: reason.into(),
    }
}

async fn run(
    client: WeakClient,
    key: BatcherKey,
    mut submissions: mpsc::UnboundedReceiver<Submission>,
) {
    let mut waiting: VecDeque<Submission> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    loop {
        while open {
            match submissions.try_recv() {
                Ok(submission) => waiting.push_back(submission),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        if !waiting.is_empty()
            && in_flight.len() < key.max_in_flight.clamp(1, MAX_REQUESTS_IN_FLIGHT)
        {
            let conn = match connect(&client, &key).await {
                Ok(conn) => conn,
                Err(error) => {
                    fail_all(take_request(&mut waiting), &error);
                    continue;
                }
            };
            // Leases last, after the only wait before the write.
            let request = without_expired_leases(take_request(&mut waiting));
            if request.is_empty() {
                continue;
            }
            // How long batches waited here, and why (`KMIRROR_LOG=kmirror_latency=trace`).
            tracing::trace!(
                target: "kmirror_latency",
                broker = key.broker,
                batches = request.len(),
                left = waiting.len(),
                in_flight = in_flight.len(),
                waited_us = request[0].submitted.elapsed().as_micros() as u64,
                at_us = wall_us(),
                "produce request"
            );
            match send(&conn, &key, &request).await {
                Ok(response) => in_flight.push(answer(key.broker, request, response)),
                // Withheld at the last moment: each batch learns whether its
                // own lease ran out or it only shared the request.
                Err(ClientError::LeaseExpired { .. }) => {
                    let not_sent = closed("not sent: another batch of its request lost its lease");
                    fail_all(without_expired_leases(request), &not_sent);
                }
                Err(error) => fail_all(request, &error),
            }
            continue;
        }
        if !open && waiting.is_empty() && in_flight.is_empty() {
            return;
        }
        tokio::select! {
            submission = submissions.recv(), if open => match submission {
                Some(submission) => waiting.push_back(submission),
                None => open = false,
            },
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
    }
}

/// Takes the next request's batches off the front of `waiting`: in order,
/// one per partition, up to [`MAX_REQUEST_BYTES`]. What is left keeps its
/// order for the next request.
fn take_request(waiting: &mut VecDeque<Submission>) -> Vec<Submission> {
    let mut taken = Vec::new();
    let mut later = VecDeque::new();
    let mut partitions = HashSet::new();
    let mut bytes = 0;
    while let Some(submission) = waiting.pop_front() {
        let size = submission.batch.len();
        if !taken.is_empty() && bytes + size > MAX_REQUEST_BYTES {
            waiting.push_front(submission);
            break;
        }
        if partitions.insert((submission.topic.clone(), submission.partition)) {
            bytes += size;
            taken.push(submission);
        } else {
            later.push_back(submission);
        }
    }
    later.append(waiting);
    *waiting = later;
    taken
}

/// The connection to the batcher's broker.
async fn connect(client: &WeakClient, key: &BatcherKey) -> Result<Arc<BrokerConnection>> {
    let client = client
        .upgrade()
        .ok_or_else(|| closed("the cluster client was dropped"))?;
    client.connection(key.broker, Purpose::Produce).await
}

/// `batches` less those whose lease ran out, which are answered with
/// [`ClientError::LeaseExpired`].
fn without_expired_leases(batches: Vec<Submission>) -> Vec<Submission> {
    let mut valid = Vec::with_capacity(batches.len());
    for submission in batches {
        match submission.lease.as_ref().map(WriteLease::check) {
            Some(Err(expired)) => {
                let _ = submission.reply.send(Err(expired));
            }
            _ => valid.push(submission),
        }
    }
    valid
}

/// Puts one request with `batches` on the wire; the returned future yields
/// the response body.
async fn send(
    conn: &BrokerConnection,
    key: &BatcherKey,
    batches: &[Submission],
) -> Result<(i16, crate::connection::PendingResponse)> {
    let mut ours = ProduceRequest::VERSIONS;
    if let Some(transaction) = &key.transaction {
        ours.max = ours.max.min(transaction.max_produce_version);
    }
    let version = conn.version_for(ApiKey::Produce, ours)?;
    let mut by_topic: Vec<TopicBatches<'_>> = Vec::new();
    for submission in batches {
        match by_topic.iter_mut().find(|t| t.topic == &*submission.topic) {
            Some(topic) => topic
                .partitions
                .push((submission.partition, &submission.batch)),
            None => by_topic.push(TopicBatches {
                topic: &submission.topic,
                partitions: vec![(submission.partition, &submission.batch)],
            }),
        }
    }
    let transactional_id = key.transaction.as_ref().map(|t| &*t.transactional_id);
    let body = encode_produce_body(
        version,
        transactional_id,
        key.acks,
        key.timeout_ms,
        &by_topic,
    );
    // The broker may take `timeout_ms` to replicate; the socket waits longer.
    let timeout = Duration::from_millis(key.timeout_ms.max(0) as u64) + Duration::from_secs(10);
    // Each lease once, however many of its batches the request carries.
    let mut leases: Vec<&WriteLease> = Vec::new();
    for lease in batches.iter().filter_map(|s| s.lease.as_ref()) {
        if !leases.iter().any(|known| known.same_as(lease)) {
            leases.push(lease);
        }
    }
    let may_write = || leases.iter().try_for_each(|lease| lease.check());
    let pending = conn
        .send_gated(ApiKey::Produce, version, body, timeout, &may_write)
        .await?;
    Ok((version, pending))
}

/// Waits for a request's response and tells each batch its outcome.
async fn answer(
    broker: i32,
    batches: Vec<Submission>,
    (version, pending): (i16, crate::connection::PendingResponse),
) {
    let body = match pending.response().await {
        Ok(body) => body,
        Err(error) => return fail_all(batches, &error),
    };
    tracing::trace!(
        target: "kmirror_latency",
        broker,
        batches = batches.len(),
        took_us = batches[0].submitted.elapsed().as_micros() as u64,
        at_us = wall_us(),
        "produce response"
    );
    let mut outcomes = match decode_outcomes(version, body) {
        Ok(outcomes) => outcomes,
        Err(error) => return fail_all(batches, &error),
    };
    for submission in batches {
        let key = (submission.topic.clone(), submission.partition);
        let outcome = outcomes.remove(&key).unwrap_or_else(|| {
            Err(ClientError::Malformed {
                addr: String::new(),
                api: ApiKey::Produce,
                reason: format!("no answer for {}-{}", key.0, key.1),
            })
        });
        let _ = submission.reply.send(outcome);
    }
}

/// Each partition's outcome in a produce response.
fn decode_outcomes(
    version: i16,
    mut body: Bytes,
) -> Result<HashMap<(Arc<str>, i32), BatchOutcome>> {
    let response =
        ProduceResponse::decode(&mut body, version).map_err(|e| ClientError::Malformed {
            addr: String::new(),
            api: ApiKey::Produce,
            reason: format!("v{version} body does not decode: {e}"),
        })?;
    let mut outcomes = HashMap::new();
    for topic in &response.responses {
        let name: Arc<str> = Arc::from(topic.name.0.as_str());
        for partition in &topic.partition_responses {
            let outcome = match ResponseError::try_from_code(partition.error_code) {
                None => Ok(partition.base_offset),
                // The broker has this batch already but no longer remembers
                // where: success, offsets unknown.
                Some(ResponseError::DuplicateSequenceNumber) => Ok(-1),
                Some(error) => Err(ClientError::Broker {
                    api: ApiKey::Produce,
                    context: format!("{}-{}", name, partition.index),
                    error,
                    message: partition.error_message.as_ref().map(|m| m.to_string()),
                }),
            };
            outcomes.insert((name.clone(), partition.index), outcome);
        }
    }
    Ok(outcomes)
}

/// The wall clock in microseconds, for traces that line up with record
/// timestamps.
fn wall_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn fail_all(batches: Vec<Submission>, error: &ClientError) {
    for submission in batches {
        let _ = submission.reply.send(Err(error.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(topic: &str, partition: i32, size: usize) -> Submission {
        let (reply, _) = oneshot::channel();
        Submission {
            topic: Arc::from(topic),
            partition,
            batch: OutgoingBatch {
                header: Bytes::new(),
                body: Bytes::from(vec![0u8; size]),
            },
            lease: None,
            reply,
            submitted: std::time::Instant::now(),
        }
    }

    #[test]
    fn batches_whose_lease_ran_out_are_not_sent_and_say_why() {
        let valid = WriteLease::unlimited("a->b");
        let expired = WriteLease::expired("a->b");
        let (reply, mut outcome) = oneshot::channel();
        let batches = vec![
            Submission {
                lease: Some(valid),
                ..submission("t", 0, 10)
            },
            Submission {
                lease: Some(expired),
                reply,
                ..submission("t", 1, 10)
            },
            submission("t", 2, 10),
        ];
        let kept = without_expired_leases(batches);
        let partitions: Vec<i32> = kept.iter().map(|s| s.partition).collect();
        assert_eq!(partitions, [0, 2]);
        match outcome.try_recv() {
            Ok(Err(ClientError::LeaseExpired { scope })) => assert_eq!(scope, "a->b"),
            other => panic!("expected a lease error, got {other:?}"),
        }
    }

    fn names(submissions: &[Submission]) -> Vec<(String, i32)> {
        submissions
            .iter()
            .map(|s| (s.topic.to_string(), s.partition))
            .collect()
    }

    #[test]
    fn one_batch_per_partition_per_request_in_submission_order() {
        let mut waiting: VecDeque<Submission> = [
            submission("t", 0, 10),
            submission("t", 1, 10),
            submission("t", 0, 10),
            submission("u", 0, 10),
            submission("t", 0, 10),
            submission("t", 1, 10),
        ]
        .into();
        let first = take_request(&mut waiting);
        assert_eq!(
            names(&first),
            [("t".into(), 0), ("t".into(), 1), ("u".into(), 0)]
        );
        let second = take_request(&mut waiting);
        assert_eq!(names(&second), [("t".into(), 0), ("t".into(), 1)]);
        let third = take_request(&mut waiting);
        assert_eq!(names(&third), [("t".into(), 0)]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_full_request_leaves_the_rest_in_order() {
        let big = MAX_REQUEST_BYTES / 2 + 1;
        let mut waiting: VecDeque<Submission> = [
            submission("t", 0, big),
            submission("t", 1, big),
            submission("t", 2, 10),
        ]
        .into();
        assert_eq!(names(&take_request(&mut waiting)), [("t".into(), 0)]);
        // A batch larger than the cap still goes, alone.
        let mut huge: VecDeque<Submission> = [submission("t", 0, MAX_REQUEST_BYTES * 2)].into();
        assert_eq!(names(&take_request(&mut huge)), [("t".into(), 0)]);
        assert_eq!(
            names(&take_request(&mut waiting)),
            [("t".into(), 1), ("t".into(), 2)]
        );
    }
}
