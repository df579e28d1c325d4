//! What an operator is told about a config: unknown keys with the closest
//! known key, keys not honoured (only those the file sets), and the mistakes
//! that stop kmirror with file, line and key (issue 11, items 1-3).

use kmirror_engine::config::mm2::Mm2Config;
use kmirror_engine::config::properties::decode_file_bytes;

mod config_support;
use config_support::{error, parse, BASE};

/// `(key, line, suggestion)` of every unknown key.
fn unknown(config: &Mm2Config) -> Vec<(String, u32, Option<String>)> {
    config
        .unknown_keys()
        .iter()
        .map(|u| {
            (
                u.key.clone(),
                u.location.line.unwrap(),
                u.suggestion.clone(),
            )
        })
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn misspelled_keys_get_the_closest_known_key_with_the_prefix_as_written() {
    let config = parse(&format!(
        "{BASE}tasks.maks = 4\n\
         kafka-a.bootstrap.server = a2:9092\n\
         kafka-a->kafka-b.topicz = orders\n\
         emit.heartbeat.enabled = false\n\
         kafka-a.consumer.fetch.max.byte = 1\n\
         kafka-b.ssl.truststore.locaton = /etc/t.jks\n\
         task.shutdown.graceful.timeout = 5\n\
         offset.storage.replication.factr = 3\n\
         kafka-a->kafka-b.producer.override.ack = all\n\
         completely.unrelated.thing = 1\n"
    ));
    assert_eq!(
        unknown(&config),
        [
            ("tasks.maks".to_owned(), 5, some("tasks.max")),
            (
                "kafka-a.bootstrap.server".to_owned(),
                6,
                some("kafka-a.bootstrap.servers")
            ),
            (
                "kafka-a->kafka-b.topicz".to_owned(),
                7,
                some("kafka-a->kafka-b.topics")
            ),
            (
                "emit.heartbeat.enabled".to_owned(),
                8,
                some("emit.heartbeats.enabled")
            ),
            (
                "kafka-a.consumer.fetch.max.byte".to_owned(),
                9,
                some("kafka-a.consumer.fetch.max.bytes")
            ),
            (
                "kafka-b.ssl.truststore.locaton".to_owned(),
                10,
                some("kafka-b.ssl.truststore.location")
            ),
            (
                "task.shutdown.graceful.timeout".to_owned(),
                11,
                some("task.shutdown.graceful.timeout.ms")
            ),
            (
                "offset.storage.replication.factr".to_owned(),
                12,
                some("offset.storage.replication.factor")
            ),
            (
                "kafka-a->kafka-b.producer.override.ack".to_owned(),
                13,
                some("kafka-a->kafka-b.producer.override.acks")
            ),
            ("completely.unrelated.thing".to_owned(), 14, None),
        ]
    );
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert!(warnings.contains(
        &"mm2.properties:5: tasks.maks: unknown key, ignored; did you mean \"tasks.max\"?"
            .to_owned()
    ));
    assert!(warnings.contains(
        &"mm2.properties:14: completely.unrelated.thing: unknown key, ignored: neither MM2, \
          Kafka Connect, Kafka's clients nor kmirror knows it"
            .to_owned()
    ));
    // Unknown keys are not "not honoured": that list is for keys MM2 knows.
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
}

#[test]
fn a_misspelled_bootstrap_key_is_named_when_its_cluster_has_none() {
    let text = "clusters = kafka-a, kafka-b\n\
                kafka-a.bootstrap.server = 127.0.0.1:9092\n\
                kafka-b.bootstrap.servers = 127.0.0.1:9093\n\
                kafka-a->kafka-b.enabled = true\n";
    assert_eq!(
        error(text),
        "mm2.properties:2: kafka-a.bootstrap.server: unknown key; did you mean \
         \"kafka-a.bootstrap.servers\"? (cluster \"kafka-a\", used by enabled flow \
         kafka-a->kafka-b, has no bootstrap servers)"
    );
}

#[test]
fn connect_worker_and_client_keys_are_known_not_unknown() {
    let config = parse(&format!(
        "{BASE}offset.flush.interval.ms = 10000\n\
         offset.flush.timeout.ms = 5000\n\
         task.shutdown.graceful.timeout.ms = 5000\n\
         worker.sync.timeout.ms = 3000\n\
         config.storage.topic = mm2-configs\n\
         status.storage.replication.factor = 3\n\
         key.converter.schemas.enable = false\n\
         scheduled.rebalance.max.delay.ms = 0\n\
         plugin.path = /opt/plugins\n\
         exactly.once.source.support = enabled\n\
         rest.advertised.host.name = h\n\
         kafka-b.offset.flush.interval.ms = 1000\n\
         kafka-b.client.id = b-client\n\
         kafka-a.consumer.max.poll.records = 10\n\
         producer.override.linger.ms = 5\n\
         transforms.route.type = x\n"
    ));
    assert!(unknown(&config).is_empty(), "{:?}", unknown(&config));
    let unsupported = config.unsupported_keys();
    for key in [
        "offset.flush.interval.ms",
        "task.shutdown.graceful.timeout.ms",
        "key.converter.schemas.enable",
        "kafka-b.client.id",
        "transforms.route.type",
    ] {
        assert!(
            unsupported.iter().any(|k| k == key),
            "{key}: {unsupported:?}"
        );
    }
    // A client setting that cannot apply is listed apart, with the reason.
    assert!(!unsupported
        .iter()
        .any(|k| k == "kafka-a.consumer.max.poll.records"));
    assert_eq!(
        config.not_applicable_client_keys(),
        [(
            "kafka-a.consumer.max.poll.records".to_owned(),
            "kmirror reads by partition and keeps its positions in MM2's offsets topic, not in a consumer group"
        )]
    );
}

#[test]
fn not_honoured_lists_only_keys_the_file_sets_and_never_honoured_ones() {
    let config = parse(BASE);
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    // kmirror creates MM2's offsets topic, so its replication factor is
    // honoured: per target cluster over the top level, as MM2's workers.
    let config = parse(&format!(
        "{BASE}offset.storage.replication.factor = 1\n\
         kafka-b.offset.storage.replication.factor = 2\n\
         sync.topic.acls.enabled = true\n\
         kafka-b->kafka-a.enabled = true\n"
    ));
    assert!(
        config.unsupported_keys().is_empty(),
        "{:?}",
        config.unsupported_keys()
    );
    let rf = |source: &str, target: &str| {
        config
            .flow(source, target)
            .unwrap()
            .offset_storage_replication_factor
    };
    assert_eq!(rf("kafka-a", "kafka-b"), Some(2));
    assert_eq!(rf("kafka-b", "kafka-a"), Some(1));
    assert_eq!(
        parse(BASE)
            .flow("kafka-a", "kafka-b")
            .unwrap()
            .offset_storage_replication_factor,
        None
    );
    assert!(
        error(&format!("{BASE}offset.storage.replication.factor = 0\n"))
            .starts_with("mm2.properties:5: offset.storage.replication.factor: 0 is out of range")
    );
}

#[test]
fn strict_mode_refuses_unknown_keys_naming_each() {
    let config = parse(&format!(
        "{BASE}tasks.maks = 4\nkafka-a.bootstrap.server = x:1\nfoo = 1\n"
    ));
    let error = config.refuse_unknown_keys().unwrap_err().to_string();
    assert_eq!(
        error,
        "mm2.properties:5: tasks.maks: unknown key (did you mean \"tasks.max\"?), refused in \
         strict mode; also unknown: kafka-a.bootstrap.server (line 6), foo (line 7)"
    );
    assert!(parse(BASE).refuse_unknown_keys().is_ok());
}

#[test]
fn misplaced_worker_setting_says_where_it_belongs() {
    let config = parse(&format!(
        "{BASE}kafka-a->kafka-b.offset.flush.interval.ms = 5\n"
    ));
    assert_eq!(
        config.warnings()[0].to_string(),
        "mm2.properties:5: kafka-a->kafka-b.offset.flush.interval.ms: a Kafka Connect worker \
         setting: MM2 takes it as <alias>.offset.flush.interval.ms (for the flows into that \
         cluster), not per flow"
    );
}

#[test]
fn negative_offset_lag_max_is_an_error() {
    assert_eq!(
        error(&format!("{BASE}offset.lag.max = -5\n")),
        "mm2.properties:5: offset.lag.max: -5 is out of range: must be 0 or more \
         (0 writes an offset sync for every batch)"
    );
    let config = parse(&format!("{BASE}kafka-a->kafka-b.offset.lag.max = 0\n"));
    assert_eq!(config.flow("kafka-a", "kafka-b").unwrap().offset_lag_max, 0);
}

#[test]
fn a_repeated_cluster_alias_is_an_error() {
    assert_eq!(
        error("clusters = kafka-a, kafka-a, kafka-b\n"),
        "mm2.properties:1: clusters: cluster alias \"kafka-a\" is listed twice"
    );
}

#[test]
fn bootstrap_servers_must_be_host_and_port() {
    for (servers, problem) in [
        (
            "127.0.0.1",
            "invalid bootstrap server \"127.0.0.1\": no port",
        ),
        ("a1:9092, a2", "invalid bootstrap server \"a2\": no port"),
        (
            "a1:99999",
            "invalid bootstrap server \"a1:99999\": the port must be",
        ),
        (
            "a1:",
            "invalid bootstrap server \"a1:\": the port must be a number from 1 to 65535",
        ),
    ] {
        let text = BASE.replace("a1:9092", servers);
        let message = error(&text);
        assert!(
            message.starts_with(&format!(
                "mm2.properties:2: kafka-a.bootstrap.servers: {problem}"
            )),
            "{message}"
        );
    }
    // The top-level fallback too, even for a cluster no flow uses yet.
    let message = error("clusters = a, b\nbootstrap.servers = localhost\n");
    assert!(
        message.starts_with("mm2.properties:2: bootstrap.servers: invalid bootstrap server"),
        "{message}"
    );
}

#[test]
fn nothing_to_replicate_says_which_flow_to_enable() {
    let all_off = "clusters = kafka-a, kafka-b\n\
                   kafka-a.bootstrap.servers = a1:9092\n\
                   kafka-b.bootstrap.servers = b1:9092\n";
    assert_eq!(
        parse(all_off)
            .check_something_to_replicate(None)
            .unwrap_err()
            .to_string(),
        "mm2.properties: nothing to replicate: no flow is enabled (MM2 defaults \
         <source>-><target>.enabled to false); set kafka-a->kafka-b.enabled = true or \
         kafka-b->kafka-a.enabled = true"
    );
    // Pointing at the line that turns a flow off.
    let message = parse(&format!("{all_off}kafka-a->kafka-b.enabled = false\n"))
        .check_something_to_replicate(None)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("mm2.properties:4: kafka-a->kafka-b.enabled: nothing to replicate"),
        "{message}"
    );
    // Only flows into other clusters than `--clusters` names.
    let into_b = parse(BASE);
    assert!(into_b.check_something_to_replicate(None).is_ok());
    let targets = ["kafka-b".to_owned()];
    assert!(into_b.check_something_to_replicate(Some(&targets)).is_ok());
    let targets = ["kafka-a".to_owned()];
    let message = into_b
        .check_something_to_replicate(Some(&targets))
        .unwrap_err()
        .to_string();
    assert!(
        message.ends_with(
            "nothing to replicate: no enabled flow goes into kafka-a (--clusters); \
             set kafka-b->kafka-a.enabled = true"
        ),
        "{message}"
    );
}

