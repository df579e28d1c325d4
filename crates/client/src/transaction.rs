//! Transactions on the target cluster (KIP-98), for exactly-once replication.
//!
//! A [`TransactionalProducer`] talks to the transaction coordinator of one
//! `transactional.id`: it fences every earlier producer of that id
//! (InitProducerId), enrols partitions in the open transaction and ends it.
//! The batches themselves go through [`crate::produce::PartitionSender`]s
//! made transactional with [`TransactionalProducer::stamp`].
//!
//! Two protocols exist and both are spoken, as the Java producer does:
//! - **1** (every Kafka since 0.11): partitions are enrolled with
//!   AddPartitionsToTxn before anything is produced to them, and produce
//!   requests stay at v11 or below.
//! - **2** (KIP-890, Kafka 4.0 and later when the cluster finalizes
//!   `transaction.version` 2): a produce request of v12 or later enrols its
//!   partitions itself, and every EndTxn bumps the producer epoch (which
//!   the answer carries): the next transaction's batches carry the new epoch
//!   and sequences start again at 0.
//!
//! The coordinator keeps a transaction open until it ends or until
//! `transaction.timeout.ms` passes, when it aborts it and bumps the epoch;
//! [`TransactionalProducer::recover`] then asks for the producer back with
//! its last epoch (KIP-360), which the coordinator grants unless another
//! producer took the id meanwhile ([`TxnOutcome::Fenced`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, EndTxnRequest, EndTxnResponse,
    InitProducerIdRequest, ProduceRequest, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Message, StrBytes, VersionRange};
use kafka_protocol::ResponseError;
use tracing::debug;

use crate::admin::CoordinatorKey;
use crate::backoff::Backoff;
use crate::cluster::{KafkaClient, Purpose};
use crate::connection::BrokerConnection;
use crate::error::{check_code, ClientError, Result};
use crate::produce::{request_producer_id, ProducerIdentity};
use crate::produce_batcher::TransactionTag;

/// The cluster feature that says which transaction protocol its
/// coordinators speak (KIP-890).
const TRANSACTION_VERSION_FEATURE: &str = "transaction.version";

/// The last produce version of transaction protocol 1 (see module docs).
const LAST_PRODUCE_VERSION_OF_PROTOCOL_1: i16 = 11;
/// The first produce version that enrols partitions itself.
const FIRST_PRODUCE_VERSION_OF_PROTOCOL_2: i16 = 12;
/// The last EndTxn version of protocol 1; v5 answers with the bumped epoch.
const LAST_END_TXN_VERSION_OF_PROTOCOL_1: i16 = 4;
/// AddPartitionsToTxn v4 and later batch transactions for brokers; a client
/// speaks v3 at most, as the Java producer does.
const LAST_CLIENT_ADD_PARTITIONS_VERSION: i16 = 3;

/// The first pause when the coordinator says the previous transaction is
/// still being completed (its markers written): short, as the Java producer
/// does for the same answer, since it usually takes milliseconds.
const CONCURRENT_TRANSACTIONS_FIRST_PAUSE: Duration = Duration::from_millis(20);

/// Which transaction protocol a producer speaks (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionProtocol {
    V1,
    V2,
}

/// What a failed transactional call means for its producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOutcome {
    /// Another producer took the transactional id (a newer owner of the
    /// unit): this one must stop writing for good.
    Fenced,
    /// The transaction cannot commit (the coordinator aborted it on its
    /// timeout, or a write of it failed): abort, recover, redo it.
    Abortable,
    /// Anything else: a refused authorization, a broker that cannot do it.
    Fatal,
}

/// How a transactional call's error is to be handled.
pub fn classify(error: &ClientError) -> TxnOutcome {
    match error.broker_error() {
        Some(ResponseError::ProducerFenced) => TxnOutcome::Fenced,
        Some(ResponseError::TransactionalIdAuthorizationFailed) => TxnOutcome::Fatal,
        // A produce with an epoch older than the coordinator's: either the
        // coordinator aborted on timeout (recoverable) or another producer
        // took the id; `recover` tells them apart.
        Some(
            ResponseError::InvalidProducerEpoch
            | ResponseError::InvalidTxnState
            | ResponseError::TransactionAbortable
            | ResponseError::UnknownProducerId
            | ResponseError::InvalidProducerIdMapping
            | ResponseError::OutOfOrderSequenceNumber,
        ) => TxnOutcome::Abortable,
        _ if error.is_retriable() => TxnOutcome::Abortable,
        _ => TxnOutcome::Fatal,
    }
}

