//! Watching a cluster's topics from this process with kmirror's own client:
//! cheap enough to poll every few milliseconds without a JVM, so that "the
//! target holds every record" and "the first record is visible" are seen
//! within a few milliseconds of happening.

use std::time::Duration;

use anyhow::{Context as _, Result};
use kmirror_client::admin::OffsetSpec;
use kmirror_client::{ClientConfig, KafkaClient};

/// A client for polling one cluster.
#[derive(Debug, Clone)]
pub struct Probe {
    client: KafkaClient,
}

impl Probe {
    pub async fn connect(bootstrap: &str) -> Result<Self> {
        let mut config = ClientConfig::new(bootstrap);
        config.connection.client_id = "kmirror-bench-probe".into();
        // A poll that fails is simply repeated: do not retry for long inside.
        config.retry_deadline = Duration::from_secs(2);
        let client = tokio::time::timeout(Duration::from_secs(60), KafkaClient::connect(config))
            .await
            .context("connecting the probe timed out")?
            .with_context(|| format!("cannot connect the probe to {bootstrap}"))?;
        Ok(Probe { client })
    }

    pub fn client(&self) -> &KafkaClient {
        &self.client
    }

    /// Each partition's high watermark, or `None` while the topic does not
    /// exist or some partition has no leader yet.
    pub async fn end_offsets(&self, topic: &str) -> Option<Vec<i64>> {
        self.offsets(topic, OffsetSpec::Latest).await
    }

    /// Each partition's last stable offset (what read_committed consumers
    /// read up to), or `None` as for [`Probe::end_offsets`].
    pub async fn stable_offsets(&self, topic: &str) -> Option<Vec<i64>> {
        self.offsets(topic, OffsetSpec::LatestStable).await
    }

    async fn offsets(&self, topic: &str, spec: OffsetSpec) -> Option<Vec<i64>> {
        let metadata = self
            .client
            .refresh_metadata(Some(&[topic.to_string()]))
            .await
            .ok()?;
        let described = metadata.topics.get(topic)?;
        if described.error.is_some()
            || described.partitions.is_empty()
            || described
                .partitions
                .iter()
                .any(|p| p.leader < 0 || p.error.is_some())
        {
            return None;
        }
        let partitions: Vec<(&str, i32)> = described
            .partitions
            .iter()
            .map(|p| (topic, p.partition))
            .collect();
        let answers = self
            .client
            .admin()
            .list_offsets(&partitions, spec)
            .await
            .ok()?;
        let mut ends = Vec::with_capacity(partitions.len());
        for (_, offset) in answers {
            ends.push(offset.ok()?);
        }
        Some(ends)
    }

    /// The high watermark of every partition of `topics` that exists and has
    /// a leader; one metadata request and one ListOffsets per leader, so that
    /// thousands of partitions are polled cheaply.
    pub async fn ends_of(&self, topics: &[String]) -> Result<Vec<i64>> {
        Ok(self
            .ends_by_partition(topics)
            .await?
            .into_values()
            .collect())
    }

    /// [`Self::ends_of`], keyed by topic and partition.
    pub async fn ends_by_partition(
        &self,
        topics: &[String],
    ) -> Result<std::collections::BTreeMap<(String, i32), i64>> {
        let metadata = self.client.refresh_metadata(Some(topics)).await?;
        let mut partitions = Vec::new();
        for topic in topics {
            let Some(described) = metadata.topics.get(topic) else {
                continue;
            };
            if described.error.is_some() {
                continue;
            }
            for p in &described.partitions {
                if p.leader >= 0 && p.error.is_none() {
                    partitions.push((topic.as_str(), p.partition));
                }
            }
        }
        if partitions.is_empty() {
            return Ok(Default::default());
        }
        let answers = self
            .client
            .admin()
            .list_offsets(&partitions, OffsetSpec::Latest)
            .await?;
        Ok(answers
            .into_iter()
            .filter_map(|(key, end)| Some((key, end.ok()?)))
            .collect())
    }

    /// Sum of the topic's high watermarks (0 while it does not exist).
    pub async fn total(&self, topic: &str) -> i64 {
        self.end_offsets(topic)
            .await
            .map(|ends| ends.iter().sum())
            .unwrap_or(0)
    }

    /// Sum of the topic's last stable offsets (0 while it does not exist).
    pub async fn stable_total(&self, topic: &str) -> i64 {
        self.stable_offsets(topic)
            .await
            .map(|ends| ends.iter().sum())
            .unwrap_or(0)
    }
}
