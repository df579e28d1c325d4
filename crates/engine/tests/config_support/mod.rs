//! What the config tests share: a minimal two-cluster file and the two ways
//! to read one (it parses, or it fails with one line).

use kmirror_engine::config::mm2::Mm2Config;

/// Two clusters and one enabled flow, `kafka-a->kafka-b`.
pub const BASE: &str = "\
clusters = kafka-a, kafka-b
kafka-a.bootstrap.servers = a1:9092
kafka-b.bootstrap.servers = b1:9092
kafka-a->kafka-b.enabled = true
";

/// `text` read as `mm2.properties`; panics with the error if it fails.
pub fn parse(text: &str) -> Mm2Config {
    Mm2Config::parse(text, "mm2.properties").unwrap_or_else(|e| panic!("{e}"))
}

/// The error `text` fails with, checked to be one line.
pub fn error(text: &str) -> String {
    match Mm2Config::parse(text, "mm2.properties") {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => {
            let line = error.to_string();
            assert!(!line.contains('\n'), "one line: {line}");
            line
        }
    }
}