#[test]
fn bad_booleans_and_empty_lists_are_reported() {
    // Even where no flow reads it: a flow's `enabled` decides whether it runs.
    assert_eq!(
        error(&format!(
            "{BASE}emit.heartbeats.enabled = false\nkafka-b->kafka-a.enabled = yes\n"
        )),
        "mm2.properties:6: kafka-b->kafka-a.enabled: \"yes\" is not a boolean (expected true or false)"
    );
    let config = parse(&format!(
        "{BASE}kafka-a->kafka-b.topics =\ngroups = \nrefresh.topics.interval.seconds = -5\n"
    ));
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "mm2.properties:5: kafka-a->kafka-b.topics: empty: matches no topic; remove the key \
             for MM2's default .* (every topic)",
            "mm2.properties:6: groups: empty: matches no consumer group; remove the key for \
             MM2's default .* (every consumer group)",
            "mm2.properties:7: refresh.topics.interval.seconds: negative: turns refresh.topics \
             off, as in MM2 (refresh.topics.enabled = false says so plainly)",
        ]
    );
}

#[test]
fn worker_group_settings_must_be_positive() {
    assert_eq!(
        error(&format!("{BASE}session.timeout.ms = -1\n")),
        "mm2.properties:5: session.timeout.ms: -1 is out of range: must be a positive number \
         of milliseconds"
    );
    assert!(error(&format!("{BASE}heartbeat.interval.ms = soon\n")).contains("not a number"));
    assert_eq!(
        error(&format!("{BASE}group.id = \n")),
        "mm2.properties:5: group.id: must not be empty"
    );
}

