//! A configuration kmirror cannot use stops the start with exit code 2 and
//! one line naming the file, line and key.

mod support;

use std::time::Duration;

use support::Kmirror;

fn run_with(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, config).unwrap();
    let mut kmirror = Kmirror::run(&path);
    let status = kmirror.wait(Duration::from_secs(30));
    (status.code().unwrap_or(-1), kmirror.log())
}

const BASE: &str =
    "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\nb.bootstrap.servers = 127.0.0.1:1\n";

#[test]
fn config_errors_exit_2_naming_file_line_and_key() {
    let cases = [
        (format!("{BASE}a->c.enabled = true\n"), "a->c.enabled", ":4:"),
        (format!("{BASE}a->a.enabled = true\n"), "a->a.enabled", ":4:"),
        (format!("{BASE}a->b.enabled = true\na->b.topics = pay(ment\n"), "a->b.topics", ":5:"),
        (format!("{BASE}a->b.enabled = true\ntasks.max = four\n"), "tasks.max", ":5:"),
        (
            "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\na->b.enabled = true\n".to_string(),
            "b.bootstrap.servers",
            "mm2.properties",
        ),
        (
            format!("{BASE}a->b.enabled = true\nb->a.enabled = true\nreplication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n"),
            "replication.policy.class",
            ":6:",
        ),
    ];
    for (config, key, line) in cases {
        let (code, log) = run_with(&config);
        assert_eq!(code, 2, "config:\n{config}\nlog:\n{log}");
        let error_line = log
            .lines()
            .find(|l| l.starts_with("kmirror: "))
            .unwrap_or_else(|| panic!("no error line in {log}"));
        assert!(error_line.contains(key), "{error_line}");
        assert!(error_line.contains(line), "{error_line}");
        assert!(error_line.contains("mm2.properties"), "{error_line}");
    }
}

#[test]
fn unreachable_cluster_exits_non_zero_naming_it() {
    let config = format!("{BASE}a->b.enabled = true\n");
    let (code, log) = run_with(&config);
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("cluster a") && log.contains("127.0.0.1:1"),
        "{log}"
    );
}

#[test]
fn unusable_security_settings_exit_2_naming_cluster_and_key_never_a_secret() {
    let jaas = "a.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"hunter2\";\n";
    let cases = [
        (
            format!("{BASE}a->b.enabled = true\na.security.protocol = SSL\na.ssl.truststore.location = /nonexistent/truststore.jks\n"),
            "ssl.truststore.location=/nonexistent/truststore.jks",
        ),
        (
            format!("{BASE}a->b.enabled = true\na.security.protocol = SASL_PLAINTEXT\n{jaas}"),
            "GSSAPI",
        ),
        (
            format!("{BASE}a->b.enabled = true\na.security.protocol = SASL_PLAINTEXT\na.sasl.mechanism = SCRAM-SHA-512\n"),
            "sasl.jaas.config must be set",
        ),
        (
            format!("{BASE}a->b.enabled = true\na.security.protocol = TLS\n{jaas}"),
            "security.protocol=TLS",
        ),
        (
            format!("{BASE}a->b.enabled = true\na.security.protocol = SASL_SSL\na.sasl.mechanism = SCRAM-SHA-512\n{jaas}a.ssl.truststore.type = PEM\na.ssl.truststore.location = /nonexistent/ca.pem\n"),
            "ssl.truststore.location=/nonexistent/ca.pem",
        ),
    ];
    for (config, expected) in cases {
        let (code, log) = run_with(&config);
        assert_eq!(code, 2, "config:\n{config}\nlog:\n{log}");
        let error_line = log
            .lines()
            .find(|l| l.starts_with("kmirror: "))
            .unwrap_or_else(|| panic!("no error line in {log}"));
        assert!(error_line.contains("cluster a"), "{error_line}");
        assert!(error_line.contains(expected), "{error_line}");
        assert!(!log.contains("hunter2"), "{log}");
    }
}

/// Runs `kmirror <command> <file> <args...>` on `bytes` to its end and
/// returns the exit code and everything it logged.
fn command_with(command: &str, bytes: &[u8], args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, bytes).unwrap();
    let mut all = vec![command, path.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut kmirror = Kmirror::start(&all);
    let status = kmirror.wait(Duration::from_secs(30));
    (status.code().unwrap_or(-1), kmirror.log())
}

fn error_line(log: &str) -> &str {
    log.lines()
        .find(|l| l.starts_with("kmirror: "))
        .unwrap_or_else(|| panic!("no error line in {log}"))
}

