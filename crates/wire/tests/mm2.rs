//! MM2 record codecs: round trips and robustness against arbitrary bytes.

use kmirror_wire::{Checkpoint, Heartbeat, OffsetSync};
use proptest::prelude::*;

fn kafka_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._-]{0,40}",
        any::<String>(),
        // Up to the longest a Kafka STRING holds.
        (0usize..=32_767).prop_map(|len| "é".repeat(len / 2)),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn heartbeat_round_trips(
        source_cluster_alias in kafka_string(),
        target_cluster_alias in kafka_string(),
        timestamp_ms in any::<i64>(),
    ) {
        let heartbeat = Heartbeat { source_cluster_alias, target_cluster_alias, timestamp_ms };
        let key = heartbeat.encode_key().unwrap();
        let value = heartbeat.encode_value();
        prop_assert_eq!(Heartbeat::decode(&key, &value), Ok(heartbeat));
    }

    #[test]
    fn checkpoint_round_trips(
        consumer_group_id in kafka_string(),
        topic in kafka_string(),
        partition in any::<i32>(),
        upstream_offset in any::<i64>(),
        downstream_offset in any::<i64>(),
        metadata in kafka_string(),
    ) {
        let checkpoint = Checkpoint {
            consumer_group_id, topic, partition, upstream_offset, downstream_offset, metadata,
        };
        let key = checkpoint.encode_key().unwrap();
        let value = checkpoint.encode_value().unwrap();
        prop_assert_eq!(Checkpoint::decode(&key, &value), Ok(checkpoint));
    }

    #[test]
    fn offset_sync_round_trips(
        topic in kafka_string(),
        partition in any::<i32>(),
        upstream_offset in any::<i64>(),
        downstream_offset in any::<i64>(),
    ) {
        let sync = OffsetSync { topic, partition, upstream_offset, downstream_offset };
        let key = sync.encode_key().unwrap();
        let value = sync.encode_value();
        prop_assert_eq!(OffsetSync::decode(&key, &value), Ok(sync));
    }

    /// Arbitrary bytes never panic, and whatever decodes re-encodes to the
    /// same bytes: each format has exactly one encoding.
    #[test]
    fn decode_never_panics(key in bytes(), value in bytes()) {
        if let Ok(heartbeat) = Heartbeat::decode(&key, &value) {
            prop_assert_eq!(heartbeat.encode_key().unwrap(), key.clone());
            prop_assert_eq!(heartbeat.encode_value(), value.clone());
        }
        if let Ok(checkpoint) = Checkpoint::decode(&key, &value) {
            prop_assert_eq!(checkpoint.encode_key().unwrap(), key.clone());
            prop_assert_eq!(checkpoint.encode_value().unwrap(), value.clone());
        }
        if let Ok(sync) = OffsetSync::decode(&key, &value) {
            prop_assert_eq!(sync.encode_key().unwrap(), key);
            prop_assert_eq!(sync.encode_value(), value);
        }
    }

    /// Random bytes rarely decode; well-shaped ones (right lengths, random
    /// content) exercise the success path of the property above.
    #[test]
    fn offset_sync_shaped_bytes_decode_canonically(
        topic in prop::collection::vec(any::<u8>(), 0..20),
        tail in prop::collection::vec(any::<u8>(), 20),
    ) {
        let mut key = (topic.len() as i16).to_be_bytes().to_vec();
        key.extend_from_slice(&topic);
        key.extend_from_slice(&tail[..4]);
        let value = &tail[4..];
        match OffsetSync::decode(&key, value) {
            Ok(sync) => {
                prop_assert_eq!(sync.encode_key().unwrap(), key);
                prop_assert_eq!(sync.encode_value(), value.to_vec());
            }
            Err(_) => prop_assert!(std::str::from_utf8(&topic).is_err()),
        }
    }

    /// Valid records cut short or extended are errors, never panics or
    /// silent misreads.
    #[test]
    fn damaged_records_are_rejected(
        group in "[a-z]{0,10}",
        cut_key in any::<prop::sample::Index>(),
        cut_value in any::<prop::sample::Index>(),
        extra in 1usize..4,
    ) {
        let checkpoint = Checkpoint {
            consumer_group_id: group,
            topic: "kafka-a.t".into(),
            partition: 1,
            upstream_offset: 10,
            downstream_offset: 9,
            metadata: String::new(),
        };
        let key = checkpoint.encode_key().unwrap();
        let value = checkpoint.encode_value().unwrap();
        let short_key = &key[..cut_key.index(key.len())];
        let short_value = &value[..cut_value.index(value.len())];
        prop_assert!(Checkpoint::decode(short_key, &value).is_err());
        prop_assert!(Checkpoint::decode(&key, short_value).is_err());
        let long_value = [&value[..], &vec![0u8; extra][..]].concat();
        prop_assert!(Checkpoint::decode(&key, &long_value).is_err());
    }
}
