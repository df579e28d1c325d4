//! The guarded REST API, against the real binary: HTTPS with a certificate
//! made at test time, bearer and basic credentials on requests that change
//! state (and on reads with `--rest-auth-read`), open probes, `kmirror
//! status` through the guard, settings that cannot be used (exit 2), and no
//! secret in the log.
//!
//! One Kafka cluster serves the test that creates a connector through the
//! guarded API (its two aliases name the same cluster); the others need no
//! cluster.

mod support;

use std::io::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use kmirror_testbed::{random_topic_name, shared_cluster, ProduceOptions, TestRecord};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use support::{dechunk, total_end_offset, wait_until, Kmirror};

const TOKEN: &str = "tok-3f9a1c2e-right";
const WRONG_TOKEN: &str = "tok-77d0b6aa-wrong";
const PASSWORD: &str = "pw-5be1d2c4-admin";
const WRONG_PASSWORD: &str = "pw-0c9e8f12-wrong";

// ---- certificates -----------------------------------------------------------

/// A CA and a server certificate it signed for 127.0.0.1 and localhost,
/// as PEM files.
struct Pki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// A key that belongs to no certificate here.
    other_key: PathBuf,
    /// The base64 body of the server key, to search the logs for.
    key_body: String,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kmirror test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let key_pem = server_key.serialize_pem();
        let key_body = key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        Pki {
            ca: write("ca.pem", &ca.pem()),
            // The chain, leaf first.
            cert: write("server.pem", &format!("{}{}", server.pem(), ca.pem())),
            key: write("server.key", &key_pem),
            other_key: write("other.key", &KeyPair::generate().unwrap().serialize_pem()),
            key_body,
            dir,
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A client config that trusts only this CA.
    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read_to_string(&self.ca).unwrap();
        let der = base64::engine::general_purpose::STANDARD
            .decode(
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        roots.add(der.into()).unwrap();
        client_config(roots)
    }
}