/// The transactional producer of one `transactional.id`.
#[derive(Debug)]
pub struct TransactionalProducer {
    client: KafkaClient,
    transactional_id: Arc<str>,
    timeout: Duration,
    identity: ProducerIdentity,
    protocol: TransactionProtocol,
    /// Partitions enrolled in the open transaction.
    enrolled: HashSet<(Arc<str>, i32)>,
}

impl TransactionalProducer {
    /// Fences every earlier producer of `transactional_id` and aborts the
    /// transaction it left open, if any (InitProducerId). `timeout` is
    /// `transaction.timeout.ms`: the coordinator aborts a transaction open
    /// longer.
    pub async fn init(
        client: &KafkaClient,
        transactional_id: &str,
        timeout: Duration,
    ) -> Result<Self> {
        let mut producer = TransactionalProducer {
            client: client.clone(),
            transactional_id: transactional_id.into(),
            timeout,
            identity: ProducerIdentity::NONE,
            protocol: TransactionProtocol::V1,
            enrolled: HashSet::new(),
        };
        producer.identity = producer.init_producer_id(None).await?;
        producer.protocol = producer.detect_protocol().await?;
        debug!(transactional_id, identity = ?producer.identity, protocol = ?producer.protocol, "transactional producer ready");
        Ok(producer)
    }

    /// After an abortable error: asks for the producer id back with the
    /// epoch last used (KIP-360). The coordinator bumps the epoch and aborts
    /// what was open, or answers PRODUCER_FENCED when another producer took
    /// the id meanwhile. Enrolments are forgotten: the next transaction
    /// starts empty.
    pub async fn recover(&mut self) -> Result<()> {
        self.enrolled.clear();
        self.identity = self.init_producer_id(Some(self.identity)).await?;
        Ok(())
    }

    pub fn transactional_id(&self) -> &str {
        &self.transactional_id
    }

    /// The producer id and epoch the open transaction's batches carry.
    pub fn identity(&self) -> ProducerIdentity {
        self.identity
    }

    pub fn protocol(&self) -> TransactionProtocol {
        self.protocol
    }

    /// Whether anything was enrolled since the last end.
    pub fn in_transaction(&self) -> bool {
        !self.enrolled.is_empty()
    }

    /// What a partition sender needs to write into this producer's
    /// transactions.
    pub(crate) fn tag(&self) -> TransactionTag {
        TransactionTag {
            transactional_id: self.transactional_id.clone(),
            max_produce_version: match self.protocol {
                TransactionProtocol::V1 => LAST_PRODUCE_VERSION_OF_PROTOCOL_1,
                TransactionProtocol::V2 => ProduceRequest::VERSIONS.max,
            },
        }
    }

    /// Enrols partitions in the open transaction, which begins with the
    /// first. Must precede the first batch produced to each in a
    /// transaction. Protocol 1 sends AddPartitionsToTxn; protocol 2 only
    /// notes them, the produce request enrols them.
    pub async fn enrol(&mut self, partitions: &[(&str, i32)]) -> Result<()> {
        let new: Vec<(&str, i32)> = partitions
            .iter()
            .copied()
            .filter(|&(topic, partition)| !self.enrolled.contains(&(topic.into(), partition)))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if self.protocol == TransactionProtocol::V1 {
            self.add_partitions(&new).await?;
        }
        self.enrolled.extend(
            new.into_iter()
                .map(|(topic, partition)| (topic.into(), partition)),
        );
        Ok(())
    }

    /// Commits (`commit`) or aborts the open transaction, after every batch
    /// of it was acknowledged. With protocol 2 the producer takes the epoch
    /// the coordinator returns. Nothing happens when nothing was enrolled:
    /// a coordinator of protocol 2 refuses to end a transaction it never
    /// saw begin.
    pub async fn end(&mut self, commit: bool) -> Result<()> {
        if self.enrolled.is_empty() {
            return Ok(());
        }
        let bumped = self.end_txn(commit).await?;
        self.enrolled.clear();
        if let Some(identity) = bumped {
            self.identity = identity;
        }
        Ok(())
    }

