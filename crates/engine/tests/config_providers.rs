//! Kafka config providers in mm2.properties and the Connect JSON form: files,
//! directories and environment variables written by each test, the resolved
//! client settings read back through `ClusterConfig::client_config`, every
//! error (naming file, line, key and placeholder, never a value), and no
//! resolved value in `Debug`, errors or warnings.

use std::path::Path;

use kmirror_engine::config::mm2::{ClientRole, Mm2Config};
use kmirror_engine::config::{ConfigErrorKind, PlaceholderProblem};

const CLUSTERS: &str = "\
clusters = kafka-a, kafka-b
kafka-a.bootstrap.servers = a1:9092
kafka-b.bootstrap.servers = b1:9092
kafka-a->kafka-b.enabled = true
";

const FILE: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIRECTORY: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const ENV: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// Sets an environment variable only this test reads (tests run in parallel
/// threads of one process; std serialises environment access).
fn set_env(name: &str, value: &str) {
    std::env::set_var(name, value);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn parse(text: &str) -> Mm2Config {
    Mm2Config::parse(text, "mm2.properties").unwrap_or_else(|e| panic!("{e}"))
}

fn parse_error(text: &str) -> kmirror_engine::config::ConfigError {
    match Mm2Config::parse(text, "mm2.properties") {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => {
            assert!(!error.to_string().contains('\n'), "one line: {error}");
            error
        }
    }
}

/// Providers `file`, `dir` and `env` as in the operator's file.
fn providers_header() -> String {
    format!(
        "config.providers = file, dir, env\n\
         config.providers.file.class = {FILE}\n\
         config.providers.dir.class = {DIRECTORY}\n\
         config.providers.env.class = {ENV}\n"
    )
}

#[test]
fn the_operators_file_resolves_into_client_settings() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.properties");
    write(
        &secrets,
        "# SCRAM user of kafka-a\nuser = u-from-file\npassword = s3cr3t-from-file\n",
    );
    let run_secrets = dir.path().join("run-secrets");
    std::fs::create_dir(&run_secrets).unwrap();
    write(&run_secrets.join("keystore-password"), "ks-pw-from-dir");
    set_env("KMIRROR_TEST_TRUSTSTORE_PW", "ts-pw-from-env");
    let secrets = secrets.display();
    let run_secrets = run_secrets.display();
    let text = format!(
        "{CLUSTERS}{}\
         kafka-a.security.protocol = SASL_SSL\n\
         kafka-a.sasl.mechanism = SCRAM-SHA-512\n\
         kafka-a.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username=\"${{file:{secrets}:user}}\" password=\"${{file:{secrets}:password}}\";\n\
         kafka-b.security.protocol = SSL\n\
         kafka-b.ssl.truststore.password = ${{env:KMIRROR_TEST_TRUSTSTORE_PW}}\n\
         kafka-b.ssl.keystore.password = ${{dir:{run_secrets}:keystore-password}}\n\
         kafka-b.producer.ssl.key.password = ${{env:KMIRROR_TEST_TRUSTSTORE_PW}}\n",
        providers_header()
    );
    let config = parse(&text);
    let a = config.cluster("kafka-a").unwrap();
    let b = config.cluster("kafka-b").unwrap();
    for role in [
        ClientRole::Consumer,
        ClientRole::Producer,
        ClientRole::Admin,
    ] {
        let client = a.client_config(role);
        assert_eq!(
            client.get("sasl.jaas.config"),
            Some(
                "org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"u-from-file\" password=\"s3cr3t-from-file\";"
            ),
            "{role:?}"
        );
        assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert!(client.is_from_provider("sasl.jaas.config"));
        assert!(!client.is_from_provider("sasl.mechanism"));
        let client = b.client_config(role);
        assert_eq!(
            client.get("ssl.truststore.password"),
            Some("ts-pw-from-env")
        );
        assert_eq!(client.get("ssl.keystore.password"), Some("ks-pw-from-dir"));
        assert_eq!(client.get("security.protocol"), Some("SSL"));
    }
    assert_eq!(
        b.client_config(ClientRole::Producer)
            .get("ssl.key.password"),
        Some("ts-pw-from-env")
    );
    assert_eq!(
        b.client_config(ClientRole::Consumer)
            .get("ssl.key.password"),
        None
    );

    // The properties stay as written; providers are honoured, nothing to report.
    assert_eq!(
        config.properties().get("kafka-b.ssl.truststore.password"),
        Some("${env:KMIRROR_TEST_TRUSTSTORE_PW}")
    );
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    let unsupported = config.unsupported_keys();
    assert!(
        !unsupported
            .iter()
            .any(|key| key.starts_with("config.providers")),
        "{unsupported:?}"
    );

    let debug = format!("{config:?}");
    for secret in [
        "s3cr3t-from-file",
        "u-from-file",
        "ks-pw-from-dir",
        "ts-pw-from-env",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
        assert!(!unsupported.join(",").contains(secret));
    }
    let debug = format!("{:?}", b.client_config(ClientRole::Producer));
    assert!(!debug.contains("ts-pw-from-env"), "{debug}");
}

