//! A throw-away PKI for secured test clusters, made once per test process.
//!
//! Certificates and keys come from `rcgen` (ECDSA P-256, in process, a few
//! milliseconds); the encrypted PKCS#8 keys from the `pkcs8` crate with the
//! scheme `openssl pkcs8 -topk8` uses by default (PBES2, PBKDF2-HMAC-SHA256,
//! AES-256-CBC), and from the JDK with the legacy PKCS#12 scheme that Kafka
//! on JDK 17 needs; the JKS and PKCS12 stores from the JDK's own `KeyStore`
//! (`TestClient stores`, one JVM for all of them, which also checks that the
//! JDK decrypts the PBES2 keys), so that every Java-format file is exactly
//! what `keytool` would write. No `openssl` binary is needed.
//!
//! What is made, and what for:
//! - a CA (`ca.pem`) and the truststores holding it (JKS, PKCS12);
//! - broker certificates signed by it, SAN `127.0.0.1` (IP) and `localhost`;
//! - a client certificate `CN=kmirror-client` for mTLS, as JKS, PKCS12 and
//!   PEM (chain file, key unencrypted, key encrypted with a password);
//! - for negative tests: an expired broker certificate, one whose only SAN is
//!   `wrong-host.invalid`, and one signed by a second CA nobody trusts;
//! - an RSA key for the OAuth token endpoint's JWT signatures.
//!
//! Passwords are random per process, so a test can search logs for them.

use std::fmt;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use pkcs8::der::pem::LineEnding;
use pkcs8::pkcs5::pbes2;
use pkcs8::PrivateKeyInfoRef;
use rand::{Rng as _, RngCore as _};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use serde_json::json;
use time::OffsetDateTime;

use crate::java::{tail, JavaCommand};
use crate::workdir;

/// The principal Kafka gives a client authenticated by [`TestPki`]'s client
/// certificate (the default `ssl.principal.mapping.rules`).
pub const CLIENT_PRINCIPAL: &str = "User:CN=kmirror-client";
/// The only DNS name in [`TestPki::broker_wrong_host`]'s certificate.
pub const WRONG_HOST: &str = "wrong-host.invalid";

/// PBKDF2 rounds for the encrypted keys: OpenSSL 3's default.
const PBKDF2_ITERATIONS: u32 = 2048;

/// A key or trust store file and the password that opens it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreFile {
    pub path: PathBuf,
    pub password: String,
}

impl fmt::Debug for StoreFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreFile")
            .field("path", &self.path)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A key store holding one private key entry (alias `client` or `broker`).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyStoreFile {
    pub path: PathBuf,
    /// `ssl.keystore.password`.
    pub store_password: String,
    /// `ssl.key.password`.
    pub key_password: String,
}

impl fmt::Debug for KeyStoreFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStoreFile")
            .field("path", &self.path)
            .field("store_password", &"<redacted>")
            .field("key_password", &"<redacted>")
            .finish()
    }
}

/// A private key and its certificate chain as PEM files, in every form
/// Kafka's `ssl.keystore.type=PEM` takes.
#[derive(Clone, PartialEq, Eq)]
pub struct PemKeyPair {
    /// The certificate, then its issuing CA (`ssl.keystore.certificate.chain`).
    pub chain: PathBuf,
    /// `-----BEGIN PRIVATE KEY-----` (PKCS#8, unencrypted).
    pub key: PathBuf,
    /// `-----BEGIN ENCRYPTED PRIVATE KEY-----` (PKCS#8, PBES2 with
    /// PBKDF2-HMAC-SHA256 and AES-256-CBC: what OpenSSL 3's `openssl pkcs8
    /// -topk8` writes), opened by `key_password`. Kafka on JDK 17 cannot
    /// read this form (it asks the JDK for a "PBES2" cipher).
    pub encrypted_key: PathBuf,
    /// The same key encrypted with the PKCS#12 scheme PBEWithSHA1AndDESede
    /// (`openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES`), also opened by
    /// `key_password`: the form Kafka's PEM key stores read on JDK 17, so
    /// the one a working MM2 setup with PEM keys has.
    pub encrypted_key_legacy: PathBuf,
    pub key_password: String,
    /// The legacy-encrypted key followed by the chain in one file: what a
    /// Kafka PEM key store at `ssl.keystore.location` wants (with
    /// `ssl.key.password`).
    pub keystore: PathBuf,
}

