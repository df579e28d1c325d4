//! Exactly-once settings as MM2 reads them: `exactly.once.source.support`
//! per target cluster or at the top level, the connector's transaction
//! boundary, and the producer's `transaction.timeout.ms`.

use std::time::Duration;

use kmirror_engine::config::mm2::{
    ExactlyOnce, Mm2Config, TransactionBoundary, DEFAULT_TRANSACTION_TIMEOUT, TRANSACTION_MAX_BYTES,
};

mod config_support;
use config_support::{error, parse, BASE};

fn exactly_once(config: &Mm2Config, source: &str, target: &str) -> Option<ExactlyOnce> {
    config
        .flow(source, target)
        .expect("flow enabled")
        .exactly_once
}

#[test]
fn off_unless_the_target_enables_it() {
    let config = parse(BASE);
    assert_eq!(exactly_once(&config, "kafka-a", "kafka-b"), None);
    for value in ["disabled", "preparing", "PREPARING"] {
        let config = parse(&format!("{BASE}exactly.once.source.support = {value}\n"));
        assert_eq!(exactly_once(&config, "kafka-a", "kafka-b"), None, "{value}");
    }
    assert!(
        parse(&format!("{BASE}exactly.once.source.support = enabled\n"))
            .unknown_keys()
            .is_empty()
    );
}

#[test]
fn enabled_per_target_cluster_as_mm2_documents_it() {
    let config = parse(&format!(
        "{BASE}kafka-b->kafka-a.enabled = true\nkafka-b.exactly.once.source.support = Enabled\n"
    ));
    assert_eq!(
        exactly_once(&config, "kafka-a", "kafka-b"),
        Some(ExactlyOnce {
            boundary: TransactionBoundary::Poll,
            max_bytes: TRANSACTION_MAX_BYTES,
            timeout: DEFAULT_TRANSACTION_TIMEOUT,
        })
    );
    // Only the flows into kafka-b.
    assert_eq!(exactly_once(&config, "kafka-b", "kafka-a"), None);
    assert!(
        config.unknown_keys().is_empty(),
        "{:?}",
        config.unknown_keys()
    );
    assert!(
        !config
            .unsupported_keys()
            .iter()
            .any(|k| k.contains("exactly.once")),
        "{:?}",
        config.unsupported_keys()
    );
}

#[test]
fn interval_boundary_and_transaction_timeout() {
    let config = parse(&format!(
        "{BASE}exactly.once.source.support = enabled\n\
         kafka-a->kafka-b.transaction.boundary = interval\n\
         kafka-a->kafka-b.transaction.boundary.interval.ms = 250\n\
         kafka-a->kafka-b.exactly.once.support = required\n\
         kafka-b.producer.transaction.timeout.ms = 20000\n"
    ));
    let settings = exactly_once(&config, "kafka-a", "kafka-b").expect("enabled");
    assert_eq!(
        settings.boundary,
        TransactionBoundary::Interval(Duration::from_millis(250))
    );
    assert_eq!(settings.max_duration(), Duration::from_millis(250));
    assert!(!settings.ends_when_idle());
    assert_eq!(settings.timeout, Duration::from_secs(20));
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
}

#[test]
fn bad_values_name_the_key_and_what_is_allowed() {
    let message = error(&format!("{BASE}exactly.once.source.support = maybe\n"));
    assert!(message.contains("exactly.once.source.support"), "{message}");
    assert!(
        message.contains("disabled, preparing, enabled"),
        "{message}"
    );

    let message = error(&format!(
        "{BASE}exactly.once.source.support = enabled\ntransaction.boundary = connector\n"
    ));
    assert!(message.contains("transaction.boundary"), "{message}");
    assert!(
        message.contains("defines no transaction boundaries"),
        "{message}"
    );

    let message = error(&format!("{BASE}transaction.boundary.interval.ms = 0\n"));
    assert!(
        message.contains("transaction.boundary.interval.ms"),
        "{message}"
    );
}
