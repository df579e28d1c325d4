//! Kafka's config providers (KIP-297, KIP-421, KIP-887, KIP-993): values like
//! `${file:/etc/kmirror/secrets.properties:password}` replaced at start, so
//! that passwords need not sit in `mm2.properties`.
//!
//! ```properties
//! config.providers = file, dir, env
//! config.providers.file.class = org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.dir.class = org.apache.kafka.common.config.provider.DirectoryConfigProvider
//! config.providers.env.class = org.apache.kafka.common.config.provider.EnvVarConfigProvider
//! kafka-b.ssl.truststore.password = ${env:TRUSTSTORE_PW}
//! ```
//!
//! What follows Kafka (`ConfigTransformer`, `FileConfigProvider`,
//! `DirectoryConfigProvider`, `EnvVarConfigProvider`, `AllowedPaths`, and
//! `MirrorMakerConfig.transform`, which resolves every value in dedicated mode;
//! Connect resolves connector configs the same way):
//! - `config.providers` is a list of aliases (trimmed, as `ConfigDef` `LIST`);
//!   the class in `config.providers.<alias>.class` decides the behaviour, so an
//!   alias may be any name. Parameters are `config.providers.<alias>.param.*`.
//! - Placeholders are found with Kafka's `DEFAULT_PATTERN`
//!   `\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`: the provider runs to the first `:`,
//!   the optional path to the next `:`, the key holds the rest (colons too); no
//!   part holds `}`. Replacement is one pass: resolved text is not scanned again.
//! - A placeholder whose provider is not configured stays as written.
//! - The file provider reads a Java `.properties` file (kmirror's own reader:
//!   escapes, continuations); the directory provider reads the regular file
//!   `key` in directory `path`, byte for byte as UTF-8, *not trimmed* (a
//!   trailing newline stays part of the value, as in Kafka); the environment
//!   provider reads `NAME` of `${env:NAME}` and takes no path.
//! - `allowed.paths` (file and directory providers, Kafka 3.6+): split at
//!   commas without trimming, each entry absolute and existing, and a path is
//!   allowed when, normalised without touching the file system, it lies under
//!   one of them. `allowlist.pattern` (environment provider): a Java regex the
//!   whole variable name must match; default `.*`.
//!
//! Where kmirror is stricter: a placeholder of a configured provider that
//! cannot be resolved (missing key, file, directory or variable, path not
//! allowed, variable not in the allowlist) is a configuration error naming the
//! key, its line and the placeholder; Kafka would keep the `${...}` text as the
//! value and fail later at login. An unknown provider class is an error too
//! (Kafka cannot load it either).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, Location, PlaceholderProblem};
use super::is_secret_key;
use super::properties::Properties;
use crate::filter::{parse_list, InvalidRegex, PatternList};

/// `config.providers`: the aliases of the configured providers.
pub const CONFIG_PROVIDERS: &str = "config.providers";

/// One `${provider:[path:]key}` placeholder in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// The provider alias (Kafka's group 1).
    pub provider: &'a str,
    /// The path, empty when absent (Kafka's group 3, or `""`).
    pub path: &'a str,
    /// The key (Kafka's group 4); may hold `:`.
    pub key: &'a str,
    /// Where the whole `${...}` lies in the value, in bytes.
    pub span: Range<usize>,
}

/// The placeholders of `value`, left to right, exactly as Kafka's
/// `ConfigTransformer.DEFAULT_PATTERN` finds them with `Matcher.find`.
///
/// Written by hand rather than with the regex: the pattern only ever matches
/// from a `${` to the first `}` after it when the text between holds a `:`,
/// which a scan finds in linear time. A property test checks it against the
/// pattern itself.
pub fn placeholders(value: &str) -> Placeholders<'_> {
    Placeholders { value, from: 0 }
}

/// Iterator returned by [`placeholders`].
#[derive(Debug, Clone)]
pub struct Placeholders<'a> {
    value: &'a str,
    from: usize,
}

