//! Groups: coordinator lookup (and its cache), `ListGroups` and
//! `DescribeGroups`.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::{join_all, try_join_all};
use kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, FindCoordinatorRequest, ListGroupsRequest,
};
use kafka_protocol::ResponseError;

use super::batch::Answers;
use super::plumbing::{group_id, malformed, str_bytes};
use super::Admin;
use crate::cluster::Purpose;
use crate::connection::BrokerConnection;
use crate::error::{check_code, ClientError, Result};

/// The state of a consumer group (classic or KIP-848), share or streams
/// group, as brokers spell it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupState {
    Empty,
    Stable,
    PreparingRebalance,
    CompletingRebalance,
    Assigning,
    Reconciling,
    NotReady,
    Dead,
    /// Anything else, including the empty string of unknown groups.
    Other(String),
}

impl GroupState {
    pub fn parse(state: &str) -> Self {
        let normalized: String = state
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalized.as_str() {
            "empty" => GroupState::Empty,
            "stable" => GroupState::Stable,
            "preparingrebalance" => GroupState::PreparingRebalance,
            "completingrebalance" => GroupState::CompletingRebalance,
            "assigning" => GroupState::Assigning,
            "reconciling" => GroupState::Reconciling,
            "notready" => GroupState::NotReady,
            "dead" => GroupState::Dead,
            _ => GroupState::Other(state.to_string()),
        }
    }
}

/// A group as `ListGroups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    /// "consumer" for consumer groups, "" for groups that only commit
    /// offsets, "connect" for Connect workers.
    pub protocol_type: String,
    /// Known from ListGroups v4 (Kafka 2.6) on.
    pub state: Option<GroupState>,
    /// "classic", "consumer", "share" or "streams"; known from v5 on.
    pub group_type: Option<String>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// The member's subscription, in the group protocol's encoding.
    pub metadata: Bytes,
    /// The member's assignment, in the group protocol's encoding.
    pub assignment: Bytes,
}

/// A group as `DescribeGroups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    /// The assignor in use ("range", "cooperative-sticky", ...), or "".
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// What a coordinator is looked up for: `FindCoordinator`'s key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorKey {
    Group = 0,
    Transaction = 1,
}

impl Admin {
    /// The broker coordinating `group` (cached until it stops being so).
    pub async fn find_coordinator(&self, group: &str) -> Result<i32> {
        if let Some(id) = self.coordinators.lock().unwrap().get(group) {
            return Ok(*id);
        }
        let id = self
            .client
            .with_retries("find coordinator", || {
                self.lookup_coordinator(CoordinatorKey::Group, group)
            })
            .await?;
        self.coordinators
            .lock()
            .unwrap()
            .insert(group.to_string(), id);
        Ok(id)
    }

    /// One lookup of the broker coordinating `key` (a group or a
    /// transactional id), uncached and without retries.
    pub async fn lookup_coordinator(&self, kind: CoordinatorKey, key: &str) -> Result<i32> {
        let conn = self.client.any_connection().await?;
        let (version, response) = self
            .send(&conn, |version| {
                // v4 batches keys; earlier versions ask for one.
                Ok(if version >= 4 {
                    FindCoordinatorRequest::default()
                        .with_key_type(kind as i8)
                        .with_coordinator_keys(vec![str_bytes(key)])
                } else {
                    FindCoordinatorRequest::default()
                        .with_key_type(kind as i8)
                        .with_key(str_bytes(key))
                })
            })
            .await?;
        let context = || match kind {
            CoordinatorKey::Group => format!("group {key}"),
            CoordinatorKey::Transaction => format!("transactional id {key}"),
        };
        if version >= 4 {
            let coordinator = response
                .coordinators
                .into_iter()
                .find(|c| c.key.as_str() == key)
                .ok_or_else(|| {
                    malformed(&conn, ApiKey::FindCoordinator, "no coordinator for the key")
                })?;
            check_code(
                ApiKey::FindCoordinator,
                coordinator.error_code,
                context,
                coordinator.error_message.as_ref(),
            )?;
            Ok(coordinator.node_id.0)
        } else {
            check_code(
                ApiKey::FindCoordinator,
                response.error_code,
                context,
                response.error_message.as_ref(),
            )?;
            Ok(response.node_id.0)
        }
    }

    /// Drops the cached coordinator of `group`, so the next call looks it
    /// up again.
    pub(crate) fn forget_coordinator(&self, group: &str) {
        self.coordinators.lock().unwrap().remove(group);
    }

    /// A connection to the coordinator of `group`; forgets the coordinator
    /// when it cannot be reached.
    pub(super) async fn coordinator_connection(
        &self,
        group: &str,
    ) -> Result<Arc<BrokerConnection>> {
        let id = self.find_coordinator(group).await?;
        self.client
            .connection(id, Purpose::Control)
            .await
            .inspect_err(|_| self.forget_coordinator(group))
    }

