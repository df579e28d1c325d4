//! Reading one partition from an offset: the control plane's reads
//! (internal topics at start-up, comparing with the target on resume, the
//! `verify` canary), each one fetch from the partition's leader on the
//! control connection, batches as stored. The data path uses fetch
//! sessions, not this. [`crate::records`] decodes what these read;
//! [`crate::landed`] compares a source with its target.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kmirror_wire::batch::RawBatch;

use crate::cluster::{KafkaClient, Purpose};
use crate::error::{ClientError, Result};
use crate::fetch::{fetch, FetchParams, Isolation, PartitionData, PartitionFetch};

/// How one read goes.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// How long the broker may wait for a first byte at `offset`.
    pub max_wait: Duration,
    /// At most this many bytes come back.
    pub max_bytes: i32,
    pub isolation: Isolation,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_wait: Duration::from_millis(100),
            max_bytes: 4 << 20,
            isolation: Isolation::ReadCommitted,
        }
    }
}

/// The complete batches of `topic`-`partition` from `offset` on (as many
/// as `max_bytes` allows), with where the next read starts and the
/// partition's high watermark. When the leader answers nothing for the
/// partition, nothing arrived: no batches, and the next read starts at
/// `offset` again.
pub async fn read_at(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    offset: i64,
    options: ReadOptions,
) -> Result<PartitionData<RawBatch>> {
    let leader = client.leader(topic, partition).await?;
    let conn = client.connection(leader, Purpose::Control).await?;
    let params = FetchParams {
        max_wait: options.max_wait,
        min_bytes: 1,
        max_bytes: options.max_bytes,
        isolation: options.isolation,
        rack: None,
    };
    let fetched = fetch(
        &conn,
        &params,
        &[PartitionFetch {
            topic: topic.to_string(),
            partition,
            offset,
            max_bytes: options.max_bytes,
        }],
    )
    .await?;
    match fetched.into_iter().find(|p| p.partition == partition) {
        Some(p) => p.result,
        None => Ok(PartitionData {
            next_offset: offset,
            ..PartitionData::default()
        }),
    }
}

/// Every complete batch of `topic`-`partition` from `start` until `end` or
/// the partition's high watermark, whichever comes first, read committed,
/// within `timeout`.
///
/// # Errors
///
/// What the reads fail with, or [`ClientError::RequestTimeout`] when
/// `timeout` passes first.
pub async fn read_range(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    start: i64,
    end: i64,
    timeout: Duration,
) -> Result<Vec<RawBatch>> {
    let stop_at = tokio::time::Instant::now() + timeout;
    let mut offset = start;
    let mut out = Vec::new();
    while offset < end {
        if tokio::time::Instant::now() > stop_at {
            return Err(ClientError::RequestTimeout {
                addr: client.bootstrap_display(),
                api: ApiKey::Fetch,
                timeout,
            });
        }
        let data = read_at(client, topic, partition, offset, ReadOptions::default()).await?;
        out.extend(data.batches);
        offset = data.next_offset.max(offset);
        if data.high_watermark <= offset {
            break;
        }
    }
    Ok(out)
}
