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
