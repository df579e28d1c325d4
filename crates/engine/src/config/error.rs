//! Config errors and warnings, each naming the file, line and key, displayed on
//! one line: `mm2.properties:7: kafka-a->kafka-c.enabled: unknown cluster alias
//! "kafka-c" (clusters = kafka-a, kafka-b)`.

use std::fmt;
use std::sync::Arc;

use super::properties::PropertiesError;

/// Where a setting came from: the file (or other source) and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name, or a description of the source (e.g. `connector JSON`).
    pub source: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
}

impl Location {
    /// A location in `source` at `line`.
    pub fn new(source: impl Into<String>, line: Option<u32>) -> Self {
        Self {
            source: source.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.source),
            None => write!(f, "{}", self.source),
        }
    }
}

/// A config that kmirror refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Where the offending (or, for a missing key, the requiring) setting is.
    pub location: Location,
    /// The key as the user wrote it; empty when the error is not about a key.
    pub key: String,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    pub(crate) fn new(location: Location, key: impl Into<String>, kind: ConfigErrorKind) -> Self {
        Self {
            location,
            key: key.into(),
            kind,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.location, self.kind)
        } else {
            write!(f, "{}: {}: {}", self.location, self.key, self.kind)
        }
    }
}

/// What is wrong with a config. Values of secret keys never appear here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigErrorKind {
    /// The file is not valid `.properties` text (the location names the line).
    #[error("{}", .0.problem())]
    Properties(#[source] PropertiesError),
    /// The connector JSON is not valid or not of the expected shape.
    #[error(transparent)]
    Json(JsonProblem),
    /// A flow names a cluster that `clusters` does not list.
    #[error("unknown cluster alias \"{alias}\" (clusters = {clusters})")]
    UnknownClusterAlias {
        /// The alias used.
        alias: String,
        /// The declared aliases, comma-separated.
        clusters: String,
    },
    /// A flow from a cluster to itself.
    #[error("a flow from cluster \"{alias}\" to itself is not allowed")]
    FlowToItself {
        /// The alias on both sides.
        alias: String,
    },
    /// `clusters` is missing or empty.
    #[error("no clusters defined (set clusters = <alias>, <alias>, ...)")]
    NoClusters,
    /// A cluster alias that cannot be used.
    #[error("invalid cluster alias \"{alias}\": {reason}")]
    InvalidClusterAlias {
        /// The alias as written.
        alias: String,
        /// Why.
        reason: String,
    },
    /// A regex in a filter list is invalid or uses Java-only syntax.
    #[error("invalid regex \"{regex}\": {reason}")]
    InvalidRegex {
        /// The regex as written.
        regex: String,
        /// Why, one line.
        reason: String,
    },
    /// A number setting whose value does not parse.
    #[error("\"{value}\" is not a number (expected a {expected})")]
    NotANumber {
        /// The value as written.
        value: String,
        /// The kind of number, e.g. `32-bit integer`.
        expected: &'static str,
    },
    /// A number outside the range kmirror (or Kafka) accepts.
    #[error("{value} is out of range: {reason}")]
    OutOfRange {
        /// The value as written.
        value: String,
        /// The accepted range.
        reason: &'static str,
    },
    /// A boolean setting that is neither `true` nor `false`.
    #[error("\"{value}\" is not a boolean (expected true or false)")]
    BadBoolean {
        /// The value as written.
        value: String,
    },
    /// A setting restricted to a few values.
    #[error("\"{value}\" is not one of: {allowed}")]
    NotOneOf {
        /// The value as written.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// An empty value where one is needed.
    #[error("must not be empty")]
    Empty,
    /// A cluster used by an enabled flow has no bootstrap servers.
    #[error("missing bootstrap servers for cluster \"{alias}\", used by enabled flow {flow}")]
    MissingBootstrap {
        /// The cluster.
        alias: String,
        /// The enabled flow that needs it.
        flow: String,
    },
    /// A cluster used by an enabled flow has no bootstrap servers, and a
    /// key close to its bootstrap servers key is set.
    #[error(
        "unknown key; did you mean \"{suggestion}\"? ({cluster_and_flow} has no bootstrap servers)"
    )]
    MisspelledBootstrap {
        /// The bootstrap servers key meant.
        suggestion: String,
        /// `cluster "<alias>", used by enabled flow <flow>,`.
        cluster_and_flow: String,
    },
    /// A replication policy class kmirror does not implement.
    #[error(
        "unsupported replication policy class \"{class}\" (kmirror supports \
         org.apache.kafka.connect.mirror.DefaultReplicationPolicy and \
         org.apache.kafka.connect.mirror.IdentityReplicationPolicy)"
    )]
    UnsupportedReplicationPolicy {
        /// The class as written.
        class: String,
    },
    /// Identity naming on flows that form a cycle: MM2 loops forever there.
    #[error("identity naming on a bidirectional pair would loop; not supported yet ({cycle})")]
    IdentityOnBidirectionalPair {
        /// The two flows, e.g. `kafka-a->kafka-b and kafka-b->kafka-a`.
        cycle: String,
    },
    /// Identity naming on a longer replication cycle.
    #[error("identity naming on a replication cycle would loop; not supported yet ({cycle})")]
    IdentityOnCycle {
        /// The cycle, e.g. `a->b->c->a`.
        cycle: String,
    },
    /// An alias containing the separator makes remote topics unrecognisable.
    #[error(
        "cluster alias \"{alias}\" contains (or ends with part of) the replication policy \
         separator \"{separator}\", so topics replicated from it cannot be recognised and \
         would loop back"
    )]
    AliasContainsSeparator {
        /// The alias.
        alias: String,
        /// The separator.
        separator: String,
    },
    /// A Connect connector class kmirror does not run.
    #[error(
        "unknown connector class \"{class}\" (expected \
         org.apache.kafka.connect.mirror.MirrorSourceConnector, MirrorCheckpointConnector \
         or MirrorHeartbeatConnector)"
    )]
    UnknownConnectorClass {
        /// The class as written.
        class: String,
    },
    /// A key nobody knows, in strict mode (`--strict`).
    #[error(
        "unknown key{}, refused in strict mode{}",
        did_you_mean(.suggestion),
        also_unknown(.others)
    )]
    UnknownKey {
        /// The closest known key, as it would be written.
        suggestion: Option<String>,
        /// The other unknown keys with their lines, comma-separated.
        others: String,
    },
    /// A cluster alias listed twice in `clusters`.
    #[error("cluster alias \"{alias}\" is listed twice")]
    RepeatedClusterAlias {
        /// The alias.
        alias: String,
    },
    /// A bootstrap server that is not `host:port`.
    #[error("invalid bootstrap server \"{server}\": {reason}")]
    BadBootstrapServer {
        /// The entry as written.
        server: String,
        /// What is wrong and how to write it.
        reason: &'static str,
    },
    /// No flow replicates anything.
    #[error("nothing to replicate: {reason}")]
    NothingToReplicate {
        /// Why, and which `source->target.enabled` to set.
        reason: String,
    },
    /// A required key is missing.
    #[error("missing: {what}")]
    Missing {
        /// What should be there.
        what: &'static str,
    },
    /// `config.providers.<alias>.class` names a class kmirror does not have.
    #[error(
        "unknown config provider class \"{class}\" (kmirror has \
         org.apache.kafka.common.config.provider.FileConfigProvider, DirectoryConfigProvider \
         and EnvVarConfigProvider)"
    )]
    UnknownConfigProviderClass {
        /// The class as written.
        class: String,
    },
    /// An entry of a provider's `allowed.paths` parameter that Kafka refuses.
    #[error("allowed path \"{path}\" {reason}")]
    InvalidAllowedPath {
        /// The entry as written (Kafka splits at commas and keeps blanks).
        path: String,
        /// Why, e.g. `is not absolute`.
        reason: &'static str,
    },
    /// A `${provider:[path:]key}` placeholder of a configured provider could
    /// not be resolved. Names the placeholder as written, never a value.
    #[error("cannot resolve {placeholder}: {problem}")]
    UnresolvedPlaceholder {
        /// The placeholder as written, e.g. `${file:/etc/kmirror/secrets.properties:password}`.
        placeholder: String,
        /// What went wrong (boxed: keeps every config `Result` small).
        problem: Box<PlaceholderProblem>,
    },
}

