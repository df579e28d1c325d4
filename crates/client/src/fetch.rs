//! Raw fetch: record batches come back as zero-copy `Bytes` slices of the
//! response frame, never decoded. Control batches, empty batches and batches
//! of aborted transactions are dropped here so nothing above ever forwards
//! them.
//!
//! Two shapes of answer: [`fetch`] returns the batches as stored (what the
//! control plane's reads and the tools decode), a fetch session
//! ([`crate::fetch_session`], the data path) returns them as
//! [`ForwardableBatch`]es, ready for a sender.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::fetch_response::AbortedTransaction;
use kafka_protocol::messages::{ApiKey, BrokerId, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use kmirror_wire::batch::{
    control_record_type, split_record_set, upconvert_legacy, ControlType, RawBatch, SplitEnd,
};
use kmirror_wire::WireError;
use uuid::Uuid;

use crate::connection::BrokerConnection;
use crate::error::{ClientError, Result};
use crate::forwardable::{ForwardableBatch, UnforwardableBatch};

/// Which records a fetch may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Everything up to the high watermark, aborted transactions included.
    ReadUncommitted = 0,
    /// Up to the last stable offset; aborted transactions can be filtered.
    ReadCommitted = 1,
}

/// Settings of one fetch request.
#[derive(Debug, Clone)]
pub struct FetchParams {
    pub max_wait: Duration,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub isolation: Isolation,
    /// The client's rack (`client.rack`): a broker with a rack-aware
    /// `replica.selector.class` then names a replica in the same rack to
    /// read from (KIP-392, Fetch v11+).
    pub rack: Option<String>,
}

impl Default for FetchParams {
    fn default() -> Self {
        FetchParams {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 50 * 1024 * 1024,
            isolation: Isolation::ReadCommitted,
            rack: None,
        }
    }
}

/// One partition to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionFetch {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub max_bytes: i32,
}

/// What came back for one partition: its batches as stored (`B` =
/// [`RawBatch`]) or made forwardable.
#[derive(Debug)]
pub struct FetchedPartition<B = ForwardableBatch> {
    pub topic: String,
    pub partition: i32,
    /// The offset that was asked for.
    pub requested_offset: i64,
    pub result: Result<PartitionData<B>, ClientError>,
}

/// The usable part of a partition's fetch response.
#[derive(Debug)]
pub struct PartitionData<B = ForwardableBatch> {
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// Batches to forward (or read), in offset order.
    pub batches: Vec<B>,
    /// The first batch that could not be made forwardable, after those in
    /// `batches` (later ones are dropped). Only a forwarding fetch sets it.
    pub unforwardable: Option<UnforwardableBatch>,
    /// Where the next fetch should start: past every complete batch seen,
    /// including the dropped ones. Equals the requested offset when nothing
    /// complete arrived.
    pub next_offset: i64,
    /// Batches dropped as control, empty or aborted, counted for metrics.
    pub dropped_batches: usize,
    /// The replica the broker says to fetch this partition from next
    /// (KIP-392), when it names one other than itself.
    pub preferred_read_replica: Option<i32>,
}

impl<B> Default for PartitionData<B> {
    fn default() -> Self {
        PartitionData {
            high_watermark: 0,
            last_stable_offset: 0,
            log_start_offset: 0,
            batches: Vec::new(),
            unforwardable: None,
            next_offset: 0,
            dropped_batches: 0,
            preferred_read_replica: None,
        }
    }
}

/// Fetches the given partitions from one broker (their leader), returning
/// their batches as stored.
pub async fn fetch(
    conn: &BrokerConnection,
    params: &FetchParams,
    partitions: &[PartitionFetch],
) -> Result<Vec<FetchedPartition<RawBatch>>> {
    fetch_owned(conn, params, partitions, |body| body).await
}

/// [`fetch`], with `own` applied to the response body: every fetched batch
/// is a slice of what it returns (see `BrokerConnection::request_owned`).
pub async fn fetch_owned(
    conn: &BrokerConnection,
    params: &FetchParams,
    partitions: &[PartitionFetch],
    own: impl FnOnce(Bytes) -> Bytes,
) -> Result<Vec<FetchedPartition<RawBatch>>> {
    let request = build_request(params, partitions);
    let version = fetch_version(conn)?;
    let response = send(conn, params, &request, version, own).await?;
    Ok(parse_partitions(
        conn,
        params,
        response,
        |name, _| Some(name.0.to_string()),
        |topic, partition| {
            partitions
                .iter()
                .find(|r| r.topic == topic && r.partition == partition)
                .map(|r| r.offset)
        },
    ))
}