const TYPOS: &str = "a->b.enabled = true\ntasks.maks = 4\na.bootstrap.server = 127.0.0.1:2\n";

#[test]
fn strict_refuses_unknown_keys_with_a_suggestion_exit_2() {
    for command in ["run", "check"] {
        let config = format!("{BASE}{TYPOS}");
        let (code, log) = command_with(command, config.as_bytes(), &["--strict"]);
        assert_eq!(code, 2, "{command}:\n{log}");
        let line = error_line(&log);
        assert!(
            line.contains(
                "mm2.properties:5: tasks.maks: unknown key (did you mean \"tasks.max\"?)"
            ),
            "{command}: {line}"
        );
        assert!(
            line.contains("a.bootstrap.server (line 6)"),
            "{command}: {line}"
        );
        // Nothing was reached for: the config stops it first.
        assert!(!log.contains("unreachable"), "{command}:\n{log}");
    }
}

#[test]
fn without_strict_unknown_keys_are_warnings_with_a_suggestion() {
    let config = format!("{BASE}{TYPOS}");
    let (code, log) = command_with("check", config.as_bytes(), &[]);
    // The cluster at 127.0.0.1:1 is unreachable: not a config error.
    assert_ne!(code, 2, "{log}");
    assert!(
        log.contains("tasks.maks: unknown key, ignored; did you mean \"tasks.max\"?"),
        "{log}"
    );
    assert!(
        log.contains(
            "a.bootstrap.server: unknown key, ignored; did you mean \"a.bootstrap.servers\"?"
        ),
        "{log}"
    );
    // Only keys the file sets are "not honoured", and none of these is.
    assert!(!log.contains("not honoured"), "{log}");
}

#[test]
fn silently_accepted_mistakes_are_config_errors_exit_2() {
    let cases = [
        (format!("{BASE}a->b.enabled = true\noffset.lag.max = -5\n"), "mm2.properties:5: offset.lag.max: -5 is out of range"),
        (
            "clusters = a, a, b\na.bootstrap.servers = 127.0.0.1:1\nb.bootstrap.servers = 127.0.0.1:1\na->b.enabled = true\n".to_string(),
            "mm2.properties:1: clusters: cluster alias \"a\" is listed twice",
        ),
        (
            "clusters = a, b\na.bootstrap.servers = 127.0.0.1\nb.bootstrap.servers = 127.0.0.1:1\na->b.enabled = true\n".to_string(),
            "mm2.properties:2: a.bootstrap.servers: invalid bootstrap server \"127.0.0.1\": no port",
        ),
        (
            "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\nb.bootstrap.servers = 127.0.0.1:70000\na->b.enabled = true\n".to_string(),
            "mm2.properties:3: b.bootstrap.servers: invalid bootstrap server \"127.0.0.1:70000\": the port must be",
        ),
        (BASE.to_string(), "nothing to replicate: no flow is enabled"),
        (
            format!("{BASE}a->b.enabled = false\n"),
            "mm2.properties:4: a->b.enabled: nothing to replicate",
        ),
        (format!("{BASE}a->b.enabled = ture\n"), "mm2.properties:4: a->b.enabled: \"ture\" is not a boolean"),
    ];
    for command in ["run", "check"] {
        for (config, expected) in &cases {
            let started = std::time::Instant::now();
            let (code, log) = command_with(command, config.as_bytes(), &[]);
            assert_eq!(code, 2, "{command}, config:\n{config}\nlog:\n{log}");
            let line = error_line(&log);
            assert!(line.contains(expected), "{command}: {line}");
            // Refused before any connection attempt, not after a timeout.
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{command}: {log}"
            );
        }
    }
    // `--clusters` naming a cluster no enabled flow goes into.
    let config = format!("{BASE}a->b.enabled = true\n");
    let (code, log) = command_with("check", config.as_bytes(), &["--clusters", "a"]);
    assert_eq!(code, 2, "{log}");
    assert!(
        error_line(&log)
            .contains("no enabled flow goes into a (--clusters); set b->a.enabled = true"),
        "{log}"
    );
}

#[test]
fn a_latin1_file_is_read_as_iso_8859_1() {
    // 0xE9 is `é` in ISO-8859-1 and not valid UTF-8 on its own.
    let mut config = b"# r\xe9plication de kafka-a\n".to_vec();
    config.extend_from_slice(format!("{BASE}a->b.enabled = true\n").as_bytes());
    config.extend_from_slice(b"a->b.topics = caf\xe9\n");
    let (code, log) = command_with("check", &config, &["--strict"]);
    assert_ne!(code, 2, "{log}");
    assert!(!log.contains("UTF-8"), "{log}");
}