/// What is wrong with a connector's JSON form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonProblem {
    /// Not JSON (the location names the line).
    #[error("invalid JSON: {}", .0.message())]
    Invalid(#[source] JsonSyntaxError),
    /// The document, or its `config`, is not an object.
    #[error("expected a JSON object")]
    NotAnObject,
    /// A config value that is an array or an object (Connect takes strings,
    /// numbers and booleans).
    #[error("expected a string value")]
    NotAString,
}

/// serde_json's error, shared so that config errors stay `Clone` and
/// comparable (by message and position).
#[derive(Debug, Clone)]
pub struct JsonSyntaxError(Arc<serde_json::Error>);

impl JsonSyntaxError {
    /// The error.
    pub fn new(error: serde_json::Error) -> Self {
        Self(Arc::new(error))
    }

    /// The 1-based line serde_json stopped at, when known.
    pub fn line(&self) -> Option<u32> {
        u32::try_from(self.0.line()).ok().filter(|&line| line > 0)
    }

    /// serde_json's message without its " at line L column C" tail.
    pub fn message(&self) -> String {
        let text = self.0.to_string();
        match text.rfind(" at line ") {
            Some(position) => text[..position].to_owned(),
            None => text,
        }
    }
}

impl PartialEq for JsonSyntaxError {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for JsonSyntaxError {}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Stands for serde_json's error itself: its Display, and its source.
impl std::error::Error for JsonSyntaxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0.as_ref())
    }
}

