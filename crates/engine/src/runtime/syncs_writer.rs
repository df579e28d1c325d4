//! The writer of a worker's offset syncs (MM2's `mm2-offset-syncs.<cluster>.internal`).

use std::time::Duration;

use kmirror_client::mm2::OffsetSync;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

use super::writer::RecordWriter;
use crate::config::mm2::FlowConfig;
use crate::model::TopicPartition;

/// The least time from the start of one offset-sync write to the start of
/// the next. While a partition copies at full speed nearly every batch needs
/// a sync (MM2's rule: more than `offset.lag.max` records since the last),
/// so without a spacing the writer writes as often as the cluster answers:
/// about a hundred requests a second per worker, whatever its share of the
/// bytes. That cost per second, not per byte, made a worker of three pay
/// more per GB than a lone one. Syncs only serve checkpoints (every
/// `emit.checkpoints.interval.seconds`, 60 s by default), so gathering a
/// tenth of a second of them into one batch loses nothing: a sync after a
/// quiet spell still goes out at once.
pub(crate) const SYNC_WRITE_SPACING: Duration = Duration::from_millis(100);

/// Syncs the pipelines may queue for the writer: those of one
/// [`SYNC_WRITE_SPACING`] at over 100,000 forwarded batches a second. Past
/// that a sync is dropped and the partition's next batch writes one.
pub(crate) const SYNC_QUEUE: usize = 16_384;

/// Syncs per batch written. A sync record is at most about 300 bytes (a
/// topic name is at most 249 characters), so a batch stays well under the
/// 1 MiB a topic takes by default however many syncs a spacing gathered.
const SYNCS_PER_BATCH: usize = 2_000;

/// Writes the offset syncs the pipelines decided on (MM2's rules, see
/// [`super::offset_sync::OffsetSyncState`]).
pub(super) async fn write_offset_syncs(
    flow: FlowConfig,
    mut writer: RecordWriter,
    mut syncs: mpsc::Receiver<(TopicPartition, Vec<(i64, i64)>)>,
) {
    let topic = flow.offset_syncs_topic();
    let mut last_write = None;
    while let Some(pending) = next_round(&mut syncs, &mut last_write).await {
        let records = encode_syncs(pending);
        for batch in records.chunks(SYNCS_PER_BATCH) {
            if let Err(e) = writer.write(&topic, 0, batch).await {
                warn!(flow = %flow.name(), error = %e, "cannot write offset syncs");
            }
        }
    }
}

/// The syncs of the next write: waits for one, then until
/// [`SYNC_WRITE_SPACING`] after the previous write began, and takes
/// whatever queued up meanwhile. `None` once every sender is gone and the
/// queue is empty.
async fn next_round<T>(
    syncs: &mut mpsc::Receiver<T>,
    last_write: &mut Option<Instant>,
) -> Option<Vec<T>> {
    let first = syncs.recv().await?;
    if let Some(last) = *last_write {
        tokio::time::sleep_until(last + SYNC_WRITE_SPACING).await;
    }
    *last_write = Some(Instant::now());
    let mut pending = vec![first];
    while let Ok(more) = syncs.try_recv() {
        pending.push(more);
    }
    Some(pending)
}

/// The records of `pending` syncs, in the order they were decided.
fn encode_syncs(
    pending: Vec<(TopicPartition, Vec<(i64, i64)>)>,
) -> Vec<crate::records::OutgoingRecord> {
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
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn syncs_after_a_quiet_spell_go_at_once_and_a_burst_waits_for_the_spacing() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut last_write = None;
        let start = Instant::now();
        tx.send(1).await.unwrap();
        assert_eq!(next_round(&mut rx, &mut last_write).await, Some(vec![1]));
        assert_eq!(start.elapsed(), Duration::ZERO, "the first sync waited");

        // Queued while the first write ran: gathered into one write, one
        // spacing after the first began.
        for n in 2..=4 {
            tx.send(n).await.unwrap();
        }
        assert_eq!(
            next_round(&mut rx, &mut last_write).await,
            Some(vec![2, 3, 4])
        );
        assert_eq!(start.elapsed(), SYNC_WRITE_SPACING);

        // After a quiet spell longer than the spacing: at once.
        tokio::time::advance(SYNC_WRITE_SPACING * 3).await;
        let quiet_end = Instant::now();
        tx.send(5).await.unwrap();
        assert_eq!(next_round(&mut rx, &mut last_write).await, Some(vec![5]));
        assert_eq!(quiet_end.elapsed(), Duration::ZERO);

        // What is queued when the senders go is still written, then the end.
        tx.send(6).await.unwrap();
        drop(tx);
        assert_eq!(next_round(&mut rx, &mut last_write).await, Some(vec![6]));
        assert_eq!(next_round(&mut rx, &mut last_write).await, None);
    }

    #[test]
    fn the_largest_batch_of_syncs_fits_a_topic_default_limit() {
        let longest = TopicPartition::new(&"t".repeat(249), i32::MAX);
        let pending = vec![(longest, vec![(i64::MAX, i64::MAX); SYNCS_PER_BATCH])];
        let records = encode_syncs(pending);
        assert_eq!(records.len(), SYNCS_PER_BATCH);
        let bytes = kmirror_client::records::encode(&records, 0).fetched_len();
        assert!(bytes < 1 << 20, "{bytes} bytes");
    }
}
