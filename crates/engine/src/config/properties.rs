//! A reader for Java `.properties` files, faithful to `java.util.Properties::load`
//! for everything real `mm2.properties` files contain.
//!
//! What it follows from the Java format:
//! - `#` and `!` start a comment line (only as the first non-blank character of a
//!   line that is not a continuation);
//! - the key ends at the first unescaped `=`, `:` or blank; blanks around the
//!   separator are skipped, so `key = value`, `key: value` and `key value` are the same;
//! - a line ending in an odd number of backslashes continues on the next line,
//!   whose leading blanks are dropped;
//! - escapes `\t`, `\n`, `\r`, `\f`, `\uXXXX` (surrogate pairs combined), and `\c`
//!   for any other `c` is `c` itself (so `\=`, `\:`, `\ ` and `\\` are literal);
//! - trailing blanks of a value are kept (Java keeps them; typed config values
//!   are trimmed later, as Kafka's `ConfigDef` does);
//! - a repeated key: the last value wins, as in Java, and every line is remembered.
//!
//! Where it differs: input is text, decoded from the file's bytes by
//! [`decode_file_bytes`] (UTF-8, else ISO-8859-1), and a leading byte order
//! mark is skipped; a lone surrogate from `\uXXXX` becomes U+FFFD because a
//! Rust string cannot hold it.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;

use super::is_secret_key;

/// The text of a `.properties` file from its bytes: UTF-8 when the bytes are
/// valid UTF-8, else ISO-8859-1 (every byte one character, so nothing is
/// refused).
///
/// MM2 itself reads its file with `Properties.load(InputStream)`
/// (`MirrorMaker.main` through `Utils.loadProps`), which always decodes
/// ISO-8859-1: a UTF-8 `é` reaches MM2 as `Ã©`. kmirror reads such a file as
/// the operator wrote it, as Java 9+ does for resource bundles
/// (`PropertyResourceBundle`: UTF-8, falling back to ISO-8859-1 on malformed
/// input). Files in ASCII, with non-ASCII text written as `\uXXXX` escapes
/// (the portable way, and what MM2 reads the same), read identically in all
/// three.
pub fn decode_file_bytes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        // ISO-8859-1 maps byte n to U+00n.
        Err(_) => Cow::Owned(bytes.iter().map(|&byte| char::from(byte)).collect()),
    }
}

/// A `.properties` file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertiesError {
    /// A `\u` escape not followed by four hex digits (Java throws here too).
    #[error("line {line}: malformed \\uxxxx escape")]
    MalformedUnicodeEscape {
        /// 1-based line where the logical line holding the escape starts.
        line: u32,
    },
}

impl PropertiesError {
    /// The 1-based line of the problem.
    pub fn line(&self) -> u32 {
        match self {
            PropertiesError::MalformedUnicodeEscape { line } => *line,
        }
    }

    /// What is wrong, without the line: for errors that name it themselves.
    pub fn problem(&self) -> &'static str {
        match self {
            PropertiesError::MalformedUnicodeEscape { .. } => "malformed \\uxxxx escape",
        }
    }
}

/// One key's value and where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct PropertyEntry {
    /// The value as Java would return it (escapes resolved, trailing blanks kept).
    pub value: String,
    /// 1-based line of the occurrence that won (the last one); `None` when the
    /// entry did not come from a line-oriented source.
    pub line: Option<u32>,
    /// Lines of earlier occurrences of the same key, overridden by `line`.
    pub overridden_lines: Vec<u32>,
    /// The key as the user wrote it, when it differs from the key it is stored
    /// under (e.g. a Connect `source.cluster.bootstrap.servers` stored as
    /// `<alias>.bootstrap.servers`); errors name this one.
    pub original_key: Option<String>,
    /// Whether `value` took text from a config provider (`${file:...}`,
    /// `${env:...}`, ...): such a value is never shown, whatever its key.
    pub from_provider: bool,
}

impl fmt::Debug for PropertyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is not known here, so the value is never shown; `Properties`
        // shows values of non-secret keys.
        f.debug_struct("PropertyEntry")
            .field("line", &self.line)
            .field("overridden_lines", &self.overridden_lines)
            .field("original_key", &self.original_key)
            .field("from_provider", &self.from_provider)
            .finish_non_exhaustive()
    }
}

/// The key/value pairs of a `.properties` file, in order of first appearance,
/// each with its line.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: IndexMap<String, PropertyEntry>,
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, entry) in &self.entries {
            if is_secret_key(key) || entry.from_provider {
                map.entry(key, &"[redacted]");
            } else {
                map.entry(key, &entry.value);
            }
        }
        map.finish()
    }
}