impl fmt::Debug for PemKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemKeyPair")
            .field("chain", &self.chain)
            .field("key", &self.key)
            .field("encrypted_key", &self.encrypted_key)
            .field("encrypted_key_legacy", &self.encrypted_key_legacy)
            .field("key_password", &"<redacted>")
            .field("keystore", &self.keystore)
            .finish()
    }
}

/// Every file of the test PKI (see the module comment). Get it with
/// [`test_pki`].
#[derive(Debug)]
pub struct TestPki {
    pub dir: PathBuf,
    /// The CA every good certificate chains to (PEM truststore).
    pub ca_pem: PathBuf,
    pub truststore_jks: StoreFile,
    pub truststore_pkcs12: StoreFile,
    /// The CA nobody trusts (it signed [`TestPki::broker_untrusted`]).
    pub untrusted_ca_pem: PathBuf,
    /// The client certificate `CN=kmirror-client` ([`CLIENT_PRINCIPAL`]).
    pub client_pem: PemKeyPair,
    /// The same key and chain, key password different from the store's.
    pub client_jks: KeyStoreFile,
    /// The same key and chain, key password equal to the store's, as
    /// `openssl pkcs12 -export` and `keytool` make them.
    pub client_pkcs12: KeyStoreFile,
    /// SAN `127.0.0.1`, `localhost`; signed by the CA.
    pub broker: PemKeyPair,
    /// As `broker`, but its validity ended yesterday.
    pub broker_expired: PemKeyPair,
    /// Signed by the CA, but its only SAN is [`WRONG_HOST`].
    pub broker_wrong_host: PemKeyPair,
    /// SAN `127.0.0.1`, `localhost`, signed by the untrusted CA.
    pub broker_untrusted: PemKeyPair,
    /// An RSA 2048 private key (PKCS#8 DER) for the token endpoint.
    pub(crate) oauth_signing_key: PathBuf,
}

/// The process's test PKI, made on first use in a folder of its own
/// (removed by a later test process once this one is gone).
///
/// # Panics
/// If a file cannot be written or the JDK refuses to write the stores.
pub fn test_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::generate(&workdir::create("pki")))
}

impl TestPki {
    fn generate(dir: &Path) -> Self {
        let ca = Authority::new("kmirror test CA");
        let untrusted = Authority::new("kmirror untrusted CA");
        let now = OffsetDateTime::now_utc();
        let year = Duration::from_secs(365 * 24 * 3600);
        let day = Duration::from_secs(24 * 3600);
        let good_hosts = [
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().expect("a DNS name")),
        ];

