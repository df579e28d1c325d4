//! The writer of a worker's offset syncs (MM2's `mm2-offset-syncs.<cluster>.internal`).

use kmirror_client::mm2::OffsetSync;
use tokio::sync::mpsc;
use tracing::warn;

use super::writer::RecordWriter;
use crate::config::mm2::FlowConfig;
use crate::model::TopicPartition;

/// Writes the offset syncs the pipelines decided on (MM2's rules, see
/// [`super::offset_sync::OffsetSyncState`]).
pub(super) async fn write_offset_syncs(
    flow: FlowConfig,
    mut writer: RecordWriter,
    mut syncs: mpsc::Receiver<(TopicPartition, Vec<(i64, i64)>)>,
) {
    let topic = flow.offset_syncs_topic();
    // Whatever queued up while the last write ran goes out in one batch.
    while let Some(first) = syncs.recv().await {
        let mut pending = vec![first];
        while let Ok(more) = syncs.try_recv() {
            pending.push(more);
        }
        let mut records = Vec::new();
        for (tp, pairs) in pending {
            for (upstream, downstream) in pairs {
                let sync = OffsetSync {
                    topic: tp.topic.to_string(),
                    partition: tp.partition,
                    upstream_offset: upstream,
                    downstream_offset: downstream,
                };
                match sync.encode_key() {
                    Ok(key) => records.push((key, Some(sync.encode_value()))),
                    Err(e) => warn!(%tp, error = %e, "offset sync not encodable"),
                }
            }
        }
        if let Err(e) = writer.write(&topic, 0, &records).await {
            warn!(flow = %flow.name(), error = %e, "cannot write offset syncs");
        }
    }
}
