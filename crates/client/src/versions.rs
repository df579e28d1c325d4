//! ApiVersions negotiation: the highest version both sides speak, per API.

use std::collections::HashMap;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

/// Highest versions kmirror uses for some APIs, below what the codec knows,
/// because later versions change the wire shape in ways our callers do not
/// handle: Fetch v13+ and Produce v13+ address topics by id, not by name.
/// (The fetch session speaks Fetch v13+ itself, through
/// [`BrokerVersions::negotiate_within`].)
pub(crate) fn version_cap(api: ApiKey) -> Option<i16> {
    match api {
        ApiKey::Fetch | ApiKey::Produce => Some(12),
        _ => None,
    }
}

/// The versions a broker advertised, per API key, and the cluster's
/// finalized feature levels as that broker knew them (KIP-584).
#[derive(Debug, Clone, Default)]
pub struct BrokerVersions {
    ranges: HashMap<i16, VersionRange>,
    features: HashMap<String, i16>,
}

impl BrokerVersions {
    pub(crate) fn new(ranges: impl IntoIterator<Item = (i16, VersionRange)>) -> Self {
        BrokerVersions {
            ranges: ranges.into_iter().collect(),
            features: HashMap::new(),
        }
    }

    /// The same, with the finalized feature levels (`transaction.version`,
    /// `metadata.version`, ...) the broker reported.
    pub(crate) fn with_features(
        mut self,
        features: impl IntoIterator<Item = (String, i16)>,
    ) -> Self {
        self.features = features.into_iter().collect();
        self
    }

    /// The finalized level of a cluster feature; 0 when the broker reports
    /// none (a feature not finalized, or a broker before KIP-584).
    pub fn feature_level(&self, feature: &str) -> i16 {
        self.features.get(feature).copied().unwrap_or(0)
    }

    /// The broker's advertised range for an API, if any.
    pub fn range(&self, api: ApiKey) -> Option<VersionRange> {
        self.ranges.get(&(api as i16)).copied()
    }

    /// The highest version both the broker and kmirror speak for `api`, where
    /// kmirror speaks `ours` (the codec's range), capped by [`version_cap`].
    pub fn negotiate(&self, api: ApiKey, ours: VersionRange) -> Result<i16, String> {
        let mut ours = ours;
        if let Some(cap) = version_cap(api) {
            ours.max = ours.max.min(cap);
        }
        self.negotiate_within(api, ours)
    }

    /// The highest version both speak within `ours`, without
    /// [`version_cap`]: for callers that handle the shape the cap avoids
    /// (a fetch session naming topics by id).
    pub fn negotiate_within(&self, api: ApiKey, ours: VersionRange) -> Result<i16, String> {
        let theirs = self
            .range(api)
            .ok_or_else(|| "the broker does not advertise it".to_string())?;
        let common = ours.intersect(&theirs);
        if common.is_empty() {
            Err(format!(
                "broker speaks v{}..=v{}, kmirror v{}..=v{}",
                theirs.min, theirs.max, ours.min, ours.max
            ))
        } else {
            Ok(common.max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: i16, max: i16) -> VersionRange {
        VersionRange { min, max }
    }

    #[test]
    fn picks_highest_common_version() {
        let v = BrokerVersions::new([(ApiKey::Metadata as i16, range(0, 9))]);
        assert_eq!(v.negotiate(ApiKey::Metadata, range(0, 13)), Ok(9));
        let v = BrokerVersions::new([(ApiKey::Metadata as i16, range(0, 20))]);
        assert_eq!(v.negotiate(ApiKey::Metadata, range(0, 13)), Ok(13));
    }

    #[test]
    fn caps_fetch_and_produce_to_topic_name_versions() {
        let v = BrokerVersions::new([
            (ApiKey::Fetch as i16, range(4, 17)),
            (ApiKey::Produce as i16, range(3, 13)),
        ]);
        assert_eq!(v.negotiate(ApiKey::Fetch, range(4, 18)), Ok(12));
        assert_eq!(v.negotiate(ApiKey::Produce, range(3, 13)), Ok(12));
    }

    #[test]
    fn refuses_disjoint_or_missing_ranges() {
        let v = BrokerVersions::new([(ApiKey::Fetch as i16, range(0, 3))]);
        assert!(v.negotiate(ApiKey::Fetch, range(4, 18)).is_err());
        assert!(v.negotiate(ApiKey::Produce, range(3, 13)).is_err());
    }
}