#[test]
fn the_class_decides_and_the_alias_is_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    write(&secrets, "token = t0k3n\n");
    let secrets = secrets.display();
    // Connect's plugin loader takes the simple name and the alias too.
    for class in [FILE, "FileConfigProvider", "File"] {
        let config = parse(&format!(
            "{CLUSTERS}config.providers = vault\n\
             config.providers.vault.class = {class}\n\
             kafka-a.sasl.jaas.config = x password=\"${{vault:{secrets}:token}}\";\n"
        ));
        let client = config
            .cluster("kafka-a")
            .unwrap()
            .client_config(ClientRole::Consumer);
        assert_eq!(
            client.get("sasl.jaas.config"),
            Some("x password=\"t0k3n\";"),
            "{class}"
        );
    }
}

#[test]
fn a_placeholder_of_an_unconfigured_provider_stays_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    write(&secrets, "pw = resolved-pw\n");
    let secrets = secrets.display();
    let config = parse(&format!(
        "{CLUSTERS}config.providers = file\n\
         config.providers.file.class = {FILE}\n\
         kafka-a.ssl.truststore.location = ${{vault:secret/kafka:location}}\n\
         kafka-a.ssl.truststore.password = ${{vault:secret/kafka:pw}} ${{file:{secrets}:pw}}\n"
    ));
    let client = config
        .cluster("kafka-a")
        .unwrap()
        .client_config(ClientRole::Admin);
    assert_eq!(
        client.get("ssl.truststore.location"),
        Some("${vault:secret/kafka:location}")
    );
    assert_eq!(
        client.get("ssl.truststore.password"),
        Some("${vault:secret/kafka:pw} resolved-pw")
    );
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("mm2.properties:7: kafka-a.ssl.truststore.location: provider \"vault\""),
        "{warnings:?}"
    );
    // For a secret key the warning does not quote the value.
    assert!(
        warnings[1].starts_with("mm2.properties:8: kafka-a.ssl.truststore.password: looks like"),
        "{warnings:?}"
    );
    assert!(!warnings[1].contains("vault"), "{warnings:?}");

    // Without any provider, Kafka keeps every placeholder.
    let config = parse(&format!(
        "{CLUSTERS}kafka-a.ssl.keystore.password = ${{env:X}}\n"
    ));
    assert_eq!(
        config
            .cluster("kafka-a")
            .unwrap()
            .client_config(ClientRole::Consumer)
            .get("ssl.keystore.password"),
        Some("${env:X}")
    );
}

