//! Checks across flows, once every pair is typed: the clusters enabled
//! flows use need bootstrap servers, and replication cycles need names that
//! let the cycle be seen.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::{Builder, ClusterAlias, ClusterConfig, FlowConfig};
use crate::config::error::{ConfigError, ConfigErrorKind, Location};

impl Builder<'_> {
    /// Every cluster an enabled flow uses needs bootstrap servers.
    pub(super) fn check_bootstrap(
        &mut self,
        clusters: &IndexMap<ClusterAlias, ClusterConfig>,
        pairs: &[FlowConfig],
    ) {
        for flow in pairs.iter().filter(|flow| flow.replication_enabled) {
            for alias in [&flow.source, &flow.target] {
                let missing = clusters
                    .get(alias)
                    .is_none_or(|cluster| cluster.bootstrap_servers.is_empty());
                if !missing {
                    continue;
                }
                let bootstrap_key = self.bootstrap_key(alias);
                let misspelled = self
                    .unknown
                    .iter()
                    .find(|unknown| unknown.suggestion.as_deref() == Some(bootstrap_key.as_str()));
                if let Some(unknown) = misspelled {
                    // The operator did set it, under a misspelled key: say that.
                    let error = ConfigError::new(
                        unknown.location.clone(),
                        unknown.key.clone(),
                        ConfigErrorKind::MisspelledBootstrap {
                            suggestion: bootstrap_key,
                            cluster_and_flow: format!(
                                "cluster \"{alias}\", used by enabled flow {},",
                                flow.name()
                            ),
                        },
                    );
                    if !self.errors.contains(&error) {
                        self.errors.push(error);
                    }
                    continue;
                }
                let enabled = self
                    .flow_setting(flow.source.as_str(), flow.target.as_str(), "enabled")
                    .map(|setting| setting.location)
                    .unwrap_or_else(|| Location::new(self.source_name, None));
                let error = ConfigError::new(
                    enabled,
                    self.bootstrap_key(alias),
                    ConfigErrorKind::MissingBootstrap {
                        alias: alias.to_string(),
                        flow: flow.name(),
                    },
                );
                if !self.errors.contains(&error) {
                    self.errors.push(error);
                }
            }
        }
    }

    /// Refuses identity naming on any replication cycle (MM2 loops forever
    /// there, KAFKA-21593), and aliases containing the separator on a cycle
    /// (their remote topics cannot be recognised, so the cycle check fails).
    pub(super) fn check_cycles(&mut self, pairs: &[FlowConfig]) {
        let enabled: Vec<&FlowConfig> = pairs
            .iter()
            .filter(|flow| flow.replication_enabled)
            .collect();
        for flow in &enabled {
            // A path back from the target to the source closes a cycle through this flow.
            let Some(path_back) = find_path(&enabled, &flow.target, &flow.source) else {
                continue;
            };
            let mut cycle: Vec<&FlowConfig> = vec![flow];
            cycle.extend(path_back.iter().copied());
            let identity = cycle.iter().find(|hop| hop.policy.is_identity());
            if let Some(identity_flow) = identity {
                let setting = self
                    .flow_setting(
                        identity_flow.source.as_str(),
                        identity_flow.target.as_str(),
                        "replication.policy.class",
                    )
                    .expect("identity is never the default");
                let kind = if cycle.len() == 2 {
                    ConfigErrorKind::IdentityOnBidirectionalPair {
                        cycle: format!("{} and {}", cycle[0].name(), cycle[1].name()),
                    }
                } else {
                    let mut names: Vec<&str> =
                        cycle.iter().map(|hop| hop.source.as_str()).collect();
                    names.push(flow.source.as_str());
                    ConfigErrorKind::IdentityOnCycle {
                        cycle: names.join("->"),
                    }
                };
                let error = setting.error(kind);
                if !self.errors.contains(&error) {
                    self.errors.push(error);
                }
                continue;
            }
            for hop in &cycle {
                let separator = hop.policy.separator();
                for alias in [&hop.source, &hop.target] {
                    if !hop.policy.recognises_alias(alias.as_str()) {
                        let error = self.error_at(
                            "clusters",
                            ConfigErrorKind::AliasContainsSeparator {
                                alias: alias.to_string(),
                                separator: separator.to_owned(),
                            },
                        );
                        if !self.errors.contains(&error) {
                            self.errors.push(error);
                        }
                    }
                }
            }
        }
    }
}

/// Flows leading from `from` to `to` over enabled flows, shortest first.
fn find_path<'f>(
    flows: &[&'f FlowConfig],
    from: &ClusterAlias,
    to: &ClusterAlias,
) -> Option<Vec<&'f FlowConfig>> {
    let mut previous: BTreeMap<&ClusterAlias, &'f FlowConfig> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(cluster) = queue.pop_front() {
        if cluster == to {
            let mut path = Vec::new();
            let mut at = to;
            while at != from {
                let hop = previous[at];
                path.push(hop);
                at = &hop.source;
            }
            path.reverse();
            return Some(path);
        }
        for flow in flows.iter().filter(|flow| &flow.source == cluster) {
            if seen.insert(&flow.target) {
                previous.insert(&flow.target, flow);
                queue.push_back(&flow.target);
            }
        }
    }
    None
}