        let write = |name: &str, text: &str| -> PathBuf {
            let path = dir.join(name);
            fs::write(&path, text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            path
        };
        let ca_pem = write("ca.pem", &ca.cert_pem);
        let untrusted_ca_pem = write("untrusted-ca.pem", &untrusted.cert_pem);

        let leaf = |name: &str, issuer: &Authority, spec: LeafSpec| -> PemKeyPair {
            let key = KeyPair::generate().expect("generate an ECDSA key");
            let mut params = CertificateParams::default();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(DnType::CommonName, spec.common_name);
            params.subject_alt_names = spec.hosts;
            params.not_before = spec.not_before;
            params.not_after = spec.not_after;
            params.serial_number = Some(random_serial());
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![spec.usage];
            params.use_authority_key_identifier_extension = true;
            let cert = params
                .signed_by(&key, &issuer.issuer)
                .expect("sign a certificate");
            let chain_text = format!("{}{}", cert.pem(), issuer.cert_pem);
            let key_password = random_secret(&format!("{name}-key"));
            let encrypted = encrypt_pkcs8(key.serialized_der(), &key_password);
            PemKeyPair {
                chain: write(&format!("{name}-chain.pem"), &chain_text),
                key: write(&format!("{name}-key.pem"), &key.serialize_pem()),
                encrypted_key: write(&format!("{name}-key.enc.pem"), &encrypted),
                // Written below, once the JDK has made the legacy key.
                encrypted_key_legacy: dir.join(format!("{name}-key.enc-legacy.pem")),
                keystore: dir.join(format!("{name}-keystore.pem")),
                key_password,
            }
        };
        let server = |hosts: &[SanType], not_before, not_after| LeafSpec {
            common_name: "localhost",
            hosts: hosts.to_vec(),
            not_before,
            not_after,
            usage: ExtendedKeyUsagePurpose::ServerAuth,
        };
        let good = &good_hosts;
        let wrong = &[SanType::DnsName(WRONG_HOST.try_into().expect("a DNS name"))];

        let broker = leaf("broker", &ca, server(good, now - day, now + year));
        let broker_expired = leaf(
            "broker-expired",
            &ca,
            server(good, now - 30 * day, now - day),
        );
        let broker_wrong_host = leaf(
            "broker-wrong-host",
            &ca,
            server(wrong, now - day, now + year),
        );
        let broker_untrusted = leaf(
            "broker-untrusted",
            &untrusted,
            server(good, now - day, now + year),
        );
        let client_pem = leaf(
            "client",
            &ca,
            LeafSpec {
                common_name: "kmirror-client",
                hosts: Vec::new(),
                not_before: now - day,
                not_after: now + year,
                usage: ExtendedKeyUsagePurpose::ClientAuth,
            },
        );

        let oauth_signing_key = dir.join("oauth-rsa.der");
        let truststore_password = random_secret("truststore");
        let truststore_jks = StoreFile {
            path: dir.join("truststore.jks"),
            password: truststore_password.clone(),
        };
        let truststore_pkcs12 = StoreFile {
            path: dir.join("truststore.p12"),
            password: truststore_password,
        };
        let client_jks = KeyStoreFile {
            path: dir.join("client.jks"),
            store_password: random_secret("client-jks-store"),
            key_password: random_secret("client-jks-key"),
        };
        let pkcs12_password = random_secret("client-p12");
        let client_pkcs12 = KeyStoreFile {
            path: dir.join("client.p12"),
            store_password: pkcs12_password.clone(),
            key_password: pkcs12_password,
        };
        let trust = |store: &StoreFile, kind: &str| {
            json!({
                "op": "store", "type": kind, "path": store.path,
                "storePassword": store.password,
                "certs": [{"alias": "kmirror-test-ca", "pem": ca_pem}],
            })
        };
        let keys = |store: &KeyStoreFile, kind: &str| {
            json!({
                "op": "store", "type": kind, "path": store.path,
                "storePassword": store.store_password,
                "key": {
                    "alias": "client", "pem": client_pem.key,
                    "chain": client_pem.chain, "password": store.key_password,
                },
            })
        };
        let pairs = [
            &client_pem,
            &broker,
            &broker_expired,
            &broker_wrong_host,
            &broker_untrusted,
        ];
        let mut requests = vec![
            trust(&truststore_jks, "JKS"),
            trust(&truststore_pkcs12, "PKCS12"),
            keys(&client_jks, "JKS"),
            keys(&client_pkcs12, "PKCS12"),
            json!({"op": "rsa-key", "path": oauth_signing_key}),
        ];
        requests.extend(pairs.iter().map(|pair| {
            json!({
                "op": "legacy-key", "pem": pair.key, "password": pair.key_password,
                "out": pair.encrypted_key_legacy, "pbes2": pair.encrypted_key,
            })
        }));
        write_java_stores(&requests);
        for pair in pairs {
            let key = fs::read_to_string(&pair.encrypted_key_legacy).expect("read the legacy key");
            let chain = fs::read_to_string(&pair.chain).expect("read a chain");
            fs::write(&pair.keystore, format!("{key}{chain}")).expect("write a PEM key store");
        }

        Self {
            dir: dir.to_path_buf(),
            ca_pem,
            truststore_jks,
            truststore_pkcs12,
            untrusted_ca_pem,
            client_pem,
            client_jks,
            client_pkcs12,
            broker,
            broker_expired,
            broker_wrong_host,
            broker_untrusted,
            oauth_signing_key,
        }
    }
}