impl<'a> Iterator for Placeholders<'a> {
    type Item = Placeholder<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let value = self.value;
        loop {
            let start = self.from + value.get(self.from..)?.find("${")?;
            let content_start = start + 2;
            let Some(close) = value[content_start..].find('}') else {
                self.from = value.len();
                return None;
            };
            let end = content_start + close;
            // A `${` inside this one shares its `}` and has no `:` either, so
            // the next candidate is after the `}`.
            self.from = end + 1;
            let content = &value[content_start..end];
            let Some((provider, rest)) = content.split_once(':') else {
                continue;
            };
            let (path, key) = rest.split_once(':').unwrap_or(("", rest));
            return Some(Placeholder {
                provider,
                path,
                key,
                span: start..end + 1,
            });
        }
    }
}

/// Which Kafka provider class an alias stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderClass {
    /// `org.apache.kafka.common.config.provider.FileConfigProvider`.
    File,
    /// `org.apache.kafka.common.config.provider.DirectoryConfigProvider`.
    Directory,
    /// `org.apache.kafka.common.config.provider.EnvVarConfigProvider`.
    EnvVar,
}

impl ProviderClass {
    const PACKAGE: &'static str = "org.apache.kafka.common.config.provider.";

    /// Parses a class name as Connect's plugin loader accepts it: fully
    /// qualified, simple (`FileConfigProvider`) or alias (`File`).
    pub fn from_class_name(name: &str) -> Option<Self> {
        let simple = name.strip_prefix(Self::PACKAGE).unwrap_or(name);
        let simple = simple.strip_suffix("ConfigProvider").unwrap_or(simple);
        match simple {
            "File" => Some(ProviderClass::File),
            "Directory" => Some(ProviderClass::Directory),
            "EnvVar" => Some(ProviderClass::EnvVar),
            _ => None,
        }
    }

    /// The simple Java class name.
    pub fn simple_name(self) -> &'static str {
        match self {
            ProviderClass::File => "FileConfigProvider",
            ProviderClass::Directory => "DirectoryConfigProvider",
            ProviderClass::EnvVar => "EnvVarConfigProvider",
        }
    }

    /// The parameter this class reads (`allowed.paths` or `allowlist.pattern`).
    fn parameter(self) -> &'static str {
        match self {
            ProviderClass::File | ProviderClass::Directory => "allowed.paths",
            ProviderClass::EnvVar => "allowlist.pattern",
        }
    }
}

/// `allowed.paths` of a file or directory provider.
#[derive(Debug, Clone)]
struct AllowedPaths {
    /// The value as written, for messages.
    written: String,
    /// Each entry, normalised.
    paths: Vec<PathBuf>,
}

/// `allowlist.pattern` of an environment provider.
#[derive(Debug, Clone)]
struct EnvAllowlist {
    /// The pattern as written, for messages.
    written: String,
    pattern: PatternList,
}

#[derive(Debug, Clone)]
struct Provider {
    class: ProviderClass,
    allowed_paths: Option<AllowedPaths>,
    env_allowlist: Option<EnvAllowlist>,
}

/// The providers a config declares, ready to resolve its placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigProviders {
    by_alias: IndexMap<String, Provider>,
}

/// A config with its placeholders resolved.
pub(crate) struct Resolved {
    /// The properties with every resolvable placeholder replaced; entries that
    /// took a value from a provider are marked (see `PropertyEntry::from_provider`).
    pub(crate) properties: Properties,
    /// Reports about the provider settings and placeholders left as written.
    pub(crate) warnings: Vec<ConfigWarning>,
    /// `(resolved text, placeholder as written)` of every replacement, longest
    /// text first, to take resolved values back out of messages.
    substitutions: Vec<(String, String)>,
}

impl Resolved {
    /// `error` with every resolved value in it replaced by its placeholder.
    pub(crate) fn redact_error(&self, mut error: ConfigError) -> ConfigError {
        for field in error.kind.value_fields_mut() {
            *field = self.redact_text(field);
        }
        error
    }

    /// `warning` with every resolved value in it replaced by its placeholder.
    pub(crate) fn redact_warning(&self, mut warning: ConfigWarning) -> ConfigWarning {
        warning.message = self.redact_text(&warning.message);
        warning
    }

