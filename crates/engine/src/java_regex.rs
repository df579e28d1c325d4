//! Java regexes (`java.util.regex.Pattern`) matched against whole names, as
//! MM2 matches its `topics`, `groups` and exclusion lists
//! (`Matcher.matches`). Pure; no I/O.
//!
//! Compiled with `fancy-regex`, which has the Java features the `regex` crate
//! lacks (lookahead, lookbehind, backreferences, possessive quantifiers,
//! atomic groups) and hands every part without them to `regex`'s automata, so
//! a plain list such as `orders, payment-.*` costs what it did with `regex`
//! alone. The few Java escapes it reads otherwise are translated first
//! ([`translate`]). Backtracking is bounded ([`BACKTRACK_LIMIT`]): a
//! pathological pattern gives up on a name instead of hanging the flow.
//!
//! ```
//! use kmirror_engine::java_regex::WholeNameRegex;
//!
//! let regex = WholeNameRegex::new(r"(?!secret\.).*").unwrap();
//! assert_eq!(regex.matches("orders"), Ok(true));
//! assert_eq!(regex.matches("secret.keys"), Ok(false));
//! ```

use std::fmt::Write as _;

/// A regex in a filter list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex \"{regex}\": {reason}")]
pub struct InvalidRegex {
    /// The regex as written in the list (trimmed).
    pub regex: String,
    /// Why it was rejected, one line.
    pub reason: String,
}

/// Backtracking steps one match may take before it gives up (fancy-regex's
/// own default). Names are short (a topic name has at most 249 characters),
/// so a sensible pattern stays far below it; a pattern such as `(a*)*\1b`
/// reaches it in milliseconds instead of running for ages.
pub const BACKTRACK_LIMIT: usize = 1_000_000;

/// A match gave up after [`BACKTRACK_LIMIT`] backtracking steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the regex gave up after {BACKTRACK_LIMIT} backtracking steps; simplify it (nested repetition with a backreference or lookaround)")]
pub struct GaveUp;

/// One Java regex, anchored at both ends of the name.
#[derive(Debug, Clone)]
pub struct WholeNameRegex {
    regex: fancy_regex::Regex,
}

impl WholeNameRegex {
    /// Compiles `pattern` (Java syntax) to match whole names only.
    pub fn new(pattern: &str) -> Result<Self, InvalidRegex> {
        let invalid = |reason: String| InvalidRegex {
            regex: pattern.to_owned(),
            reason,
        };
        let translated = translate(pattern).map_err(|feature| {
            invalid(format!(
                "uses Java-only regex syntax ({feature}) that kmirror does not support"
            ))
        })?;
        // `\z`, not `$`: Java's `matches` wants the whole input, and `$`
        // would also match before a final line break.
        let regex = fancy_regex::RegexBuilder::new(&format!(r"\A(?:{translated})\z"))
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|error| invalid(one_line_reason(&error)))?;
        Ok(Self { regex })
    }

    /// Whether the whole of `name` matches; [`GaveUp`] when the backtrack
    /// limit was reached first.
    pub fn matches(&self, name: &str) -> Result<bool, GaveUp> {
        self.regex.is_match(name).map_err(|_| GaveUp)
    }
}

/// Java's `\h`: horizontal whitespace.
const JAVA_HORIZONTAL_SPACE: &str =
    r"[\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]";
const JAVA_NOT_HORIZONTAL_SPACE: &str =
    r"[^\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]";
/// Java's `\v` (since Java 8): vertical whitespace, not only the vertical tab.
const JAVA_VERTICAL_SPACE: &str = r"[\n\x0B\f\r\x{85}\x{2028}\x{2029}]";
const JAVA_NOT_VERTICAL_SPACE: &str = r"[^\n\x0B\f\r\x{85}\x{2028}\x{2029}]";