#[test]
fn files_are_read_as_java_properties_and_resolved_text_is_not_scanned_again() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    write(
        &secrets,
        "! comment\nlong\\ key : first \\\n    second\nescaped = \\u0041\\t\\=\nlooks = ${env:KMIRROR_TEST_NEVER_READ}\n",
    );
    set_env("KMIRROR_TEST_NEVER_READ", "must-not-appear");
    let secrets = secrets.display();
    let config = parse(&format!(
        "{CLUSTERS}{}\
         kafka-a.sasl.jaas.config = <${{file:{secrets}:long key}}|${{file:{secrets}:escaped}}|${{file:{secrets}:looks}}>\n",
        providers_header()
    ));
    let client = config
        .cluster("kafka-a")
        .unwrap()
        .client_config(ClientRole::Consumer);
    assert_eq!(
        client.get("sasl.jaas.config"),
        Some("<first second|A\t=|${env:KMIRROR_TEST_NEVER_READ}>")
    );
}

#[test]
fn directory_files_are_read_whole_and_not_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("..data");
    std::fs::create_dir(&data).unwrap();
    write(&data.join("password"), "pw-with-newline\n");
    // Kubernetes mounts each secret as a link into `..data`.
    std::os::unix::fs::symlink(data.join("password"), dir.path().join("password")).unwrap();
    write(&dir.path().join("trailing"), "  spaced  ");
    let path = dir.path().display();
    let config = parse(&format!(
        "{CLUSTERS}{}\
         kafka-a.ssl.key.password = ${{dir:{path}:password}}\n\
         kafka-a.producer.sasl.jaas.config = [${{dir:{path}:trailing}}]\n",
        providers_header()
    ));
    let a = config.cluster("kafka-a").unwrap();
    // Trimmed as every client value is (Kafka's ConfigDef trims too) ...
    assert_eq!(
        a.client_config(ClientRole::Consumer)
            .get("ssl.key.password"),
        Some("pw-with-newline")
    );
    // ... but inside a value the file's blanks and newline stay.
    assert_eq!(
        a.client_config(ClientRole::Producer)
            .get("sasl.jaas.config"),
        Some("[  spaced  ]")
    );
}

#[test]
fn env_allowlist_pattern_is_a_whole_name_java_regex() {
    set_env("KMIRROR_TEST_ALLOWED_PW", "allowed-pw");
    set_env("KMIRROR_TEST_OTHER_PW", "other-pw");
    let header = format!(
        "{CLUSTERS}config.providers = env\n\
         config.providers.env.class = {ENV}\n\
         config.providers.env.param.allowlist.pattern = KMIRROR_TEST_ALLOWED.*\n"
    );
    let config = parse(&format!(
        "{header}kafka-a.ssl.truststore.password = ${{env:KMIRROR_TEST_ALLOWED_PW}}\n"
    ));
    assert_eq!(
        config
            .cluster("kafka-a")
            .unwrap()
            .client_config(ClientRole::Consumer)
            .get("ssl.truststore.password"),
        Some("allowed-pw")
    );
    let error = parse_error(&format!(
        "{header}kafka-a.ssl.truststore.password = ${{env:KMIRROR_TEST_OTHER_PW}}\n"
    ));
    assert_eq!(
        error.to_string(),
        "mm2.properties:8: kafka-a.ssl.truststore.password: cannot resolve \
         ${env:KMIRROR_TEST_OTHER_PW}: environment variable KMIRROR_TEST_OTHER_PW does not match \
         config.providers.env.param.allowlist.pattern (KMIRROR_TEST_ALLOWED.*)"
    );
    // A partial match is not a match (Java `Matcher.matches`).
    let error = parse_error(&format!(
        "{CLUSTERS}config.providers = env\n\
         config.providers.env.class = {ENV}\n\
         config.providers.env.param.allowlist.pattern = ALLOWED\n\
         kafka-a.ssl.truststore.password = ${{env:KMIRROR_TEST_ALLOWED_PW}}\n"
    ));
    match &error.kind {
        ConfigErrorKind::UnresolvedPlaceholder { problem, .. } => assert!(
            matches!(**problem, PlaceholderProblem::EnvVarNotAllowed { .. }),
            "{problem:?}"
        ),
        other => panic!("{other:?}"),
    }
    let error = parse_error(&format!(
        "{CLUSTERS}config.providers = env\n\
         config.providers.env.class = {ENV}\n\
         config.providers.env.param.allowlist.pattern = (x\n"
    ));
    assert!(
        error.to_string().starts_with(
            "mm2.properties:7: config.providers.env.param.allowlist.pattern: invalid regex"
        ),
        "{error}"
    );
}

