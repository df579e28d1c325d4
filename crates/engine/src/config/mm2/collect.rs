//! Sorting the keys of `mm2.properties` by scope (flow, cluster, top level):
//! cluster settings and client overrides are filed, unknown aliases are
//! errors, and unknown, misplaced, repeated or not honoured keys are reported
//! (see [`key_verdicts`](super::key_verdicts)).

use std::collections::BTreeMap;

use indexmap::IndexMap;

use super::key_verdicts::{self, Verdict};
use super::{Builder, ClientOverrides, ClusterAlias, ClusterConfig};
use crate::config::error::{ConfigErrorKind, UnknownKey};
use crate::config::keys;
use crate::config::suggest::closest;

/// Cluster settings and client overrides found while sorting the keys.
pub(super) struct CollectedKeys {
    pub(super) clusters: IndexMap<ClusterAlias, ClusterConfig>,
    pub(super) flow_client_overrides: BTreeMap<(String, String), ClientOverrides>,
    pub(super) top_level_client_overrides: ClientOverrides,
}

/// The parts of a key once its alias or flow prefix is recognised.
enum KeyScope<'k> {
    Flow {
        source: &'k str,
        target: &'k str,
        setting: &'k str,
    },
    Cluster {
        alias: &'k str,
        setting: &'k str,
    },
    TopLevel,
}

