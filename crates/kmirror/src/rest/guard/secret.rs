//! Tokens and passwords read from files or the environment.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use super::RestSecurityError;

/// A token or password. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Self {
        Secret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Reads a file whose whole content, blanks and line ends trimmed, is one
/// secret: a file written with `echo` ends in a newline that is no part of
/// the token.
pub fn read_secret_file(
    flag: &'static str,
    path: &Path,
    what: &'static str,
) -> Result<Secret, RestSecurityError> {
    let text = read_text(flag, path)?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(RestSecurityError::Empty {
            flag,
            path: path.to_path_buf(),
            what,
        });
    }
    Ok(Secret(secret.to_string()))
}

/// The secret from `flag`'s file or from the environment variable
/// `variable`, whose value (read by the caller) is `from_env`; both set is
/// an error, `None` when neither is.
pub fn secret_from_file_or_env(
    flag: &'static str,
    file: Option<&Path>,
    variable: &'static str,
    from_env: Option<OsString>,
    what: &'static str,
) -> Result<Option<Secret>, RestSecurityError> {
    match (file, from_env) {
        (Some(_), Some(_)) => Err(RestSecurityError::Ambiguous {
            flag,
            variable,
            what,
        }),
        (Some(path), None) => read_secret_file(flag, path, what).map(Some),
        (None, Some(value)) => {
            let value = value
                .into_string()
                .map_err(|_| RestSecurityError::NotAHeaderValue { what: variable })?;
            let value = value.trim();
            if value.is_empty() {
                return Err(RestSecurityError::EmptyEnvironment {
                    name: variable,
                    what,
                });
            }
            Ok(Some(Secret(value.to_string())))
        }
        (None, None) => Ok(None),
    }
}

/// A file's text; errors name the flag and the file.
pub fn read_text(flag: &'static str, path: &Path) -> Result<String, RestSecurityError> {
    std::fs::read_to_string(path).map_err(|source| RestSecurityError::Unreadable {
        flag,
        path: PathBuf::from(path),
        source,
    })
}

/// A file's bytes; errors name the flag and the file.
pub fn read_bytes(flag: &'static str, path: &Path) -> Result<Vec<u8>, RestSecurityError> {
    std::fs::read(path).map_err(|source| RestSecurityError::Unreadable {
        flag,
        path: PathBuf::from(path),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  s3cret-token\n").unwrap();
        let secret = read_secret_file("--flag", &path, "token").unwrap();
        assert_eq!(secret.expose(), "s3cret-token");
        assert!(!format!("{secret:?}").contains("s3cret"));

        std::fs::write(&path, " \n\n").unwrap();
        let error = read_secret_file("--flag", &path, "token").unwrap_err();
        assert!(matches!(error, RestSecurityError::Empty { .. }), "{error}");
        assert!(error.to_string().contains("--flag"), "{error}");

        let missing = dir.path().join("nope");
        let error = read_secret_file("--flag", &missing, "token").unwrap_err();
        assert!(error.to_string().contains("nope"), "{error}");
    }
}