#[test]
fn allowed_paths_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    write(&allowed.join("s.properties"), "pw = inside\n");
    write(&dir.path().join("outside.properties"), "pw = outside\n");
    let allowed_text = allowed.display().to_string();
    let header = format!(
        "{CLUSTERS}config.providers = file\n\
         config.providers.file.class = {FILE}\n\
         config.providers.file.param.allowed.paths = {allowed_text}\n"
    );
    let config = parse(&format!(
        "{header}kafka-a.ssl.key.password = ${{file:{allowed_text}/s.properties:pw}}\n"
    ));
    assert_eq!(
        config
            .cluster("kafka-a")
            .unwrap()
            .client_config(ClientRole::Consumer)
            .get("ssl.key.password"),
        Some("inside")
    );
    for path in [
        dir.path().join("outside.properties").display().to_string(),
        format!("{allowed_text}/../outside.properties"),
        "outside.properties".to_owned(),
    ] {
        let error = parse_error(&format!(
            "{header}kafka-a.ssl.key.password = ${{file:{path}:pw}}\n"
        ));
        assert_eq!(
            error.to_string(),
            format!(
                "mm2.properties:8: kafka-a.ssl.key.password: cannot resolve ${{file:{path}:pw}}: \
                 path {path} is outside config.providers.file.param.allowed.paths ({allowed_text})"
            )
        );
    }

    // Kafka refuses relative entries, entries with blanks after the comma and
    // entries that do not exist.
    for (value, bad, reason) in [
        (
            "relative/dir".to_owned(),
            "relative/dir".to_owned(),
            "is not absolute",
        ),
        (
            format!("{allowed_text}, {allowed_text}"),
            format!(" {allowed_text}"),
            "is not absolute",
        ),
        (
            "/no/such/kmirror/dir".to_owned(),
            "/no/such/kmirror/dir".to_owned(),
            "does not exist",
        ),
    ] {
        let error = parse_error(&format!(
            "{CLUSTERS}config.providers = dir\n\
             config.providers.dir.class = {DIRECTORY}\n\
             config.providers.dir.param.allowed.paths = {value}\n"
        ));
        assert_eq!(error.key, "config.providers.dir.param.allowed.paths");
        assert_eq!(error.location.line, Some(7));
        match &error.kind {
            ConfigErrorKind::InvalidAllowedPath { path, reason: why } => {
                assert_eq!(path, &bad);
                assert!(why.starts_with(reason), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_resolution_failure_names_key_line_and_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    write(&secrets, "user = u\n");
    let bad_escape = dir.path().join("bad.properties");
    write(&bad_escape, "a = 1\npw = \\u12G4\n");
    let not_utf8 = dir.path().join("latin1.properties");
    std::fs::write(&not_utf8, b"pw = caf\xe9\n").unwrap();
    let missing = dir.path().join("missing.properties");
    let d = dir.path().display();
    let secrets = secrets.display();
    set_env("KMIRROR_TEST_PRESENT", "present-value");
    let cases: Vec<(String, String)> = vec![
        (
            format!("${{file:{}:pw}}", missing.display()),
            format!(
                "cannot read properties file {}: no such file",
                missing.display()
            ),
        ),
        (
            format!("${{file:{secrets}:password}}"),
            format!("no key \"password\" in properties file {secrets}"),
        ),
        (
            format!("${{file:{}:pw}}", bad_escape.display()),
            format!(
                "cannot read properties file {}: line 2: malformed \\uxxxx escape",
                bad_escape.display()
            ),
        ),
        (
            format!("${{file:{}:pw}}", not_utf8.display()),
            format!(
                "cannot read properties file {}: not valid UTF-8",
                not_utf8.display()
            ),
        ),
        (
            "${file:pw}".to_owned(),
            "the FileConfigProvider provider needs a path: ${file:<path>:<key>}".to_owned(),
        ),
        (
            format!("${{dir:{d}:nothing-here}}"),
            format!("no regular file \"nothing-here\" in directory {d}"),
        ),
        (
            format!("${{dir:{d}:../s.properties}}"),
            format!("no regular file \"../s.properties\" in directory {d}"),
        ),
        (
            format!("${{dir:{secrets}:user}}"),
            format!("{secrets} is not a directory"),
        ),
        (
            "${env:KMIRROR_TEST_NEVER_SET}".to_owned(),
            "environment variable KMIRROR_TEST_NEVER_SET is not set".to_owned(),
        ),
        (
            "${env:some/path:HOME}".to_owned(),
            "the environment provider takes no path (write ${env:NAME})".to_owned(),
        ),
    ];
    for (placeholder, problem) in cases {
        let error = parse_error(&format!(
            "{CLUSTERS}{}\
             kafka-a.ssl.truststore.location = /etc/truststore.jks\n\
             kafka-a.ssl.truststore.password = before ${{env:KMIRROR_TEST_PRESENT}} {placeholder} after\n",
            providers_header()
        ));
        assert_eq!(
            error.to_string(),
            format!(
                "mm2.properties:10: kafka-a.ssl.truststore.password: cannot resolve \
                 {placeholder}: {problem}"
            )
        );
        assert_eq!(error.location.line, Some(10));
        assert_eq!(error.key, "kafka-a.ssl.truststore.password");
    }
}

#[test]
fn provider_settings_are_checked() {
    let error = parse_error(&format!(
        "{CLUSTERS}config.providers = vault\n\
         config.providers.vault.class = com.example.VaultConfigProvider\n"
    ));
    assert_eq!(
        error.to_string(),
        "mm2.properties:6: config.providers.vault.class: unknown config provider class \
         \"com.example.VaultConfigProvider\" (kmirror has \
         org.apache.kafka.common.config.provider.FileConfigProvider, DirectoryConfigProvider \
         and EnvVarConfigProvider)"
    );

    // What Kafka silently ignores is reported.
    let config = parse(&format!(
        "{CLUSTERS}config.providers = file, env\n\
         config.providers.file.class = {FILE}\n\
         config.providers.file.param.allowlist.pattern = .*\n\
         config.providers.dir.class = {DIRECTORY}\n\
         kafka-a.ssl.key.password = ${{env:HOME}}\n"
    ));
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "mm2.properties:5: config.providers: provider \"env\" has no \
             config.providers.env.class; its placeholders stay as written, as in Kafka",
            "mm2.properties:7: config.providers.file.param.allowlist.pattern: unknown parameter \
             \"allowlist.pattern\"; FileConfigProvider takes only allowed.paths",
            "mm2.properties:8: config.providers.dir.class: not a setting of a provider listed \
             in config.providers; ignored, as in Kafka",
            "mm2.properties:9: kafka-a.ssl.key.password: looks like it holds a \
             ${provider:[path:]key} placeholder whose provider is not configured; kept as \
             written, as in Kafka",
        ]
    );
}

#[test]
fn resolved_values_never_appear_in_errors_or_debug() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    write(
        &secrets,
        "tasks = not-a-number-SECRET\npolicy = com.example.SECRETPolicy\nok = 4\n",
    );
    let secrets = secrets.display();
    let header =
        format!("{CLUSTERS}config.providers = file\nconfig.providers.file.class = {FILE}\n");
    let error = parse_error(&format!("{header}tasks.max = ${{file:{secrets}:tasks}}\n"));
    assert_eq!(
        error.to_string(),
        format!(
            "mm2.properties:7: tasks.max: \"${{file:{secrets}:tasks}}\" is not a number \
             (expected a 32-bit integer)"
        )
    );
    let error = parse_error(&format!(
        "{header}kafka-a->kafka-b.replication.policy.class = x.${{file:{secrets}:policy}}\n"
    ));
    assert!(
        !format!("{error} {error:?}").contains("SECRET"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("x.${{file:{secrets}:policy}}")),
        "{error}"
    );

    let config = parse(&format!(
        "{header}tasks.max = ${{file:{secrets}:ok}}\n\
         kafka-a.ssl.truststore.location = /etc/${{file:{secrets}:policy}}.jks\n\
         kafka-a.client.id = ${{file:{secrets}:policy}}\n"
    ));
    assert_eq!(config.flow("kafka-a", "kafka-b").unwrap().tasks_max, 4);
    let a = config.cluster("kafka-a").unwrap();
    assert_eq!(
        a.security.get("ssl.truststore.location"),
        Some("/etc/com.example.SECRETPolicy.jks")
    );
    let debug = format!("{config:?} {:?}", config.properties());
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(!format!("{:?}", a.client_config(ClientRole::Consumer)).contains("SECRET"));
    assert!(!config.unsupported_keys().join(",").contains("SECRET"));
}

