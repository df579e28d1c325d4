//! Small control-plane records (heartbeats, offset syncs, checkpoints,
//! progress, the offset index): encoding key/value pairs into a batch a
//! [`PartitionSender`](crate::produce::PartitionSender) takes, and reading
//! them back from a partition. Never on the data path, where batches are
//! not decoded. The bytes are the wire crate's
//! ([`kmirror_wire::batch::slow`]), the one record codec kmirror has.

use std::time::Duration;

use kmirror_wire::batch::{decode_key_values, encode_key_values};
use kmirror_wire::RawBatch;

use crate::cluster::KafkaClient;
use crate::error::{ClientError, Result};
use crate::forwardable::ForwardableBatch;
use crate::read::{read_at, read_range, ReadOptions};

pub use kmirror_wire::batch::{KeyValue, OutgoingRecord};

/// Encodes key/value pairs (value `None` = tombstone) into one uncompressed
/// batch stamped `timestamp_ms`, ready for a sender.
pub fn encode(records: &[OutgoingRecord], timestamp_ms: i64) -> ForwardableBatch {
    // The only failures are more than i32::MAX records or a batch beyond
    // Kafka's 2 GiB batch length; the control plane writes at most one
    // small record per partition or group at a time.
    let batch = encode_key_values(records, timestamp_ms)
        .expect("a control-plane batch fits Kafka's batch limits");
    ForwardableBatch::unchanged(batch)
}

/// The records of `topic`-`partition` from `start` until `end` or the
/// partition's high watermark, whichever comes first, read committed,
/// within `timeout` (see [`read_range`]).
pub async fn read_key_values_range(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    start: i64,
    end: i64,
    timeout: Duration,
) -> Result<Vec<KeyValue>> {
    let batches = read_range(client, topic, partition, start, end, timeout).await?;
    decode(&batches, topic, partition, start)
}

/// The records one read of `topic`-`partition` at `offset` returns (see
/// [`read_at`]), and where the next read starts.
pub async fn read_key_values_at(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    offset: i64,
    options: ReadOptions,
) -> Result<(Vec<KeyValue>, i64)> {
    let data = read_at(client, topic, partition, offset, options).await?;
    let records = decode(&data.batches, topic, partition, offset)?;
    Ok((records, data.next_offset.max(offset)))
}

/// The records of `batches` from offset `from` on, skipping control
/// batches; as strict as Kafka's reader, and bounded by the bytes present,
/// never by a count the bytes claim. A batch read can begin before the
/// offset asked.
fn decode(batches: &[RawBatch], topic: &str, partition: i32, from: i64) -> Result<Vec<KeyValue>> {
    let records = decode_key_values(batches).map_err(|source| ClientError::Records {
        topic: topic.to_string(),
        partition,
        source,
    })?;
    Ok(records.into_iter().filter(|r| r.offset >= from).collect())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kmirror_wire::WireError;

    use super::*;

    #[test]
    fn decoded_records_round_trip_and_a_lying_count_is_refused() {
        let records: Vec<OutgoingRecord> = vec![
            (b"k1".to_vec(), Some(b"v1".to_vec())),
            (b"k2".to_vec(), None),
        ];
        let batch = encode(&records, 1_000);
        let decoded = decode(std::slice::from_ref(batch.batch()), "t", 0, 0).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(decoded[1].value, None);
        // Records before the offset asked are left out.
        let from_one = decode(std::slice::from_ref(batch.batch()), "t", 0, 1).unwrap();
        assert_eq!(from_one.len(), 1);
        assert_eq!(from_one[0].key.as_deref(), Some(&b"k2"[..]));

        // A count the bytes cannot hold is refused, not trusted.
        let mut bytes = batch.batch().bytes.to_vec();
        bytes[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        let lying = RawBatch {
            header: batch.batch().header,
            bytes: Bytes::from(bytes),
        };
        let error = decode(&[lying], "t", 0, 0).unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::Records {
                    source: WireError::Corrupt { offset: 0, .. },
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
