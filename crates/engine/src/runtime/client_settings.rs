//! The honoured client settings of a flow side ([`ClientSettings`]) applied
//! to kmirror's client: connection, retries, produce and fetch settings.
//! The config layer types and validates them; this is the one place that
//! knows which field of the client each one sets.

use kmirror_client::fetch::FetchParams;
use kmirror_client::ClientConfig;

use crate::config::client_settings::{Acks, ClientSettings};

/// Sets the connection, retry and produce fields of `config` that
/// `settings` sets; the others keep their defaults.
pub(crate) fn apply_to_client(settings: &ClientSettings, config: &mut ClientConfig) {
    if let Some(client_id) = &settings.client_id {
        config.connection.client_id.clone_from(client_id);
    }
    if let Some(timeout) = settings.request_timeout {
        config.connection.request_timeout = timeout;
    }
    if let Some(timeout) = settings.connect_timeout {
        config.connection.connect_timeout = timeout;
    }
    if let Some(timeout) = settings.connect_timeout_max {
        config.connect_timeout_max = timeout;
    }
    if let Some(max_idle) = settings.connections_max_idle {
        config.connection.max_idle = max_idle;
    }
    if let Some(bytes) = settings.receive_buffer_bytes {
        config.connection.socket.receive_buffer_bytes = bytes;
    }
    if let Some(bytes) = settings.send_buffer_bytes {
        config.connection.socket.send_buffer_bytes = bytes;
    }
    if let Some(backoff) = settings.retry_backoff {
        config.retry_backoff = backoff;
    }
    if let Some(backoff) = settings.retry_backoff_max {
        config.retry_backoff_max = backoff;
    }
    if let Some(backoff) = settings.reconnect_backoff {
        config.reconnect_backoff = backoff;
    }
    if let Some(backoff) = settings.reconnect_backoff_max {
        config.reconnect_backoff_max = backoff;
    }
    if let Some(age) = settings.metadata_max_age {
        config.metadata_max_age = age;
    }
    config.produce.acks = match settings.acks {
        Acks::All => -1,
        Acks::Leader => 1,
    };
    if let Some(timeout) = settings.delivery_timeout {
        config.produce.delivery_timeout = timeout;
    }
    if let Some(count) = settings.max_in_flight {
        config.produce.max_in_flight = count;
    }
}

/// The fetch settings of a flow's source side: `base` (kmirror's tuning)
/// with `fetch.max.wait.ms`, `fetch.min.bytes`, `fetch.max.bytes` and
/// `client.rack` where set.
pub(crate) fn fetch_params(base: &FetchParams, settings: &ClientSettings) -> FetchParams {
    FetchParams {
        max_wait: settings.fetch_max_wait.unwrap_or(base.max_wait),
        min_bytes: settings.fetch_min_bytes.unwrap_or(base.min_bytes),
        max_bytes: settings.fetch_max_bytes.unwrap_or(base.max_bytes),
        isolation: base.isolation,
        rack: settings.client_rack.clone().or_else(|| base.rack.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::mm2::Mm2Config;

    fn settings(extra: &str) -> crate::config::client_settings::FlowClientSettings {
        let config = Mm2Config::parse(
            &format!(
                "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\nb.bootstrap.servers = 127.0.0.1:2\na->b.enabled = true\n{extra}"
            ),
            "mm2.properties",
        )
        .unwrap();
        config.flow("a", "b").unwrap().client_settings.clone()
    }

    #[test]
    fn every_setting_reaches_the_client() {
        let flow = settings(
            "b.producer.client.id = writer\n\
             b.producer.request.timeout.ms = 7000\n\
             b.producer.socket.connection.setup.timeout.ms = 3000\n\
             b.producer.socket.connection.setup.timeout.max.ms = 9000\n\
             b.producer.connections.max.idle.ms = 60000\n\
             b.producer.receive.buffer.bytes = 131072\n\
             b.producer.send.buffer.bytes = -1\n\
             b.producer.retry.backoff.ms = 50\n\
             b.producer.retry.backoff.max.ms = 500\n\
             b.producer.reconnect.backoff.ms = 20\n\
             b.producer.reconnect.backoff.max.ms = 200\n\
             b.producer.metadata.max.age.ms = 10000\n\
             b.producer.acks = 1\n\
             b.producer.delivery.timeout.ms = 30000\n\
             b.producer.max.in.flight.requests.per.connection = 2\n",
        );
        let mut config = ClientConfig::new("127.0.0.1:2");
        apply_to_client(&flow.producer, &mut config);
        assert_eq!(config.connection.client_id, "writer");
        assert_eq!(config.connection.request_timeout, Duration::from_secs(7));
        assert_eq!(config.connection.connect_timeout, Duration::from_secs(3));
        assert_eq!(config.connect_timeout_max, Duration::from_secs(9));
        assert_eq!(config.connection.max_idle, Some(Duration::from_secs(60)));
        assert_eq!(config.connection.socket.receive_buffer_bytes, Some(131072));
        assert_eq!(config.connection.socket.send_buffer_bytes, None);
        assert_eq!(config.retry_backoff, Duration::from_millis(50));
        assert_eq!(config.retry_backoff_max, Duration::from_millis(500));
        assert_eq!(config.reconnect_backoff, Duration::from_millis(20));
        assert_eq!(config.reconnect_backoff_max, Duration::from_millis(200));
        assert_eq!(config.metadata_max_age, Duration::from_secs(10));
        assert_eq!(config.produce.acks, 1);
        assert_eq!(config.produce.delivery_timeout, Duration::from_secs(30));
        assert_eq!(config.produce.max_in_flight, 2);
    }

    #[test]
    fn fetch_settings_override_the_tuning() {
        let flow = settings(
            "a.consumer.fetch.max.wait.ms = 250\n\
             a.consumer.fetch.min.bytes = 1024\n\
             a.consumer.fetch.max.bytes = 2048\n\
             a.consumer.client.rack = eu-1a\n",
        );
        let params = fetch_params(&FetchParams::default(), &flow.consumer);
        assert_eq!(params.max_wait, Duration::from_millis(250));
        assert_eq!(params.min_bytes, 1024);
        assert_eq!(params.max_bytes, 2048);
        assert_eq!(params.rack.as_deref(), Some("eu-1a"));
        let untouched = fetch_params(&FetchParams::default(), &flow.producer);
        assert_eq!(untouched.max_bytes, FetchParams::default().max_bytes);
        assert_eq!(untouched.rack, None);
    }
}
