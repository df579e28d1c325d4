//! Client settings against a real broker (the test bed's shared single-node
//! cluster): `connections.max.idle.ms`, socket buffer sizes and
//! `metadata.max.age.ms`.

use std::sync::Arc;
use std::time::Duration;

use kmirror_client::transport::SocketOptions;
use kmirror_client::{ClientConfig, KafkaClient, Purpose};
use kmirror_testbed::{random_topic_name, shared_cluster, KafkaCluster};

/// Bound on any wait.
const WAIT: Duration = Duration::from_secs(60);

/// Runs a blocking test-bed call off the runtime's worker threads.
async fn testbed<T: Send + 'static>(
    call: impl FnOnce(&'static KafkaCluster) -> T + Send + 'static,
) -> T {
    tokio::time::timeout(
        Duration::from_secs(300),
        tokio::task::spawn_blocking(move || call(shared_cluster("kafka-a"))),
    )
    .await
    .expect("test bed call within 300 s")
    .expect("test bed call does not panic")
}

async fn connect(configure: impl FnOnce(&mut ClientConfig)) -> KafkaClient {
    let bootstrap = testbed(|c| c.bootstrap()).await;
    let mut config = ClientConfig::new(&bootstrap);
    configure(&mut config);
    tokio::time::timeout(WAIT, KafkaClient::connect(config))
        .await
        .expect("connect within the bound")
        .expect("connect to the test cluster")
}

#[tokio::test]
async fn an_idle_connection_is_replaced_and_kept_without_the_setting() {
    let idle = Duration::from_millis(300);
    let client = connect(|config| config.connection.max_idle = Some(idle)).await;
    let broker = *client.metadata().brokers.keys().next().unwrap();
    let first = client.connection(broker, Purpose::Control).await.unwrap();
    let again = client.connection(broker, Purpose::Control).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "a fresh connection is reused");
    // Idle for longer than the limit: the next use gets a new connection.
    tokio::time::sleep(idle * 2).await;
    let after_idle = client.connection(broker, Purpose::Control).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &after_idle));

    // Without the setting, connections are kept however long they idle.
    let keeping = connect(|config| config.connection.max_idle = None).await;
    let first = keeping.connection(broker, Purpose::Control).await.unwrap();
    tokio::time::sleep(idle * 2).await;
    let later = keeping.connection(broker, Purpose::Control).await.unwrap();
    assert!(Arc::ptr_eq(&first, &later));
}

/// The sizes themselves are checked in `transport`'s unit tests.
#[tokio::test]
async fn a_client_with_socket_buffer_sizes_talks_to_the_broker() {
    let client = connect(|config| {
        config.connection.socket = SocketOptions {
            send_buffer_bytes: Some(32 * 1024),
            receive_buffer_bytes: Some(64 * 1024),
        }
    })
    .await;
    let metadata = client.refresh_metadata(Some(&[])).await.unwrap();
    assert!(!metadata.brokers.is_empty());
}

#[tokio::test]
async fn metadata_is_refreshed_every_max_age_without_a_failure() {
    let topic = random_topic_name("max-age");
    {
        let topic = topic.clone();
        testbed(move |c| c.create_topic(&topic, 1, 1, &[])).await;
    }
    let client = connect(|config| config.metadata_max_age = Duration::from_millis(200)).await;
    assert_eq!(
        client
            .topic_metadata(&topic)
            .await
            .unwrap()
            .partitions
            .len(),
        1
    );
    {
        let topic = topic.clone();
        testbed(move |c| c.create_partitions(&topic, 3)).await;
    }
    // Nothing here asks for metadata: only the periodic refresh can see it.
    tokio::time::timeout(WAIT, async {
        while client.metadata().topics[&topic].partitions.len() != 3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the new partitions seen within the bound");
}
