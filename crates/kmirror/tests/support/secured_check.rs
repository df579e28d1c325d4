//! The secured test bed of `secured_failures.rs` and how its cases run:
//! one secured cluster (with an OAuth token endpoint) for every test of
//! the binary, client settings per listener, `kmirror check` bounded in
//! time, and the assertions every failure shares (exit code, cluster, key,
//! broker, no secret).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kmirror_testbed::{
    ClientAuth, KafkaCluster, KeyStoreForm, SecuredListener, SecurityOptions, TokenServer,
    TokenServerOptions, TrustStoreForm,
};

/// A refusal or configuration error must come well before the 10 s the
/// client keeps retrying an unreachable cluster.
pub const AT_ONCE: Duration = Duration::from_secs(8);

/// The SASL user of the leak test: a super user, so its runs need no ACLs.
pub const LEAK_USER: &str = "leaky";
/// The OAuth client of the leak test; its principal is a super user too.
pub const OAUTH_CLIENT: &str = "leak-client";

/// The shared secured cluster and the token endpoint its OAUTH listener
/// trusts.
pub struct Bed {
    pub cluster: KafkaCluster,
    pub tokens: TokenServer,
    /// [`LEAK_USER`]'s password.
    pub leak_password: String,
}

pub fn bed() -> &'static Bed {
    static BED: OnceLock<Bed> = OnceLock::new();
    BED.get_or_init(|| {
        let oauth_secret = secret("OAuthClientSecret");
        // Before the cluster: the brokers' JVMs must allow its URLs.
        let tokens = TokenServer::start(TokenServerOptions {
            clients: vec![(OAUTH_CLIENT.to_string(), oauth_secret)],
            ..TokenServerOptions::default()
        });
        let leak_password = secret("SaslUserSecret");
        let cluster = KafkaCluster::builder("secured-failures")
            .secured(
                SecurityOptions::new()
                    .user(LEAK_USER, &leak_password)
                    .authorizer()
                    .super_user(&format!("User:{LEAK_USER}"))
                    .super_user(kmirror_testbed::pki::CLIENT_PRINCIPAL)
                    .super_user(&format!("User:{OAUTH_CLIENT}"))
                    .oauth(&tokens),
            )
            .start();
        Bed {
            cluster,
            tokens,
            leak_password,
        }
    })
}

/// `<purpose>-<16 random letters and digits>`: a value no log line holds
/// by chance.
pub fn secret(purpose: &str) -> String {
    use rand::Rng as _;
    let suffix: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    format!("{purpose}-{suffix}")
}

/// Client settings of one cluster alias, in the order written.
pub type Props = Vec<(String, String)>;

pub fn prop(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_string(), value.into())
}

/// Props with `key` set to `value` (replaced, or added at the end).
pub fn with(mut props: Props, key: &str, value: impl Into<String>) -> Props {
    let value = value.into();
    match props.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => props.push((key.to_string(), value)),
    }
    props
}

pub fn without(mut props: Props, key: &str) -> Props {
    props.retain(|(k, _)| k != key);
    props
}

/// The Java client settings of `listener` (JKS truststore, PKCS12 key
/// store) plus `bootstrap.servers`.
pub fn listener_props(listener: SecuredListener, auth: &ClientAuth) -> Props {
    listener_props_with(listener, auth, TrustStoreForm::Jks, KeyStoreForm::Pkcs12)
}

pub fn listener_props_with(
    listener: SecuredListener,
    auth: &ClientAuth,
    trust: TrustStoreForm,
    key: KeyStoreForm,
) -> Props {
    let cluster = &bed().cluster;
    let mut props = vec![prop(
        "bootstrap.servers",
        cluster.listener_bootstrap(listener.name()),
    )];
    props.extend(cluster.java_client_props_with(listener, auth, trust, key));
    props
}

pub fn scram_jaas(user: &str, password: &str) -> String {
    format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";"
    )
}

/// `<alias>.<key> = <value>` lines, escaped as Java properties want
/// (inline PEM spans lines).
pub fn alias_lines(alias: &str, props: &Props) -> String {
    props
        .iter()
        .map(|(k, v)| {
            let v = v.replace('\\', "\\\\").replace('\n', "\\n");
            format!("{alias}.{k} = {v}\n")
        })
        .collect()
}