/// How a client names the CA it trusts: Kafka's `ssl.truststore.*` keys for
/// each form (the store type key always set, so forms never mix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrustStoreForm {
    /// `ssl.truststore.type=JKS`, location and password.
    Jks,
    /// `ssl.truststore.type=PKCS12`, location and password.
    Pkcs12,
    /// `ssl.truststore.type=PEM` and the location of `ca.pem` (no password).
    PemFile,
    /// `ssl.truststore.type=PEM` and `ssl.truststore.certificates` holding
    /// the CA's PEM text.
    PemInline,
}

impl TrustStoreForm {
    pub const ALL: [Self; 4] = [Self::Jks, Self::Pkcs12, Self::PemFile, Self::PemInline];

    /// The client properties for this form of [`test_pki`]'s CA.
    pub fn props(self) -> Vec<(String, String)> {
        let pki = test_pki();
        let store = |kind: &str, file: &StoreFile| {
            vec![
                ("ssl.truststore.type".to_string(), kind.to_string()),
                (
                    "ssl.truststore.location".to_string(),
                    file.path.display().to_string(),
                ),
                ("ssl.truststore.password".to_string(), file.password.clone()),
            ]
        };
        match self {
            Self::Jks => store("JKS", &pki.truststore_jks),
            Self::Pkcs12 => store("PKCS12", &pki.truststore_pkcs12),
            Self::PemFile => vec![
                ("ssl.truststore.type".to_string(), "PEM".to_string()),
                (
                    "ssl.truststore.location".to_string(),
                    pki.ca_pem.display().to_string(),
                ),
            ],
            Self::PemInline => vec![
                ("ssl.truststore.type".to_string(), "PEM".to_string()),
                (
                    "ssl.truststore.certificates".to_string(),
                    read_text(&pki.ca_pem),
                ),
            ],
        }
    }
}

/// How a client presents the PKI's client certificate (`CN=kmirror-client`):
/// Kafka's `ssl.keystore.*` and `ssl.key.password` keys for each form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStoreForm {
    /// JKS; the key password differs from the store password.
    Jks,
    /// PKCS12; key password = store password.
    Pkcs12,
    /// `ssl.keystore.type=PEM` at a location: the legacy-encrypted key and
    /// the chain in one file, with `ssl.key.password`.
    PemFile,
    /// `ssl.keystore.key` (unencrypted PKCS#8) and
    /// `ssl.keystore.certificate.chain`, inline.
    PemInline,
    /// Inline, the key encrypted with PBES2 (OpenSSL 3's default), with
    /// `ssl.key.password`. Kafka's own Java client cannot read this on
    /// JDK 17 (see [`PemKeyPair::encrypted_key`]); kmirror should.
    PemInlineEncrypted,
    /// Inline, the key encrypted with PBEWithSHA1AndDESede, with
    /// `ssl.key.password`.
    PemInlineEncryptedLegacy,
}

impl KeyStoreForm {
    pub const ALL: [Self; 6] = [
        Self::Jks,
        Self::Pkcs12,
        Self::PemFile,
        Self::PemInline,
        Self::PemInlineEncrypted,
        Self::PemInlineEncryptedLegacy,
    ];

