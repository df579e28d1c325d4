//! Small control-plane records (heartbeats, offset syncs, checkpoints,
//! progress): encoding them into batches and reading compacted internal
//! topics back. Never on the data path, where batches are not decoded.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kmirror_client::admin::OffsetSpec;
use kmirror_client::fetch::{fetch, FetchParams, Isolation, PartitionFetch};
use kmirror_client::{ClientError, KafkaClient, Purpose};
use kmirror_wire::batch::{split_record_set, RawBatch};

/// A decoded record of an internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// A record to write: key, and value (`None` for a tombstone).
pub type OutgoingRecord = (Vec<u8>, Option<Vec<u8>>);

/// Encodes key/value pairs (value `None` = tombstone) into one uncompressed
/// batch, ready for a `PartitionSender`.
pub fn encode_batch(records: &[OutgoingRecord], timestamp_ms: i64) -> RawBatch {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: timestamp_ms,
            key: Some(Bytes::from(key.clone())),
            value: value.clone().map(Bytes::from),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encoding uncompressed records cannot fail");
    let bytes = buf.freeze();
    let mut split = split_record_set(&bytes);
    assert_eq!(
        split.batches.len(),
        1,
        "the encoder produced one batch for a small record list"
    );
    split.batches.remove(0)
}

/// Why fetched batches could not be decoded into records.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// A count that could not fit in the batch's bytes: refused before it
    /// sizes an allocation.
    #[error("batch at offset {offset} claims {records} records in {bytes} bytes")]
    ImplausibleCount {
        offset: i64,
        records: i32,
        bytes: usize,
    },
    /// The codec refused the batch. `kafka-protocol` reports its decoding
    /// errors as `anyhow` errors, so its reason is kept as text.
    #[error("batch at offset {offset}: {reason}")]
    Undecodable { offset: i64, reason: String },
}

/// Decodes the records of complete batches, skipping control batches.
/// Refuses batches whose record count could not fit in their bytes, so an
/// untrusted count never sizes an allocation.
pub fn decode_batches(batches: &[RawBatch]) -> Result<Vec<KeyValue>, RecordsError> {
    let mut out = Vec::new();
    for batch in batches {
        if batch.header.is_control() {
            continue;
        }
        // A record takes at least 7 bytes even compressed far beyond what a
        // codec could achieve; 1 byte per record bounds every codec we know.
        let payload = batch.bytes.len().saturating_sub(61);
        if batch.header.records_count < 0
            || batch.header.records_count as usize > payload.max(1) * 1024
        {
            return Err(RecordsError::ImplausibleCount {
                offset: batch.header.base_offset,
                records: batch.header.records_count,
                bytes: payload,
            });
        }
        let mut bytes = batch.bytes.clone();
        let set =
            RecordBatchDecoder::decode(&mut bytes).map_err(|e| RecordsError::Undecodable {
                offset: batch.header.base_offset,
                reason: e.to_string(),
            })?;
        out.extend(set.records.into_iter().map(|r| KeyValue {
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
        }));
    }
    Ok(out)
}

/// What a topic created a moment ago answers until every broker knows it
/// and its partitions have leaders.
fn is_settling(error: &ClientError) -> bool {
    error.is_missing_topic()
        || matches!(
            error.broker_error(),
            Some(
                kafka_protocol::ResponseError::NotLeaderOrFollower
                    | kafka_protocol::ResponseError::LeaderNotAvailable
            )
        )
}

/// Reads a partition of an internal topic from its start to its current end
/// (read committed), for loading compacted state at start-up.
pub async fn read_partition(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    deadline: Duration,
) -> Result<Vec<KeyValue>, ClientError> {
    let stop_at = tokio::time::Instant::now() + deadline;
    // A topic another kmirror worker created a moment ago may not be known
    // to every broker yet.
    let (start, end) = loop {
        let bounds = async {
            let start = offset_of(client, topic, partition, OffsetSpec::Earliest).await?;
            let end = offset_of(client, topic, partition, OffsetSpec::Latest).await?;
            Ok::<_, ClientError>((start, end))
        };
        match bounds.await {
            Ok(bounds) => break bounds,
            Err(e) if is_settling(&e) && tokio::time::Instant::now() < stop_at => {
                let _ = client.refresh_metadata(Some(&[topic.to_string()])).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let params = FetchParams {
        max_wait: Duration::from_millis(100),
        isolation: Isolation::ReadCommitted,
        ..FetchParams::default()
    };
    let mut offset = start;
    let mut out = Vec::new();
    while offset < end {
        if tokio::time::Instant::now() > stop_at {
            return Err(ClientError::RequestTimeout {
                addr: client.bootstrap_display(),
                api: kafka_protocol::messages::ApiKey::Fetch,
                timeout: deadline,
            });
        }
        let leader = client.leader(topic, partition).await?;
        let conn = client.connection(leader, Purpose::Control).await?;
        let fetched = fetch(
            &conn,
            &params,
            &[PartitionFetch {
                topic: topic.to_string(),
                partition,
                offset,
                max_bytes: 4 * 1024 * 1024,
            }],
        )
        .await?;
        for p in fetched {
            let data = p.result?;
            let records =
                decode_batches(&data.batches).map_err(|reason| ClientError::Malformed {
                    addr: conn.addr().to_string(),
                    api: kafka_protocol::messages::ApiKey::Fetch,
                    reason: format!("{topic}-{partition}: {reason}"),
                })?;
            out.extend(records.into_iter().filter(|r| r.offset >= offset));
            offset = data.next_offset.max(offset);
            if data.high_watermark <= offset {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// The latest value of every key in a set of records (compaction semantics;
/// tombstones remove the key).
pub fn latest_by_key(records: Vec<KeyValue>) -> BTreeMap<Bytes, Bytes> {
    let mut map = BTreeMap::new();
    for r in records {
        let Some(key) = r.key else { continue };
        match r.value {
            Some(value) => {
                map.insert(key, value);
            }
            None => {
                map.remove(&key);
            }
        }
    }
    map
}

/// One partition's offset per `spec`.
pub async fn offset_of(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    spec: OffsetSpec,
) -> Result<i64, ClientError> {
    let answers = client
        .admin()
        .list_offsets(&[(topic, partition)], spec)
        .await?;
    answers
        .into_iter()
        .next()
        .map(|(_, offset)| offset)
        .unwrap_or(Err(ClientError::UnknownTopicPartition {
            topic: topic.to_string(),
            partition,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_records_round_trip_and_an_impossible_count_is_refused() {
        let records: Vec<OutgoingRecord> = vec![
            (b"k1".to_vec(), Some(b"v1".to_vec())),
            (b"k2".to_vec(), None),
        ];
        let batch = encode_batch(&records, 1_000);
        let decoded = decode_batches(std::slice::from_ref(&batch)).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(decoded[1].value, None);

        let mut lying = batch;
        lying.header.records_count = i32::MAX;
        let error = decode_batches(&[lying]).unwrap_err();
        assert!(
            matches!(
                error,
                RecordsError::ImplausibleCount {
                    records: i32::MAX,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().starts_with("batch at offset 0 claims"),
            "{error}"
        );
    }
}
