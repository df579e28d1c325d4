//! Small control-plane records (heartbeats, offset syncs, checkpoints,
//! progress): reading compacted internal topics back at start-up. Never on
//! the data path. The records' bytes are the client's
//! ([`kmirror_client::records`]).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kmirror_client::admin::OffsetSpec;
use kmirror_client::records::read_key_values_range;
pub use kmirror_client::records::{KeyValue, OutgoingRecord};
use kmirror_client::{ClientError, KafkaClient};

/// Reads a partition of an internal topic from its start to its current end
/// (read committed), for loading compacted state at start-up.
pub async fn read_partition(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    deadline: Duration,
) -> Result<Vec<KeyValue>, ClientError> {
    read_partition_to(client, topic, partition, OffsetSpec::Latest, deadline).await
}

/// [`read_partition`] up to `end`: [`OffsetSpec::Latest`] waits for the
/// transactions open on the partition to end (read committed stops at
/// them), [`OffsetSpec::LatestStable`] reads only what is before the first.
pub async fn read_partition_to(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    end: OffsetSpec,
    deadline: Duration,
) -> Result<Vec<KeyValue>, ClientError> {
    let stop_at = tokio::time::Instant::now() + deadline;
    // A topic another kmirror worker created a moment ago may not be known
    // to every broker yet.
    let (start, end) = loop {
        let bounds = async {
            let start = client
                .admin()
                .offset_of(topic, partition, OffsetSpec::Earliest)
                .await?;
            let end = client.admin().offset_of(topic, partition, end).await?;
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
    read_key_values_range(client, topic, partition, start, end, remaining).await
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
