//! kmirror's configuration, read from MM2's own formats.
//!
//! Stages: text → [`properties::Properties`] (a faithful Java `.properties`
//! reader that keeps line numbers) → [`mm2::Mm2Config`] (typed, validated,
//! with MM2's defaults and precedence). The Kafka Connect connector JSON form
//! is translated to the same properties first ([`mm2::Mm2Config::from_connect_json`]).
//! Kafka config provider placeholders (`${file:path:key}`, `${env:NAME}`, ...)
//! are resolved between the two ([`providers`]).

pub(crate) mod client_keys;
pub mod client_settings;
mod connect;
mod error;
pub(crate) mod keys;
pub mod mm2;
pub mod properties;
pub mod providers;
mod suggest;
mod worker_keys;

pub use error::{
    ConfigError, ConfigErrorKind, ConfigWarning, JsonProblem, JsonSyntaxError, Location,
    PlaceholderProblem, UnknownKey,
};

/// Whether the value of `key` is a secret that must never be printed:
/// passwords, `sasl.jaas.config`, private keys (`*.key`, e.g. `ssl.keystore.key`)
/// and OAuth client secrets.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.ends_with("sasl.jaas.config")
        || key.ends_with(".key")
}

#[cfg(test)]
mod tests {
    use super::is_secret_key;

    #[test]
    fn secret_keys() {
        for key in [
            "ssl.keystore.password",
            "ssl.key.password",
            "ssl.truststore.password",
            "kafka-a.sasl.jaas.config",
            "sasl.jaas.config",
            "ssl.keystore.key",
            "kafka-a.consumer.ssl.keystore.key",
            "sasl.oauthbearer.client.credentials.client.secret",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "bootstrap.servers",
            "ssl.keystore.location",
            "sasl.mechanism",
            "key.converter",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }
}
