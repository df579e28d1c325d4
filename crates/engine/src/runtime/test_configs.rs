//! Topic config entries as a broker describes them, for the tests of the
//! modules that read them (config sync, size limits).

use kmirror_client::admin::{ConfigEntry, ConfigSource};

/// A config entry named `name` with `value`, set at `source`, neither
/// sensitive nor read-only.
pub(crate) fn entry(name: &str, value: &str, source: ConfigSource) -> ConfigEntry {
    ConfigEntry {
        name: name.to_string(),
        value: Some(value.to_string()),
        source,
        is_sensitive: false,
        read_only: false,
    }
}