    /// Replaces resolved values by their placeholders in one left-to-right pass
    /// (longest value first at each position), so that a placeholder put in is
    /// never searched again.
    fn redact_text(&self, text: &str) -> String {
        if self.substitutions.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut index = 0;
        'scan: while index < text.len() {
            for (resolved, placeholder) in &self.substitutions {
                if text[index..].starts_with(resolved.as_str()) {
                    out.push_str(placeholder);
                    index += resolved.len();
                    continue 'scan;
                }
            }
            let c = text[index..]
                .chars()
                .next()
                .expect("index is on a char boundary");
            out.push(c);
            index += c.len_utf8();
        }
        out
    }
}

/// Where a provider setting is, for errors and warnings.
struct Site<'a> {
    raw: &'a Properties,
    source_name: &'a str,
}

impl Site<'_> {
    fn location(&self, key: &str) -> Location {
        Location::new(self.source_name, self.raw.line(key))
    }

    fn display_key(&self, key: &str) -> String {
        self.raw
            .entry(key)
            .and_then(|entry| entry.original_key.clone())
            .unwrap_or_else(|| key.to_owned())
    }

    fn error(&self, key: &str, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::new(self.location(key), self.display_key(key), kind)
    }

    fn warning(&self, key: &str, message: String) -> ConfigWarning {
        ConfigWarning {
            location: self.location(key),
            key: self.display_key(key),
            message,
        }
    }
}

/// Resolves the config provider placeholders of `raw`, with the providers it
/// declares itself (`config.providers`), as MM2 does before typing anything.
pub(crate) fn resolve(raw: &Properties, source_name: &str) -> Result<Resolved, ConfigError> {
    let mut warnings = Vec::new();
    let providers = ConfigProviders::from_properties(raw, source_name, &mut warnings)?;
    providers.resolve(raw, source_name, warnings)
}

