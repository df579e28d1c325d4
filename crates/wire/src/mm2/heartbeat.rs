//! `heartbeats` topic records.

use super::codec::{Reader, Writer};
use crate::WireError;

const RECORD: &str = "heartbeat";
const VERSION: i16 = 0;

/// A heartbeat, written every `emit.heartbeats.interval.seconds` to the
/// target's `heartbeats` topic and replicated onward; its arrival tells
/// tooling that a flow is alive end to end.
///
/// Key: `sourceClusterAlias STRING, targetClusterAlias STRING`.
/// Value: `version INT16 = 0, timestamp INT64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    /// Alias of the cluster the flow reads from.
    pub source_cluster_alias: String,
    /// Alias of the cluster the flow writes to.
    pub target_cluster_alias: String,
    /// When it was emitted, ms since the epoch.
    pub timestamp_ms: i64,
}

impl Heartbeat {
    /// The record key. Fails only for an alias over 32767 bytes.
    pub fn encode_key(&self) -> Result<Vec<u8>, WireError> {
        let mut key = Writer::new(
            RECORD,
            4 + self.source_cluster_alias.len() + self.target_cluster_alias.len(),
        );
        key.string("sourceClusterAlias", &self.source_cluster_alias)?;
        key.string("targetClusterAlias", &self.target_cluster_alias)?;
        Ok(key.finish())
    }

    /// The record value (version 0).
    pub fn encode_value(&self) -> Vec<u8> {
        let mut value = Writer::new(RECORD, 10);
        value.i16(VERSION);
        value.i64(self.timestamp_ms);
        value.finish()
    }

    /// Reads a heartbeat record. Unknown versions and trailing bytes are
    /// errors.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, WireError> {
        let mut k = Reader::new(key, RECORD, "key");
        let source_cluster_alias = k.string("sourceClusterAlias")?;
        let target_cluster_alias = k.string("targetClusterAlias")?;
        k.finish()?;
        let mut v = Reader::new(value, RECORD, "value");
        let version = v.i16("version")?;
        if version != VERSION {
            return Err(WireError::Mm2UnsupportedVersion {
                record: RECORD,
                version,
            });
        }
        let timestamp_ms = v.i64("timestamp")?;
        v.finish()?;
        Ok(Heartbeat {
            source_cluster_alias,
            target_cluster_alias,
            timestamp_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-computed, and identical to what Kafka 4.1.2's
    // `Heartbeat("kafka-a", "kafka-b", 1700000000123L)` writes.
    const KEY: [u8; 18] = [
        0x00, 0x07, b'k', b'a', b'f', b'k', b'a', b'-', b'a', //
        0x00, 0x07, b'k', b'a', b'f', b'k', b'a', b'-', b'b',
    ];
    const VALUE: [u8; 10] = [
        0x00, 0x00, // version 0
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, // 1700000000123
    ];

    fn golden() -> Heartbeat {
        Heartbeat {
            source_cluster_alias: "kafka-a".into(),
            target_cluster_alias: "kafka-b".into(),
            timestamp_ms: 1_700_000_000_123,
        }
    }

    #[test]
    fn encodes_golden_bytes() {
        assert_eq!(golden().encode_key().unwrap(), KEY);
        assert_eq!(golden().encode_value(), VALUE);
    }

    #[test]
    fn decodes_golden_bytes() {
        assert_eq!(Heartbeat::decode(&KEY, &VALUE).unwrap(), golden());
    }

    #[test]
    fn rejects_unknown_version_and_trailing_bytes() {
        let mut v1 = VALUE;
        v1[1] = 1;
        assert_eq!(
            Heartbeat::decode(&KEY, &v1),
            Err(WireError::Mm2UnsupportedVersion {
                record: "heartbeat",
                version: 1
            })
        );
        let mut long = VALUE.to_vec();
        long.push(0);
        assert_eq!(
            Heartbeat::decode(&KEY, &long),
            Err(WireError::Mm2TrailingBytes {
                record: "heartbeat",
                part: "value",
                extra: 1
            })
        );
    }

    #[test]
    fn rejects_truncated_and_invalid_strings() {
        assert_eq!(
            Heartbeat::decode(&KEY[..10], &VALUE),
            Err(WireError::Mm2Truncated {
                record: "heartbeat",
                field: "targetClusterAlias"
            })
        );
        assert_eq!(
            Heartbeat::decode(&[0xff, 0xff], &VALUE),
            Err(WireError::Mm2InvalidString {
                record: "heartbeat",
                field: "sourceClusterAlias",
                reason: "negative length"
            })
        );
        assert_eq!(
            Heartbeat::decode(&[0x00, 0x01, 0xff, 0x00, 0x00], &VALUE),
            Err(WireError::Mm2InvalidString {
                record: "heartbeat",
                field: "sourceClusterAlias",
                reason: "not utf-8"
            })
        );
    }

    #[test]
    fn refuses_to_encode_an_alias_kafka_cannot_hold() {
        let mut heartbeat = golden();
        heartbeat.target_cluster_alias = "x".repeat(32_768);
        assert_eq!(
            heartbeat.encode_key(),
            Err(WireError::Mm2StringTooLong {
                record: "heartbeat",
                field: "targetClusterAlias",
                len: 32_768
            })
        );
        heartbeat.target_cluster_alias.pop();
        assert!(heartbeat.encode_key().is_ok());
    }
}
