//! Trust and key material from Kafka's `ssl.truststore.*` / `ssl.keystore.*`
//! settings: JKS (Kafka's default type), PKCS12 and PEM (a file, or inline
//! text in `ssl.truststore.certificates`, `ssl.keystore.key` and
//! `ssl.keystore.certificate.chain`), with `ssl.key.password` for encrypted
//! PKCS#8 keys.

use std::path::Path;

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use pkcs8::der::Decode as _;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::jks::JksStore;
use super::legacy_pbe::{self, LegacyPbeError};
use super::{SecurityError, StoreProblem};

/// `ssl.truststore.type` / `ssl.keystore.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Jks,
    Pkcs12,
    Pem,
}

impl StoreType {
    pub fn parse(key: &'static str, value: Option<&str>) -> Result<Self, SecurityError> {
        match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
            None | Some("") | Some("JKS") => Ok(StoreType::Jks),
            Some("PKCS12") => Ok(StoreType::Pkcs12),
            Some("PEM") => Ok(StoreType::Pem),
            Some(_) => Err(SecurityError::InvalidValue {
                key,
                value: value.unwrap_or_default().to_string(),
                expected: "JKS, PKCS12 or PEM",
            }),
        }
    }
}

/// A client certificate chain and its private key.
pub struct ClientIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

fn store_error(key: &'static str, path: &str, problem: StoreProblem) -> SecurityError {
    SecurityError::Store {
        key,
        path: path.to_string(),
        problem,
    }
}

fn read_file(key: &'static str, path: &str) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(Path::new(path))
        .map_err(|e| store_error(key, path, StoreProblem::Unreadable(e.kind().to_string())))
}

fn pem_certificates(
    key: &'static str,
    origin: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|_| store_error(key, origin, StoreProblem::NotPem))?;
    if certs.is_empty() {
        return Err(store_error(key, origin, StoreProblem::NoCertificate));
    }
    Ok(certs)
}

/// The certificates a truststore holds, or `None` when no truststore is
/// configured (then the system's roots apply).
pub fn load_trusted_certificates(
    store_type: StoreType,
    location: Option<&str>,
    password: Option<&str>,
    inline_pem: Option<&str>,
) -> Result<Option<Vec<CertificateDer<'static>>>, SecurityError> {
    const KEY: &str = "ssl.truststore.location";
    if let Some(pem) = inline_pem.filter(|p| !p.trim().is_empty()) {
        if store_type != StoreType::Pem {
            return Err(SecurityError::InlineNeedsPem {
                key: "ssl.truststore.certificates",
                type_key: "ssl.truststore.type",
            });
        }
        return pem_certificates("ssl.truststore.certificates", "(inline)", pem.as_bytes())
            .map(Some);
    }
    let Some(path) = location.filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let data = read_file(KEY, path)?;
    let certs = match store_type {
        StoreType::Pem => pem_certificates(KEY, path, &data)?,
        StoreType::Jks => {
            let store = JksStore::parse(&data, password)
                .map_err(|e| store_error(KEY, path, StoreProblem::Jks(e)))?;
            store
                .certificates
                .into_iter()
                .map(CertificateDer::from)
                .collect()
        }
        StoreType::Pkcs12 => {
            let store = open_pkcs12(KEY, path, &data, password.unwrap_or_default())?;
            store
                .entries()
                .flat_map(|(_, entry)| match entry {
                    KeyStoreEntry::Certificate(cert) => vec![cert.as_der().to_vec()],
                    KeyStoreEntry::PrivateKeyChain(chain) => {
                        chain.certs().iter().map(|c| c.as_der().to_vec()).collect()
                    }
                    KeyStoreEntry::Secret(_) => Vec::new(),
                })
                .map(CertificateDer::from)
                .collect()
        }
    };
    if certs.is_empty() {
        return Err(store_error(KEY, path, StoreProblem::NoCertificate));
    }
    Ok(Some(certs))
}

fn open_pkcs12(
    key: &'static str,
    path: &str,
    data: &[u8],
    password: &str,
) -> Result<KeyStore, SecurityError> {
    KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Relaxed)
        .map_err(|_| store_error(key, path, StoreProblem::Pkcs12))
}

/// Where the client's key and certificate come from.
#[derive(Debug, Clone, Copy)]
pub struct KeystoreSettings<'a> {
    pub store_type: StoreType,
    pub location: Option<&'a str>,
    pub store_password: Option<&'a str>,
    pub key_password: Option<&'a str>,
    pub inline_key: Option<&'a str>,
    pub inline_chain: Option<&'a str>,
}