impl Builder<'_> {
    /// Sorts every key by scope (flow, cluster, top level): files cluster
    /// settings and client overrides, reports unknown aliases as errors, and
    /// unknown, ignored, repeated or not honoured keys.
    pub(super) fn collect_keys(&mut self, aliases: &[ClusterAlias]) -> CollectedKeys {
        let alias_list = aliases
            .iter()
            .map(ClusterAlias::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        // Longest first, so that `a.b.x` goes to alias `a.b` before `a`.
        let mut by_length: Vec<&str> = aliases.iter().map(ClusterAlias::as_str).collect();
        by_length.sort_by_key(|alias| std::cmp::Reverse(alias.len()));

        let mut collected = CollectedKeys {
            clusters: aliases
                .iter()
                .map(|alias| (alias.clone(), ClusterConfig::empty(alias.clone())))
                .collect(),
            flow_client_overrides: BTreeMap::new(),
            top_level_client_overrides: ClientOverrides::default(),
        };
        let raw = self.raw;
        for (key, entry) in raw.iter() {
            if !entry.overridden_lines.is_empty() {
                let mut lines: Vec<String> =
                    entry.overridden_lines.iter().map(u32::to_string).collect();
                lines.extend(entry.line.map(|line| line.to_string()));
                let message = format!(
                    "set more than once (lines {}); the last value wins",
                    lines.join(", ")
                );
                self.warn(key, message);
            }
            let value = entry.value.as_str();
            match classify(key, &by_length) {
                KeyScope::Flow {
                    source,
                    target,
                    setting,
                } => {
                    let unknown = [source, target]
                        .into_iter()
                        .find(|alias| !collected.clusters.contains_key(*alias));
                    let error = match unknown {
                        Some(alias) => Some(ConfigErrorKind::UnknownClusterAlias {
                            alias: alias.to_owned(),
                            clusters: alias_list.clone(),
                        }),
                        None if source == target => Some(ConfigErrorKind::FlowToItself {
                            alias: source.to_owned(),
                        }),
                        None => None,
                    };
                    match error {
                        Some(kind) => {
                            let error = self.error_at(key, kind);
                            self.errors.push(error);
                        }
                        None => {
                            let overrides = collected
                                .flow_client_overrides
                                .entry((source.to_owned(), target.to_owned()))
                                .or_default();
                            self.collect_flow_key(key, setting, value, overrides);
                        }
                    }
                }
                KeyScope::Cluster { alias, setting } => {
                    if let Some(cluster) = collected.clusters.get_mut(alias) {
                        self.collect_cluster_key(key, setting, value, cluster);
                    }
                }
                KeyScope::TopLevel => self.collect_top_level_key(
                    key,
                    value,
                    &mut collected.top_level_client_overrides,
                    aliases,
                ),
            }
        }
        collected
    }

    /// `source->target.<setting>`: typed later by [`Builder::resolve_flow`].
    fn collect_flow_key(
        &mut self,
        key: &str,
        setting: &str,
        value: &str,
        overrides: &mut ClientOverrides,
    ) {
        if !keys::is_exact_known_key(setting) {
            overrides.absorb(setting, value, self.is_from_provider(key));
        }
        let verdict = key_verdicts::flow(setting);
        if verdict == Verdict::Honoured && keys::flow_key_support(setting).is_some() {
            self.check_connector_value(key, setting, value);
        }
        self.report(key, setting, verdict);
    }

    /// `<alias>.<setting>`: connection, security, client and worker settings.
    fn collect_cluster_key(
        &mut self,
        key: &str,
        setting: &str,
        value: &str,
        cluster: &mut ClusterConfig,
    ) {
        let from_provider = self.is_from_provider(key);
        if setting == "bootstrap.servers" {
            // Resolved with the top-level fallback by `resolve_connections`.
        } else if keys::is_security_key(setting) {
            cluster.security.insert(setting, value, from_provider);
        } else if !cluster
            .client_overrides
            .absorb(setting, value, from_provider)
            && keys::flow_key_support(setting).is_none()
        {
            cluster.other.insert(setting, value, from_provider);
        }
        self.report(key, setting, key_verdicts::cluster(setting));
    }

    /// A key without alias or flow prefix.
    fn collect_top_level_key(
        &mut self,
        key: &str,
        value: &str,
        overrides: &mut ClientOverrides,
        aliases: &[ClusterAlias],
    ) {
        if !keys::is_exact_known_key(key) {
            overrides.absorb(key, value, self.is_from_provider(key));
        }
        match key_verdicts::top_level(key) {
            Verdict::Unknown { suggestion: None } if self.report_undeclared_alias(key, aliases) => {
            }
            verdict => {
                if verdict == Verdict::Honoured && keys::flow_key_support(key).is_some() {
                    self.check_connector_value(key, key, value);
                }
                self.report(key, key, verdict)
            }
        }
    }

    /// `<x>.<cluster setting>` where `x` is not in `clusters`: says so, and
    /// suggests the closest declared alias. False when `key` is not of that
    /// form.
    fn report_undeclared_alias(&mut self, key: &str, aliases: &[ClusterAlias]) -> bool {
        let split = key.match_indices('.').find_map(|(dot, _)| {
            let setting = &key[dot + 1..];
            let known = matches!(
                key_verdicts::cluster(setting),
                Verdict::Honoured | Verdict::NotHonoured | Verdict::NotApplicable
            );
            known.then_some((&key[..dot], setting))
        });
        let Some((alias, setting)) = split else {
            return false;
        };
        let alias_list = aliases
            .iter()
            .map(ClusterAlias::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut message =
            format!("unknown key, ignored: \"{alias}\" is not in clusters ({alias_list})");
        let suggestion = closest(alias, aliases.iter().map(ClusterAlias::as_str))
            .map(|closest| format!("{closest}.{setting}"));
        if let Some(suggestion) = &suggestion {
            message.push_str(&format!("; did you mean \"{suggestion}\"?"));
        }
        self.unknown.push(UnknownKey {
            location: self.location(key),
            key: self.display_key(key),
            suggestion,
        });
        self.warn(key, message);
        true
    }

    /// Reports `key` (as stored) by its verdict; `setting` is the part of the
    /// key the verdict judged, after the alias or flow prefix.
    fn report(&mut self, key: &str, setting: &str, verdict: Verdict) {
        match verdict {
            // Listed by `Mm2Config::not_applicable_client_keys`.
            Verdict::Honoured | Verdict::NotApplicable => {}
            Verdict::NotHonoured => self.not_honoured(key),
            Verdict::Misplaced(message) => self.warn(key, message),
            Verdict::Unknown { suggestion } => {
                let written = self.display_key(key);
                // Keep the prefix the operator wrote (alias, flow, or
                // Connect's `source.cluster.`).
                let suggestion = suggestion.map(|suggestion| match written.strip_suffix(setting) {
                    Some(prefix) => format!("{prefix}{suggestion}"),
                    None => suggestion,
                });
                let unknown = UnknownKey {
                    location: self.location(key),
                    key: written,
                    suggestion,
                };
                self.warn(key, unknown.message());
                self.unknown.push(unknown);
            }
        }
    }
}

/// Recognises `source->target.<setting>` and `<alias>.<setting>` keys. Aliases
/// may contain `.`, so the longest declared alias that fits wins; an undeclared
/// alias in a flow key runs to the first `.`.
fn classify<'k>(key: &'k str, aliases_longest_first: &[&str]) -> KeyScope<'k> {
    if let Some((source, rest)) = key.split_once("->") {
        let known = aliases_longest_first.iter().find_map(|alias| {
            rest.strip_prefix(alias)
                .and_then(|after| after.strip_prefix('.'))
                .map(|setting| (&rest[..alias.len()], setting))
        });
        let (target, setting) = known.unwrap_or_else(|| rest.split_once('.').unwrap_or((rest, "")));
        return KeyScope::Flow {
            source,
            target,
            setting,
        };
    }
    for alias in aliases_longest_first {
        if let Some(setting) = key
            .strip_prefix(alias)
            .and_then(|after| after.strip_prefix('.'))
        {
            return KeyScope::Cluster {
                alias: &key[..alias.len()],
                setting,
            };
        }
    }
    KeyScope::TopLevel
}
