//! MM2's `--clusters`: run only the flows into some clusters, so that each
//! region runs its replicator next to its own cluster.

use super::{ClusterAlias, Mm2Config};
use crate::config::error::{ConfigError, ConfigErrorKind, Location};

impl Mm2Config {
    /// The config restricted to the pairs whose target is one of `targets`
    /// (MM2's `connect-mirror-maker.sh mm2.properties --clusters kafka-b`).
    /// An alias `clusters` does not declare is an error.
    pub fn only_targets(&self, targets: &[String]) -> Result<Mm2Config, ConfigError> {
        let mut wanted = Vec::new();
        for alias in targets {
            let alias = alias.trim();
            if !self.clusters.contains_key(alias) {
                return Err(ConfigError::new(
                    Location::new(self.source_name.clone(), None),
                    "--clusters",
                    ConfigErrorKind::UnknownClusterAlias {
                        alias: alias.to_string(),
                        clusters: self
                            .clusters
                            .keys()
                            .map(ClusterAlias::as_str)
                            .collect::<Vec<_>>()
                            .join(", "),
                    },
                ));
            }
            wanted.push(ClusterAlias::new(alias));
        }
        let mut restricted = self.clone();
        restricted
            .pairs
            .retain(|pair| wanted.contains(&pair.target));
        Ok(restricted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Mm2Config {
        Mm2Config::parse(
            "clusters = kafka-a, kafka-b\n\
             kafka-a.bootstrap.servers = a:9092\n\
             kafka-b.bootstrap.servers = b:9092\n\
             kafka-a->kafka-b.enabled = true\n\
             kafka-b->kafka-a.enabled = true\n",
            "mm2.properties",
        )
        .unwrap()
    }

    #[test]
    fn keeps_only_the_flows_into_the_listed_clusters() {
        let only_b = config().only_targets(&["kafka-b".to_string()]).unwrap();
        let flows: Vec<String> = only_b.flows().map(|f| f.name()).collect();
        assert_eq!(flows, ["kafka-a->kafka-b"]);
        // Heartbeats go only into the listed cluster too.
        assert!(only_b
            .heartbeat_pairs()
            .all(|pair| pair.target.as_str() == "kafka-b"));
        let both = config()
            .only_targets(&["kafka-a".to_string(), "kafka-b".to_string()])
            .unwrap();
        assert_eq!(both.flows().count(), 2);
    }

    #[test]
    fn an_undeclared_alias_is_an_error() {
        let error = config().only_targets(&["kafka-c".to_string()]).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("kafka-c") && text.contains("--clusters"),
            "{text}"
        );
    }
}
