//! Topic and broker configs: `DescribeConfigs` and
//! `IncrementalAlterConfigs`.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, IncrementalAlterConfigsRequest};

use super::plumbing::{malformed, str_bytes};
use super::Admin;
use crate::cluster::Purpose;
use crate::connection::BrokerConnection;
use crate::error::{check_code, Result};

/// Where a config value comes from (`DescribeConfigs` `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigSource {
    Unknown,
    /// Set on the topic itself.
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    /// From the broker's properties file.
    StaticBroker,
    /// Kafka's built-in default.
    Default,
    DynamicBrokerLogger,
    ClientMetrics,
    Group,
    /// A code this version of kmirror does not know.
    Other(i8),
}

impl ConfigSource {
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => ConfigSource::Unknown,
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            7 => ConfigSource::ClientMetrics,
            8 => ConfigSource::Group,
            other => ConfigSource::Other(other),
        }
    }
}

/// One config of a topic or broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` when unset or sensitive.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub is_sensitive: bool,
    pub read_only: bool,
}

/// One change of an incremental config alteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String),
    /// Back to the inherited value.
    Delete,
    /// Adds to a list-valued config.
    Append(String),
    /// Removes from a list-valued config.
    Subtract(String),
}

impl ConfigOp {
    fn code(&self) -> i8 {
        match self {
            ConfigOp::Set(_) => 0,
            ConfigOp::Delete => 1,
            ConfigOp::Append(_) => 2,
            ConfigOp::Subtract(_) => 3,
        }
    }

    fn value(&self) -> Option<&str> {
        match self {
            ConfigOp::Set(v) | ConfigOp::Append(v) | ConfigOp::Subtract(v) => Some(v),
            ConfigOp::Delete => None,
        }
    }
}

/// `DescribeConfigs` resource types.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

impl Admin {
    /// Every config of each topic, with where its value comes from.
    pub async fn describe_topic_configs(
        &self,
        topics: &[impl AsRef<str>],
    ) -> Result<BTreeMap<String, Result<Vec<ConfigEntry>>>> {
        let names = topics.iter().map(|n| n.as_ref().to_string()).collect();
        let results = self
            .per_item(
                "describe topic configs",
                ApiKey::DescribeConfigs,
                names,
                |batch, _| async move {
                    async {
                        let conn = self.client.any_connection().await?;
                        self.describe_configs_once(&conn, RESOURCE_TOPIC, &batch)
                            .await
                    }
                    .await
                    .into()
                },
            )
            .await?;
        Ok(results.into_iter().collect())
    }

    /// Every config of one broker as that broker sees it (static configs
    /// are only known to the broker itself).
    pub async fn describe_broker_configs(&self, broker_id: i32) -> Result<Vec<ConfigEntry>> {
        let name = broker_id.to_string();
        self.client
            .with_retries("describe broker configs", || async {
                let conn = self.client.connection(broker_id, Purpose::Control).await?;
                let mut results = self
                    .describe_configs_once(&conn, RESOURCE_BROKER, std::slice::from_ref(&name))
                    .await?;
                match results.pop() {
                    Some((_, result)) => result,
                    None => Err(malformed(&conn, ApiKey::DescribeConfigs, "no result")),
                }
            })
            .await
    }

    async fn describe_configs_once(
        &self,
        conn: &BrokerConnection,
        resource_type: i8,
        names: &[String],
    ) -> Result<Vec<(String, Result<Vec<ConfigEntry>>)>> {
        let request = DescribeConfigsRequest::default().with_resources(
            names
                .iter()
                .map(|n| {
                    DescribeConfigsResource::default()
                        .with_resource_type(resource_type)
                        .with_resource_name(str_bytes(n))
                        .with_configuration_keys(None)
                })
                .collect(),
        );
        let response = conn.request(&request).await?;
        let kind = if resource_type == RESOURCE_TOPIC {
            "topic"
        } else {
            "broker"
        };
        Ok(response
            .results
            .into_iter()
            .map(|r| {
                let name = r.resource_name.to_string();
                let result = check_code(
                    ApiKey::DescribeConfigs,
                    r.error_code,
                    || format!("{kind} {name}"),
                    r.error_message.as_ref(),
                )
                .map(|()| r.configs.into_iter().map(config_entry).collect());
                (name, result)
            })
            .collect())
    }

    /// Changes some configs of a topic, leaving the others as they are.
    pub async fn incremental_alter_topic_configs(
        &self,
        topic: &str,
        ops: &[(impl AsRef<str>, ConfigOp)],
    ) -> Result<()> {
        let configs: Vec<AlterableConfig> = ops
            .iter()
            .map(|(name, op)| {
                AlterableConfig::default()
                    .with_name(str_bytes(name.as_ref()))
                    .with_config_operation(op.code())
                    .with_value(op.value().map(str_bytes))
            })
            .collect();
        let configs = &configs;
        let results = self
            .per_item(
                "alter topic configs",
                ApiKey::IncrementalAlterConfigs,
                vec![topic.to_string()],
                |_, _| async move {
                    async {
                        let conn = self.client.any_connection().await?;
                        let request =
                            IncrementalAlterConfigsRequest::default().with_resources(vec![
                                AlterConfigsResource::default()
                                    .with_resource_type(RESOURCE_TOPIC)
                                    .with_resource_name(str_bytes(topic))
                                    .with_configs(configs.clone()),
                            ]);
                        let response = conn.request(&request).await?;
                        Ok(response
                            .responses
                            .into_iter()
                            .map(|r| {
                                let name = r.resource_name.to_string();
                                let result = check_code(
                                    ApiKey::IncrementalAlterConfigs,
                                    r.error_code,
                                    || format!("topic {name}"),
                                    r.error_message.as_ref(),
                                );
                                (name, result)
                            })
                            .collect())
                    }
                    .await
                    .into()
                },
            )
            .await?;
        results
            .into_iter()
            .next()
            .map(|(_, result)| result)
            .unwrap_or(Ok(()))
    }
}

fn config_entry(c: DescribeConfigsResourceResult) -> ConfigEntry {
    ConfigEntry {
        name: c.name.to_string(),
        value: c.value.map(|v| v.to_string()),
        source: ConfigSource::from_code(c.config_source),
        is_sensitive: c.is_sensitive,
        read_only: c.read_only,
    }
}