impl Properties {
    /// An empty set of properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the text of a `.properties` file. Never panics; the only error is a
    /// malformed `\uXXXX` escape, which Java rejects too.
    pub fn parse(text: &str) -> Result<Self, PropertiesError> {
        let mut properties = Properties::new();
        // Editors on Windows may start the file with a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = NaturalLines::new(text);
        while let Some((line_number, line)) = lines.next() {
            let line = skip_leading_blanks(line);
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let mut logical = String::from(line);
            while ends_with_odd_backslashes(&logical) {
                logical.pop();
                match lines.next() {
                    Some((_, next)) => logical.push_str(skip_leading_blanks(next)),
                    // Java drops a backslash that ends the file.
                    None => break,
                }
            }
            let (raw_key, raw_value) = split_key_value(&logical);
            let key = unescape(raw_key, line_number)?;
            let value = unescape(raw_value, line_number)?;
            properties.insert_at(key, value, Some(line_number), None);
        }
        Ok(properties)
    }

    /// Sets `key` to `value` (last wins), remembering `line` and the lines of
    /// earlier values.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>, line: Option<u32>) {
        self.insert_at(key.into(), value.into(), line, None);
    }

    /// Like [`Properties::insert`], for a key translated from another spelling:
    /// errors about it name `original_key`.
    pub fn insert_translated(
        &mut self,
        key: impl Into<String>,
        original_key: impl Into<String>,
        value: impl Into<String>,
        line: Option<u32>,
    ) {
        self.insert_at(key.into(), value.into(), line, Some(original_key.into()));
    }

    fn insert_at(
        &mut self,
        key: String,
        value: String,
        line: Option<u32>,
        original_key: Option<String>,
    ) {
        match self.entries.get_mut(&key) {
            Some(entry) => {
                if let Some(previous) = entry.line {
                    entry.overridden_lines.push(previous);
                }
                entry.value = value;
                entry.line = line;
                entry.original_key = original_key;
                entry.from_provider = false;
            }
            None => {
                self.entries.insert(
                    key,
                    PropertyEntry {
                        value,
                        line,
                        overridden_lines: Vec::new(),
                        original_key,
                        from_provider: false,
                    },
                );
            }
        }
    }

    /// Replaces the value of `key` (keeping where it came from) with one
    /// resolved from config providers, and marks it so.
    pub(crate) fn set_resolved_value(&mut self, key: &str, value: String) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.value = value;
            entry.from_provider = true;
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|entry| entry.value.as_str())
    }

    /// The value and origin of `key`, if set.
    pub fn entry(&self, key: &str) -> Option<&PropertyEntry> {
        self.entries.get(key)
    }

    /// The line of the winning occurrence of `key`.
    pub fn line(&self, key: &str) -> Option<u32> {
        self.entries.get(key).and_then(|entry| entry.line)
    }

    /// All keys and their entries, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropertyEntry)> {
        self.entries
            .iter()
            .map(|(key, entry)| (key.as_str(), entry))
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Splits text into lines at `\n`, `\r` or `\r\n`, numbering them from 1.
struct NaturalLines<'a> {
    rest: &'a str,
    next_number: u32,
    done: bool,
}

impl<'a> NaturalLines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            rest: text,
            next_number: 1,
            done: text.is_empty(),
        }
    }
}