/// The values of `props` an operator would call secret: passwords, the
/// JAAS text's password and client secret.
pub fn secrets_of(props: &Props) -> Vec<String> {
    let mut secrets = Vec::new();
    for (key, value) in props {
        if key.ends_with("password") {
            secrets.push(value.clone());
        }
        if key == "ssl.keystore.key" {
            // A line of the key's base64 body stands for all of it.
            secrets.extend(value.lines().nth(1).map(str::to_string));
        }
        if key == "sasl.jaas.config" {
            for option in ["password=\"", "clientSecret=\""] {
                if let Some(rest) = value.split(option).nth(1) {
                    secrets.push(rest.split('"').next().unwrap_or_default().to_string());
                }
            }
        }
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

/// What one `kmirror check` printed and how it ended.
pub struct Checked {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Checked {
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Writes `config` to a temp file, runs `kmirror [global...] check <file>`
/// with `env`, and waits at most `within` for its exit (killing it then).
pub fn check_with(
    config: &str,
    global: &[&str],
    env: &[(&str, &str)],
    within: Duration,
) -> Checked {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, config).unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(global)
        .arg("check")
        .arg(&path)
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("kmirror binary starts");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kmirror check still running after {within:?}\nconfig:\n{config}\nstderr:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Checked {
        code: status.code().expect("kmirror check exits, not killed"),
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
        took: started.elapsed(),
    }
}

/// A `check` config: `kafka-a` with `kafka_a` (the settings under test),
/// `kafka-b` on PLAINTEXT, one flow that replicates nothing.
pub fn check_config(kafka_a: &Props) -> String {
    format!(
        "clusters = kafka-a, kafka-b\n\
         kafka-b.bootstrap.servers = {}\n\
         kafka-a->kafka-b.enabled = true\n\
         kafka-a->kafka-b.topics = no-such-topic\n\
         {}",
        bed().cluster.bootstrap(),
        alias_lines("kafka-a", kafka_a)
    )
}

/// What a failing `check` must say.
pub struct Expect {
    /// 2: the configuration cannot be used; 1: the cluster refused.
    pub code: i32,
    /// Substrings the message must hold (besides `cluster kafka-a`).
    pub names: &'static [&'static str],
}

/// Runs `check` with `kafka_a`, asserts the failure `expect` and that no
/// secret of the settings (nor `extra_secrets`) is printed; returns stderr.
pub fn assert_check_fails(
    case: &str,
    kafka_a: &Props,
    extra_secrets: &[&str],
    expect: Expect,
) -> String {
    let checked = check_with(&check_config(kafka_a), &[], &[], AT_ONCE);
    let output = checked.output();
    eprintln!(
        "{case}: exit {} after {:.2?}: {}",
        checked.code,
        checked.took,
        checked.stderr.trim()
    );
    assert_eq!(
        checked.code, expect.code,
        "{case}: exit code; output:\n{output}"
    );
    assert!(
        checked.stderr.contains("cluster kafka-a"),
        "{case}: the message names the cluster:\n{output}"
    );
    for name in expect.names {
        assert!(
            checked.stderr.contains(name),
            "{case}: the message names `{name}`:\n{output}"
        );
    }
    if expect.code == 1 {
        // A refusal names the broker that refused.
        let bootstrap = &kafka_a
            .iter()
            .find(|(k, _)| k == "bootstrap.servers")
            .unwrap()
            .1;
        let broker = bootstrap.split(',').next().unwrap();
        assert!(
            checked.stderr.contains(broker),
            "{case}: the message names the broker {broker}:\n{output}"
        );
    }
    let mut secrets = secrets_of(kafka_a);
    secrets.extend(extra_secrets.iter().map(|s| s.to_string()));
    assert_no_secret(case, &output, &secrets);
    checked.stderr
}

pub fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: a secret ({}...) appears in:\n{text}",
            &secret[..secret.len().min(6)]
        );
    }
}

/// The REST address a running kmirror logged, in text or JSON form.
pub fn rest_address(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("REST API listening"))?;
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["address"].as_str().map(str::to_string);
    }
    let rest = line.split("address=").nth(1)?;
    Some(rest.split_whitespace().next().unwrap_or(rest).to_string())
}

/// `<method> <path>` on `address` with a JSON `body` (if any): the status
/// line and the body (de-chunked, so that no secret hides across chunks).
pub fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> (String, String) {
    let (status, body) = crate::support::http(address, method, path, body);
    (format!("HTTP/1.1 {status}"), body)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