    /// The protocol the cluster's coordinators speak: 2 when the
    /// coordinator finalizes `transaction.version` 2 or more and speaks the
    /// produce and EndTxn versions that go with it.
    async fn detect_protocol(&self) -> Result<TransactionProtocol> {
        let conn = self.coordinator().await?;
        let versions = conn.versions();
        let speaks = |api: ApiKey, version: i16| {
            versions
                .range(api)
                .is_some_and(|range| range.max >= version)
        };
        Ok(
            if versions.feature_level(TRANSACTION_VERSION_FEATURE) >= 2
                && speaks(ApiKey::Produce, FIRST_PRODUCE_VERSION_OF_PROTOCOL_2)
                && speaks(ApiKey::EndTxn, LAST_END_TXN_VERSION_OF_PROTOCOL_1 + 1)
            {
                TransactionProtocol::V2
            } else {
                TransactionProtocol::V1
            },
        )
    }

    /// A connection to the coordinator of our transactional id.
    async fn coordinator(&self) -> Result<Arc<BrokerConnection>> {
        let admin = self.client.admin();
        let id = self
            .client
            .with_retries("find transaction coordinator", || {
                admin.lookup_coordinator(CoordinatorKey::Transaction, &self.transactional_id)
            })
            .await?;
        self.client.connection(id, Purpose::Control).await
    }