/// Rewrites the Java syntax that fancy-regex lacks or reads otherwise into
/// its equivalent: `\Q...\E` quoting, `\h`/`\H`, `\v`/`\V` and octal
/// `\0nnn`. The replacements are classes (nested when inside a class, which
/// both engines accept) or `\x{...}` escapes, valid in and out of classes.
/// Returns the name of a Java feature with no equivalent.
fn translate(pattern: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let mut chars = rest[at + 1..].chars();
        let Some(escaped) = chars.next() else {
            // A trailing backslash: left for the compiler to report.
            out.push('\\');
            return Ok(out);
        };
        rest = chars.as_str();
        match escaped {
            'Q' => {
                // Quoted to the next `\E`, or to the end as in Java.
                let (quoted, after) = match rest.find(r"\E") {
                    Some(end) => (&rest[..end], &rest[end + 2..]),
                    None => (rest, ""),
                };
                for c in quoted.chars() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        out.push(c);
                    } else {
                        write!(out, r"\x{{{:X}}}", u32::from(c)).expect("writing to a String");
                    }
                }
                rest = after;
            }
            'h' => out.push_str(JAVA_HORIZONTAL_SPACE),
            'H' => out.push_str(JAVA_NOT_HORIZONTAL_SPACE),
            'v' => out.push_str(JAVA_VERTICAL_SPACE),
            'V' => out.push_str(JAVA_NOT_VERTICAL_SPACE),
            '0' => {
                // Java: `\0n`, `\0nn`, `\0mnn` (m at most 3); fancy-regex
                // would read a backreference.
                let digits: usize = rest
                    .bytes()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .count();
                let digits = if digits == 3 && rest.as_bytes()[0] > b'3' {
                    2
                } else {
                    digits
                };
                if digits == 0 {
                    return Err(r"\0 without octal digits");
                }
                let value =
                    u32::from_str_radix(&rest[..digits], 8).expect("checked to be octal digits");
                write!(out, r"\x{{{value:X}}}").expect("writing to a String");
                rest = &rest[digits..];
            }
            'p' | 'P' if rest.starts_with("{java") => {
                return Err(r"java.lang.Character classes \p{javaXxx}");
            }
            'X' => return Err(r"grapheme clusters \X"),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The cause in one line, lowercase, without a position: positions would