impl ConfigErrorKind {
    /// Every text field that may hold a value from the config, so that values
    /// resolved from config providers can be replaced before the error is
    /// shown. Exhaustive on purpose: a new variant must decide here.
    pub(crate) fn value_fields_mut(&mut self) -> Vec<&mut String> {
        match self {
            // Fixed texts, or serde_json's about text read before any config
            // provider ran: no resolved value can be in them.
            ConfigErrorKind::Properties(_) | ConfigErrorKind::Json(_) => Vec::new(),
            ConfigErrorKind::UnknownClusterAlias { alias, clusters } => vec![alias, clusters],
            ConfigErrorKind::FlowToItself { alias }
            | ConfigErrorKind::InvalidClusterAlias { alias, .. }
            | ConfigErrorKind::MissingBootstrap { alias, .. } => vec![alias],
            ConfigErrorKind::MisspelledBootstrap {
                cluster_and_flow, ..
            } => vec![cluster_and_flow],
            ConfigErrorKind::InvalidRegex { regex, .. } => vec![regex],
            ConfigErrorKind::NotANumber { value, .. }
            | ConfigErrorKind::OutOfRange { value, .. }
            | ConfigErrorKind::BadBoolean { value }
            | ConfigErrorKind::NotOneOf { value, .. } => vec![value],
            ConfigErrorKind::RepeatedClusterAlias { alias } => vec![alias],
            ConfigErrorKind::BadBootstrapServer { server, .. } => vec![server],
            ConfigErrorKind::UnsupportedReplicationPolicy { class }
            | ConfigErrorKind::UnknownConnectorClass { class }
            | ConfigErrorKind::UnknownConfigProviderClass { class } => vec![class],
            ConfigErrorKind::IdentityOnBidirectionalPair { cycle }
            | ConfigErrorKind::IdentityOnCycle { cycle } => vec![cycle],
            ConfigErrorKind::AliasContainsSeparator { alias, separator } => {
                vec![alias, separator]
            }
            ConfigErrorKind::InvalidAllowedPath { path, .. } => vec![path],
            // Placeholders, paths and names as written; the problem never holds a value.
            // Key names only, never values.
            ConfigErrorKind::UnknownKey { .. } | ConfigErrorKind::NothingToReplicate { .. } => {
                Vec::new()
            }
            ConfigErrorKind::UnresolvedPlaceholder { .. }
            | ConfigErrorKind::NoClusters
            | ConfigErrorKind::Empty
            | ConfigErrorKind::Missing { .. } => Vec::new(),
        }
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

fn also_unknown(others: &str) -> String {
    if others.is_empty() {
        String::new()
    } else {
        format!("; also unknown: {others}")
    }
}

/// Why a config provider placeholder could not be resolved. Kafka leaves such
/// a placeholder in place (or fails only for an unreadable file), so that a
/// password becomes the literal `${...}` text and the failure shows up later
/// as a refused login; kmirror stops at start instead, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderProblem {
    /// A file or directory provider placeholder without a path (`${file:key}`).
    #[error("the {class} provider needs a path: ${{{alias}:<path>:<key>}}")]
    MissingPath {
        /// The provider alias.
        alias: String,
        /// `FileConfigProvider` or `DirectoryConfigProvider`.
        class: &'static str,
    },
    /// A path outside the provider's `allowed.paths`.
    #[error("path {path} is outside config.providers.{alias}.param.allowed.paths ({allowed})")]
    PathNotAllowed {
        /// The path as written.
        path: String,
        /// The provider alias.
        alias: String,
        /// The allowed paths as written.
        allowed: String,
    },
    /// The properties file of a file provider cannot be read or parsed.
    #[error("cannot read properties file {path}: {reason}")]
    FileUnreadable {
        /// The path as written.
        path: String,
        /// The operating system's reason, or the line of a malformed escape.
        reason: String,
    },
    /// The properties file has no such key.
    #[error("no key \"{key}\" in properties file {path}")]
    KeyNotInFile {
        /// The key looked for.
        key: String,
        /// The file.
        path: String,
    },
    /// The directory of a directory provider does not exist or is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The path as written.
        path: String,
    },
    /// The directory has no regular file of that name.
    #[error("no regular file \"{key}\" in directory {path}")]
    FileNotInDirectory {
        /// The file name looked for.
        key: String,
        /// The directory.
        path: String,
    },
    /// A file in the directory cannot be read.
    #[error("cannot read file \"{key}\" in directory {path}: {reason}")]
    DirectoryFileUnreadable {
        /// The file name.
        key: String,
        /// The directory.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// An environment provider placeholder with a path (`${env:path:NAME}`);
    /// Kafka refuses it too.
    #[error("the environment provider takes no path (write ${{{alias}:NAME}})")]
    EnvPathNotSupported {
        /// The provider alias.
        alias: String,
    },
    /// The environment variable is not set.
    #[error("environment variable {name} is not set")]
    EnvVarNotSet {
        /// The variable.
        name: String,
    },
    /// The environment variable does not match the provider's allowlist.
    #[error(
        "environment variable {name} does not match \
         config.providers.{alias}.param.allowlist.pattern ({pattern})"
    )]
    EnvVarNotAllowed {
        /// The variable.
        name: String,
        /// The provider alias.
        alias: String,
        /// The pattern as written.
        pattern: String,
    },
}