#[test]
fn unicode_escapes_and_encodings() {
    // `\uXXXX`, surrogate pairs included, as Java reads them.
    let config = parse(&format!(
        "{BASE}kafka-a->kafka-b.topics = caf\\u00e9, \\uD83D\\uDE00.*\n"
    ));
    let flow = config.flow("kafka-a", "kafka-b").unwrap();
    assert_eq!(flow.topics.include.patterns(), ["caf\u{e9}", "\u{1F600}.*"]);
    // A malformed escape: file and line.
    assert_eq!(
        error(&format!("{BASE}kafka-a->kafka-b.topics = caf\\u00g9\n")),
        "mm2.properties:5: malformed \\uxxxx escape"
    );
    // A Latin-1 byte (0xE9) in a comment and a value: read as ISO-8859-1.
    let mut bytes = b"# r\xe9plication\n".to_vec();
    bytes.extend_from_slice(BASE.as_bytes());
    bytes.extend_from_slice(b"kafka-a->kafka-b.topics = caf\xe9\n");
    let config = parse(&decode_file_bytes(&bytes));
    let flow = config.flow("kafka-a", "kafka-b").unwrap();
    assert_eq!(flow.topics.include.patterns(), ["caf\u{e9}"]);
    // The same text in UTF-8 reads the same.
    let utf8 = format!("# r\u{e9}plication\n{BASE}kafka-a->kafka-b.topics = caf\u{e9}\n");
    let config = parse(&decode_file_bytes(utf8.as_bytes()));
    let flow = config.flow("kafka-a", "kafka-b").unwrap();
    assert_eq!(flow.topics.include.patterns(), ["caf\u{e9}"]);
}

#[test]
fn connect_json_keys_keep_their_connect_prefix_in_suggestions() {
    let json = r#"{"name": "m", "config": {
        "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
        "source.cluster.alias": "a",
        "target.cluster.alias": "b",
        "source.cluster.bootstrap.servers": "a1:9092",
        "target.cluster.bootstrap.servers": "b1:9092",
        "tasks.maks": "2",
        "producer.override.acks": "all"
    }}"#;
    let config = Mm2Config::from_connect_json(json).unwrap();
    let unknown: Vec<(String, Option<String>)> = config
        .unknown_keys()
        .iter()
        .map(|u| (u.key.clone(), u.suggestion.clone()))
        .collect();
    assert_eq!(unknown, [("tasks.maks".to_owned(), some("tasks.max"))]);
}