    /// Forgets the coordinator of `group` when `error` says it moved.
    pub(super) fn check_coordinator<'e>(
        &self,
        group: &str,
        error: impl IntoIterator<Item = &'e ClientError>,
    ) {
        if error.into_iter().any(coordinator_moved) {
            self.forget_coordinator(group);
        }
    }

    /// Every group of the cluster: ListGroups asked from each broker, since
    /// each lists only the groups it coordinates.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let metadata = self.client.refresh_metadata(Some(&[])).await?;
        let brokers: Vec<i32> = metadata.brokers.keys().copied().collect();
        let per_broker = try_join_all(brokers.into_iter().map(|id| {
            self.client
                .with_retries("list groups", move || self.list_groups_from(id))
        }))
        .await?;
        let mut groups: Vec<GroupListing> = per_broker.into_iter().flatten().collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(groups)
    }

    async fn list_groups_from(&self, broker_id: i32) -> Result<Vec<GroupListing>> {
        let conn = self.client.connection(broker_id, Purpose::Control).await?;
        let (version, response) = self
            .send(&conn, |_| Ok(ListGroupsRequest::default()))
            .await?;
        check_code(
            ApiKey::ListGroups,
            response.error_code,
            || format!("groups of broker {broker_id}"),
            None,
        )?;
        Ok(response
            .groups
            .into_iter()
            .map(|g| GroupListing {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: (version >= 4).then(|| GroupState::parse(g.group_state.as_str())),
                group_type: (version >= 5).then(|| g.group_type.to_string()),
            })
            .collect())
    }

    /// Describes groups, each asked from its coordinator.
    pub async fn describe_groups(
        &self,
        groups: &[impl AsRef<str>],
    ) -> Result<Vec<(String, Result<GroupDescription>)>> {
        let names = groups.iter().map(|g| g.as_ref().to_string()).collect();
        self.per_item(
            "describe groups",
            ApiKey::DescribeGroups,
            names,
            |batch, _| self.describe_groups_once(batch),
        )
        .await
    }

    async fn describe_groups_once(&self, groups: Vec<String>) -> Answers<String, GroupDescription> {
        let coordinators = join_all(groups.iter().map(|g| self.find_coordinator(g))).await;
        let mut answered = Vec::new();
        let mut by_coordinator: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for (group, coordinator) in groups.into_iter().zip(coordinators) {
            match coordinator {
                Ok(id) => by_coordinator.entry(id).or_default().push(group),
                Err(e) => answered.push((group, Err(e))),
            }
        }
        let replies = join_all(
            by_coordinator
                .iter()
                .map(|(id, groups)| self.describe_groups_from(*id, groups)),
        )
        .await;
        let mut failure = None;
        for (reply, groups) in replies.into_iter().zip(by_coordinator.values()) {
            match reply {
                Ok(results) => {
                    for (group, result) in &results {
                        self.check_coordinator(group, result.as_ref().err());
                    }
                    answered.extend(results);
                }
                Err(e) => {
                    for group in groups {
                        self.check_coordinator(group, [&e]);
                    }
                    failure = failure.or(Some(e));
                }
            }
        }
        Answers { answered, failure }
    }

    async fn describe_groups_from(
        &self,
        coordinator: i32,
        groups: &[String],
    ) -> Result<Vec<(String, Result<GroupDescription>)>> {
        let conn = self
            .client
            .connection(coordinator, Purpose::Control)
            .await?;
        let request = DescribeGroupsRequest::default()
            .with_groups(groups.iter().map(|g| group_id(g)).collect());
        let response = conn.request(&request).await?;
        Ok(response
            .groups
            .into_iter()
            .map(|g| {
                let name = g.group_id.0.to_string();
                let result = check_code(
                    ApiKey::DescribeGroups,
                    g.error_code,
                    || format!("group {name}"),
                    g.error_message.as_ref(),
                )
                .map(|()| GroupDescription {
                    group_id: name.clone(),
                    state: GroupState::parse(g.group_state.as_str()),
                    protocol_type: g.protocol_type.to_string(),
                    protocol: g.protocol_data.to_string(),
                    members: g
                        .members
                        .into_iter()
                        .map(|m| MemberDescription {
                            member_id: m.member_id.to_string(),
                            group_instance_id: m.group_instance_id.map(|s| s.to_string()),
                            client_id: m.client_id.to_string(),
                            host: m.client_host.to_string(),
                            metadata: m.member_metadata,
                            assignment: m.member_assignment,
                        })
                        .collect(),
                });
                (name, result)
            })
            .collect())
    }
}

/// Whether an error means the group coordinator we asked is not (or no
/// longer) the one.
fn coordinator_moved(error: &ClientError) -> bool {
    match error {
        ClientError::Broker { error, .. } => matches!(
            error,
            ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable
        ),
        ClientError::Connect { .. }
        | ClientError::ConnectTimeout { .. }
        | ClientError::Io { .. }
        | ClientError::ConnectionClosed { .. }
        | ClientError::RequestTimeout { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_states_of_every_group_type() {
        assert_eq!(GroupState::parse("Stable"), GroupState::Stable);
        assert_eq!(
            GroupState::parse("PreparingRebalance"),
            GroupState::PreparingRebalance
        );
        assert_eq!(GroupState::parse("NOT_READY"), GroupState::NotReady);
        assert_eq!(GroupState::parse("Empty"), GroupState::Empty);
        assert_eq!(GroupState::parse(""), GroupState::Other(String::new()));
    }
}
