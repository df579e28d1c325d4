//! `<source>.checkpoints.internal` topic records.

use super::codec::{Reader, Writer};
use crate::WireError;

const RECORD: &str = "checkpoint";
const VERSION: i16 = 0;

/// A consumer group's committed position on one source partition,
/// translated to the target: what a group failing over to the target
/// resumes from. Written to `<source alias>.checkpoints.internal` on the
/// target.
///
/// Key: `group STRING, topic STRING, partition INT32` (the topic is the
/// downstream, remote name).
/// Value: `version INT16 = 0, upstreamOffset INT64, offset INT64, metadata STRING`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The consumer group.
    pub consumer_group_id: String,
    /// The topic's name on the target (e.g. `kafka-a.payments`).
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset on the source.
    pub upstream_offset: i64,
    /// The equivalent offset on the target.
    pub downstream_offset: i64,
    /// The commit's metadata string, carried over (empty if none; Kafka's
    /// STRING cannot be null).
    pub metadata: String,
}

impl Checkpoint {
    /// The record key. Fails only for a string over 32767 bytes.
    pub fn encode_key(&self) -> Result<Vec<u8>, WireError> {
        let mut key = Writer::new(RECORD, 8 + self.consumer_group_id.len() + self.topic.len());
        key.string("group", &self.consumer_group_id)?;
        key.string("topic", &self.topic)?;
        key.i32(self.partition);
        Ok(key.finish())
    }

    /// The record value (version 0). Fails only for metadata over 32767
    /// bytes (brokers cap it at `offset.metadata.max.bytes`, 4096 by default).
    pub fn encode_value(&self) -> Result<Vec<u8>, WireError> {
        let mut value = Writer::new(RECORD, 20 + self.metadata.len());
        value.i16(VERSION);
        value.i64(self.upstream_offset);
        value.i64(self.downstream_offset);
        value.string("metadata", &self.metadata)?;
        Ok(value.finish())
    }

    /// Reads a checkpoint record. Unknown versions and trailing bytes are
    /// errors.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, WireError> {
        let mut k = Reader::new(key, RECORD, "key");
        let consumer_group_id = k.string("group")?;
        let topic = k.string("topic")?;
        let partition = k.i32("partition")?;
        k.finish()?;
        let mut v = Reader::new(value, RECORD, "value");
        let version = v.i16("version")?;
        if version != VERSION {
            return Err(WireError::Mm2UnsupportedVersion {
                record: RECORD,
                version,
            });
        }
        let upstream_offset = v.i64("upstreamOffset")?;
        let downstream_offset = v.i64("offset")?;
        let metadata = v.string("metadata")?;
        v.finish()?;
        Ok(Checkpoint {
            consumer_group_id,
            topic,
            partition,
            upstream_offset,
            downstream_offset,
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-computed, and identical to what Kafka 4.1.2's
    // `Checkpoint("orders-app", TopicPartition("kafka-a.payments", 3), 1042, 977, "m")`
    // writes.
    const KEY: [u8; 34] = [
        0x00, 0x0a, b'o', b'r', b'd', b'e', b'r', b's', b'-', b'a', b'p', b'p', //
        0x00, 0x10, b'k', b'a', b'f', b'k', b'a', b'-', b'a', b'.', //
        b'p', b'a', b'y', b'm', b'e', b'n', b't', b's', //
        0x00, 0x00, 0x00, 0x03,
    ];
    const VALUE: [u8; 21] = [
        0x00, 0x00, // version 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x12, // upstream 1042
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xd1, // downstream 977
        0x00, 0x01, b'm',
    ];

    fn golden() -> Checkpoint {
        Checkpoint {
            consumer_group_id: "orders-app".into(),
            topic: "kafka-a.payments".into(),
            partition: 3,
            upstream_offset: 1042,
            downstream_offset: 977,
            metadata: "m".into(),
        }
    }

    #[test]
    fn encodes_golden_bytes() {
        assert_eq!(golden().encode_key().unwrap(), KEY);
        assert_eq!(golden().encode_value().unwrap(), VALUE);
    }

    #[test]
    fn decodes_golden_bytes() {
        assert_eq!(Checkpoint::decode(&KEY, &VALUE).unwrap(), golden());
    }

    #[test]
    fn empty_metadata_is_a_zero_length_string() {
        let checkpoint = Checkpoint {
            metadata: String::new(),
            ..golden()
        };
        let value = checkpoint.encode_value().unwrap();
        assert_eq!(&value[18..], &[0x00, 0x00]);
        assert_eq!(Checkpoint::decode(&KEY, &value).unwrap(), checkpoint);
    }

    #[test]
    fn rejects_truncated_fields() {
        assert_eq!(
            Checkpoint::decode(&KEY[..33], &VALUE),
            Err(WireError::Mm2Truncated {
                record: "checkpoint",
                field: "partition"
            })
        );
        assert_eq!(
            Checkpoint::decode(&KEY, &VALUE[..20]),
            Err(WireError::Mm2Truncated {
                record: "checkpoint",
                field: "metadata"
            })
        );
    }
}