/// The fetch version this connection speaks naming topics (v12 at most).
pub(crate) fn fetch_version(conn: &BrokerConnection) -> Result<i16> {
    conn.version_for(
        ApiKey::Fetch,
        <FetchRequest as kafka_protocol::protocol::Message>::VERSIONS,
    )
}

/// Fetch versions that name topics by id (v13, KIP-516) and that kmirror
/// has checked against brokers (up to v17, Kafka 3.9 to 4.3).
const BY_ID_VERSIONS: kafka_protocol::protocol::VersionRange =
    kafka_protocol::protocol::VersionRange { min: 13, max: 17 };

/// The fetch version this connection speaks naming topics by id, if any.
pub(crate) fn fetch_version_by_id(conn: &BrokerConnection) -> Option<i16> {
    conn.version_within(ApiKey::Fetch, BY_ID_VERSIONS)
}

/// Sends a fetch request at `version`; a top-level error code becomes an
/// error.
pub(crate) async fn send(
    conn: &BrokerConnection,
    params: &FetchParams,
    request: &FetchRequest,
    version: i16,
    own: impl FnOnce(Bytes) -> Bytes,
) -> Result<FetchResponse> {
    // The broker may hold the request for max_wait; the socket timeout must
    // outlast it by the request timeout (`request.timeout.ms`).
    let timeout = params.max_wait + conn.request_timeout();
    let response: FetchResponse = conn.request_owned(request, version, timeout, own).await?;
    if let Some(error) = ResponseError::try_from_code(response.error_code) {
        return Err(ClientError::Broker {
            api: ApiKey::Fetch,
            context: format!("broker {}", conn.addr()),
            error,
            message: None,
        });
    }
    Ok(response)
}

/// The partitions of a fetch response, split into usable batches;
/// `requested` gives the offset each partition was fetched from. `name_of`
/// names a topic of the answer from its name and id (by id when the request
/// named topics by id); a topic it does not know is left out.
pub(crate) fn parse_partitions(
    conn: &BrokerConnection,
    params: &FetchParams,
    response: FetchResponse,
    name_of: impl Fn(&TopicName, &Uuid) -> Option<String>,
    requested: impl Fn(&str, i32) -> Option<i64>,
) -> Vec<FetchedPartition<RawBatch>> {
    let mut out = Vec::new();
    for topic in response.responses {
        let Some(name) = name_of(&topic.topic, &topic.topic_id) else {
            continue;
        };
        for p in topic.partitions {
            let requested = requested(&name, p.partition_index).unwrap_or(-1);
            let result = match ResponseError::try_from_code(p.error_code) {
                Some(error) => Err(ClientError::Broker {
                    api: ApiKey::Fetch,
                    context: format!(
                        "{}-{} at offset {} on {}",
                        name,
                        p.partition_index,
                        requested,
                        conn.addr()
                    ),
                    error,
                    message: None,
                }),
                None => usable_batches(
                    p.records.unwrap_or_default(),
                    requested,
                    p.aborted_transactions.as_deref().unwrap_or(&[]),
                    params.isolation,
                )
                .map(|(batches, next_offset, dropped_batches)| PartitionData {
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    log_start_offset: p.log_start_offset,
                    batches,
                    unforwardable: None,
                    next_offset,
                    dropped_batches,
                    preferred_read_replica: (p.preferred_read_replica.0 >= 0)
                        .then_some(p.preferred_read_replica.0),
                })
                .map_err(|source| ClientError::Records {
                    topic: name.clone(),
                    partition: p.partition_index,
                    source,
                }),
            };
            out.push(FetchedPartition {
                topic: name.clone(),
                partition: p.partition_index,
                requested_offset: requested,
                result,
            });
        }
    }
    out
}

/// One partition of a fetch request.
pub(crate) fn fetch_partition(partition: i32, offset: i64, max_bytes: i32) -> FetchPartition {
    FetchPartition::default()
        .with_partition(partition)
        .with_current_leader_epoch(-1)
        .with_fetch_offset(offset)
        .with_last_fetched_epoch(-1)
        .with_log_start_offset(-1)
        .with_partition_max_bytes(max_bytes)
}