/// A setting kmirror accepts but reports: a key that neither MM2 nor kmirror
/// knows, or one MM2 ignores where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Where the key is.
    pub location: Location,
    /// The key as written.
    pub key: String,
    /// Why it is reported.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.key, self.message)
    }
}

/// A key that neither MM2, Kafka Connect, Kafka's clients nor kmirror knows
/// where it is written: most often a misspelling, whose setting then keeps
/// its default. Reported as a warning; strict mode refuses the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Where the key is.
    pub location: Location,
    /// The key as written.
    pub key: String,
    /// The closest known key, with the alias or flow prefix as written
    /// (`kafka-a.bootstrap.server` -> `kafka-a.bootstrap.servers`).
    pub suggestion: Option<String>,
}

impl UnknownKey {
    /// The warning logged for it.
    pub fn message(&self) -> String {
        match &self.suggestion {
            Some(suggestion) => format!("unknown key, ignored; did you mean \"{suggestion}\"?"),
            None => "unknown key, ignored: neither MM2, Kafka Connect, Kafka's clients nor \
                     kmirror knows it"
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_typed_and_keep_serde_json_s_error() {
        let error =
            crate::config::connect::properties_from_connect_json("{\n\"config\": ", "c.json")
                .err()
                .expect("not JSON");
        let ConfigErrorKind::Json(JsonProblem::Invalid(syntax)) = &error.kind else {
            panic!("{:?}", error.kind);
        };
        assert_eq!(error.location, Location::new("c.json", Some(2)));
        assert!(syntax.message().starts_with("EOF"), "{}", syntax.message());
        // The position is the location's, not repeated in the message.
        assert!(!error.to_string().contains("column"), "{error}");
        assert!(syntax.to_string().contains("column"), "{syntax}");
        let kind: &dyn std::error::Error = &error.kind;
        assert!(kind.source().is_some(), "serde_json's error is the source");

        let error = crate::config::connect::properties_from_connect_json("[]", "c.json")
            .err()
            .unwrap();
        assert_eq!(error.kind, ConfigErrorKind::Json(JsonProblem::NotAnObject));
        let error = crate::config::connect::properties_from_connect_json(
            "{\"config\": {\"topics\": [1]}}",
            "c.json",
        )
        .err()
        .unwrap();
        assert_eq!(error.kind, ConfigErrorKind::Json(JsonProblem::NotAString));
        assert_eq!(error.key, "topics");
        assert_eq!(
            error.to_string(),
            "c.json:1: topics: expected a string value"
        );
    }

    #[test]
    fn properties_errors_keep_the_reader_s_error() {
        use crate::config::properties::PropertiesError;

        let error = crate::config::mm2::Mm2Config::parse("a = 1\nx = \\u00zz\n", "m.properties")
            .unwrap_err();
        let source = PropertiesError::MalformedUnicodeEscape { line: 2 };
        assert_eq!(error.kind, ConfigErrorKind::Properties(source.clone()));
        assert_eq!(
            error.to_string(),
            "m.properties:2: malformed \\uxxxx escape"
        );
        let kind: &dyn std::error::Error = &error.kind;
        assert_eq!(
            kind.source().map(ToString::to_string),
            Some(source.to_string())
        );
    }
}
