//! Set-up shared by the client's tests against a real broker.

use std::time::Duration;

use kmirror_client::{ClientConfig, KafkaClient};
use kmirror_testbed::{random_topic_name, shared_cluster};

/// Bound on any wait.
pub const WAIT: Duration = Duration::from_secs(60);

/// A new topic of `partitions` on the shared cluster `kafka-a`, its
/// bootstrap address and a client connected to it.
pub async fn topic_and_client(prefix: &str, partitions: i32) -> (String, String, KafkaClient) {
    let topic = random_topic_name(prefix);
    let bootstrap = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            let cluster = shared_cluster("kafka-a");
            cluster.create_topic(&topic, partitions, 1, &[]);
            cluster.bootstrap()
        })
        .await
        .unwrap()
    };
    let client = tokio::time::timeout(WAIT, KafkaClient::connect(ClientConfig::new(&bootstrap)))
        .await
        .expect("connect within the bound")
        .expect("connect");
    (topic, bootstrap, client)
}