    /// The client properties for this form of the client key.
    pub fn props(self) -> Vec<(String, String)> {
        let pki = test_pki();
        let pem = &pki.client_pem;
        let prop = |k: &str, v: String| (k.to_string(), v);
        let store = |kind: &str, file: &KeyStoreFile| {
            vec![
                prop("ssl.keystore.type", kind.to_string()),
                prop("ssl.keystore.location", file.path.display().to_string()),
                prop("ssl.keystore.password", file.store_password.clone()),
                prop("ssl.key.password", file.key_password.clone()),
            ]
        };
        let inline = |key: &Path, password: Option<&str>| {
            let mut props = vec![
                prop("ssl.keystore.type", "PEM".to_string()),
                prop("ssl.keystore.key", read_text(key)),
                prop("ssl.keystore.certificate.chain", read_text(&pem.chain)),
            ];
            if let Some(password) = password {
                props.push(prop("ssl.key.password", password.to_string()));
            }
            props
        };
        match self {
            Self::Jks => store("JKS", &pki.client_jks),
            Self::Pkcs12 => store("PKCS12", &pki.client_pkcs12),
            Self::PemFile => vec![
                prop("ssl.keystore.type", "PEM".to_string()),
                prop("ssl.keystore.location", pem.keystore.display().to_string()),
                prop("ssl.key.password", pem.key_password.clone()),
            ],
            Self::PemInline => inline(&pem.key, None),
            Self::PemInlineEncrypted => inline(&pem.encrypted_key, Some(&pem.key_password)),
            Self::PemInlineEncryptedLegacy => {
                inline(&pem.encrypted_key_legacy, Some(&pem.key_password))
            }
        }
    }
}

fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A certificate authority: its certificate and what signs with its key.
struct Authority {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(common_name: &str) -> Self {
        let key = KeyPair::generate().expect("generate an ECDSA key");
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::from_secs(2 * 24 * 3600);
        params.not_after = now + Duration::from_secs(10 * 365 * 24 * 3600);
        params.serial_number = Some(random_serial());
        let cert = params.self_signed(&key).expect("self-sign a CA");
        Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }
}

struct LeafSpec {
    common_name: &'static str,
    hosts: Vec<SanType>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    usage: ExtendedKeyUsagePurpose,
}

/// A positive 16-byte serial: certificates of one issuer must differ.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// `<purpose>-<16 random alphanumerics>`: unique enough to grep logs for.
pub(crate) fn random_secret(purpose: &str) -> String {
    let suffix: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    format!("{purpose}-{suffix}")
}

/// A PKCS#8 DER key encrypted as `openssl pkcs8 -topk8 -v2 aes-256-cbc`
/// does, as PEM.
fn encrypt_pkcs8(der: &[u8], password: &str) -> String {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    rand::thread_rng().fill_bytes(&mut iv);
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
        .expect("valid PBES2 parameters");
    PrivateKeyInfoRef::try_from(der)
        .expect("rcgen writes PKCS#8")
        .encrypt_with_params(params, password)
        .expect("encrypt a PKCS#8 key")
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .expect("PEM-encode an encrypted key")
        .to_string()
}

fn write_java_stores(requests: &[serde_json::Value]) {
    let mut input = String::new();
    for request in requests {
        input.push_str(&request.to_string());
        input.push('\n');
    }
    input.push_str("{\"end\":true}\n");
    let output = JavaCommand::test_client("stores")
        .name("TestClient stores (test PKI)")
        .run(input.as_bytes());
    let answers = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains("\"ok\":true"))
        .count();
    assert!(
        output.status.success() && answers == requests.len(),
        "writing the test PKI's Java stores failed ({}, {answers} of {} done):\n{}",
        output.status,
        requests.len(),
        tail(&String::from_utf8_lossy(&output.stderr), 40)
    );
}
