//! What can be wrong with the REST API's TLS and credential settings, on
//! the server (`kmirror run`) and on the client side (`kmirror status`).
//!
//! Every message names the flag and the file to fix and never holds file
//! contents: a key, token or password must not reach a terminal or a log.

use std::path::PathBuf;

/// A REST security setting that cannot be used; `kmirror` exits 2.
#[derive(Debug, thiserror::Error)]
pub enum RestSecurityError {
    /// The file cannot be opened or read.
    #[error("{flag} {}: cannot read the file: {source}", path.display())]
    Unreadable {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file holds nothing but blanks.
    #[error("{flag} {}: the file is empty; put the {what} in it", path.display())]
    Empty {
        flag: &'static str,
        path: PathBuf,
        what: &'static str,
    },
    /// An environment variable that gives a secret is set but empty.
    #[error("the environment variable {name} is set but empty; unset it or give the {what}")]
    EmptyEnvironment {
        name: &'static str,
        what: &'static str,
    },
    /// Two places give the same secret; which one wins would be a guess.
    #[error("both {flag} and the environment variable {variable} give the {what}; keep one")]
    Ambiguous {
        flag: &'static str,
        variable: &'static str,
        what: &'static str,
    },
    /// The PEM text cannot be parsed (the parser's detail is left out: it
    /// may quote the file's bytes).
    #[error("{flag} {}: not a valid PEM file", path.display())]
    MalformedPem { flag: &'static str, path: PathBuf },
    /// No `CERTIFICATE` block in a file that should hold a chain.
    #[error("{flag} {}: no PEM certificate in it; expected -----BEGIN CERTIFICATE----- blocks", path.display())]
    NoCertificate { flag: &'static str, path: PathBuf },
    /// No private key block.
    #[error(
        "{flag} {}: no PEM private key in it; expected an unencrypted PKCS#8, RSA or EC private key",
        path.display()
    )]
    NoPrivateKey { flag: &'static str, path: PathBuf },
    /// The key is not the certificate's, or rustls cannot use the pair.
    #[error(
        "--rest-tls-key {} cannot serve the certificate of --rest-tls-cert {}: {reason}",
        key.display(),
        cert.display()
    )]
    UnusableKeyPair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    /// Only one of the certificate and the key was given.
    #[error("--rest-tls-cert and --rest-tls-key go together; {missing} is missing")]
    HalfTls { missing: &'static str },
    /// A line of the basic-auth credentials file is not `user=password`.
    #[error("--rest-basic-auth-file {}: line {line}: {problem}", path.display())]
    BadCredentialsLine {
        path: PathBuf,
        line: u32,
        problem: &'static str,
    },
    /// Reads cannot be guarded without credentials to check.
    #[error(
        "--rest-auth-read protects reads with credentials, but none are set: add \
         --rest-auth-token-file, KMIRROR_REST_TOKEN or --rest-basic-auth-file"
    )]
    ReadGuardWithoutCredentials,
    /// Basic credentials need both halves.
    #[error("{given} is set without {missing}; give both or neither")]
    HalfBasicCredentials {
        given: &'static str,
        missing: &'static str,
    },
    /// A bearer token and basic credentials at once on the client side.
    #[error("give a bearer token or --rest-user, not both")]
    TokenAndUser,
    /// A value that cannot go into an HTTP header.
    #[error("{what} holds characters that cannot be sent in an HTTP header")]
    NotAHeaderValue { what: &'static str },
    /// The HTTP client cannot be built.
    #[error("cannot set up the REST client: {reason}")]
    Client { reason: String },
}
