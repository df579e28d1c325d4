//! The offset indexes' persistence: a compacted topic on the target,
//! `kmirror-offset-index.<source>.internal`, holding the chunks
//! [`IndexRegistry`] encodes.

use std::time::Duration;

use kmirror_client::{ClientError, KafkaClient};

use super::writer::RecordWriter;
use crate::model::TopicPartition;
use crate::offsets::IndexRegistry;
use crate::records::{latest_by_key, read_partition};

/// `kmirror-offset-index.<source>.internal`, on the target.
pub fn index_topic(source_alias: &str) -> String {
    format!("kmirror-offset-index.{source_alias}.internal")
}

/// Records per produce request when the index is written.
const WRITE_BATCH: usize = 50;

impl IndexRegistry {
    /// Loads `flow`'s persisted indexes from the index topic on `target`.
    pub async fn load(
        &self,
        flow: &str,
        target: &KafkaClient,
        source_alias: &str,
    ) -> Result<usize, ClientError> {
        self.load_matching(flow, target, source_alias, |_| true)
            .await
    }

    /// Loads the persisted indexes of the partitions of `flow` that
    /// `wanted` selects, replacing what is held for them: those another
    /// worker of the group wrote (a partition this worker takes over, or
    /// the partitions the checkpoints translate but other workers own).
    pub async fn load_matching(
        &self,
        flow: &str,
        target: &KafkaClient,
        source_alias: &str,
        wanted: impl Fn(&TopicPartition) -> bool,
    ) -> Result<usize, ClientError> {
        let topic = index_topic(source_alias);
        let records = read_partition(target, &topic, 0, Duration::from_secs(60)).await?;
        Ok(self.restore(flow, latest_by_key(records), wanted))
    }

    /// Writes what changed in `flow`'s indexes since the last call.
    pub async fn persist(
        &self,
        flow: &str,
        writer: &mut RecordWriter,
        source_alias: &str,
    ) -> Result<usize, ClientError> {
        let records = self.changed_chunks(flow);
        if records.is_empty() {
            return Ok(0);
        }
        let count = records.len();
        for batch in records.chunks(WRITE_BATCH) {
            writer.write(&index_topic(source_alias), 0, batch).await?;
        }
        Ok(count)
    }
}
