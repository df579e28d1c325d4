//! `sasl.jaas.config`: the one-line JAAS text Kafka clients take, parsed the
//! way Kafka's `JaasConfig` reads it with Java's `StreamTokenizer`:
//! `LoginModuleClass flag key="value" key2=word ... ;`, `//` and `/* */`
//! comments, `"` or `'` quoted values with backslash escapes.
//!
//! No crate parses JAAS text; it is small enough to hand-write.

use std::fmt;

/// The control flag of a login module (`required` and its siblings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JaasFlag {
    Required,
    Requisite,
    Sufficient,
    Optional,
}

/// One parsed login module. `Debug` shows option names, never values: they
/// hold passwords and client secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasModule {
    pub class: String,
    pub flag: JaasFlag,
    options: Vec<(String, String)>,
}

impl fmt::Debug for JaasModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JaasModule")
            .field("class", &self.class)
            .field("flag", &self.flag)
            .field(
                "options",
                &self.options.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl JaasModule {
    /// The value of option `key` (case-sensitive, as in Java).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The simple class name (`ScramLoginModule`), for messages.
    pub fn simple_class_name(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }
}

/// Why the text is not valid JAAS. Never carries option values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    #[error("is empty: it needs one login module, e.g. `org.apache.kafka.common.security.scram.ScramLoginModule required username=\"...\" password=\"...\";`")]
    Empty,
    #[error("holds {0} login modules; Kafka clients take exactly one")]
    SeveralModules(usize),
    #[error("login module {class}: control flag `{flag}` is not one of required, requisite, sufficient, optional")]
    BadFlag { class: String, flag: String },
    #[error("login module {class}: option `{key}` has no value (write {key}=\"...\")")]
    MissingValue { class: String, key: String },
    #[error("login module {class}: expected an option name or `;` at character {position}")]
    Unexpected { class: String, position: usize },
    #[error("unterminated quoted value or comment")]
    Unterminated,
    #[error("login module {0} is not ended by `;`")]
    MissingSemicolon(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Char(char),
}

struct Tokenizer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
}

/// Characters `StreamTokenizer` continues a word with (letters, digits and
/// its numeric characters, plus the word characters Kafka adds).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '$') || (c as u32) >= 160
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str) -> Self {
        Tokenizer {
            chars: text.char_indices().peekable(),
        }
    }

    fn position(&mut self) -> usize {
        self.chars.peek().map_or(usize::MAX, |(i, _)| *i)
    }

    /// The next token, or `None` at the end.
    fn next_token(&mut self) -> Result<Option<Token>, JaasError> {
        loop {
            let Some(&(_, c)) = self.chars.peek() else {
                return Ok(None);
            };
            if c.is_whitespace() || c <= ' ' {
                self.chars.next();
                continue;
            }
            if c == '/' {
                self.chars.next();
                match self.chars.peek().map(|(_, c)| *c) {
                    Some('/') => {
                        for (_, c) in self.chars.by_ref() {
                            if c == '\n' || c == '\r' {
                                break;
                            }
                        }
                        continue;
                    }
                    Some('*') => {
                        self.chars.next();
                        let mut previous = ' ';
                        let mut closed = false;
                        for (_, c) in self.chars.by_ref() {
                            if previous == '*' && c == '/' {
                                closed = true;
                                break;
                            }
                            previous = c;
                        }
                        if !closed {
                            return Err(JaasError::Unterminated);
                        }
                        continue;
                    }
                    _ => return Ok(Some(Token::Char('/'))),
                }
            }
            if c == '"' || c == '\'' {
                self.chars.next();
                return self.quoted(c).map(|s| Some(Token::Quoted(s)));
            }
            if is_word_char(c) {
                let mut word = String::new();
                while let Some(&(_, c)) = self.chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    word.push(c);
                    self.chars.next();
                }
                return Ok(Some(Token::Word(word)));
            }
            self.chars.next();
            return Ok(Some(Token::Char(c)));
        }
    }

    /// A quoted string after its opening quote, with Java's escapes.
    fn quoted(&mut self, quote: char) -> Result<String, JaasError> {
        let mut value = String::new();
        loop {
            let Some((_, c)) = self.chars.next() else {
                return Err(JaasError::Unterminated);
            };
            match c {
                c if c == quote => return Ok(value),
                // StreamTokenizer ends a quoted string at a line end.
                '\n' | '\r' => return Err(JaasError::Unterminated),
                '\\' => {
                    let Some((_, escaped)) = self.chars.next() else {
                        return Err(JaasError::Unterminated);
                    };
                    match escaped {
                        'a' => value.push('\u{7}'),
                        'b' => value.push('\u{8}'),
                        'f' => value.push('\u{c}'),
                        'n' => value.push('\n'),
                        'r' => value.push('\r'),
                        't' => value.push('\t'),
                        'v' => value.push('\u{b}'),
                        '0'..='7' => {
                            // Up to three octal digits, at most \377.
                            let mut code = escaped.to_digit(8).unwrap_or(0);
                            let max_digits = if escaped <= '3' { 3 } else { 2 };
                            for _ in 1..max_digits {
                                match self.chars.peek().and_then(|(_, c)| c.to_digit(8)) {
                                    Some(d) => {
                                        code = code * 8 + d;
                                        self.chars.next();
                                    }
                                    None => break,
                                }
                            }
                            value.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        other => value.push(other),
                    }
                }
                other => value.push(other),
            }
        }
    }
}

