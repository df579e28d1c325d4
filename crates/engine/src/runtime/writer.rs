//! Writing small control-plane records (heartbeats, offset syncs, progress)
//! idempotently, each write acknowledged before it returns.

use std::collections::HashMap;

use kmirror_client::lease::WriteLease;
use kmirror_client::produce::{init_producer_id, PartitionSender, ProducerIdentity, SendConfig};
use kmirror_client::records::encode;
use kmirror_client::{ClientError, KafkaClient};

use crate::model::now_ms;

/// Writes key/value records to partitions of one cluster.
#[derive(Debug)]
pub struct RecordWriter {
    client: KafkaClient,
    identity: Option<ProducerIdentity>,
    senders: HashMap<(String, i32), PartitionSender<()>>,
    lease: Option<WriteLease>,
}

impl RecordWriter {
    pub fn new(client: KafkaClient) -> Self {
        RecordWriter {
            client,
            identity: None,
            senders: HashMap::new(),
            lease: None,
        }
    }

    /// A writer that writes only while `lease` is valid (see
    /// [`kmirror_client::lease`]).
    pub fn with_lease(mut self, lease: WriteLease) -> Self {
        self.lease = Some(lease);
        self
    }

    pub fn client(&self) -> &KafkaClient {
        &self.client
    }

    /// Writes `records` (value `None` is a tombstone) as one batch to
    /// `topic`-`partition` and waits for the acknowledgement.
    pub async fn write(
        &mut self,
        topic: &str,
        partition: i32,
        records: &[crate::records::OutgoingRecord],
    ) -> Result<(), ClientError> {
        if records.is_empty() {
            return Ok(());
        }
        let identity = match self.identity {
            Some(identity) => identity,
            None => {
                let identity = init_producer_id(&self.client).await?;
                self.identity = Some(identity);
                identity
            }
        };
        let key = (topic.to_string(), partition);
        let lease = self.lease.clone();
        let sender = self.senders.entry(key.clone()).or_insert_with(|| {
            PartitionSender::new(
                self.client.clone(),
                topic,
                partition,
                identity,
                SendConfig {
                    lease,
                    ..SendConfig::for_client(&self.client)
                },
            )
        });
        let batch = encode(records, now_ms());
        let result = async {
            sender.send(&batch, ()).await?;
            match sender.next_ack().await {
                Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(e),
                None => unreachable!("a batch was just sent"),
            }
        }
        .await;
        if result.is_err() {
            // Sequence state is unknown after a failure: start over with a
            // new producer id next time.
            self.senders.clear();
            self.identity = None;
        }
        result
    }
}
