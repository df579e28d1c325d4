//! `kmirror check`'s warning about remote topics whose `max.message.bytes`
//! is below their source topic's: a batch the source accepted would be
//! refused by the target and pause its partition (see
//! `kmirror_engine::runtime::topic_limits`).

use kmirror_client::KafkaClient;
use kmirror_engine::config::mm2::FlowConfig;
use kmirror_engine::runtime::topic_limits::limits_below_source;

/// Prints one warning per remote topic of `flow` (source names `topics`)
/// whose limit is, or will be, below its source topic's. Best effort: a
/// cluster that does not describe configs (no DESCRIBE_CONFIGS) only loses
/// the warning, said once.
pub async fn warn_limits_below_source(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    topics: &[String],
) {
    match limits_below_source(flow, source, target, topics).await {
        Ok(found) => {
            for below in found {
                println!("warning: {}", below.describe(flow));
            }
        }
        Err(e) => println!(
            "warning: flow {}: cannot compare the topics' max.message.bytes: {e}",
            flow.name()
        ),
    }
}
