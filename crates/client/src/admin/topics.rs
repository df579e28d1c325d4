//! Topic creation, partition growth and topic deletion: the calls that go
//! to the controller.

use std::collections::HashMap;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
};
use kafka_protocol::ResponseError;

use super::plumbing::{str_bytes, topic_name};
use super::Admin;
use crate::error::{check_code, Result};

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// -1 for the broker's `num.partitions`.
    pub partitions: i32,
    /// -1 for the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Topic-level configs, set as dynamic topic configs.
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            configs: Vec::new(),
        }
    }

    pub fn with_config(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((name.into(), value.into()));
        self
    }
}

/// How a topic creation ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateTopicOutcome {
    /// Created (or, with `validate_only`, would be created).
    Created,
    /// The broker answered TOPIC_ALREADY_EXISTS: fine for callers that only
    /// need the topic to exist, though its settings may differ from the ask.
    AlreadyExists,
}

impl Admin {
    /// Creates topics. A topic that exists already is reported as
    /// [`CreateTopicOutcome::AlreadyExists`], not as an error.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<CreateTopicOutcome>)>> {
        let specs: HashMap<&str, &NewTopic> = topics.iter().map(|t| (t.name.as_str(), t)).collect();
        let names = topics.iter().map(|t| t.name.clone()).collect();
        let specs = &specs;
        self.per_item(
            "create topics",
            ApiKey::CreateTopics,
            names,
            |batch, _| async move {
                self.create_topics_once(&batch, specs, validate_only)
                    .await
                    .into()
            },
        )
        .await
    }

    async fn create_topics_once(
        &self,
        names: &[String],
        specs: &HashMap<&str, &NewTopic>,
        validate_only: bool,
    ) -> Result<Vec<(String, Result<CreateTopicOutcome>)>> {
        let conn = self.controller_connection().await?;
        let request = CreateTopicsRequest::default()
            .with_topics(
                names
                    .iter()
                    .filter_map(|n| specs.get(n.as_str()))
                    .map(|t| {
                        CreatableTopic::default()
                            .with_name(topic_name(&t.name))
                            .with_num_partitions(t.partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(str_bytes(k))
                                            .with_value(Some(str_bytes(v)))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )
            .with_timeout_ms(self.broker_timeout_ms())
            .with_validate_only(validate_only);
        let response = conn.request(&request).await?;
        let results: Vec<_> = response
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let result = match check_code(
                    ApiKey::CreateTopics,
                    t.error_code,
                    || format!("topic {name}"),
                    t.error_message.as_ref(),
                ) {
                    Ok(()) => Ok(CreateTopicOutcome::Created),
                    Err(e) if e.broker_error() == Some(ResponseError::TopicAlreadyExists) => {
                        Ok(CreateTopicOutcome::AlreadyExists)
                    }
                    Err(e) => Err(e),
                };
                (name, result)
            })
            .collect();
        if !validate_only {
            self.note_created(&results);
        }
        self.after_controller_answer(results.iter().map(|(_, r)| r))
            .await;
        Ok(results)
    }

    /// Grows topics to `new_total` partitions each.
    pub async fn create_partitions(
        &self,
        increases: &[(impl AsRef<str>, i32)],
    ) -> Result<Vec<(String, Result<()>)>> {
        let totals: HashMap<String, i32> = increases
            .iter()
            .map(|(t, n)| (t.as_ref().to_string(), *n))
            .collect();
        let names = increases
            .iter()
            .map(|(t, _)| t.as_ref().to_string())
            .collect();
        let totals = &totals;
        self.per_item(
            "create partitions",
            ApiKey::CreatePartitions,
            names,
            |batch, _| async move { self.create_partitions_once(&batch, totals).await.into() },
        )
        .await
    }

    async fn create_partitions_once(
        &self,
        names: &[String],
        totals: &HashMap<String, i32>,
    ) -> Result<Vec<(String, Result<()>)>> {
        let conn = self.controller_connection().await?;
        let request = CreatePartitionsRequest::default()
            .with_topics(
                names
                    .iter()
                    .filter_map(|n| {
                        let count = *totals.get(n)?;
                        Some(
                            CreatePartitionsTopic::default()
                                .with_name(topic_name(n))
                                .with_count(count)
                                // The codec defaults to an empty list, which
                                // the broker reads as zero manual placements.
                                .with_assignments(None),
                        )
                    })
                    .collect(),
            )
            .with_timeout_ms(self.broker_timeout_ms());
        let response = conn.request(&request).await?;
        let results: Vec<_> = response
            .results
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let result = check_code(
                    ApiKey::CreatePartitions,
                    t.error_code,
                    || format!("topic {name}"),
                    t.error_message.as_ref(),
                );
                (name, result)
            })
            .collect();
        self.note_created(&results);
        self.after_controller_answer(results.iter().map(|(_, r)| r))
            .await;
        Ok(results)
    }

    /// Notes the topics `results` created or grew: their partitions may be
    /// unknown to the brokers for a while (see [`crate::new_topics`]).
    fn note_created<T>(&self, results: &[(String, Result<T>)]) {
        self.client.note_new_topics(
            results
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(name, _)| name.as_str()),
        );
    }

    /// Deletes topics by name.
    pub async fn delete_topics(
        &self,
        names: &[impl AsRef<str>],
    ) -> Result<Vec<(String, Result<()>)>> {
        let names = names.iter().map(|n| n.as_ref().to_string()).collect();
        self.per_item(
            "delete topics",
            ApiKey::DeleteTopics,
            names,
            |batch, _| async move { self.delete_topics_once(&batch).await.into() },
        )
        .await
    }

    async fn delete_topics_once(&self, names: &[String]) -> Result<Vec<(String, Result<()>)>> {
        let conn = self.controller_connection().await?;
        let timeout_ms = self.broker_timeout_ms();
        let (_, response) = self
            .send(&conn, |version| {
                let request = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms);
                // v6 names topics by name or id, earlier versions by name.
                Ok(if version >= 6 {
                    request.with_topics(
                        names
                            .iter()
                            .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                            .collect(),
                    )
                } else {
                    request.with_topic_names(names.iter().map(|n| topic_name(n)).collect())
                })
            })
            .await?;
        let results: Vec<_> = response
            .responses
            .into_iter()
            .filter_map(|t| {
                let name = t.name?.0.to_string();
                let result = check_code(
                    ApiKey::DeleteTopics,
                    t.error_code,
                    || format!("topic {name}"),
                    t.error_message.as_ref(),
                );
                Some((name, result))
            })
            .collect();
        self.after_controller_answer(results.iter().map(|(_, r)| r))
            .await;
        Ok(results)
    }
}