impl ConfigProviders {
    /// Reads `config.providers` and `config.providers.<alias>.*`, as Kafka
    /// instantiates and configures providers. Settings Kafka ignores (an alias
    /// without a class, a class for an unlisted alias, unknown parameters) are
    /// reported as warnings.
    pub(crate) fn from_properties(
        raw: &Properties,
        source_name: &str,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Self, ConfigError> {
        let site = Site { raw, source_name };
        let mut aliases: Vec<String> = Vec::new();
        for alias in raw
            .get(CONFIG_PROVIDERS)
            .map(parse_list)
            .unwrap_or_default()
        {
            if !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
        let mut providers = ConfigProviders::default();
        for alias in &aliases {
            let class_key = format!("{CONFIG_PROVIDERS}.{alias}.class");
            let Some(class_name) = raw.get(&class_key) else {
                warnings.push(site.warning(
                    CONFIG_PROVIDERS,
                    format!(
                        "provider \"{alias}\" has no {class_key}; its placeholders stay as \
                         written, as in Kafka"
                    ),
                ));
                continue;
            };
            let class_name = class_name.trim();
            let class = ProviderClass::from_class_name(class_name).ok_or_else(|| {
                site.error(
                    &class_key,
                    ConfigErrorKind::UnknownConfigProviderClass {
                        class: class_name.to_owned(),
                    },
                )
            })?;
            let mut provider = Provider {
                class,
                allowed_paths: None,
                env_allowlist: None,
            };
            let param_prefix = format!("{CONFIG_PROVIDERS}.{alias}.param.");
            for (key, entry) in raw.iter() {
                let Some(param) = key.strip_prefix(&param_prefix) else {
                    continue;
                };
                match (class, param) {
                    (ProviderClass::File | ProviderClass::Directory, "allowed.paths") => {
                        provider.allowed_paths =
                            read_allowed_paths(&entry.value).map_err(|(path, reason)| {
                                site.error(
                                    key,
                                    ConfigErrorKind::InvalidAllowedPath { path, reason },
                                )
                            })?;
                    }
                    (ProviderClass::EnvVar, "allowlist.pattern") => {
                        // Kafka compiles the value as is: one regex, commas included.
                        let pattern = PatternList::from_patterns(vec![entry.value.clone()])
                            .map_err(|InvalidRegex { regex, reason }| {
                                site.error(key, ConfigErrorKind::InvalidRegex { regex, reason })
                            })?;
                        provider.env_allowlist = Some(EnvAllowlist {
                            written: entry.value.clone(),
                            pattern,
                        });
                    }
                    _ => warnings.push(site.warning(
                        key,
                        format!(
                            "unknown parameter \"{param}\"; {} takes only {}",
                            class.simple_name(),
                            class.parameter()
                        ),
                    )),
                }
            }
            providers.by_alias.insert(alias.clone(), provider);
        }
        // Settings of providers that `config.providers` does not list.
        for (key, _) in raw.iter() {
            let Some(rest) = key.strip_prefix(&format!("{CONFIG_PROVIDERS}.")) else {
                continue;
            };
            let listed = aliases.iter().any(|alias| {
                rest.strip_prefix(alias.as_str())
                    .and_then(|after| after.strip_prefix('.'))
                    .is_some_and(|setting| setting == "class" || setting.starts_with("param."))
            });
            if !listed {
                warnings.push(site.warning(
                    key,
                    format!(
                        "not a setting of a provider listed in {CONFIG_PROVIDERS}; ignored, as in \
                         Kafka"
                    ),
                ));
            }
        }
        warnings.sort_by_key(|warning| warning.location.line.unwrap_or(u32::MAX));
        Ok(providers)
    }

    /// Replaces the placeholders in every value but the provider settings
    /// themselves (MM2 keeps those as written).
    pub(crate) fn resolve(
        &self,
        raw: &Properties,
        source_name: &str,
        mut warnings: Vec<ConfigWarning>,
    ) -> Result<Resolved, ConfigError> {
        let site = Site { raw, source_name };
        let mut properties = raw.clone();
        let mut substitutions: Vec<(String, String)> = Vec::new();
        let mut files: HashMap<(String, String), Result<Properties, PlaceholderProblem>> =
            HashMap::new();
        for (key, entry) in raw.iter() {
            if key == CONFIG_PROVIDERS || key.starts_with("config.providers.") {
                continue;
            }
            let value = entry.value.as_str();
            let mut resolved = String::new();
            let mut copied_to = 0;
            let mut unconfigured = false;
            let mut replaced = false;
            for placeholder in placeholders(value) {
                let Some(provider) = self.by_alias.get(placeholder.provider) else {
                    unconfigured = true;
                    continue;
                };
                let text = &value[placeholder.span.clone()];
                let replacement = provider
                    .lookup(placeholder.provider, &placeholder, &mut files)
                    .map_err(|problem| {
                        site.error(
                            key,
                            ConfigErrorKind::UnresolvedPlaceholder {
                                placeholder: text.to_owned(),
                                problem: Box::new(problem),
                            },
                        )
                    })?;
                resolved.push_str(&value[copied_to..placeholder.span.start]);
                resolved.push_str(&replacement);
                copied_to = placeholder.span.end;
                replaced = true;
                if !replacement.is_empty() {
                    substitutions.push((replacement, text.to_owned()));
                }
            }
            if unconfigured {
                let message = if is_secret_key(key) {
                    // The value may be a password that merely looks like a placeholder.
                    "looks like it holds a ${provider:[path:]key} placeholder whose provider is \
                     not configured; kept as written, as in Kafka"
                        .to_owned()
                } else {
                    let names: Vec<&str> = placeholders(value)
                        .filter(|p| !self.by_alias.contains_key(p.provider))
                        .map(|p| p.provider)
                        .collect();
                    format!(
                        "provider \"{}\" of a placeholder is not configured ({CONFIG_PROVIDERS}); \
                         kept as written, as in Kafka",
                        names.join("\", \"")
                    )
                };
                warnings.push(site.warning(key, message));
            }
            if replaced {
                resolved.push_str(&value[copied_to..]);
                properties.set_resolved_value(key, resolved);
            }
        }
        // Longest first, so that a value containing another is taken out whole.
        substitutions.sort_by_key(|(text, placeholder)| {
            (
                std::cmp::Reverse(text.len()),
                text.clone(),
                placeholder.clone(),
            )
        });
        substitutions.dedup();
        Ok(Resolved {
            properties,
            warnings,
            substitutions,
        })
    }
}

impl Provider {
    fn lookup(
        &self,
        alias: &str,
        placeholder: &Placeholder<'_>,
        files: &mut HashMap<(String, String), Result<Properties, PlaceholderProblem>>,
    ) -> Result<String, PlaceholderProblem> {
        let (path, key) = (placeholder.path, placeholder.key);
        match self.class {
            ProviderClass::File => {
                let file = self.checked_path(alias, path)?;
                let properties = files
                    .entry((alias.to_owned(), path.to_owned()))
                    .or_insert_with(|| read_properties_file(&file, path));
                let properties = properties.as_ref().map_err(Clone::clone)?;
                properties.get(key).map(str::to_owned).ok_or_else(|| {
                    PlaceholderProblem::KeyNotInFile {
                        key: key.to_owned(),
                        path: path.to_owned(),
                    }
                })
            }
            ProviderClass::Directory => {
                let directory = self.checked_path(alias, path)?;
                read_directory_file(&directory, path, key)
            }
            ProviderClass::EnvVar => {
                if !path.is_empty() {
                    return Err(PlaceholderProblem::EnvPathNotSupported {
                        alias: alias.to_owned(),
                    });
                }
                if let Some(allowlist) = &self.env_allowlist {
                    if !allowlist.pattern.matches(key) {
                        return Err(PlaceholderProblem::EnvVarNotAllowed {
                            name: key.to_owned(),
                            alias: alias.to_owned(),
                            pattern: allowlist.written.clone(),
                        });
                    }
                }
                // Java decodes the environment with the platform charset, replacing
                // what does not decode.
                std::env::var_os(key)
                    .map(|value| value.to_string_lossy().into_owned())
                    .ok_or_else(|| PlaceholderProblem::EnvVarNotSet {
                        name: key.to_owned(),
                    })
            }
        }
    }

    /// The path to read for a file or directory placeholder, as
    /// `AllowedPaths.parseUntrustedPath` gives it: normalised when
    /// `allowed.paths` is set, as written otherwise.
    fn checked_path(&self, alias: &str, path: &str) -> Result<PathBuf, PlaceholderProblem> {
        if path.is_empty() {
            return Err(PlaceholderProblem::MissingPath {
                alias: alias.to_owned(),
                class: self.class.simple_name(),
            });
        }
        let Some(allowed) = &self.allowed_paths else {
            return Ok(PathBuf::from(path));
        };
        let normalised = normalise(Path::new(path));
        if allowed
            .paths
            .iter()
            .any(|allowed| normalised.starts_with(allowed))
        {
            Ok(normalised)
        } else {
            Err(PlaceholderProblem::PathNotAllowed {
                path: path.to_owned(),
                alias: alias.to_owned(),
                allowed: allowed.written.clone(),
            })
        }
    }
}

/// `AllowedPaths(configValue)`: `None` when empty; otherwise every entry of
/// the comma-split value (Java `split`: blanks kept, trailing empty entries
/// dropped) must be absolute and exist.
fn read_allowed_paths(value: &str) -> Result<Option<AllowedPaths>, (String, &'static str)> {
    if value.is_empty() {
        return Ok(None);
    }
    let mut entries: Vec<&str> = value.split(',').collect();
    while entries.last().is_some_and(|entry| entry.is_empty()) {
        entries.pop();
    }
    let mut paths = Vec::new();
    for entry in entries {
        let normalised = normalise(Path::new(entry));
        if !normalised.is_absolute() {
            return Err((
                entry.to_owned(),
                "is not absolute (Kafka splits allowed.paths at commas and keeps blanks)",
            ));
        }
        if !normalised.exists() {
            return Err((entry.to_owned(), "does not exist"));
        }
        paths.push(normalised);
    }
    Ok(Some(AllowedPaths {
        written: value.to_owned(),
        paths,
    }))
}

/// Java's `Path.normalize`: drops `.` and folds `..` into the name before it,
/// by the text alone (symbolic links are not followed); `..` at the root stays
/// at the root.
fn normalise(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    out.iter().collect()
}

fn read_properties_file(file: &Path, written: &str) -> Result<Properties, PlaceholderProblem> {
    let unreadable = |reason: String| PlaceholderProblem::FileUnreadable {
        path: written.to_owned(),
        reason,
    };
    // FileConfigProvider reads UTF-8 and fails on malformed input.
    let text = std::fs::read_to_string(file).map_err(|error| unreadable(io_reason(&error)))?;
    Properties::parse(&text).map_err(|error| unreadable(error.to_string()))
}

fn read_directory_file(
    directory: &Path,
    written: &str,
    key: &str,
) -> Result<String, PlaceholderProblem> {
    if !directory.is_dir() {
        return Err(PlaceholderProblem::NotADirectory {
            path: written.to_owned(),
        });
    }
    let missing = || PlaceholderProblem::FileNotInDirectory {
        key: key.to_owned(),
        path: written.to_owned(),
    };
    // Kafka lists the directory and keeps regular files whose name is a key,
    // so a key naming anything but a file directly inside never matches.
    if key.is_empty() || key == "." || key == ".." || key.contains('/') {
        return Err(missing());
    }
    let file = directory.join(key);
    // `is_file` follows symbolic links, as `Files.isRegularFile` does
    // (Kubernetes mounts secrets as links into `..data`).
    if !file.is_file() {
        return Err(missing());
    }
    let bytes =
        std::fs::read(&file).map_err(|error| PlaceholderProblem::DirectoryFileUnreadable {
            key: key.to_owned(),
            path: written.to_owned(),
            reason: io_reason(&error),
        })?;
    // `new String(bytes, UTF_8)`: malformed input becomes U+FFFD; no trimming.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An I/O error's reason in lowercase, without the path (the message names it).
fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::InvalidData => "not valid UTF-8".to_owned(),
        _ => error.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(value: &str) -> Vec<(&str, &str, &str, &str)> {
        placeholders(value)
            .map(|p| (p.provider, p.path, p.key, &value[p.span]))
            .collect()
    }

    #[test]
    fn placeholder_parts_as_kafka_splits_them() {
        assert_eq!(found("${env:NAME}"), [("env", "", "NAME", "${env:NAME}")]);
        assert_eq!(
            found("a ${file:/etc/s.properties:user} b"),
            [(
                "file",
                "/etc/s.properties",
                "user",
                "${file:/etc/s.properties:user}"
            )]
        );
        // The path stops at the second colon; the key keeps the rest.
        assert_eq!(
            found("${file:C:\\x:key}"),
            [("file", "C", "\\x:key", "${file:C:\\x:key}")]
        );
        assert_eq!(found("${p:a:b:c}"), [("p", "a", "b:c", "${p:a:b:c}")]);
        // Empty parts are allowed by the pattern.
        assert_eq!(found("${:}"), [("", "", "", "${:}")]);
        assert_eq!(found("${env::X}"), [("env", "", "X", "${env::X}")]);
        // No colon: no placeholder. No closing brace: none either.
        assert!(found("${env}").is_empty());
        assert!(found("${env:X").is_empty());
        assert!(found("$env:X}").is_empty());
        // The match runs to the first `}`; a `${` inside belongs to the provider.
        assert_eq!(found("${a${b:c}"), [("a${b", "", "c", "${a${b:c}")]);
        assert_eq!(
            found("${x}${env:A}${env:B}"),
            [("env", "", "A", "${env:A}"), ("env", "", "B", "${env:B}")]
        );
        assert_eq!(found("$${env:A}"), [("env", "", "A", "${env:A}")]);
    }

    #[test]
    fn class_names() {
        for name in [
            "org.apache.kafka.common.config.provider.FileConfigProvider",
            "FileConfigProvider",
            "File",
        ] {
            assert_eq!(
                ProviderClass::from_class_name(name),
                Some(ProviderClass::File)
            );
        }
        assert_eq!(
            ProviderClass::from_class_name("DirectoryConfigProvider"),
            Some(ProviderClass::Directory)
        );
        assert_eq!(
            ProviderClass::from_class_name(
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
            ),
            Some(ProviderClass::EnvVar)
        );
        assert_eq!(
            ProviderClass::from_class_name("com.example.VaultConfigProvider"),
            None
        );
        assert_eq!(ProviderClass::from_class_name("file"), None);
    }

    #[test]
    fn normalisation_is_textual() {
        assert_eq!(normalise(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalise(Path::new("/../a")), Path::new("/a"));
        assert_eq!(normalise(Path::new("a/../../b")), Path::new("../b"));
        assert!(!normalise(Path::new("/a/../../etc")).starts_with("/a"));
    }

    #[test]
    fn allowed_paths_split_like_java() {
        let dir = std::env::temp_dir();
        let dir = dir.to_str().unwrap();
        let parsed = read_allowed_paths(&format!("{dir},")).unwrap().unwrap();
        assert_eq!(parsed.paths.len(), 1);
        assert_eq!(read_allowed_paths("").unwrap().map(|a| a.paths), None);
        let (path, reason) = read_allowed_paths(&format!("{dir}, {dir}")).unwrap_err();
        assert_eq!(path, format!(" {dir}"));
        assert!(reason.starts_with("is not absolute"), "{reason}");
        let (path, reason) = read_allowed_paths("/no/such/kmirror/dir").unwrap_err();
        assert_eq!(
            (path.as_str(), reason),
            ("/no/such/kmirror/dir", "does not exist")
        );
        assert!(read_allowed_paths(&format!(",{dir}")).is_err());
    }

    #[test]
    fn redaction_is_one_pass_longest_first() {
        let resolved = Resolved {
            properties: Properties::new(),
            warnings: Vec::new(),
            substitutions: vec![
                ("hunter22".to_owned(), "${env:LONG}".to_owned()),
                ("hunter2".to_owned(), "${env:SHORT}".to_owned()),
                ("e".to_owned(), "${env:E}".to_owned()),
            ],
        };
        assert_eq!(
            resolved.redact_text("x hunter22 hunter2"),
            "x ${env:LONG} ${env:SHORT}"
        );
        // The `e` inside the inserted placeholders is not replaced again.
        assert_eq!(resolved.redact_text("e"), "${env:E}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Kafka's `ConfigTransformer.DEFAULT_PATTERN`, verbatim.
        const KAFKA_PATTERN: &str = r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}";

        fn with_regex(value: &str) -> Vec<(String, String, String, Range<usize>)> {
            let regex = regex::Regex::new(KAFKA_PATTERN).unwrap();
            regex
                .captures_iter(value)
                .map(|c| {
                    (
                        c[1].to_owned(),
                        c.get(3).map_or("", |m| m.as_str()).to_owned(),
                        c[4].to_owned(),
                        c.get(0).unwrap().range(),
                    )
                })
                .collect()
        }

        fn by_hand(value: &str) -> Vec<(String, String, String, Range<usize>)> {
            placeholders(value)
                .map(|p| {
                    (
                        p.provider.to_owned(),
                        p.path.to_owned(),
                        p.key.to_owned(),
                        p.span,
                    )
                })
                .collect()
        }

        proptest! {
            #[test]
            fn never_panics(value in "\\PC*") {
                let _ = by_hand(&value);
            }

            #[test]
            fn finds_what_kafkas_pattern_finds(
                value in proptest::collection::vec(
                    prop_oneof![
                        Just("${"), Just("}"), Just(":"), Just("$"), Just("{"), Just("a"),
                        Just("/x"), Just("é"), Just(" "), Just("\\"),
                    ],
                    0..30,
                ).prop_map(|parts| parts.concat())
            ) {
                prop_assert_eq!(by_hand(&value), with_regex(&value));
            }

            #[test]
            fn finds_what_kafkas_pattern_finds_in_any_text(value in "\\PC*") {
                prop_assert_eq!(by_hand(&value), with_regex(&value));
            }
        }
    }
}
