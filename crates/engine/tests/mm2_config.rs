//! MM2 config: the users' example files, MM2's defaults and precedence, and
//! every validation error (each must name file, line and key on one line).

use kmirror_engine::config::mm2::{
    ClientRole, ConnectorClass, FlowConfig, Mm2Config, OffsetSyncsTopicLocation,
};
use kmirror_engine::config::properties::Properties;
use kmirror_engine::config::ConfigErrorKind;
use kmirror_engine::filter::should_replicate_topic;
use kmirror_engine::policy::ReplicationPolicy;

mod config_support;
use config_support::{error, parse, BASE};

fn example(name: &str) -> String {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn a_to_b(config: &Mm2Config) -> &FlowConfig {
    config
        .flow("kafka-a", "kafka-b")
        .expect("kafka-a->kafka-b enabled")
}

#[test]
fn the_users_properties_file() {
    let config =
        Mm2Config::parse(&example("mm2-config.properties"), "mm2-config.properties").unwrap();
    let aliases: Vec<&str> = config.clusters().map(|c| c.alias.as_str()).collect();
    assert_eq!(aliases, ["kafka-a", "kafka-b"]);
    assert_eq!(
        config.cluster("kafka-a").unwrap().bootstrap_servers,
        ["kafka-a-1:9092", "kafka-a-2:9092", "kafka-a-3:9092"]
    );
    assert_eq!(
        config.cluster("kafka-b").unwrap().bootstrap_servers,
        ["kafka-b-1:9092", "kafka-b-2:9092", "kafka-b-3:9092"]
    );
    let flows: Vec<String> = config.flows().map(FlowConfig::name).collect();
    assert_eq!(flows, ["kafka-a->kafka-b", "kafka-b->kafka-a"]);

    for flow in config.flows() {
        assert_eq!(
            flow.topics.include.patterns(),
            ["payment-events", "user-actions"]
        );
        assert!(flow.topics.should_replicate_topic("payment-events"));
        assert!(!flow.topics.should_replicate_topic("orders"));
        assert_eq!(flow.groups.include.patterns(), [".*"]);
        assert!(flow.sync_topic_configs.interval().is_some());
        assert_eq!(flow.sync_group_offsets.interval(), None);
        assert_eq!(flow.emit_heartbeats.interval_seconds, 5);
        assert_eq!(
            flow.emit_heartbeats.interval(),
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(flow.replication_factor, 3);
        assert_eq!(flow.checkpoints_topic_replication_factor, 3);
        assert_eq!(flow.heartbeats_topic_replication_factor, 3);
        assert_eq!(flow.offset_syncs_topic_replication_factor, 3);
        assert_eq!(flow.tasks_max, 4);
        // Not in the file: MM2's defaults.
        assert_eq!(flow.refresh_topics.interval_seconds, 600);
        assert_eq!(flow.emit_checkpoints.interval_seconds, 60);
        assert_eq!(flow.offset_lag_max, 100);
        assert_eq!(flow.policy, ReplicationPolicy::default());
    }
    let flow = a_to_b(&config);
    assert_eq!(
        flow.remote_topic("payment-events"),
        "kafka-a.payment-events"
    );
    assert_eq!(flow.checkpoints_topic(), "kafka-a.checkpoints.internal");
    assert_eq!(
        flow.offset_syncs_topic(),
        "mm2-offset-syncs.kafka-b.internal"
    );
    assert_eq!(flow.offset_syncs_cluster().as_str(), "kafka-a");
    assert!(should_replicate_topic("heartbeats", flow));
    assert!(!should_replicate_topic("kafka-b.payment-events", flow));

    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    // Every key of the users' file is honoured, ACL sync (on by default,
    // as in MM2) included.
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
    assert_eq!(
        flow.sync_topic_acls.interval(),
        Some(std::time::Duration::from_secs(600))
    );
    assert!(config.connector().is_none());
}

#[test]
fn the_users_connector_json_matches_the_properties_file() {
    let from_json = Mm2Config::from_connect_json(&example("mm2-connector.json")).unwrap();
    let from_properties =
        Mm2Config::parse(&example("mm2-config.properties"), "mm2-config.properties").unwrap();
    let connector = from_json.connector().unwrap();
    assert_eq!(connector.class, ConnectorClass::Source);
    assert_eq!(
        connector.name.as_deref(),
        Some("mm2-bidirectional-connector")
    );
    let json_flows: Vec<&FlowConfig> = from_json.flows().collect();
    let properties_flows: Vec<&FlowConfig> = from_properties.flows().collect();
    assert_eq!(json_flows, properties_flows);
    assert_eq!(
        from_json.clusters().collect::<Vec<_>>(),
        from_properties.clusters().collect::<Vec<_>>()
    );
    assert!(
        from_json.warnings().is_empty(),
        "{:?}",
        from_json.warnings()
    );
}

#[test]
fn mm2_defaults() {
    let config = parse(BASE);
    let flow = a_to_b(&config);
    assert!(flow.replication_enabled);
    assert_eq!(flow.topics.include.patterns(), [".*"]);
    assert_eq!(
        flow.topics.exclude.patterns(),
        [r".*[\-\.]internal", r".*\.replica", "__.*"]
    );
    assert_eq!(flow.groups.include.patterns(), [".*"]);
    assert_eq!(
        flow.groups.exclude.patterns(),
        ["console-consumer-.*", "connect-.*", "__.*"]
    );
    assert!(!flow
        .config_properties
        .should_replicate_config("min.insync.replicas"));
    assert!(flow
        .config_properties
        .should_replicate_config("retention.ms"));
    assert_eq!(flow.policy, ReplicationPolicy::default());
    assert_eq!(flow.policy.separator(), ".");
    assert_eq!(flow.replication_factor, 2);
    assert_eq!(flow.heartbeats_topic_replication_factor, 3);
    assert_eq!(flow.checkpoints_topic_replication_factor, 3);
    assert_eq!(flow.offset_syncs_topic_replication_factor, 3);
    assert_eq!(
        flow.offset_syncs_topic_location,
        OffsetSyncsTopicLocation::Source
    );
    assert_eq!(flow.tasks_max, 1);
    assert_eq!(
        (
            flow.refresh_topics.enabled,
            flow.refresh_topics.interval_seconds
        ),
        (true, 600)
    );
    assert_eq!(
        (
            flow.refresh_groups.enabled,
            flow.refresh_groups.interval_seconds
        ),
        (true, 600)
    );
    assert_eq!(
        (
            flow.emit_heartbeats.enabled,
            flow.emit_heartbeats.interval_seconds
        ),
        (true, 1)
    );
    assert_eq!(
        (
            flow.emit_checkpoints.enabled,
            flow.emit_checkpoints.interval_seconds
        ),
        (true, 60)
    );
    assert_eq!(
        (
            flow.sync_group_offsets.enabled,
            flow.sync_group_offsets.interval_seconds
        ),
        (false, 60)
    );
    assert_eq!(
        (
            flow.sync_topic_configs.enabled,
            flow.sync_topic_configs.interval_seconds
        ),
        (true, 600)
    );
    assert_eq!(
        (
            flow.sync_topic_acls.enabled,
            flow.sync_topic_acls.interval_seconds
        ),
        (true, 600)
    );
    assert!(flow.heartbeats_replication_enabled);
    assert!(flow.emit_offset_syncs_enabled);
    assert_eq!(flow.offset_lag_max, 100);
    assert!(flow.client_overrides.is_empty());
    assert_eq!(
        *flow,
        FlowConfig::with_defaults(flow.source.clone(), flow.target.clone())
    );
}

#[test]
fn flows_not_mentioned_are_not_enabled() {
    let config = parse(BASE);
    assert!(config.flow("kafka-b", "kafka-a").is_none());
    // MM2 still runs the reverse pair for heartbeats into kafka-a.
    let pairs: Vec<String> = config.pairs().iter().map(FlowConfig::name).collect();
    assert_eq!(pairs, ["kafka-a->kafka-b", "kafka-b->kafka-a"]);
    let heartbeats: Vec<String> = config.heartbeat_pairs().map(FlowConfig::name).collect();
    assert_eq!(heartbeats, ["kafka-a->kafka-b", "kafka-b->kafka-a"]);

    let config = parse(&format!("{BASE}kafka-b->kafka-a.enabled = false\n"));
    assert_eq!(config.flows().count(), 1);
    let config = parse(&format!("{BASE}kafka-b->kafka-a.enabled = TRUE\n"));
    assert_eq!(config.flows().count(), 2);
}

#[test]
fn a_top_level_enabled_enables_every_pair_as_in_mm2() {
    let config = parse("clusters = a, b, c\na.bootstrap.servers = a:1\nb.bootstrap.servers = b:1\nc.bootstrap.servers = c:1\nenabled = true\na->c.enabled = false\n");
    let flows: Vec<String> = config.flows().map(FlowConfig::name).collect();
    assert_eq!(flows, ["a->b", "b->a", "b->c", "c->a", "c->b"]);
    // Without heartbeats MM2 creates a herder only for pairs enabled by name.
    let config = parse("clusters = a, b\na.bootstrap.servers = a:1\nb.bootstrap.servers = b:1\nenabled = true\nemit.heartbeats.enabled = false\na->b.enabled = true\n");
    let flows: Vec<String> = config.flows().map(FlowConfig::name).collect();
    assert_eq!(flows, ["a->b"]);
    assert_eq!(config.heartbeat_pairs().count(), 0);
}

#[test]
fn heartbeat_pairs_are_limited_to_clusters_in_use() {
    let config = parse(
        "clusters = a, b, c\na.bootstrap.servers = a:1\nb.bootstrap.servers = b:1\na->b.enabled = true\n",
    );
    let heartbeats: Vec<String> = config.heartbeat_pairs().map(FlowConfig::name).collect();
    assert_eq!(heartbeats, ["a->b", "b->a"]);
    let config = parse(&format!(
        "{BASE}kafka-b->kafka-a.emit.heartbeats.enabled = false\n"
    ));
    let heartbeats: Vec<String> = config.heartbeat_pairs().map(FlowConfig::name).collect();
    assert_eq!(heartbeats, ["kafka-a->kafka-b"]);
}

#[test]
fn flow_settings_override_top_level_settings() {
    let config = parse(&format!(
        "{BASE}kafka-b->kafka-a.enabled = true\n\
         topics = orders\n\
         kafka-a->kafka-b.topics = payments\n\
         tasks.max = 2\n\
         kafka-b->kafka-a.tasks.max = 8\n\
         replication.policy.separator = _\n\
         kafka-a->kafka-b.emit.heartbeats.interval.seconds = 7\n\
         offset-syncs.topic.location = target\n"
    ));
    let ab = a_to_b(&config);
    let ba = config.flow("kafka-b", "kafka-a").unwrap();
    assert_eq!(ab.topics.include.patterns(), ["payments"]);
    assert_eq!(ba.topics.include.patterns(), ["orders"]);
    assert_eq!(ab.tasks_max, 2);
    assert_eq!(ba.tasks_max, 8);
    assert_eq!(ab.remote_topic("t"), "kafka-a_t");
    assert_eq!(ab.emit_heartbeats.interval_seconds, 7);
    assert_eq!(ba.emit_heartbeats.interval_seconds, 1);
    assert_eq!(
        ab.offset_syncs_topic_location,
        OffsetSyncsTopicLocation::Target
    );
    assert_eq!(ab.offset_syncs_cluster().as_str(), "kafka-b");
    assert_eq!(ab.offset_syncs_topic(), "mm2-offset-syncs_kafka-a_internal");
}

#[test]
fn legacy_blacklist_keys() {
    let config = parse(&format!("{BASE}topics.blacklist = secret.*\ngroups.blacklist = g.*\nconfig.properties.blacklist = retention.ms\n"));
    let flow = a_to_b(&config);
    assert_eq!(flow.topics.exclude.patterns(), ["secret.*"]);
    assert!(!flow.topics.should_replicate_topic("secret-1"));
    assert!(flow.topics.should_replicate_topic("x.internal"));
    assert_eq!(flow.groups.exclude.patterns(), ["g.*"]);
    assert!(!flow
        .config_properties
        .should_replicate_config("retention.ms"));
    assert!(flow
        .config_properties
        .should_replicate_config("min.insync.replicas"));

    // The current key wins wherever it is set (Kafka translates deprecated keys
    // on the merged connector config).
    let config = parse(&format!(
        "{BASE}topics.exclude = a.*\nkafka-a->kafka-b.topics.blacklist = b.*\n"
    ));
    assert_eq!(a_to_b(&config).topics.exclude.patterns(), ["a.*"]);
}

#[test]
fn java_lookaround_and_backreferences_load_as_in_mm2() {
    // Backslashes doubled, as a properties file needs them.
    let config = parse(&format!(
        "{BASE}kafka-a->kafka-b.topics = (?!secret\\\\.).*\n\
         topics.blacklist = .*(?<=\\\\.tmp), (\\\\w+)-\\\\1\n\
         groups = (?=billing-).*\n\
         groups.exclude = .*(?<!-prod)\n"
    ));
    let flow = a_to_b(&config);
    assert_eq!(flow.topics.include.patterns(), [r"(?!secret\.).*"]);
    assert!(flow.topics.should_replicate_topic("orders"));
    assert!(!flow.topics.should_replicate_topic("secret.keys"));
    assert!(!flow.topics.should_replicate_topic("orders.tmp"));
    assert!(!flow.topics.should_replicate_topic("eu-eu"));
    assert!(flow.topics.should_replicate_topic("eu-us"));
    assert!(flow.groups.should_replicate_group("billing-prod"));
    assert!(!flow.groups.should_replicate_group("billing-dev"));
    assert!(!flow.groups.should_replicate_group("audit-prod"));
}

#[test]
fn empty_lists_match_nothing() {
    let config = parse(&format!(
        "{BASE}topics.exclude =\nkafka-a->kafka-b.groups =\n"
    ));
    let flow = a_to_b(&config);
    assert!(flow.topics.should_replicate_topic("x.internal"));
    assert!(!flow.groups.should_replicate_group("anything"));
}

#[test]
fn cluster_settings_and_client_overrides() {
    let config = parse(&format!(
        "{BASE}security.protocol = SASL_SSL\n\
         sasl.mechanism = SCRAM-SHA-512\n\
         kafka-b.security.protocol = SSL\n\
         kafka-a.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"hunter2\";\n\
         kafka-a.ssl.truststore.password = trustme\n\
         kafka-a.consumer.max.poll.records = 5000\n\
         kafka-a.consumer.security.protocol = SASL_PLAINTEXT\n\
         kafka-b.producer.linger.ms = 5\n\
         kafka-b.admin.request.timeout.ms = 1000\n\
         kafka-a.client.id = mm2-a\n\
         producer.batch.size = 1\n\
         kafka-a->kafka-b.consumer.fetch.max.bytes = 1\n"
    ));
    let a = config.cluster("kafka-a").unwrap();
    let b = config.cluster("kafka-b").unwrap();
    assert_eq!(a.security.get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(b.security.get("security.protocol"), Some("SSL"));
    assert_eq!(a.security.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert_eq!(b.security.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert!(a
        .security
        .get("sasl.jaas.config")
        .unwrap()
        .contains("hunter2"));
    assert_eq!(b.security.get("sasl.jaas.config"), None);
    assert_eq!(
        a.client_overrides.consumer.get("max.poll.records"),
        Some("5000")
    );
    assert_eq!(b.client_overrides.producer.get("linger.ms"), Some("5"));
    assert_eq!(
        b.client_overrides.admin.get("request.timeout.ms"),
        Some("1000")
    );
    assert_eq!(a.other.get("client.id"), Some("mm2-a"));

    let consumer = a.client_config(ClientRole::Consumer);
    assert_eq!(consumer.get("bootstrap.servers"), Some("a1:9092"));
    assert_eq!(consumer.get("max.poll.records"), Some("5000"));
    // `<alias>.consumer.<key>` wins over `<alias>.<key>` and `<key>`.
    assert_eq!(consumer.get("security.protocol"), Some("SASL_PLAINTEXT"));
    let producer = a.client_config(ClientRole::Producer);
    assert_eq!(producer.get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(producer.get("max.poll.records"), None);

    assert_eq!(
        config
            .top_level_client_overrides()
            .producer
            .get("batch.size"),
        Some("1")
    );
    assert_eq!(
        a_to_b(&config)
            .client_overrides
            .consumer
            .get("fetch.max.bytes"),
        Some("1")
    );

    // Secrets never show in Debug output.
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("trustme"), "{debug}");
    assert!(debug.contains("SCRAM-SHA-512"));

    let unsupported = config.unsupported_keys();
    // Security keys are honoured at every level, per-client ones included.
    for key in [
        "security.protocol",
        "sasl.mechanism",
        "kafka-b.security.protocol",
        "kafka-a.sasl.jaas.config",
        "kafka-a.consumer.security.protocol",
    ] {
        assert!(
            !unsupported.iter().any(|k| k == key),
            "{key} in {unsupported:?}"
        );
    }
    // Cluster-level and top-level client keys do not reach MM2's clients.
    for key in ["kafka-a.client.id", "producer.batch.size"] {
        assert!(
            unsupported.iter().any(|k| k == key),
            "{key} in {unsupported:?}"
        );
    }
    // Honoured client settings, and those listed as not applicable.
    let not_applicable: Vec<String> = config
        .not_applicable_client_keys()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    for key in [
        "kafka-a.consumer.max.poll.records",
        "kafka-b.producer.linger.ms",
        "kafka-a->kafka-b.consumer.fetch.max.bytes",
    ] {
        assert!(
            !unsupported.iter().any(|k| k == key),
            "{key} in {unsupported:?}"
        );
    }
    assert_eq!(
        not_applicable,
        [
            "kafka-a.consumer.max.poll.records",
            "kafka-b.producer.linger.ms"
        ]
    );
}

#[test]
fn top_level_bootstrap_servers_is_a_fallback() {
    let config = parse("clusters = a, b\nbootstrap.servers = shared:9092\nb.bootstrap.servers = b1:9092, b2:9092\na->b.enabled = true\n");
    assert_eq!(
        config.cluster("a").unwrap().bootstrap_servers,
        ["shared:9092"]
    );
    assert_eq!(
        config.cluster("b").unwrap().bootstrap_servers,
        ["b1:9092", "b2:9092"]
    );
}

#[test]
fn plaintext_is_not_reported_as_unsupported() {
    let config = parse(&format!("{BASE}security.protocol = PLAINTEXT\n"));
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
}

#[test]
fn topic_acl_sync_keys_are_honoured_per_flow() {
    let config = parse(&format!(
        "{BASE}sync.topic.acls.interval.seconds = 30\n\
         kafka-b->kafka-a.enabled = true\n\
         kafka-b->kafka-a.sync.topic.acls.enabled = false\n"
    ));
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    let a_to_b = config.flow("kafka-a", "kafka-b").unwrap();
    assert_eq!(
        a_to_b.sync_topic_acls.interval(),
        Some(std::time::Duration::from_secs(30))
    );
    let b_to_a = config.flow("kafka-b", "kafka-a").unwrap();
    assert_eq!(b_to_a.sync_topic_acls.interval(), None);
    // As in MM2, a negative interval disables the job, zero is refused.
    let negative = parse(&format!("{BASE}sync.topic.acls.interval.seconds = -1\n"));
    let flow = negative.flow("kafka-a", "kafka-b").unwrap();
    assert_eq!(flow.sync_topic_acls.interval(), None);
    assert!(error(&format!("{BASE}sync.topic.acls.interval.seconds = 0\n")).contains("positive"));
}

#[test]
fn unsupported_keys_mm2_knows() {
    let config = parse(&format!(
        "{BASE}topic.filter.class = com.example.Filter\n\
         offset.storage.replication.factor = 1\n\
         kafka-a->kafka-b.admin.timeout.ms = 5\n"
    ));
    assert_eq!(
        config.unsupported_keys(),
        ["topic.filter.class", "kafka-a->kafka-b.admin.timeout.ms"]
    );
    // kmirror creates MM2's offsets topic with it.
    assert_eq!(a_to_b(&config).offset_storage_replication_factor, Some(1));
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
}

#[test]
fn unknown_keys_are_warnings_with_file_and_line() {
    let config = parse(&format!(
        "{BASE}topicz = x\n\
         kafka-a.topics = y\n\
         kafka-a->kafka-b.topicz = z\n\
         tasks.max = 1\n\
         tasks.max = 2\n"
    ));
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "mm2.properties:5: topicz: unknown key, ignored; did you mean \"topics\"?",
            "mm2.properties:6: kafka-a.topics: MM2 ignores flow settings at cluster level; set \"topics\" at the top level or as <source>-><target>.topics",
            "mm2.properties:7: kafka-a->kafka-b.topicz: unknown key, ignored; did you mean \"kafka-a->kafka-b.topics\"?",
            "mm2.properties:9: tasks.max: set more than once (lines 8, 9); the last value wins",
        ]
    );
    assert_eq!(a_to_b(&config).tasks_max, 2);

    let config = parse(&format!("{BASE}kafka-c.bootstrap.servers = c:1\n"));
    assert_eq!(
        config.warnings()[0].to_string(),
        "mm2.properties:5: kafka-c.bootstrap.servers: unknown key, ignored: \"kafka-c\" is not in clusters (kafka-a, kafka-b); did you mean \"kafka-a.bootstrap.servers\"?"
    );
}

#[test]
fn aliases_with_dots_work_when_no_cycle_depends_on_them() {
    let config = parse(
        "clusters = us.west, us.east\nus.west.bootstrap.servers = w:1\nus.east.bootstrap.servers = e:1\nus.west->us.east.enabled = true\nus.west->us.east.topics = orders\n",
    );
    let flow = config.flow("us.west", "us.east").unwrap();
    assert_eq!(flow.topics.include.patterns(), ["orders"]);
    assert_eq!(
        config.cluster("us.east").unwrap().bootstrap_servers,
        ["e:1"]
    );
}

// ---- errors: each names file, line and key ----

#[test]
fn error_unknown_alias_in_a_flow() {
    let text = "clusters = kafka-a, kafka-b\n\
                kafka-a.bootstrap.servers = a:1\n\
                kafka-b.bootstrap.servers = b:1\n\
                \n\
                kafka-a->kafka-b.enabled = true\n\
                # a typo\n\
                kafka-a->kafka-c.enabled = true\n";
    assert_eq!(
        error(text),
        "mm2.properties:7: kafka-a->kafka-c.enabled: unknown cluster alias \"kafka-c\" (clusters = kafka-a, kafka-b)"
    );
    assert_eq!(
        error(&format!("{BASE}kafka-x->kafka-b.topics = t\n")),
        "mm2.properties:5: kafka-x->kafka-b.topics: unknown cluster alias \"kafka-x\" (clusters = kafka-a, kafka-b)"
    );
}

#[test]
fn error_flow_to_itself() {
    assert_eq!(
        error(&format!("{BASE}kafka-a->kafka-a.enabled = true\n")),
        "mm2.properties:5: kafka-a->kafka-a.enabled: a flow from cluster \"kafka-a\" to itself is not allowed"
    );
}

#[test]
fn error_invalid_regex_names_the_regex() {
    assert_eq!(
        error(&format!(
            "{BASE}kafka-a->kafka-b.topics = payments, orders(\n"
        )),
        "mm2.properties:5: kafka-a->kafka-b.topics: invalid regex \"orders(\": opening parenthesis without closing parenthesis"
    );
    assert_eq!(
        error(&format!("{BASE}groups.exclude = \\\\p{{javaLowerCase}}.*\n")),
        "mm2.properties:5: groups.exclude: invalid regex \"\\p{javaLowerCase}.*\": uses Java-only regex syntax (java.lang.Character classes \\p{javaXxx}) that kmirror does not support"
    );
    assert_eq!(
        error(&format!("{BASE}config.properties.exclude = [z-a]\n")),
        "mm2.properties:5: config.properties.exclude: invalid regex \"[z-a]\": invalid character class range, the start must be <= the end"
    );
}

#[test]
fn error_not_a_number() {
    assert_eq!(
        error(&format!("{BASE}tasks.max = four\n")),
        "mm2.properties:5: tasks.max: \"four\" is not a number (expected a 32-bit integer)"
    );
    assert_eq!(
        error(&format!("{BASE}kafka-a->kafka-b.heartbeats.topic.replication.factor = 40000\n")),
        "mm2.properties:5: kafka-a->kafka-b.heartbeats.topic.replication.factor: \"40000\" is not a number (expected a 16-bit integer)"
    );
    assert_eq!(
        error(&format!("{BASE}offset.lag.max = 1e3\n")),
        "mm2.properties:5: offset.lag.max: \"1e3\" is not a number (expected a 64-bit integer)"
    );
    assert_eq!(
        error(&format!("{BASE}emit.heartbeats.interval.seconds = 5s\n")),
        "mm2.properties:5: emit.heartbeats.interval.seconds: \"5s\" is not a number (expected a 64-bit integer)"
    );
}

#[test]
fn error_out_of_range() {
    assert_eq!(
        error(&format!("{BASE}tasks.max = 0\n")),
        "mm2.properties:5: tasks.max: 0 is out of range: must be at least 1"
    );
    assert_eq!(
        error(&format!("{BASE}replication.factor = 0\n")),
        "mm2.properties:5: replication.factor: 0 is out of range: a replication factor must be -1 (the broker default) or at least 1"
    );
    assert_eq!(
        error(&format!("{BASE}refresh.topics.interval.seconds = 0\n")),
        "mm2.properties:5: refresh.topics.interval.seconds: 0 is out of range: an interval must be positive (a negative one disables the job, as in MM2)"
    );
    // -1 is the broker default; a negative interval disables the job.
    let config = parse(&format!(
        "{BASE}replication.factor = -1\nrefresh.topics.interval.seconds = -1\n"
    ));
    assert_eq!(a_to_b(&config).replication_factor, -1);
    assert_eq!(a_to_b(&config).refresh_topics.interval(), None);
}

#[test]
fn error_bad_boolean() {
    assert_eq!(
        error(&format!("{BASE}kafka-b->kafka-a.enabled = yes\n")),
        "mm2.properties:5: kafka-b->kafka-a.enabled: \"yes\" is not a boolean (expected true or false)"
    );
    assert_eq!(
        error(&format!("{BASE}sync.topic.configs.enabled = 1\n")),
        "mm2.properties:5: sync.topic.configs.enabled: \"1\" is not a boolean (expected true or false)"
    );
}

#[test]
fn error_missing_bootstrap() {
    assert_eq!(
        error("clusters = kafka-a, kafka-b\nkafka-a.bootstrap.servers = a:1\n\nkafka-a->kafka-b.enabled = true\n"),
        "mm2.properties:4: kafka-b.bootstrap.servers: missing bootstrap servers for cluster \"kafka-b\", used by enabled flow kafka-a->kafka-b"
    );
    // A cluster no enabled flow uses may lack them.
    parse("clusters = a, b, c\na.bootstrap.servers = a:1\nb.bootstrap.servers = b:1\na->b.enabled = true\n");
}

#[test]
fn error_no_clusters() {
    assert_eq!(
        error("a->b.enabled = true\n"),
        "mm2.properties: clusters: no clusters defined (set clusters = <alias>, <alias>, ...)"
    );
    assert_eq!(
        error("# nothing\nclusters =\n"),
        "mm2.properties:2: clusters: no clusters defined (set clusters = <alias>, <alias>, ...)"
    );
    assert_eq!(
        error("clusters = a, b c\n"),
        "mm2.properties:1: clusters: invalid cluster alias \"b c\": may only contain ASCII letters, digits, '.', '_' and '-' (it becomes part of topic names)"
    );
}

#[test]
fn error_unsupported_replication_policy() {
    assert_eq!(
        error(&format!("{BASE}replication.policy.class = com.example.MyPolicy\n")),
        "mm2.properties:5: replication.policy.class: unsupported replication policy class \"com.example.MyPolicy\" (kmirror supports org.apache.kafka.connect.mirror.DefaultReplicationPolicy and org.apache.kafka.connect.mirror.IdentityReplicationPolicy)"
    );
    assert_eq!(
        error(&format!("{BASE}replication.policy.separator =\n")),
        "mm2.properties:5: replication.policy.separator: must not be empty"
    );
    assert_eq!(
        error(&format!("{BASE}offset-syncs.topic.location = Source\n")),
        "mm2.properties:5: offset-syncs.topic.location: \"Source\" is not one of: source, target"
    );
}

#[test]
fn identity_policy_one_way_is_accepted() {
    let config = parse(&format!(
        "{BASE}replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n"
    ));
    let flow = a_to_b(&config);
    assert!(flow.policy.is_identity());
    assert_eq!(flow.remote_topic("payment-events"), "payment-events");
    assert_eq!(flow.remote_topic("heartbeats"), "kafka-a.heartbeats");
}

#[test]
fn error_identity_on_a_bidirectional_pair() {
    let text = format!(
        "{BASE}kafka-b->kafka-a.enabled = true\n\
         kafka-b->kafka-a.replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n"
    );
    assert_eq!(
        error(&text),
        "mm2.properties:6: kafka-b->kafka-a.replication.policy.class: identity naming on a bidirectional pair would loop; not supported yet (kafka-a->kafka-b and kafka-b->kafka-a)"
    );
    let text = format!(
        "replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n{BASE}kafka-b->kafka-a.enabled = true\n"
    );
    let message = error(&text);
    assert!(
        message.starts_with("mm2.properties:1: replication.policy.class: identity naming on a bidirectional pair would loop; not supported yet"),
        "{message}"
    );
}

#[test]
fn error_identity_on_a_longer_cycle() {
    let text = "clusters = a, b, c\n\
                a.bootstrap.servers = a:1\nb.bootstrap.servers = b:1\nc.bootstrap.servers = c:1\n\
                a->b.enabled = true\nb->c.enabled = true\nc->a.enabled = true\n\
                b->c.replication.policy.class = IdentityReplicationPolicy\n";
    assert_eq!(
        error(text),
        "mm2.properties:8: b->c.replication.policy.class: identity naming on a replication cycle would loop; not supported yet (a->b->c->a)"
    );
}

#[test]
fn error_alias_containing_the_separator_on_a_cycle() {
    let text = "clusters = us.west, us.east\n\
                us.west.bootstrap.servers = w:1\nus.east.bootstrap.servers = e:1\n\
                us.west->us.east.enabled = true\nus.east->us.west.enabled = true\n";
    assert_eq!(
        error(text),
        "mm2.properties:1: clusters: cluster alias \"us.west\" contains (or ends with part of) the replication policy separator \".\", so topics replicated from it cannot be recognised and would loop back"
    );
    // With another separator the same aliases are fine.
    parse(&format!("{text}replication.policy.separator = _\n"));
}

#[test]
fn error_the_first_in_the_file_is_reported() {
    let text = format!("{BASE}tasks.max = x\nkafka-a->kafka-q.enabled = true\n");
    assert!(error(&text).starts_with("mm2.properties:5: tasks.max:"));
    let text = format!("{BASE}kafka-a->kafka-q.enabled = true\ntasks.max = x\n");
    assert!(error(&text).starts_with("mm2.properties:5: kafka-a->kafka-q.enabled:"));
}

#[test]
fn error_malformed_properties() {
    assert_eq!(
        error("clusters = a\nx = \\u00zz\n"),
        "mm2.properties:2: malformed \\uxxxx escape"
    );
}

#[test]
fn error_kinds_are_matchable() {
    let error = Mm2Config::parse(&format!("{BASE}tasks.max = x\n"), "f").unwrap_err();
    assert_eq!(error.key, "tasks.max");
    assert_eq!(error.location.line, Some(5));
    assert_eq!(error.location.source, "f");
    assert!(matches!(error.kind, ConfigErrorKind::NotANumber { .. }));
}

#[test]
fn from_properties_takes_a_parsed_file() {
    let properties = Properties::parse(BASE).unwrap();
    let config = Mm2Config::from_properties(&properties, "x.properties").unwrap();
    assert_eq!(config.source_name(), "x.properties");
    assert_eq!(
        config.properties().get("clusters"),
        Some("kafka-a, kafka-b")
    );
}

// ---- the Connect JSON form ----

#[test]
fn connect_form_with_source_and_target_aliases() {
    let json = r#"{
      "name": "MirrorSourceConnector",
      "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
      "replication.factor": "1",
      "source.cluster.alias": "backup",
      "target.cluster.alias": "primary",
      "source.cluster.bootstrap.servers": "vip1:9092",
      "target.cluster.bootstrap.servers": "vip2:9092",
      "source.cluster.security.protocol": "SSL",
      "source.consumer.max.poll.records": "100",
      "target.producer.linger.ms": "10",
      "topics": ".*test-topic-.*",
      "groups": "consumer-group-.*",
      "emit.checkpoints.interval.seconds": 1,
      "emit.heartbeats.interval.seconds": "1",
      "sync.topic.acls.enabled": false
    }"#;
    let config = Mm2Config::from_connect_json(json).unwrap();
    let flow = config.flow("backup", "primary").unwrap();
    assert_eq!(flow.replication_factor, 1);
    assert_eq!(flow.topics.include.patterns(), [".*test-topic-.*"]);
    assert_eq!(flow.emit_checkpoints.interval_seconds, 1);
    assert_eq!(flow.sync_topic_acls.interval(), None);
    let backup = config.cluster("backup").unwrap();
    assert_eq!(backup.bootstrap_servers, ["vip1:9092"]);
    assert_eq!(backup.security.get("security.protocol"), Some("SSL"));
    assert_eq!(
        backup.client_overrides.consumer.get("max.poll.records"),
        Some("100")
    );
    let primary = config.cluster("primary").unwrap();
    assert_eq!(primary.bootstrap_servers, ["vip2:9092"]);
    assert_eq!(
        primary.client_overrides.producer.get("linger.ms"),
        Some("10")
    );
    assert_eq!(config.flows().count(), 1);
    assert_eq!(
        config.connector().unwrap().name.as_deref(),
        Some("MirrorSourceConnector")
    );
    // Unsupported keys are named as the user wrote them.
    let unsupported = config.unsupported_keys();
    assert!(
        !unsupported.contains(&"source.cluster.security.protocol".to_owned()),
        "{unsupported:?}"
    );
    assert!(
        !unsupported.contains(&"source.consumer.max.poll.records".to_owned()),
        "{unsupported:?}"
    );
    let not_applicable: Vec<String> = config
        .not_applicable_client_keys()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        not_applicable,
        [
            "source.consumer.max.poll.records",
            "target.producer.linger.ms"
        ]
    );
}

#[test]
fn connect_form_defaults_and_enabled() {
    // target.cluster.alias defaults to "target"; Connect runs the connector unless enabled=false.
    let json = r#"{"connector.class": "MirrorHeartbeatConnector", "source.cluster.alias": "a",
        "source.cluster.bootstrap.servers": "a:1", "target.cluster.bootstrap.servers": "t:1"}"#;
    let config = Mm2Config::from_connect_json(json).unwrap();
    assert_eq!(config.connector().unwrap().class, ConnectorClass::Heartbeat);
    assert!(config.flow("a", "target").is_some());

    let json = r#"{"config": {"connector.class": "MirrorCheckpoint", "source.cluster.alias": "a",
        "target.cluster.alias": "b", "enabled": "false",
        "source.cluster.bootstrap.servers": "a:1", "target.cluster.bootstrap.servers": "b:1"}}"#;
    let config = Mm2Config::from_connect_json(json).unwrap();
    assert_eq!(
        config.connector().unwrap().class,
        ConnectorClass::Checkpoint
    );
    assert_eq!(config.flows().count(), 0);
}