/// The client identity for mutual TLS, or `None` without a keystore.
pub fn load_client_identity(
    settings: KeystoreSettings<'_>,
) -> Result<Option<ClientIdentity>, SecurityError> {
    const KEY: &str = "ssl.keystore.location";
    let inline_key = settings.inline_key.filter(|k| !k.trim().is_empty());
    if let Some(key_pem) = inline_key {
        if settings.store_type != StoreType::Pem {
            return Err(SecurityError::InlineNeedsPem {
                key: "ssl.keystore.key",
                type_key: "ssl.keystore.type",
            });
        }
        let chain_pem = settings
            .inline_chain
            .filter(|c| !c.trim().is_empty())
            .ok_or(SecurityError::Missing {
                key: "ssl.keystore.certificate.chain",
                context: "ssl.keystore.key",
            })?;
        let chain = pem_certificates(
            "ssl.keystore.certificate.chain",
            "(inline)",
            chain_pem.as_bytes(),
        )?;
        let key = pem_private_key(
            "ssl.keystore.key",
            "(inline)",
            key_pem.as_bytes(),
            settings.key_password,
        )?;
        return Ok(Some(ClientIdentity { chain, key }));
    }
    let Some(path) = settings.location.filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let data = read_file(KEY, path)?;
    let identity = match settings.store_type {
        StoreType::Pem => ClientIdentity {
            chain: pem_certificates(KEY, path, &data)?,
            // Kafka takes a PEM keystore's key password from
            // ssl.key.password.
            key: pem_private_key(KEY, path, &data, settings.key_password)?,
        },
        StoreType::Jks => {
            let store = JksStore::parse(&data, settings.store_password)
                .map_err(|e| store_error(KEY, path, StoreProblem::Jks(e)))?;
            // As in Java, the key password defaults to the store password.
            let key_password = settings
                .key_password
                .or(settings.store_password)
                .unwrap_or_default();
            let entry = store
                .decrypt_key(key_password)
                .map_err(|e| store_error(KEY, path, StoreProblem::Jks(e)))?
                .ok_or_else(|| store_error(KEY, path, StoreProblem::NoPrivateKey))?;
            ClientIdentity {
                chain: entry.chain.into_iter().map(CertificateDer::from).collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(entry.key_pkcs8)),
            }
        }
        StoreType::Pkcs12 => {
            let store = open_pkcs12(
                KEY,
                path,
                &data,
                settings.store_password.unwrap_or_default(),
            )?;
            let (_, chain) = store
                .private_key_chain()
                .ok_or_else(|| store_error(KEY, path, StoreProblem::NoPrivateKey))?;
            ClientIdentity {
                chain: chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
            }
        }
    };
    if identity.chain.is_empty() {
        return Err(store_error(KEY, path, StoreProblem::NoCertificate));
    }
    Ok(Some(identity))
}

/// The private key of a PEM text: PKCS#8, encrypted PKCS#8 (decrypted with
/// `password`), or the PKCS#1 / SEC1 forms other tools write.
fn pem_private_key(
    key: &'static str,
    origin: &str,
    pem: &[u8],
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, SecurityError> {
    if let Some(block) = pem_block(pem, "ENCRYPTED PRIVATE KEY") {
        let password = password.ok_or(SecurityError::Missing {
            key: "ssl.key.password",
            context: "an encrypted private key",
        })?;
        let (_, der) = pkcs8::der::pem::decode_vec(block)
            .map_err(|_| store_error(key, origin, StoreProblem::NotPem))?;
        match legacy_pbe::decrypt(&der, password) {
            Ok(Some(plain)) => return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(plain))),
            Ok(None) => {}
            Err(LegacyPbeError::WrongPassword) => {
                return Err(store_error(key, origin, StoreProblem::KeyPassword))
            }
            Err(LegacyPbeError::Malformed) => {
                return Err(store_error(key, origin, StoreProblem::NotPem))
            }
        }
        let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der)
            .map_err(|_| store_error(key, origin, StoreProblem::NotPem))?;
        let document = info
            .decrypt(password)
            .map_err(|_| store_error(key, origin, StoreProblem::KeyPassword))?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            document.as_bytes().to_vec(),
        )));
    }
    for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(pem) {
        let (kind, der) = section.map_err(|_| store_error(key, origin, StoreProblem::NotPem))?;
        if matches!(
            kind,
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey
        ) {
            return PrivateKeyDer::from_pem(kind, der)
                .ok_or_else(|| store_error(key, origin, StoreProblem::NoPrivateKey));
        }
    }
    Err(store_error(key, origin, StoreProblem::NoPrivateKey))
}

/// The first `-----BEGIN <label>-----` ... `-----END <label>-----` block.
/// `rustls-pki-types` skips encrypted keys, so they are found here.
fn pem_block<'a>(pem: &'a [u8], label: &str) -> Option<&'a [u8]> {
    let text = std::str::from_utf8(pem).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&pem[start..stop])
}