    /// Calls `call` on the coordinator until it answers something other
    /// than "not the coordinator (yet)" or "the previous transaction is
    /// still completing", within the transaction timeout.
    async fn on_coordinator<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut(Arc<BrokerConnection>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let config = self.client.config();
        let mut backoff = Backoff::new(
            CONCURRENT_TRANSACTIONS_FIRST_PAUSE,
            config.retry_backoff_max,
        );
        loop {
            let attempt = async { call(self.coordinator().await?).await }.await;
            let error = match attempt {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let again = error.is_retriable()
                || matches!(
                    error.broker_error(),
                    Some(
                        ResponseError::ConcurrentTransactions
                            | ResponseError::NotCoordinator
                            | ResponseError::CoordinatorNotAvailable
                            | ResponseError::CoordinatorLoadInProgress
                    )
                );
            if !again || tokio::time::Instant::now() >= deadline {
                return Err(error);
            }
            debug!(transactional_id = %self.transactional_id, error = %error, "{what}: trying again");
            tokio::time::sleep(backoff.next_pause()).await;
        }
    }

    async fn init_producer_id(&self, last: Option<ProducerIdentity>) -> Result<ProducerIdentity> {
        let last = last.unwrap_or(ProducerIdentity::NONE);
        let request = InitProducerIdRequest::default()
            .with_transactional_id(Some(self.txn_id()))
            .with_transaction_timeout_ms(duration_ms(self.timeout))
            .with_producer_id(ProducerId(last.producer_id))
            .with_producer_epoch(last.producer_epoch);
        self.on_coordinator("init producer id", |conn| {
            let request = request.clone();
            async move {
                let context = || format!("transactional id {}", self.transactional_id);
                request_producer_id(&conn, &request, context).await
            }
        })
        .await
    }

    async fn add_partitions(&self, partitions: &[(&str, i32)]) -> Result<()> {
        let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
        for &(topic, partition) in partitions {
            match topics.iter_mut().find(|t| t.name.as_str() == topic) {
                Some(entry) => entry.partitions.push(partition),
                None => topics.push(
                    AddPartitionsToTxnTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(vec![partition]),
                ),
            }
        }
        let request = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(self.txn_id())
            .with_v3_and_below_producer_id(ProducerId(self.identity.producer_id))
            .with_v3_and_below_producer_epoch(self.identity.producer_epoch)
            .with_v3_and_below_topics(topics);
        self.on_coordinator("add partitions to transaction", |conn| {
            let request = request.clone();
            async move {
                let version = conn.version_for(
                    ApiKey::AddPartitionsToTxn,
                    VersionRange {
                        min: 0,
                        max: LAST_CLIENT_ADD_PARTITIONS_VERSION,
                    },
                )?;
                let response: AddPartitionsToTxnResponse = conn
                    .request_at(&request, version, conn.request_timeout())
                    .await?;
                check_code(
                    ApiKey::AddPartitionsToTxn,
                    response.error_code,
                    || format!("transactional id {}", self.transactional_id),
                    None,
                )?;
                // The first partition error that is not the "not tried
                // because another failed" of the others.
                let errors = response
                    .results_by_topic_v3_and_below
                    .iter()
                    .flat_map(|t| t.results_by_partition.iter().map(move |p| (t, p)));
                let mut first_error = None;
                for (topic, partition) in errors {
                    if partition.partition_error_code == 0 {
                        continue;
                    }
                    let failed = check_code(
                        ApiKey::AddPartitionsToTxn,
                        partition.partition_error_code,
                        || {
                            format!(
                                "{}-{} in transactional id {}",
                                topic.name.as_str(),
                                partition.partition_index,
                                self.transactional_id
                            )
                        },
                        None,
                    )
                    .expect_err("a non-zero code is an error");
                    let dependent = matches!(
                        failed.broker_error(),
                        Some(ResponseError::OperationNotAttempted)
                    );
                    if first_error.is_none() || !dependent {
                        first_error = Some(failed);
                        if !dependent {
                            break;
                        }
                    }
                }
                first_error.map_or(Ok(()), Err)
            }
        })
        .await
    }

    /// EndTxn; with protocol 2, the identity the coordinator bumped to.
    async fn end_txn(&self, commit: bool) -> Result<Option<ProducerIdentity>> {
        let request = EndTxnRequest::default()
            .with_transactional_id(self.txn_id())
            .with_producer_id(ProducerId(self.identity.producer_id))
            .with_producer_epoch(self.identity.producer_epoch)
            .with_committed(commit);
        let protocol = self.protocol;
        self.on_coordinator(if commit { "commit" } else { "abort" }, |conn| {
            let request = request.clone();
            async move {
                let max = match protocol {
                    TransactionProtocol::V1 => LAST_END_TXN_VERSION_OF_PROTOCOL_1,
                    TransactionProtocol::V2 => EndTxnRequest::VERSIONS.max,
                };
                let version = conn.version_for(ApiKey::EndTxn, VersionRange { min: 0, max })?;
                let response: EndTxnResponse = conn
                    .request_at(&request, version, conn.request_timeout())
                    .await?;
                check_code(
                    ApiKey::EndTxn,
                    response.error_code,
                    || format!("transactional id {}", self.transactional_id),
                    None,
                )?;
                Ok(
                    (version > LAST_END_TXN_VERSION_OF_PROTOCOL_1).then_some(ProducerIdentity {
                        producer_id: response.producer_id.0,
                        producer_epoch: response.producer_epoch,
                    }),
                )
            }
        })
        .await
    }

    fn txn_id(&self) -> TransactionalId {
        TransactionalId(StrBytes::from_string(self.transactional_id.to_string()))
    }
}

fn duration_ms(duration: Duration) -> i32 {
    duration.as_millis().min(i32::MAX as u128) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(error: ResponseError) -> ClientError {
        ClientError::Broker {
            api: ApiKey::Produce,
            context: "t-0".into(),
            error,
            message: None,
        }
    }

    #[test]
    fn a_fenced_producer_is_told_apart_from_an_abortable_transaction() {
        assert_eq!(
            classify(&broker(ResponseError::ProducerFenced)),
            TxnOutcome::Fenced
        );
        for error in [
            ResponseError::InvalidProducerEpoch,
            ResponseError::TransactionAbortable,
            ResponseError::InvalidTxnState,
            ResponseError::NotLeaderOrFollower,
        ] {
            assert_eq!(classify(&broker(error)), TxnOutcome::Abortable, "{error:?}");
        }
        for error in [
            ResponseError::TransactionalIdAuthorizationFailed,
            ResponseError::TopicAuthorizationFailed,
        ] {
            assert_eq!(classify(&broker(error)), TxnOutcome::Fatal, "{error:?}");
        }
    }
}
