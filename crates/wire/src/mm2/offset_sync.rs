//! `mm2-offset-syncs.<target>.internal` topic records.

use super::codec::{Reader, Writer};
use crate::WireError;

const RECORD: &str = "offset sync";

/// A pair of offsets known to hold the same record on the source and on
/// the target, the raw material of checkpoints.
///
/// Key: `topic STRING, partition INT32` (the topic is the source name).
/// Value: `upstreamOffset INT64, offset INT64`, with no version field.
/// (Kafka keeps this class in `connect-mirror`, not `connect-mirror-client`.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetSync {
    /// The topic's name on the source.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Offset of the record on the source.
    pub upstream_offset: i64,
    /// Offset of the same record on the target.
    pub downstream_offset: i64,
}

impl OffsetSync {
    /// The record key. Fails only for a topic name over 32767 bytes.
    pub fn encode_key(&self) -> Result<Vec<u8>, WireError> {
        let mut key = Writer::new(RECORD, 6 + self.topic.len());
        key.string("topic", &self.topic)?;
        key.i32(self.partition);
        Ok(key.finish())
    }

    /// The record value.
    pub fn encode_value(&self) -> Vec<u8> {
        let mut value = Writer::new(RECORD, 16);
        value.i64(self.upstream_offset);
        value.i64(self.downstream_offset);
        value.finish()
    }

    /// Reads an offset sync record. Trailing bytes are errors.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, WireError> {
        let mut k = Reader::new(key, RECORD, "key");
        let topic = k.string("topic")?;
        let partition = k.i32("partition")?;
        k.finish()?;
        let mut v = Reader::new(value, RECORD, "value");
        let upstream_offset = v.i64("upstreamOffset")?;
        let downstream_offset = v.i64("offset")?;
        v.finish()?;
        Ok(OffsetSync {
            topic,
            partition,
            upstream_offset,
            downstream_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-computed, and identical to what Kafka 4.1.2's
    // `OffsetSync(TopicPartition("payments", 7), 1042, 977)` writes.
    const KEY: [u8; 14] = [
        0x00, 0x08, b'p', b'a', b'y', b'm', b'e', b'n', b't', b's', //
        0x00, 0x00, 0x00, 0x07,
    ];
    const VALUE: [u8; 16] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x12, // upstream 1042
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xd1, // downstream 977
    ];

    fn golden() -> OffsetSync {
        OffsetSync {
            topic: "payments".into(),
            partition: 7,
            upstream_offset: 1042,
            downstream_offset: 977,
        }
    }

    #[test]
    fn encodes_golden_bytes() {
        assert_eq!(golden().encode_key().unwrap(), KEY);
        assert_eq!(golden().encode_value(), VALUE);
    }

    #[test]
    fn decodes_golden_bytes() {
        assert_eq!(OffsetSync::decode(&KEY, &VALUE).unwrap(), golden());
    }

    #[test]
    fn rejects_trailing_key_bytes() {
        let mut key = KEY.to_vec();
        key.extend_from_slice(&[0, 0]);
        assert_eq!(
            OffsetSync::decode(&key, &VALUE),
            Err(WireError::Mm2TrailingBytes {
                record: "offset sync",
                part: "key",
                extra: 2
            })
        );
    }
}
