//! What every admin call shares: the broker timeout, the controller
//! connection, version-aware sending and the protocol name helpers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, GroupId, TopicName};
use kafka_protocol::protocol::{Message, Request, StrBytes};
use kafka_protocol::ResponseError;

use super::Admin;
use crate::cluster::Purpose;
use crate::connection::{api_key, BrokerConnection};
use crate::error::{ClientError, Result};

impl Admin {
    /// How long a broker may work on a topic operation: less than our
    /// socket timeout, so its answer (even a timeout) reaches us.
    pub(super) fn broker_timeout_ms(&self) -> i32 {
        let ours = self.client.config().connection.request_timeout;
        let theirs = ours.saturating_sub(ours / 5).max(Duration::from_millis(1));
        i32::try_from(theirs.as_millis()).unwrap_or(i32::MAX)
    }

    /// The controller for topic operations (ZooKeeper-mode brokers insist;
    /// KRaft brokers forward to the quorum themselves), else any broker.
    pub(super) async fn controller_connection(&self) -> Result<Arc<BrokerConnection>> {
        let id = self.client.metadata().controller_id;
        if id >= 0 {
            if let Ok(conn) = self.client.connection(id, Purpose::Control).await {
                return Ok(conn);
            }
        }
        self.client.any_connection().await
    }

    /// Learns the new controller when an answer says it moved.
    pub(super) async fn after_controller_answer<'r, T: 'r>(
        &self,
        results: impl IntoIterator<Item = &'r Result<T>>,
    ) {
        let moved = results
            .into_iter()
            .any(|r| matches!(r, Err(e) if e.broker_error() == Some(ResponseError::NotController)));
        if moved {
            let _ = self.client.refresh_metadata(Some(&[])).await;
        }
    }

    /// Sends the request `build` makes for the highest version both sides
    /// speak, for requests whose shape depends on the version.
    pub(super) async fn send<R: Request>(
        &self,
        conn: &BrokerConnection,
        build: impl FnOnce(i16) -> Result<R>,
    ) -> Result<(i16, R::Response)> {
        let version = conn.version_for(api_key::<R>(), <R as Message>::VERSIONS)?;
        let request = build(version)?;
        let timeout = self.client.config().connection.request_timeout;
        let response = conn.request_at(&request, version, timeout).await?;
        Ok((version, response))
    }
}

/// Partitions grouped by topic, topics and partitions in order.
pub(super) fn by_topic<'a>(
    partitions: impl Iterator<Item = (&'a str, i32)>,
) -> BTreeMap<&'a str, Vec<i32>> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        topics.entry(topic).or_default().push(partition);
    }
    for partitions in topics.values_mut() {
        partitions.sort_unstable();
        partitions.dedup();
    }
    topics
}

pub(super) fn malformed(conn: &BrokerConnection, api: ApiKey, reason: &str) -> ClientError {
    ClientError::Malformed {
        addr: conn.addr().to_string(),
        api,
        reason: reason.to_string(),
    }
}

pub(super) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub(super) fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

pub(super) fn group_id(s: &str) -> GroupId {
    GroupId(str_bytes(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_partitions_by_topic() {
        let grouped = by_topic([("b", 1), ("a", 2), ("b", 0), ("b", 1)].into_iter());
        assert_eq!(
            grouped.into_iter().collect::<Vec<_>>(),
            vec![("a", vec![2]), ("b", vec![0, 1])]
        );
    }
}
