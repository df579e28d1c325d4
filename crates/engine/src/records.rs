//! Small control-plane records (heartbeats, offset syncs, checkpoints,
//! progress): encoding them into batches and reading compacted internal
//! topics back. Never on the data path, where batches are not decoded.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kmirror_client::admin::OffsetSpec;
use kmirror_client::read::read_range;
use kmirror_client::{ClientError, KafkaClient};
use kmirror_wire::batch::{decode_key_values, encode_key_values, RawBatch};
pub use kmirror_wire::batch::{KeyValue, OutgoingRecord};
use kmirror_wire::WireError;

/// Encodes key/value pairs (value `None` = tombstone) into one uncompressed
/// batch, ready for a `PartitionSender`.
pub fn encode_batch(records: &[OutgoingRecord], timestamp_ms: i64) -> RawBatch {
    // The only failures are more than i32::MAX records or a batch beyond
    // Kafka's 2 GiB batch length; the control plane writes at most one
    // small record per partition or group at a time.
    encode_key_values(records, timestamp_ms)
        .expect("a control-plane batch fits Kafka's batch limits")
}

/// Decodes the records of complete batches, skipping control batches; as
/// strict as Kafka's reader, and bounded by the bytes present, never by a
/// count the bytes claim.
pub fn decode_batches(batches: &[RawBatch]) -> Result<Vec<KeyValue>, WireError> {
    decode_key_values(batches)
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
            Err(e)
                if (e.is_missing_topic() || e.is_leadership_moving())
                    && tokio::time::Instant::now() < stop_at =>
            {
                let _ = client.refresh_metadata(Some(&[topic.to_string()])).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let remaining = stop_at.saturating_duration_since(tokio::time::Instant::now());
    let batches = read_range(client, topic, partition, start, end, remaining).await?;
    let records = decode_batches(&batches).map_err(|source| ClientError::Records {
        topic: topic.to_string(),
        partition,
        source,
    })?;
    Ok(records.into_iter().filter(|r| r.offset >= start).collect())
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
    fn decoded_records_round_trip_and_a_lying_count_is_refused() {
        let records: Vec<OutgoingRecord> = vec![
            (b"k1".to_vec(), Some(b"v1".to_vec())),
            (b"k2".to_vec(), None),
        ];
        let batch = encode_batch(&records, 1_000);
        let decoded = decode_batches(std::slice::from_ref(&batch)).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(decoded[1].value, None);

        // A count the bytes cannot hold is refused, not trusted.
        let mut bytes = batch.bytes.to_vec();
        bytes[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        let lying = RawBatch {
            header: batch.header,
            bytes: Bytes::from(bytes),
        };
        let error = decode_batches(&[lying]).unwrap_err();
        assert!(
            matches!(error, WireError::Corrupt { offset: 0, .. }),
            "{error:?}"
        );
    }
}