#[test]
fn connect_json_resolves_with_the_providers_it_declares() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.properties");
    write(&secrets, "pw = json-secret\n");
    let secrets = secrets.display();
    let json = format!(
        r#"{{
  "name": "a-to-b",
  "config": {{
    "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
    "source.cluster.alias": "kafka-a",
    "target.cluster.alias": "kafka-b",
    "source.cluster.bootstrap.servers": "a1:9092",
    "target.cluster.bootstrap.servers": "b1:9092",
    "config.providers": "file",
    "config.providers.file.class": "{FILE}",
    "source.cluster.ssl.truststore.password": "${{file:{secrets}:pw}}",
    "target.cluster.ssl.truststore.password": "${{file:{secrets}:nope}}"
  }}
}}"#
    );
    let error = Mm2Config::from_connect_json_named(&json, "a-to-b.json").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "a-to-b.json:12: target.cluster.ssl.truststore.password: cannot resolve \
             ${{file:{secrets}:nope}}: no key \"nope\" in properties file {secrets}"
        )
    );
    let json = json.replace(":nope}", ":pw}");
    let config = Mm2Config::from_connect_json_named(&json, "a-to-b.json").unwrap();
    for alias in ["kafka-a", "kafka-b"] {
        let client = config
            .cluster(alias)
            .unwrap()
            .client_config(ClientRole::Consumer);
        assert_eq!(client.get("ssl.truststore.password"), Some("json-secret"));
    }
    assert!(!format!("{config:?}").contains("json-secret"));
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
}

