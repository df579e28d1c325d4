//! Reads Java KeyStore (JKS) files: `keytool`'s format before Java 9 and
//! still Kafka's default `ssl.truststore.type` / `ssl.keystore.type`.
//!
//! Hand-written because no maintained crate reads JKS (the `jks` crate is a
//! young single-author project); the format is small and fixed:
//! magic `FEEDFEED`, version 1 or 2, entries (trusted certificates, and
//! private keys under Sun's SHA-1 key protector), then a SHA-1 over the
//! password, "Mighty Aphrodite" and everything before it. Parses untrusted
//! bytes: every length is checked, nothing panics (property-tested).

use der::asn1::OctetString;
use der::Decode as _;
use sha1::{Digest, Sha1};

const MAGIC: u32 = 0xFEED_FEED;
const PRIVATE_KEY_TAG: u32 = 1;
const TRUSTED_CERT_TAG: u32 = 2;
/// Sun's JKS key protector, `1.3.6.1.4.1.42.2.17.1.1`.
const KEY_PROTECTOR_OID: &str = "1.3.6.1.4.1.42.2.17.1.1";
const DIGEST_LEN: usize = 20;

/// A private key entry: PKCS#8 key (DER) and certificate chain (DER each).
#[derive(Clone)]
pub struct JksKeyEntry {
    pub alias: String,
    pub key_pkcs8: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for JksKeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JksKeyEntry")
            .field("alias", &self.alias)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// What a JKS file holds.
#[derive(Debug, Clone, Default)]
pub struct JksStore {
    /// Trusted certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// Private key entries, still encrypted until [`JksStore::decrypt_key`].
    encrypted_keys: Vec<(String, Vec<u8>, Vec<Vec<u8>>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JksError {
    #[error("not a JKS file (wrong magic number)")]
    NotJks,
    #[error("JKS file is truncated or corrupt")]
    Truncated,
    #[error("JKS version {0} is unknown")]
    Version(u32),
    #[error("the store password is wrong or the file is corrupt (integrity check failed)")]
    Integrity,
    #[error("the key password is wrong (key check failed)")]
    KeyPassword,
    #[error("the private key is protected by an unknown algorithm")]
    KeyAlgorithm,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], JksError> {
        let end = self.at.checked_add(n).ok_or(JksError::Truncated)?;
        let slice = self.data.get(self.at..end).ok_or(JksError::Truncated)?;
        self.at = end;
        Ok(slice)
    }
    fn u16(&mut self) -> Result<u16, JksError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, JksError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Java's modified UTF-8 (`DataOutput.writeUTF`), read leniently.
    fn utf(&mut self) -> Result<String, JksError> {
        let len = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }
    fn bytes(&mut self) -> Result<Vec<u8>, JksError> {
        let len = usize::try_from(self.u32()?).map_err(|_| JksError::Truncated)?;
        Ok(self.take(len)?.to_vec())
    }
    fn certificate(&mut self, version: u32) -> Result<Vec<u8>, JksError> {
        if version == 2 {
            let _certificate_type = self.utf()?;
        }
        self.bytes()
    }
}

/// A password as JKS hashes it: UTF-16 big-endian, no terminator.
fn password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

impl JksStore {
    /// Parses a JKS file and checks its integrity with `password` (Java
    /// skips the check when no password is given; so do we).
    pub fn parse(data: &[u8], password: Option<&str>) -> Result<Self, JksError> {
        let mut reader = Reader { data, at: 0 };
        if reader.u32().map_err(|_| JksError::NotJks)? != MAGIC {
            return Err(JksError::NotJks);
        }
        let version = reader.u32()?;
        if version != 1 && version != 2 {
            return Err(JksError::Version(version));
        }
        let count = reader.u32()?;
        let mut store = JksStore::default();
        for _ in 0..count {
            let tag = reader.u32()?;
            let alias = reader.utf()?;
            let _timestamp = reader.take(8)?;
            match tag {
                PRIVATE_KEY_TAG => {
                    let protected = reader.bytes()?;
                    let chain_len = reader.u32()?;
                    let mut chain = Vec::new();
                    for _ in 0..chain_len {
                        chain.push(reader.certificate(version)?);
                    }
                    store.encrypted_keys.push((alias, protected, chain));
                }
                TRUSTED_CERT_TAG => store.certificates.push(reader.certificate(version)?),
                // Secret keys (tag 3) exist only in JCEKS.
                _ => return Err(JksError::Truncated),
            }
        }
        let body_end = reader.at;
        let digest = reader.take(DIGEST_LEN)?;
        if let Some(password) = password {
            let mut hasher = Sha1::new();
            hasher.update(password_bytes(password));
            hasher.update(b"Mighty Aphrodite");
            hasher.update(&data[..body_end]);
            if hasher.finalize().as_slice() != digest {
                return Err(JksError::Integrity);
            }
        }
        Ok(store)
    }