fn client_config(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

// ---- HTTP(S) ----------------------------------------------------------------

#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The values of header `name`, lowercase name match.
    fn header_values(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

/// The API at `address`, over TLS when `tls` is set.
struct Api {
    address: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Api {
    /// One HTTP/1.1 request with `Connection: close`; an error when the
    /// connection or TLS handshake fails or no HTTP answer comes.
    fn try_request(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> Result<Answer, String> {
        let tcp = TcpStream::connect(&self.address).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = body.unwrap_or("");
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        let mut answer = Vec::new();
        match &self.tls {
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
                let connection = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(|e| e.to_string())?;
                let mut stream = rustls::StreamOwned::new(connection, tcp);
                stream
                    .write_all(request.as_bytes())
                    .map_err(|e| e.to_string())?;
                read_all(&mut stream, &mut answer)?;
            }
            None => {
                let mut tcp = tcp;
                tcp.write_all(request.as_bytes())
                    .map_err(|e| e.to_string())?;
                read_all(&mut tcp, &mut answer)?;
            }
        }
        let answer = String::from_utf8_lossy(&answer).to_string();
        let (head, rest) = answer
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("no HTTP answer: {answer:?}"))?;
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP status: {head:?}"))?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_string()
        };
        Ok(Answer {
            status,
            head: head.to_string(),
            body,
        })
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.try_request(method, path, authorization, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

/// Reads to the end; a peer that closes without TLS close_notify after a
/// whole answer is fine (`Connection: close`).
fn read_all(stream: &mut impl std::io::Read, into: &mut Vec<u8>) -> Result<(), String> {
    match stream.read_to_end(into) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !into.is_empty() => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// Asserts that no secret of this file appears in the log.
fn assert_no_secret_in(log: &str, extra: &[&str]) {
    for secret in [TOKEN, WRONG_TOKEN, PASSWORD, WRONG_PASSWORD]
        .iter()
        .chain(extra)
    {
        assert!(
            !log.contains(secret),
            "the log shows the secret {secret:?}:\n{log}"
        );
    }
}

/// `kmirror status --once` with `args` and `env`: success and output.
fn kmirror_status(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["status", "--once"])
        .args(args)
        .env_remove("KMIRROR_REST_TOKEN")
        .env_remove("KMIRROR_REST_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

// ---- the tests --------------------------------------------------------------

/// HTTPS with a token and basic users: reads open, writes guarded, and a
/// connector created through the guard replicates.
#[test]
fn https_api_guards_writes_and_a_connector_created_through_it_replicates() {
    let pki = Pki::new();
    let token_file = pki.write("token", &format!("{TOKEN}\n"));
    let users = pki.write("users.properties", &format!("admin={PASSWORD}\n"));
    let state = tempfile::tempdir().unwrap();
    let mut kmirror = Kmirror::start_with_env(
        &[
            "run",
            "--state-dir",
            state.path().to_str().unwrap(),
            "--rest-tls-cert",
            pki.cert.to_str().unwrap(),
            "--rest-tls-key",
            pki.key.to_str().unwrap(),
            "--rest-auth-token-file",
            token_file.to_str().unwrap(),
            "--rest-basic-auth-file",
            users.to_str().unwrap(),
        ],
        // Everything kmirror and its HTTP and TLS stacks log.
        &[("KMIRROR_LOG", "debug")],
    );
    let address = kmirror.wait_rest_address();
    let api = Api {
        address: address.clone(),
        tls: Some(pki.client_config()),
    };
    wait_until("readyz 200 over https", Duration::from_secs(30), || {
        api.try_request("GET", "/readyz", None, None)
            .is_ok_and(|a| a.status == 200)
    });
    assert_eq!(api.request("GET", "/livez", None, None).status, 200);

    // Plain HTTP to the TLS port gets no HTTP answer; a client that does
    // not trust the CA fails its handshake.
    let plain = Api {
        address: address.clone(),
        tls: None,
    };
    let error = plain
        .try_request("GET", "/livez", None, None)
        .expect_err("plain HTTP to the TLS port must not be answered");
    assert!(error.contains("no HTTP"), "{error}");
    let untrusting = Api {
        address: address.clone(),
        tls: Some(client_config(rustls::RootCertStore::empty())),
    };
    let error = untrusting
        .try_request("GET", "/livez", None, None)
        .expect_err("a client without the CA must not get through");
    assert!(
        error.to_ascii_lowercase().contains("certificate"),
        "{error}"
    );

    // Reads are open by default.
    let listing = api.request("GET", "/connectors", None, None);
    assert_eq!(listing.status, 200, "{listing:?}");
    assert_eq!(listing.body.trim(), "[]");

    // A connector whose two aliases are the one test cluster: a -> b only.
    let cluster = shared_cluster("kafka-a");
    let topic = random_topic_name("guarded");
    cluster.create_topic(&topic, 1, 1, &[]);
    let name = "guarded-connector";
    let connector = serde_json::json!({
        "name": name,
        "config": {
            "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            "clusters": "kafka-a, kafka-b",
            "kafka-a.bootstrap.servers": cluster.bootstrap(),
            "kafka-b.bootstrap.servers": cluster.bootstrap(),
            "kafka-a->kafka-b.enabled": "true",
            "kafka-b->kafka-a.enabled": "false",
            "kafka-a->kafka-b.topics": topic,
            "replication.factor": "1",
            "checkpoints.topic.replication.factor": "1",
            "heartbeats.topic.replication.factor": "1",
            "offset-syncs.topic.replication.factor": "1",
            "refresh.topics.interval.seconds": "2",
        }
    })
    .to_string();

    // Without credentials, with a wrong token, with a wrong password: 401
    // with the challenges, and nothing created.
    let refused = api.request("POST", "/connectors", None, Some(&connector));
    assert_eq!(refused.status, 401, "{refused:?}");
    let challenges = refused.header_values("www-authenticate");
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("Bearer realm=\"kmirror\""))
            && challenges
                .iter()
                .any(|c| c.starts_with("Basic realm=\"kmirror\"")),
        "{challenges:?}"
    );
    assert!(refused.body.contains("\"error_code\":401"), "{refused:?}");
    let wrong_token = api.request(
        "POST",
        "/connectors",
        Some(&bearer(WRONG_TOKEN)),
        Some(&connector),
    );
    assert_eq!(wrong_token.status, 401, "{wrong_token:?}");
    assert!(
        wrong_token
            .header_values("www-authenticate")
            .iter()
            .any(|c| c.contains("error=\"invalid_token\"")),
        "{wrong_token:?}"
    );
    let wrong_password = api.request(
        "POST",
        "/connectors",
        Some(&basic("admin", WRONG_PASSWORD)),
        Some(&connector),
    );
    assert_eq!(wrong_password.status, 401, "{wrong_password:?}");
    // The token is not a password, and the password not a token.
    assert_eq!(
        api.request(
            "POST",
            "/connectors",
            Some(&basic("admin", TOKEN)),
            Some(&connector)
        )
        .status,
        401
    );
    assert_eq!(
        api.request(
            "POST",
            "/connectors",
            Some(&bearer(PASSWORD)),
            Some(&connector)
        )
        .status,
        401
    );
    assert_eq!(
        api.request("GET", "/connectors", None, None).body.trim(),
        "[]"
    );

    // The right token creates it, and it replicates.
    let created = api.request(
        "POST",
        "/connectors",
        Some(&bearer(TOKEN)),
        Some(&connector),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let remote = format!("kafka-a.{topic}");
    let records: Vec<TestRecord> = (0..50)
        .map(|i| {
            TestRecord::new()
                .key(format!("k{i}"))
                .value(format!("v{i}"))
        })
        .collect();
    cluster.produce(&topic, &ProduceOptions::default(), &records);
    wait_until(
        "the connector created over the guarded API replicates",
        Duration::from_secs(90),
        || total_end_offset(cluster, &remote) >= 50,
    );

    // `kmirror status` over https: with the CA it reads (reads are open);
    // without it, the certificate is not trusted.
    let url = format!("https://{address}");
    let ca = pki.ca.to_str().unwrap();
    let (code, screen) = kmirror_status(&["--url", &url, "--rest-ca-file", ca], &[]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("kafka-a->kafka-b"), "{screen}");
    let (code, screen) = kmirror_status(&["--url", &url], &[]);
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.to_ascii_lowercase().contains("certificate"),
        "{screen}"
    );

    // Pause: basic credentials work too; without any, 401.
    let pause = format!("/connectors/{name}/pause");
    assert_eq!(api.request("PUT", &pause, None, None).status, 401);
    let paused = api.request("PUT", &pause, Some(&basic("admin", PASSWORD)), None);
    assert_eq!(paused.status, 202, "{paused:?}");

    // Delete: 401 without credentials, 204 with the token.
    let path = format!("/connectors/{name}");
    assert_eq!(api.request("DELETE", &path, None, None).status, 401);
    assert_eq!(
        api.request("GET", "/connectors", None, None).body.trim(),
        format!("[\"{name}\"]")
    );
    let deleted = api.request("DELETE", &path, Some(&bearer(TOKEN)), None);
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(
        api.request("GET", "/connectors", None, None).body.trim(),
        "[]"
    );

    let log = kmirror.log();
    assert!(log.contains("REST request refused"), "{log}");
    assert_no_secret_in(&log, &[&pki.key_body]);
    kmirror.terminate(Duration::from_secs(15));
}

/// `--rest-auth-read`: reads need credentials too (a token from the
/// environment, users in Connect's `user: password` form), the probes stay
/// open, and `kmirror status` passes credentials.
#[test]
fn rest_auth_read_guards_reads_but_not_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.properties");
    std::fs::write(
        &users,
        format!("# Connect's PropertyFileLoginModule file\nadmin: {PASSWORD}\nops=other-pw\n"),
    )
    .unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let kmirror = Kmirror::start_with_env(
        &[
            "run",
            "--rest-auth-read",
            "--rest-basic-auth-file",
            users.to_str().unwrap(),
        ],
        &[("KMIRROR_REST_TOKEN", TOKEN), ("KMIRROR_LOG", "debug")],
    );
    let address = kmirror.wait_rest_address();
    let api = Api {
        address: address.clone(),
        tls: None,
    };
    wait_until(
        "readyz 200 without credentials",
        Duration::from_secs(30),
        || {
            api.try_request("GET", "/readyz", None, None)
                .is_ok_and(|a| a.status == 200)
        },
    );
    assert_eq!(api.request("GET", "/livez", None, None).status, 200);

    for path in ["/connectors", "/status", "/metrics", "/", "/openapi.json"] {
        let refused = api.request("GET", path, None, None);
        assert_eq!(refused.status, 401, "GET {path}: {refused:?}");
        assert!(
            !refused.header_values("www-authenticate").is_empty(),
            "{refused:?}"
        );
    }
    assert_eq!(
        api.request("GET", "/status", Some(&bearer(WRONG_TOKEN)), None)
            .status,
        401
    );
    assert_eq!(
        api.request(
            "GET",
            "/status",
            Some(&basic("admin", WRONG_PASSWORD)),
            None
        )
        .status,
        401
    );
    assert_eq!(
        api.request("GET", "/status", Some(&basic("ops", PASSWORD)), None)
            .status,
        401,
        "another user's password"
    );
    assert_eq!(
        api.request("GET", "/status", Some(&bearer(TOKEN)), None)
            .status,
        200
    );
    assert_eq!(
        api.request("GET", "/connectors", Some(&basic("admin", PASSWORD)), None)
            .status,
        200
    );

    // `kmirror status`: refused without credentials, through with a token
    // from the environment or a user and password file.
    let url = format!("http://{address}");
    let (code, screen) = kmirror_status(&["--url", &url], &[]);
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("401"), "{screen}");
    let (code, screen) = kmirror_status(&["--url", &url], &[("KMIRROR_REST_TOKEN", TOKEN)]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("no flows"), "{screen}");
    let (code, screen) = kmirror_status(
        &[
            "--url",
            &url,
            "--rest-user",
            "admin",
            "--rest-password-file",
            password_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        !screen.contains(PASSWORD) && !screen.contains(TOKEN),
        "{screen}"
    );

    assert_no_secret_in(&kmirror.log(), &["other-pw"]);
}

/// Guard settings that cannot be used stop `kmirror run` with exit 2 and a
/// message naming the flag and the file, without the file's contents.
#[test]
fn unusable_guard_settings_exit_2_naming_flag_and_file() {
    let pki = Pki::new();
    let missing = pki.dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let empty = pki.write("empty", "\n  \n");
    let only_comments = pki.write("comments.properties", "# no users yet\n");
    let cert = pki.cert.to_str().unwrap();
    let key = pki.key.to_str().unwrap();
    let other_key = pki.other_key.to_str().unwrap();
    let cases = [
        Case::new(&["--rest-tls-cert", missing, "--rest-tls-key", key])
            .expect(&["--rest-tls-cert", "missing.pem"]),
        Case::new(&["--rest-tls-cert", cert, "--rest-tls-key", missing])
            .expect(&["--rest-tls-key", "missing.pem"]),
        Case::new(&["--rest-tls-cert", cert, "--rest-tls-key", other_key]).expect(&[
            "--rest-tls-key",
            "other.key",
            "cannot serve the certificate",
        ]),
        // The certificate where the key should be, and the other way round.
        Case::new(&["--rest-tls-cert", cert, "--rest-tls-key", cert])
            .expect(&["--rest-tls-key", "no PEM private key"]),
        Case::new(&["--rest-tls-cert", key, "--rest-tls-key", key])
            .expect(&["--rest-tls-cert", "no PEM certificate"]),
        Case::new(&["--rest-tls-cert", cert]).expect(&["--rest-tls-key"]),
        Case::new(&["--rest-auth-token-file", empty.to_str().unwrap()])
            .expect(&["--rest-auth-token-file", "empty"]),
        Case::new(&["--rest-auth-token-file", missing])
            .expect(&["--rest-auth-token-file", "missing.pem"]),
        Case::new(&["--rest-basic-auth-file", missing])
            .expect(&["--rest-basic-auth-file", "missing.pem"]),
        Case::new(&["--rest-basic-auth-file", only_comments.to_str().unwrap()]).expect(&[
            "--rest-basic-auth-file",
            "comments.properties",
            "empty",
        ]),
        Case::new(&[])
            .env("KMIRROR_REST_TOKEN", " ")
            .expect(&["KMIRROR_REST_TOKEN", "empty"]),
        Case::new(&["--rest-auth-read"]).expect(&["--rest-auth-read"]),
    ];
    for case in cases {
        let mut args = vec!["run"];
        args.extend(case.flags.iter().map(String::as_str));
        let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut kmirror = Kmirror::start_with_env(&args, &env);
        let status = kmirror.wait(Duration::from_secs(20));
        let log = kmirror.log();
        let flags = &case.flags;
        assert_eq!(status.code(), Some(2), "{flags:?}: {log}");
        for text in &case.expected {
            assert!(
                log.contains(text.as_str()),
                "{flags:?}: no {text:?} in {log}"
            );
        }
        assert!(
            !log.contains("REST API listening"),
            "{flags:?}: served anyway: {log}"
        );
        assert!(
            !log.contains(&pki.key_body[..40]),
            "{flags:?}: key in {log}"
        );
        assert!(!log.contains("PRIVATE KEY-----"), "{flags:?}: PEM in {log}");
    }
}

/// A `kmirror run` that must exit 2, and what its message must say.
struct Case {
    flags: Vec<String>,
    env: Vec<(&'static str, String)>,
    expected: Vec<String>,
}

impl Case {
    fn new(flags: &[&str]) -> Self {
        Case {
            flags: flags.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            expected: Vec::new(),
        }
    }

    fn env(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_string()));
        self
    }

    fn expect(mut self, texts: &[&str]) -> Self {
        self.expected = texts.iter().map(|s| s.to_string()).collect();
        self
    }
}