impl<'a> Iterator for NaturalLines<'a> {
    type Item = (u32, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let number = self.next_number;
        self.next_number = self.next_number.saturating_add(1);
        match self.rest.find(['\n', '\r']) {
            Some(end) => {
                let line = &self.rest[..end];
                let terminator_len = if self.rest[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                self.rest = &self.rest[end + terminator_len..];
                if self.rest.is_empty() {
                    self.done = true;
                }
                Some((number, line))
            }
            None => {
                self.done = true;
                Some((number, self.rest))
            }
        }
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

fn skip_leading_blanks(line: &str) -> &str {
    line.trim_start_matches(is_blank)
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Splits a logical line into its raw (still escaped) key and value, as
/// `Properties.load0` does.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut preceding_backslash = false;
    for (index, c) in line.char_indices() {
        if !preceding_backslash && (c == '=' || c == ':') {
            key_end = index;
            value_start = index + 1;
            has_separator = true;
            break;
        }
        if !preceding_backslash && is_blank(c) {
            key_end = index;
            value_start = index + c.len_utf8();
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
    }
    let mut rest = &line[value_start..];
    loop {
        match rest.chars().next() {
            Some(c) if is_blank(c) => rest = &rest[c.len_utf8()..],
            Some(c) if !has_separator && (c == '=' || c == ':') => {
                has_separator = true;
                rest = &rest[1..];
            }
            _ => break,
        }
    }
    (&line[..key_end], rest)
}

/// Resolves backslash escapes, as `Properties.loadConvert` does.
fn unescape(raw: &str, line: u32) -> Result<String, PropertiesError> {
    if !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut pending_high_surrogate: Option<u16> = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush_surrogate(&mut out, &mut pending_high_surrogate);
            out.push(c);
            continue;
        }
        let Some(escaped) = chars.next() else {
            // A lone trailing backslash: Java keeps nothing for it.
            break;
        };
        if escaped != 'u' {
            flush_surrogate(&mut out, &mut pending_high_surrogate);
            out.push(match escaped {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                'f' => '\u{c}',
                other => other,
            });
            continue;
        }
        let mut code: u16 = 0;
        for _ in 0..4 {
            let digit = chars
                .next()
                .and_then(|d| d.to_digit(16))
                .ok_or(PropertiesError::MalformedUnicodeEscape { line })?;
            // Four hex digits fit in 16 bits.
            code = (code << 4) | digit as u16;
        }
        match code {
            0xD800..=0xDBFF => {
                flush_surrogate(&mut out, &mut pending_high_surrogate);
                pending_high_surrogate = Some(code);
            }
            0xDC00..=0xDFFF => match pending_high_surrogate.take() {
                Some(high) => {
                    let combined =
                        0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(code) - 0xDC00);
                    out.push(char::from_u32(combined).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => out.push(char::REPLACEMENT_CHARACTER),
            },
            _ => {
                flush_surrogate(&mut out, &mut pending_high_surrogate);
                out.push(char::from_u32(u32::from(code)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    flush_surrogate(&mut out, &mut pending_high_surrogate);
    Ok(out)
}

fn flush_surrogate(out: &mut String, pending: &mut Option<u16>) {
    if pending.take().is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Properties {
        Properties::parse(text).unwrap()
    }

    #[test]
    fn separators_and_blanks() {
        let p = parse("a = 1\nb: 2\nc 3\nd=4\n  e\t=\t5\nf\ng =\nh:=x\n");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get("c"), Some("3"));
        assert_eq!(p.get("d"), Some("4"));
        assert_eq!(p.get("e"), Some("5"));
        assert_eq!(p.get("f"), Some(""));
        assert_eq!(p.get("g"), Some(""));
        // Only the first separator is skipped; the second is part of the value.
        assert_eq!(p.get("h"), Some("=x"));
    }

    #[test]
    fn trailing_blanks_of_values_are_kept_as_in_java() {
        let p = parse("a = 1  \n");
        assert_eq!(p.get("a"), Some("1  "));
    }

    #[test]
    fn comments() {
        let p = parse("# a = 1\n  ! b = 2\nc = 3 # not a comment\n");
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("3 # not a comment"));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn a_comment_line_ending_in_backslash_does_not_continue() {
        let p = parse("# comment \\\na = 1\n");
        assert_eq!(p.get("a"), Some("1"));
    }

    #[test]
    fn continuation_lines() {
        let p = parse("topics = a, \\\n    b, \\\n  # c\nnext = 1\n");
        assert_eq!(p.get("topics"), Some("a, b, # c"));
        assert_eq!(p.get("next"), Some("1"));
        assert_eq!(p.line("topics"), Some(1));
        assert_eq!(p.line("next"), Some(4));
    }

    #[test]
    fn an_even_number_of_backslashes_does_not_continue() {
        let p = parse("a = x\\\\\nb = y\n");
        assert_eq!(p.get("a"), Some("x\\"));
        assert_eq!(p.get("b"), Some("y"));
    }

    #[test]
    fn a_backslash_ending_the_file_is_dropped() {
        let p = parse("a = x\\");
        assert_eq!(p.get("a"), Some("x"));
    }

    #[test]
    fn escapes() {
        let p = parse(
            "k\\=ey\\:x\\ y = v\\t\\n\\u0041\\q\nregex = .*[\\\\-\\\\.]internal\nemoji = \\uD83D\\uDE00\n",
        );
        assert_eq!(p.get("k=ey:x y"), Some("v\t\nAq"));
        assert_eq!(p.get("regex"), Some(".*[\\-\\.]internal"));
        assert_eq!(p.get("emoji"), Some("\u{1F600}"));
    }

    #[test]
    fn unescaped_regex_backslashes_are_eaten_as_in_java() {
        // A classic mm2.properties pitfall: Java turns `\.` into `.`.
        let p = parse("topics.exclude = .*\\.replica\n");
        assert_eq!(p.get("topics.exclude"), Some(".*.replica"));
    }

    #[test]
    fn malformed_unicode_escape() {
        assert_eq!(
            Properties::parse("a = 1\nb = \\u12G4\n"),
            Err(PropertiesError::MalformedUnicodeEscape { line: 2 })
        );
        assert_eq!(
            Properties::parse("b = \\u12"),
            Err(PropertiesError::MalformedUnicodeEscape { line: 1 })
        );
    }

    #[test]
    fn file_bytes_are_utf8_else_latin1() {
        assert_eq!(
            decode_file_bytes("k = caf\u{e9}".as_bytes()),
            "k = caf\u{e9}"
        );
        // A Latin-1 `é` (0xE9) alone is not UTF-8.
        assert_eq!(
            decode_file_bytes(b"# caf\xe9\nk = \xe9t\xe9"),
            "# caf\u{e9}\nk = \u{e9}t\u{e9}"
        );
        assert_eq!(decode_file_bytes(b"\xff\x80"), "\u{ff}\u{80}");
    }

    #[test]
    fn surrogate_pairs_and_lone_surrogates() {
        let properties = parse("pair = \\uD83D\\uDE00\nlone = a\\uD83Db\nlow = \\uDE00\n");
        assert_eq!(properties.get("pair"), Some("\u{1F600}"));
        assert_eq!(properties.get("lone"), Some("a\u{FFFD}b"));
        assert_eq!(properties.get("low"), Some("\u{FFFD}"));
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let p = parse("\u{feff}clusters = a\n");
        assert_eq!(p.get("clusters"), Some("a"));
    }

    #[test]
    fn line_terminators() {
        let p = parse("a = 1\r\nb = 2\rc = 3\n\nd = 4");
        assert_eq!(p.line("a"), Some(1));
        assert_eq!(p.line("b"), Some(2));
        assert_eq!(p.line("c"), Some(3));
        assert_eq!(p.line("d"), Some(5));
        assert_eq!(p.get("d"), Some("4"));
    }

    #[test]
    fn duplicate_key_last_wins_and_lines_are_remembered() {
        let p = parse("a = 1\nb = 2\na = 3\n");
        let entry = p.entry("a").unwrap();
        assert_eq!(entry.value, "3");
        assert_eq!(entry.line, Some(3));
        assert_eq!(entry.overridden_lines, vec![1]);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn debug_redacts_secrets() {
        let p =
            parse("ssl.keystore.password = hunter2\nsasl.jaas.config = secret-jaas\nx = shown\n");
        let debug = format!("{p:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("secret-jaas"), "{debug}");
        assert!(debug.contains("shown"), "{debug}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(text in "\\PC*") {
                let _ = Properties::parse(&text);
            }

            #[test]
            fn never_panics_on_property_like_text(
                text in proptest::collection::vec(
                    prop_oneof![
                        Just("\\".to_owned()), Just("\\u".to_owned()), Just("\n".to_owned()),
                        Just("\r".to_owned()), Just("=".to_owned()), Just(":".to_owned()),
                        Just(" ".to_owned()), Just("#".to_owned()), Just("\\uD83D".to_owned()),
                        Just("\\uDE00".to_owned()), "[a-z0-9.]{0,4}", "\\PC{0,3}",
                    ],
                    0..40,
                ).prop_map(|parts| parts.concat())
            ) {
                let _ = Properties::parse(&text);
            }

            #[test]
            fn simple_pairs_round_trip(
                pairs in proptest::collection::vec(("[a-z][a-z0-9.\\-]{0,12}", "[a-zA-Z0-9.,*\\- ]{0,20}"), 0..10)
            ) {
                let text: String = pairs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
                let p = Properties::parse(&text).unwrap();
                for (index, (key, _)) in pairs.iter().enumerate() {
                    let last = pairs.iter().rposition(|(k, _)| k == key).unwrap();
                    if last == index {
                        let expected = pairs[last].1.trim_start_matches(' ');
                        prop_assert_eq!(p.get(key), Some(expected));
                        prop_assert_eq!(p.line(key), Some(last as u32 + 1));
                    }
                }
            }
        }
    }
}
