//! Loading the MM2 configuration a command was given.

use std::path::Path;

use kmirror_engine::config::mm2::Mm2Config;
use kmirror_engine::config::properties::decode_file_bytes;
use kmirror_engine::config::ConfigError;
use tracing::warn;

/// Why a command's configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Wrong in itself, with the file, line and key (one line).
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// Reads an mm2.properties file, or a Kafka Connect connector JSON file
/// (by its `.json` extension or a leading `{`). Errors are one line naming
/// the file, line and key.
pub fn load(path: &Path) -> Result<Mm2Config, ConfigFileError> {
    load_with_text(path).map(|(config, _)| config)
}

/// `config` restricted to the flows into `targets` (`--clusters`), if given;
/// refused when nothing is left to replicate, and with `strict` when it holds
/// a key nobody knows (`run` and `check`).
pub fn only_targets(
    config: Mm2Config,
    targets: Option<&[String]>,
    strict: bool,
) -> Result<Mm2Config, ConfigFileError> {
    if strict {
        config.refuse_unknown_keys()?;
    }
    let restricted = match targets {
        Some(targets) => config.only_targets(targets)?,
        None => config.clone(),
    };
    // On the whole config: it tells "no flow enabled" from "none into
    // these clusters".
    config.check_something_to_replicate(targets)?;
    Ok(restricted)
}

/// [`load`], also returning the file's text.
pub fn load_with_text(path: &Path) -> Result<(Mm2Config, String), ConfigFileError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigFileError::Read {
        path: name.clone(),
        source,
    })?;
    // UTF-8, else ISO-8859-1 as MM2 reads it (see `decode_file_bytes`).
    let text = decode_file_bytes(&bytes).into_owned();
    let is_json =
        path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let config = if is_json {
        Mm2Config::from_connect_json_named(&text, &name)
    } else {
        Mm2Config::parse(&text, &name)
    };
    Ok((config?, text))
}

/// Logs, once, the warnings of a loaded config and the MM2 keys kmirror does
/// not honour yet.
pub fn report(config: &Mm2Config) {
    for warning in config.warnings() {
        warn!("{warning}");
    }
    let unsupported = config.unsupported_keys();
    if !unsupported.is_empty() {
        warn!(keys = %unsupported.join(", "), "MM2 settings not honoured by this kmirror version");
    }
    for (key, reason) in config.not_applicable_client_keys() {
        warn!(
            key,
            reason, "client setting not applicable to batch pass-through"
        );
    }
}