    /// Decrypts the first private key entry with `key_password` (Sun's key
    /// protector: a SHA-1 keystream over the password, checked by a SHA-1 of
    /// password and plaintext).
    pub fn decrypt_key(&self, key_password: &str) -> Result<Option<JksKeyEntry>, JksError> {
        let Some((alias, protected, chain)) = self.encrypted_keys.first() else {
            return Ok(None);
        };
        let info = EncryptedKeyInfo::from_der(protected).map_err(|_| JksError::Truncated)?;
        if info.algorithm.oid.to_string() != KEY_PROTECTOR_OID {
            return Err(JksError::KeyAlgorithm);
        }
        let encrypted = info.data.as_bytes();
        if encrypted.len() < 2 * DIGEST_LEN {
            return Err(JksError::Truncated);
        }
        let (salt, rest) = encrypted.split_at(DIGEST_LEN);
        let (ciphertext, check) = rest.split_at(rest.len() - DIGEST_LEN);
        let password = password_bytes(key_password);
        let mut plaintext = Vec::with_capacity(ciphertext.len());
        let mut block = salt.to_vec();
        for chunk in ciphertext.chunks(DIGEST_LEN) {
            let mut hasher = Sha1::new();
            hasher.update(&password);
            hasher.update(&block);
            block = hasher.finalize().to_vec();
            plaintext.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
        }
        let mut hasher = Sha1::new();
        hasher.update(&password);
        hasher.update(&plaintext);
        if hasher.finalize().as_slice() != check {
            return Err(JksError::KeyPassword);
        }
        Ok(Some(JksKeyEntry {
            alias: alias.clone(),
            key_pkcs8: plaintext,
            chain: chain.clone(),
        }))
    }
}

/// `EncryptedPrivateKeyInfo` with any algorithm: the `pkcs8` crate's own
/// type accepts only PBES1/PBES2, not Sun's protector nor PKCS#12's PBE.
#[derive(der::Sequence)]
pub(crate) struct EncryptedKeyInfo {
    pub(crate) algorithm: AlgorithmIdentifier,
    pub(crate) data: OctetString,
}

/// An algorithm identifier with its parameters left encoded.
#[derive(der::Sequence)]
pub(crate) struct AlgorithmIdentifier {
    pub(crate) oid: der::asn1::ObjectIdentifier,
    #[asn1(optional = "true")]
    pub(crate) parameters: Option<der::Any>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes a JKS file the way keytool does, for tests.
    fn write_jks(certs: &[&[u8]], password: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(MAGIC.to_be_bytes());
        out.extend(2u32.to_be_bytes());
        out.extend((certs.len() as u32).to_be_bytes());
        for (i, cert) in certs.iter().enumerate() {
            out.extend(TRUSTED_CERT_TAG.to_be_bytes());
            let alias = format!("ca{i}");
            out.extend((alias.len() as u16).to_be_bytes());
            out.extend(alias.as_bytes());
            out.extend(0u64.to_be_bytes());
            out.extend(5u16.to_be_bytes());
            out.extend(b"X.509");
            out.extend((cert.len() as u32).to_be_bytes());
            out.extend(*cert);
        }
        let mut hasher = Sha1::new();
        hasher.update(password_bytes(password));
        hasher.update(b"Mighty Aphrodite");
        hasher.update(&out);
        out.extend(hasher.finalize());
        out
    }

    #[test]
    fn reads_trusted_certificates_and_checks_the_password() {
        let file = write_jks(&[b"cert-one", b"cert-two"], "changeit");
        let store = JksStore::parse(&file, Some("changeit")).unwrap();
        assert_eq!(
            store.certificates,
            vec![b"cert-one".to_vec(), b"cert-two".to_vec()]
        );
        assert!(store.encrypted_keys.is_empty());
        assert_eq!(
            JksStore::parse(&file, Some("wrong")).unwrap_err(),
            JksError::Integrity
        );
        assert!(JksStore::parse(&file, None).is_ok());
    }

    #[test]
    fn refuses_other_files() {
        assert_eq!(JksStore::parse(b"", None).unwrap_err(), JksError::NotJks);
        assert_eq!(
            JksStore::parse(b"-----BEGIN CERTIFICATE-----", None).unwrap_err(),
            JksError::NotJks
        );
        let mut file = write_jks(&[b"x"], "p");
        file.truncate(file.len() - 3);
        assert_eq!(
            JksStore::parse(&file, Some("p")).unwrap_err(),
            JksError::Truncated
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut data = MAGIC.to_be_bytes().to_vec();
            data.extend(&bytes);
            if let Ok(store) = JksStore::parse(&data, None) {
                let _ = store.decrypt_key("p");
            }
            let _ = JksStore::parse(&bytes, Some("p"));
        }
    }
}