/// A fetch request without its topics, in session `session_id` at `epoch`
/// (0 and -1: a full fetch without a fetch session, KIP-227).
pub(crate) fn request_shell(params: &FetchParams, session_id: i32, epoch: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(params.max_wait.as_millis().min(i32::MAX as u128) as i32)
        .with_min_bytes(params.min_bytes)
        .with_max_bytes(params.max_bytes)
        .with_isolation_level(params.isolation as i8)
        .with_session_id(session_id)
        .with_session_epoch(epoch)
        .with_rack_id(StrBytes::from_string(
            params.rack.clone().unwrap_or_default(),
        ))
}

/// A fetch request outside any session, naming topics by name.
fn build_request(params: &FetchParams, partitions: &[PartitionFetch]) -> FetchRequest {
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for p in partitions {
        topics
            .entry(p.topic.as_str())
            .or_default()
            .push(fetch_partition(p.partition, p.offset, p.max_bytes));
    }
    request_shell(params, 0, -1).with_topics(
        topics
            .into_iter()
            .map(|(name, partitions)| {
                FetchTopic::default()
                    .with_topic(topic_name(name))
                    .with_partitions(partitions)
            })
            .collect(),
    )
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Every complete batch of a record set, as v2 batches: runs of old-format
/// (magic 0/1) messages, which brokers still hold from old producers, are
/// up-converted on this slow path. Also returns the error that stopped the
/// walk, if any.
fn complete_batches(records: Bytes) -> (Vec<RawBatch>, Option<WireError>) {
    let mut batches = Vec::new();
    let mut rest = records;
    loop {
        let split = split_record_set(&rest);
        batches.extend(split.batches);
        match split.end {
            SplitEnd::Complete | SplitEnd::Truncated(_) => return (batches, None),
            SplitEnd::Failed {
                position,
                error: WireError::OldMessageFormat { .. },
            } => {
                let legacy = rest.slice(position..);
                match upconvert_legacy(&legacy) {
                    Ok((converted, consumed)) if consumed > 0 => {
                        for bytes in converted {
                            batches.extend(split_record_set(&bytes).batches);
                        }
                        rest = legacy.slice(consumed..);
                    }
                    Ok(_) => return (batches, None),
                    Err(error) => return (batches, Some(error)),
                }
            }
            SplitEnd::Failed { error, .. } => return (batches, Some(error)),
        }
    }
}

/// Splits a partition's record set and keeps what may be forwarded.
///
/// Returns the batches, the next offset to fetch and how many batches were
/// dropped. Follows the Java consumer's aborted-transaction algorithm: a
/// producer enters the aborted set when the batch stream reaches the first
/// offset of one of its aborted transactions, and leaves it at its abort
/// marker.
pub fn usable_batches(
    records: Bytes,
    requested_offset: i64,
    aborted: &[AbortedTransaction],
    isolation: Isolation,
) -> std::result::Result<(Vec<RawBatch>, i64, usize), WireError> {
    let (batches, unusable) = complete_batches(records);
    let mut aborted: Vec<(i64, i64)> = if isolation == Isolation::ReadCommitted {
        aborted
            .iter()
            .map(|a| (a.first_offset, a.producer_id.0))
            .collect()
    } else {
        Vec::new()
    };
    aborted.sort_unstable();
    let mut aborted = aborted.into_iter().peekable();
    let mut aborting: HashSet<i64> = HashSet::new();

    let mut kept = Vec::new();
    let mut next_offset = requested_offset;
    let mut dropped = 0;
    for batch in batches {
        let header = &batch.header;
        next_offset = next_offset.max(header.next_offset());
        while let Some(&(first_offset, producer_id)) = aborted.peek() {
            if first_offset > header.last_offset() {
                break;
            }
            aborting.insert(producer_id);
            aborted.next();
        }
        if header.is_control() {
            if control_record_type(&batch.bytes) == Some(ControlType::Abort) {
                aborting.remove(&header.producer_id);
            }
            dropped += 1;
            continue;
        }
        let aborted_data = header.is_transactional() && aborting.contains(&header.producer_id);
        let before_request = header.last_offset() < requested_offset;
        if aborted_data || header.records_count == 0 || before_request {
            dropped += 1;
            continue;
        }
        kept.push(batch);
    }
    if let Some(error) = unusable {
        // Batches before the unusable one are still good; the error surfaces
        // when the next fetch starts at it.
        if kept.is_empty() && next_offset == requested_offset {
            return Err(error);
        }
    }
    Ok((kept, next_offset, dropped))
}