#[test]
fn connect_form_errors_name_the_key() {
    let json = "{\n  \"name\": \"x\",\n  \"config\": {\n    \"connector.class\": \"com.example.Other\"\n  }\n}";
    assert_eq!(
        Mm2Config::from_connect_json_named(json, "mm2-connector.json").unwrap_err().to_string(),
        "mm2-connector.json:4: connector.class: unknown connector class \"com.example.Other\" (expected org.apache.kafka.connect.mirror.MirrorSourceConnector, MirrorCheckpointConnector or MirrorHeartbeatConnector)"
    );
    let json = "{\"config\": {\"clusters\": \"a, b\"}}";
    assert_eq!(
        Mm2Config::from_connect_json(json).unwrap_err().to_string(),
        "connector JSON: connector.class: missing: the connector class (e.g. org.apache.kafka.connect.mirror.MirrorSourceConnector)"
    );
    let json =
        "{\"config\": {\"connector.class\": \"MirrorSourceConnector\",\n \"topics\": [\"a\"]}}";
    assert_eq!(
        Mm2Config::from_connect_json(json).unwrap_err().to_string(),
        "connector JSON:2: topics: expected a string value"
    );
    let json = "{\"config\": {\"connector.class\": \"MirrorSourceConnector\",\n \"source.cluster.alias\": \"a\",\n \"target.cluster.alias\": \"b\",\n \"source.cluster.bootstrap.servers\": \"a:1\"}}";
    assert_eq!(
        Mm2Config::from_connect_json(json).unwrap_err().to_string(),
        "connector JSON:2: target.cluster.bootstrap.servers: missing bootstrap servers for cluster \"b\", used by enabled flow a->b"
    );
    let json = "{\"config\": {\"connector.class\": \"MirrorSourceConnector\",\n \"source.cluster.alias\": \"a\",\n \"target.cluster.alias\": \"b\",\n \"source.cluster.bootstrap.servers\": \"a:1\",\n \"target.cluster.bootstrap.servers\": \"b:1\",\n \"tasks.max\": \"many\"}}";
    assert_eq!(
        Mm2Config::from_connect_json(json).unwrap_err().to_string(),
        "connector JSON:6: tasks.max: \"many\" is not a number (expected a 32-bit integer)"
    );
    let json = "{\"config\": {\n\"connector.class\": \"MirrorSourceConnector\",\n\"clusters\": \"a, b\",\n\"a->c.enabled\": \"true\"}}";
    assert_eq!(
        Mm2Config::from_connect_json(json).unwrap_err().to_string(),
        "connector JSON:4: a->c.enabled: unknown cluster alias \"c\" (clusters = a, b)"
    );
    let message = Mm2Config::from_connect_json("{\"config\": ")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("connector JSON:1: invalid JSON: EOF"),
        "{message}"
    );
    let json = "{\"connector.class\": \"MirrorSourceConnector\", \"topics\": \"x\"}";
    assert_eq!(
        Mm2Config::from_connect_json(json).unwrap_err().to_string(),
        "connector JSON: source.cluster.alias: missing: source.cluster.alias (or MM2's clusters and <source>-><target>.enabled)"
    );
}