/// Parses `sasl.jaas.config` text into its single login module.
pub fn parse_jaas_config(text: &str) -> Result<JaasModule, JaasError> {
    let modules = parse_modules(text)?;
    match modules.len() {
        0 => Err(JaasError::Empty),
        1 => Ok(modules.into_iter().next().expect("one module")),
        n => Err(JaasError::SeveralModules(n)),
    }
}

fn parse_modules(text: &str) -> Result<Vec<JaasModule>, JaasError> {
    let mut tokens = Tokenizer::new(text);
    let mut modules = Vec::new();
    while let Some(token) = tokens.next_token()? {
        let class = match token {
            Token::Word(class) => class,
            _ => {
                return Err(JaasError::Unexpected {
                    class: String::new(),
                    position: tokens.position(),
                })
            }
        };
        let flag = match tokens.next_token()? {
            Some(Token::Word(flag)) => match flag.to_ascii_lowercase().as_str() {
                "required" => JaasFlag::Required,
                "requisite" => JaasFlag::Requisite,
                "sufficient" => JaasFlag::Sufficient,
                "optional" => JaasFlag::Optional,
                _ => return Err(JaasError::BadFlag { class, flag }),
            },
            _ => {
                return Err(JaasError::BadFlag {
                    class,
                    flag: String::new(),
                })
            }
        };
        let mut options = Vec::new();
        loop {
            match tokens.next_token()? {
                Some(Token::Char(';')) => break,
                Some(Token::Word(key)) => {
                    if tokens.next_token()? != Some(Token::Char('=')) {
                        return Err(JaasError::MissingValue { class, key });
                    }
                    let value = match tokens.next_token()? {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => v,
                        _ => return Err(JaasError::MissingValue { class, key }),
                    };
                    options.push((key, value));
                }
                None => return Err(JaasError::MissingSemicolon(class)),
                Some(_) => {
                    return Err(JaasError::Unexpected {
                        class,
                        position: tokens.position(),
                    })
                }
            }
        }
        modules.push(JaasModule {
            class,
            flag,
            options,
        });
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_scram_module_with_quoted_values() {
        let module = parse_jaas_config(
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p@ss \"w\" \\ ;=";"#,
        )
        .unwrap();
        assert_eq!(
            module.class,
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        );
        assert_eq!(module.simple_class_name(), "ScramLoginModule");
        assert_eq!(module.flag, JaasFlag::Required);
        assert_eq!(module.option("username"), Some("alice"));
        assert_eq!(module.option("password"), Some(r#"p@ss "w" \ ;="#));
    }

    #[test]
    fn reads_comments_single_quotes_bare_words_and_flags_in_any_case() {
        let module = parse_jaas_config(
            "/* made by ops */ org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule REQUIRED // the flag\n clientId=kmirror-1 clientSecret='s3cr\\tet' scope=\"a b\" ;",
        )
        .unwrap();
        assert_eq!(module.flag, JaasFlag::Required);
        assert_eq!(module.option("clientId"), Some("kmirror-1"));
        assert_eq!(module.option("clientSecret"), Some("s3cr\tet"));
        assert_eq!(module.option("scope"), Some("a b"));
        assert_eq!(module.option("missing"), None);
    }

    #[test]
    fn octal_escapes_as_in_java() {
        let module = parse_jaas_config(r#"M required a="\101\0612\7" ;"#).unwrap();
        assert_eq!(module.option("a"), Some("A12\u{7}"));
    }

    #[test]
    fn refuses_what_kafka_refuses() {
        assert_eq!(parse_jaas_config("  "), Err(JaasError::Empty));
        assert_eq!(
            parse_jaas_config("A required; B required;"),
            Err(JaasError::SeveralModules(2))
        );
        assert!(matches!(
            parse_jaas_config("A mandatory;"),
            Err(JaasError::BadFlag { .. })
        ));
        assert!(matches!(
            parse_jaas_config("A required username=;"),
            Err(JaasError::MissingValue { .. })
        ));
        assert!(matches!(
            parse_jaas_config("A required username"),
            Err(JaasError::MissingValue { .. })
        ));
        assert_eq!(
            parse_jaas_config("A required username=\"x\""),
            Err(JaasError::MissingSemicolon("A".into()))
        );
        assert_eq!(
            parse_jaas_config("A required password=\"unterminated;"),
            Err(JaasError::Unterminated)
        );
    }

    #[test]
    fn debug_and_errors_never_show_values() {
        let module = parse_jaas_config(r#"A required username="u" password="hunter2";"#).unwrap();
        assert!(!format!("{module:?}").contains("hunter2"));
        let error = parse_jaas_config(r#"A required password="hunter2" x"#).unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse_jaas_config(&text);
        }

        #[test]
        fn quoted_values_round_trip(value in "[^\"\\\\\r\n]{0,40}") {
            let module = parse_jaas_config(&format!("M required k=\"{value}\";")).unwrap();
            prop_assert_eq!(module.option("k"), Some(value.as_str()));
        }
    }
}