/// count in the anchored and translated pattern, not in what was written.
fn one_line_reason(error: &fancy_regex::Error) -> String {
    let text = match error {
        fancy_regex::Error::ParseError(_, kind) => kind.to_string(),
        fancy_regex::Error::CompileError(inner) => match inner.as_ref() {
            fancy_regex::CompileError::InnerError(build) => innermost_line(build),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "not a regex".to_owned(),
    }
}

/// The `regex` crate's own error, at the end of the chain, says most; its
/// text spans lines (pattern, caret, `error: message`).
fn innermost_line(error: &dyn std::error::Error) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let text = innermost.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        WholeNameRegex::new(pattern).unwrap().matches(name).unwrap()
    }

    #[test]
    fn negative_lookahead_excludes_a_prefix() {
        let pattern = r"(?!internal\.).*";
        assert!(matches(pattern, "orders"));
        assert!(matches(pattern, "internalx"));
        assert!(!matches(pattern, "internal.audit"));
        assert!(matches(r"orders(?=-eu).*", "orders-eu-1"));
        assert!(!matches(r"orders(?=-eu).*", "orders-us-1"));
    }

    #[test]
    fn lookbehind() {
        assert!(matches(r".*(?<!\.tmp)", "orders"));
        assert!(!matches(r".*(?<!\.tmp)", "orders.tmp"));
        assert!(matches(r".*(?<=-v2)", "orders-v2"));
        assert!(!matches(r".*(?<=-v2)", "orders-v3"));
    }

    #[test]
    fn backreferences() {
        assert!(matches(r"(\w+)-\1", "eu-eu"));
        assert!(!matches(r"(\w+)-\1", "eu-us"));
        assert!(matches(
            r"(?<region>\w+)\.\k<region>-mirror",
            "eu.eu-mirror"
        ));
        assert!(!matches(
            r"(?<region>\w+)\.\k<region>-mirror",
            "eu.us-mirror"
        ));
    }

    #[test]
    fn possessive_and_atomic() {
        assert!(matches(r"a*+", "aaa"));
        // Possessive: `a++` keeps every `a`, so the final `a` cannot match.
        assert!(!matches(r"a++a", "aaa"));
        assert!(!matches(r"(?>a+)a", "aaa"));
        assert!(matches(r"(?>ab)c", "abc"));
    }

    #[test]
    fn whole_name_only() {
        assert!(matches("orders", "orders"));
        assert!(!matches("orders", "orders2"));
        assert!(!matches("orders", "my-orders"));
        assert!(!matches("orders$", "orders\n"));
        assert!(!matches("a|b", "ab"));
    }

    #[test]
    fn java_quoting_and_escapes_keep_their_java_meaning() {
        assert!(matches(r"\Qa.b\E", "a.b"));
        assert!(!matches(r"\Qa.b\E", "a-b"));
        assert!(matches(r"\Qa.b\E.*", "a.b-c"));
        // Unterminated: quoted to the end.
        assert!(matches(r"x\Q.*", "x.*"));
        assert!(!matches(r"x\Q.*", "xyz"));
        // Inside a class: literal characters, not a range.
        assert!(matches(r"[\Qa-c\E]", "-"));
        assert!(!matches(r"[\Qa-c\E]", "b"));
        // `\h` is horizontal whitespace in Java, not a hex digit.
        assert!(matches(r"a\hb", "a b"));
        assert!(!matches(r"a\hb", "a1b"));
        assert!(matches(r"a\Hb", "a1b"));
        assert!(matches(r"[\h]", "\t"));
        assert!(matches(r"\v", "\n"));
        assert!(!matches(r"\V", "\r"));
        assert!(matches(r"\0101", "A"));
        assert!(matches(r"\0477", "'7"));
        assert!(matches(r"\u0041", "A"));
        assert!(matches(r"[a-z&&[^b]]+", "ac"));
        assert!(!matches(r"[a-z&&[^b]]+", "ab"));
    }

    #[test]
    fn unsupported_java_syntax_is_named() {
        for (pattern, feature) in [
            (r"\p{javaLowerCase}+", "javaXxx"),
            (r"\X", "grapheme"),
            (r"a\0", "octal"),
        ] {
            let error = WholeNameRegex::new(pattern).unwrap_err();
            assert_eq!(error.regex, pattern);
            assert!(
                error.reason.starts_with("uses Java-only regex syntax")
                    && error.reason.contains(feature),
                "{pattern}: {}",
                error.reason
            );
        }
    }

    #[test]
    fn invalid_regex_reason_is_one_line_without_positions() {
        for pattern in ["bad(", r"\p{NoSuchClass}", "[z-a]", "(?<=a+)b*+(", "\\"] {
            let error = WholeNameRegex::new(pattern).unwrap_err();
            assert!(!error.reason.contains('\n'), "{pattern}: {}", error.reason);
            assert!(!error.reason.contains("position"), "{}", error.reason);
            assert!(!error.reason.is_empty());
        }
        let error = WholeNameRegex::new("bad(").unwrap_err();
        assert_eq!(
            error.reason,
            "opening parenthesis without closing parenthesis"
        );
    }

    #[test]
    fn a_pathological_pattern_gives_up_quickly() {
        let regex = WholeNameRegex::new(r"(a*)*\1b").unwrap();
        let started = std::time::Instant::now();
        assert_eq!(regex.matches(&"a".repeat(60)), Err(GaveUp));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // The same regex still answers names it needs no backtracking for.
        assert_eq!(regex.matches("aab"), Ok(true));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever is written in a config file, compiling and matching
        /// returns; it never panics.
        #[test]
        fn arbitrary_patterns_never_panic(
            pattern in r"([a-c().*+?|\[\]{}^$\\0-9,<>=!:&hHvVQEpPkx-]|\PC){0,24}",
            name in r"[a-c.\-]{0,12}",
        ) {
            if let Ok(regex) = WholeNameRegex::new(&pattern) {
                let _ = regex.matches(&name);
            }
        }

        #[test]
        fn quoted_text_matches_only_itself(text in r"\PC{0,16}") {
            let quoted = format!(r"\Q{}\E", text.replace(r"\E", ""));
            let literal = text.replace(r"\E", "");
            let regex = WholeNameRegex::new(&quoted).unwrap();
            proptest::prop_assert_eq!(regex.matches(&literal), Ok(true));
            let longer = format!("{literal}x");
            proptest::prop_assert_eq!(regex.matches(&longer), Ok(false));
        }
    }
}