#[test]
fn odd_names_are_missing_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // `\u0000` is the properties escape of NUL.
    for (placeholder, name) in [
        ("${env:A=B}", "A=B"),
        ("${env:}", ""),
        ("${env:X\\u0000Y}", "X\u{0}Y"),
    ] {
        let error = parse_error(&format!(
            "{CLUSTERS}{}kafka-a.ssl.key.password = {placeholder}\n",
            providers_header()
        ));
        match &error.kind {
            ConfigErrorKind::UnresolvedPlaceholder { problem, .. } => assert_eq!(
                **problem,
                PlaceholderProblem::EnvVarNotSet {
                    name: name.to_owned()
                }
            ),
            other => panic!("{placeholder}: {other:?}"),
        }
    }
    for key in ["\\u0000", ".", "..", "a/b"] {
        let error = parse_error(&format!(
            "{CLUSTERS}{}kafka-a.ssl.key.password = ${{dir:{d}:{key}}}\n",
            providers_header()
        ));
        assert!(
            matches!(&error.kind, ConfigErrorKind::UnresolvedPlaceholder { problem, .. }
                if matches!(**problem, PlaceholderProblem::FileNotInDirectory { .. })),
            "{key}: {error}"
        );
    }
    let error = parse_error(&format!(
        "{CLUSTERS}{}kafka-a.ssl.key.password = ${{file:/tmp/x\\u0000y:pw}}\n",
        providers_header()
    ));
    assert!(
        error.to_string().contains("cannot read properties file"),
        "{error}"
    );
}
