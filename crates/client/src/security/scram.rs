//! The client side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677)
//! as Kafka speaks it: no channel binding, the password used as UTF-8
//! without SASLprep (Kafka's `ScramFormatter.normalize`), `=` and `,` in the
//! user name escaped.
//!
//! Hand-written on RustCrypto's `hmac`, `sha2` and `pbkdf2` because no
//! maintained SASL crate does SCRAM-SHA-512: `rsasl` 2.x ships SCRAM-SHA-1
//! and -256 only, the `scram` crate SHA-256 only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore as _;
use sha2::{Digest, Sha256, Sha512};

/// Kafka's minimum iteration count; a server asking fewer is refused as
/// Kafka's Java client does.
const MIN_ITERATIONS: u32 = 4096;
/// Bound on the iteration count a server may ask: it costs CPU per
/// connection, and an untrusted server must not stall us.
const MAX_ITERATIONS: u32 = 1_000_000;

/// Which hash the mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                    .expect("HMAC takes keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(key)
                    .expect("HMAC takes keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramHash::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// What went wrong in the exchange. Never carries the password or proofs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed server message: {0}")]
    Malformed(&'static str),
    #[error("the server's nonce does not extend ours")]
    NonceMismatch,
    #[error("the server asks {0} iterations, outside {MIN_ITERATIONS}..={MAX_ITERATIONS}")]
    Iterations(u32),
    #[error("the server refused: {0}")]
    ServerError(String),
    #[error("the server's signature is wrong: it does not know this user's credentials")]
    BadServerSignature,
}

/// A SCRAM exchange in progress: client-first sent, waiting for
/// server-first.
pub struct ScramClient {
    hash: ScramHash,
    password: Vec<u8>,
    nonce: String,
    client_first_bare: String,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// After client-final: what the server's final message must prove.
#[derive(Debug)]
pub struct ScramFinal {
    expected_server_signature: Vec<u8>,
}

/// Kafka's `ScramFormatter.saslName`.
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

impl ScramClient {
    /// Starts an exchange; returns it with the client-first message.
    pub fn start(hash: ScramHash, user: &str, password: &str) -> (Self, Vec<u8>) {
        let mut raw = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut raw);
        Self::start_with_nonce(hash, user, password, &STANDARD.encode(raw))
    }

    fn start_with_nonce(
        hash: ScramHash,
        user: &str,
        password: &str,
        nonce: &str,
    ) -> (Self, Vec<u8>) {
        let client_first_bare = format!("n={},r={nonce}", sasl_name(user));
        let message = format!("n,,{client_first_bare}").into_bytes();
        (
            ScramClient {
                hash,
                password: password.as_bytes().to_vec(),
                nonce: nonce.to_string(),
                client_first_bare,
            },
            message,
        )
    }

    /// Takes server-first and returns client-final.
    pub fn respond(self, server_first: &[u8]) -> Result<(ScramFinal, Vec<u8>), ScramError> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| ScramError::Malformed("server-first is not UTF-8"))?;
        if let Some(error) = server_first.strip_prefix("e=") {
            return Err(ScramError::ServerError(error.to_string()));
        }
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => return Err(ScramError::Malformed("mandatory extension")),
                _ => {}
            }
        }
        let nonce = nonce.ok_or(ScramError::Malformed("server-first has no nonce"))?;
        let salt = salt.ok_or(ScramError::Malformed("server-first has no salt"))?;
        let iterations: u32 = iterations
            .ok_or(ScramError::Malformed("server-first has no iteration count"))?
            .parse()
            .map_err(|_| ScramError::Malformed("iteration count is not a number"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(ScramError::Iterations(iterations));
        }
        let salt = STANDARD
            .decode(salt)
            .map_err(|_| ScramError::Malformed("salt is not base64"))?;

        let hash = self.hash;
        let salted = hash.salted_password(&self.password, &salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        let stored_key = hash.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hash.hmac(&salted, b"Server Key");
        let expected_server_signature = hash.hmac(&server_key, auth_message.as_bytes());
        let message = format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes();
        Ok((
            ScramFinal {
                expected_server_signature,
            },
            message,
        ))
    }
}

impl ScramFinal {
    /// Checks server-final: the server proves it knows our credentials.
    pub fn verify(self, server_final: &[u8]) -> Result<(), ScramError> {
        let server_final = std::str::from_utf8(server_final)
            .map_err(|_| ScramError::Malformed("server-final is not UTF-8"))?;
        let first = server_final.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            return Err(ScramError::ServerError(error.to_string()));
        }
        let signature = first
            .strip_prefix("v=")
            .ok_or(ScramError::Malformed("server-final has no verifier"))?;
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| ScramError::Malformed("verifier is not base64"))?;
        if signature == self.expected_server_signature {
            Ok(())
        } else {
            Err(ScramError::BadServerSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    #[test]
    fn rfc7677_sha256_example() {
        let (client, first) = ScramClient::start_with_nonce(
            ScramHash::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO",
        );
        assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let (done, last) = client
            .respond(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        done.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn refuses_a_server_that_does_not_know_the_password() {
        let (client, _) = ScramClient::start_with_nonce(ScramHash::Sha512, "u", "p", "abc");
        let (done, _) = client.respond(b"r=abcdef,s=c2FsdA==,i=4096").unwrap();
        assert_eq!(
            done.verify(b"v=AAAA").unwrap_err(),
            ScramError::BadServerSignature
        );
    }

    #[test]
    fn refuses_bad_server_first_messages() {
        let start = || ScramClient::start_with_nonce(ScramHash::Sha256, "u", "p", "abc").0;
        assert_eq!(
            start().respond(b"r=xyz123,s=c2FsdA==,i=4096").unwrap_err(),
            ScramError::NonceMismatch
        );
        assert_eq!(
            start().respond(b"r=abcd,s=c2FsdA==,i=10").unwrap_err(),
            ScramError::Iterations(10)
        );
        assert_eq!(
            start().respond(b"e=unknown-user").unwrap_err(),
            ScramError::ServerError("unknown-user".into())
        );
        assert!(matches!(
            start().respond(b"r=abcd,i=4096"),
            Err(ScramError::Malformed(_))
        ));
    }

    #[test]
    fn escapes_user_names_as_kafka_does() {
        let (_, first) = ScramClient::start_with_nonce(ScramHash::Sha256, "a=b,c", "p", "n");
        assert_eq!(first, b"n,,n=a=3Db=2Cc,r=n");
    }

    proptest! {
        #[test]
        fn never_panics_on_server_bytes(first in proptest::collection::vec(any::<u8>(), 0..200),
                                         last in proptest::collection::vec(any::<u8>(), 0..200)) {
            let (client, _) = ScramClient::start_with_nonce(ScramHash::Sha256, "u", "p", "n");
            if let Ok((done, _)) = client.respond(&first) {
                let _ = done.verify(&last);
            }
        }
    }
}
