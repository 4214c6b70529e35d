//! The Slack text grammar described in the documentation of the parent module:
//! [`split_command_text`] cuts text into tokens and [`parse_raw`] sorts them into [`RawArgs`].

use super::error::shown;
use super::RawArgs;

/// A mistake in the typed text itself, before any command is consulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    /// A quote that is never closed.
    #[error(
        "the {quote} quote is never closed; close it, or put the text in the other kind of quotes"
    )]
    UnterminatedQuote {
        /// The opening quote character.
        quote: char,
    },
    /// A `--flag` other than `--dry-run` and `--reason`.
    #[error(
        "unknown option `{flag}`: only --dry-run, --reason and (for `access`) --for are understood"
    )]
    UnknownFlag {
        /// The flag as typed.
        flag: String,
    },
    /// `--reason` with nothing after it.
    #[error("--reason needs text, e.g. --reason \"rollout stuck\"")]
    MissingReason,
    /// `--reason` given twice.
    #[error("--reason is given more than once")]
    RepeatedReason,
}

/// Maps Slack's smart quotes to the plain quote they stand for.
fn plain_quote(c: char) -> char {
    match c {
        '\u{201C}' | '\u{201D}' => '"',
        '\u{2018}' | '\u{2019}' => '\'',
        other => other,
    }
}

/// Splits command text into shell-like tokens (see the module documentation for the rules).
pub fn split_command_text(text: &str) -> Result<Vec<String>, GrammarError> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    // A token exists once anything, even an empty pair of quotes, has been seen, so that
    // `key=""` and `""` yield an empty value instead of disappearing.
    let mut in_token = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match plain_quote(c) {
            '"' => {
                in_token = true;
                loop {
                    match chars.next().map(plain_quote) {
                        None => return Err(GrammarError::UnterminatedQuote { quote: '"' }),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err(GrammarError::UnterminatedQuote { quote: '"' }),
                            Some(next) if plain_quote(next) == '"' || next == '\\' => {
                                current.push(plain_quote(next))
                            }
                            Some(next) => {
                                current.push('\\');
                                current.push(next);
                            }
                        },
                        Some(other) => current.push(other),
                    }
                }
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        None => return Err(GrammarError::UnterminatedQuote { quote: '\'' }),
                        Some(q) if plain_quote(q) == '\'' => break,
                        Some(other) => current.push(other),
                    }
                }
            }
            w if w.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut current));
                    in_token = false;
                }
            }
            other => {
                in_token = true;
                current.push(other);
            }
        }
    }
    if in_token {
        tokens.push(current);
    }
    Ok(tokens)
}

/// Quotes one token so that [`split_command_text`] reads it back exactly: the inverse of the
/// splitter, for text that warden itself builds from tokens (the `policy explain` command line,
/// the fuzz targets). A token without whitespace or quote characters is left bare; anything
/// else is put in double quotes with `"` and `\` escaped. Smart double quotes would close a
/// double-quoted run, so they are written inside single quotes, where they are literal. A smart
/// single quote is only ever part of a token after a backslash (the splitter keeps `\‘` inside
/// double quotes as it is), so that pair is written as it is; a lone one cannot be typed at all
/// (Slack's apostrophes count as quotes) and comes back as a plain `'`.
pub fn quote_token(token: &str) -> String {
    let special = |c: char| c.is_whitespace() || plain_quote(c) == '"' || plain_quote(c) == '\'';
    if !token.is_empty() && !token.contains(special) {
        return token.to_string();
    }
    let mut out = String::from('"');
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{201C}' | '\u{201D}' => {
                out.push('"');
                out.push('\'');
                out.push(c);
                out.push('\'');
                out.push('"');
            }
            '\\' if chars
                .peek()
                .is_some_and(|n| matches!(n, '\u{2018}' | '\u{2019}')) =>
            {
                out.push('\\');
                out.extend(chars.next());
            }
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// True for names that may be arguments: `[a-z][a-z0-9_]*`.
pub(crate) fn is_arg_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Sorts tokens into flags, named and positional values (see the module documentation).
pub fn parse_raw(tokens: &[String]) -> Result<RawArgs, GrammarError> {
    let mut raw = RawArgs::default();
    let mut iter = tokens.iter();
    while let Some(token) = iter.next() {
        if let Some(flag) = token.strip_prefix("--") {
            let (flag_name, inline) = match flag.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (flag, None),
            };
            match (flag_name, inline) {
                ("dry-run", None) => raw.dry_run = true,
                ("reason", _) => {
                    if raw.reason.is_some() {
                        return Err(GrammarError::RepeatedReason);
                    }
                    let text = match inline {
                        Some(text) => text.to_string(),
                        // A following flag is not reason text: `--reason --dry-run` most
                        // likely forgot the text.
                        None => match iter.next() {
                            Some(next) if !next.starts_with("--") => next.clone(),
                            _ => return Err(GrammarError::MissingReason),
                        },
                    };
                    if text.trim().is_empty() {
                        return Err(GrammarError::MissingReason);
                    }
                    raw.reason = Some(text);
                }
                // `--for 2h` (the `access` built-in's duration) is a named value `for`, which
                // no command argument can be called since `for` is reserved.
                ("for", _) => {
                    let value = match inline {
                        Some(value) => value.to_string(),
                        None => match iter.next() {
                            Some(next) if !next.starts_with("--") => next.clone(),
                            _ => return Err(GrammarError::UnknownFlag { flag: shown(token) }),
                        },
                    };
                    raw.named.push(("for".to_string(), value));
                }
                _ => return Err(GrammarError::UnknownFlag { flag: shown(token) }),
            }
            continue;
        }
        match token.split_once('=') {
            Some((key, value)) if is_arg_name(key) => {
                raw.named.push((key.to_string(), value.to_string()))
            }
            _ => raw.positional.push(token.clone()),
        }
    }
    Ok(raw)
}

/// Property tests: any list of values, quoted as the usage line tells people to quote, comes
/// back from the splitter exactly (Slack's smart quotes aside: they stand for plain quotes).
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn quote(token: &str) -> String {
        let mut out = String::from('"');
        for c in token.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    fn token() -> impl Strategy<Value = String> {
        "[^\u{201C}\u{201D}\u{2018}\u{2019}]{0,16}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn quoted_tokens_round_trip(tokens in prop::collection::vec(token(), 0..8)) {
            let text = tokens.iter().map(|t| quote(t)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(split_command_text(&text).unwrap(), tokens);
        }

        #[test]
        fn named_and_positional_values_round_trip(
            positional in prop::collection::vec("[a-z0-9][a-z0-9 .=\"'-]{0,10}", 0..4),
            named in prop::collection::vec(("[a-z][a-z0-9_]{0,6}", "[ -~]{0,12}"), 0..4),
        ) {
            let mut text = Vec::new();
            for p in &positional {
                text.push(quote(p));
            }
            for (k, v) in &named {
                text.push(format!("{k}={}", quote(v)));
            }
            let tokens = split_command_text(&text.join(" ")).unwrap();
            let raw = parse_raw(&tokens).unwrap();
            // A positional value that looks like `name=value` is read as named, as people
            // would expect when typing it; the generator keeps those apart.
            let expected_positional: Vec<String> = positional
                .iter()
                .filter(|p| !p.split_once('=').is_some_and(|(k, _)| is_arg_name(k)))
                .cloned()
                .collect();
            prop_assert_eq!(&raw.positional, &expected_positional);
            for (k, v) in &named {
                prop_assert!(raw.named.iter().any(|(n, x)| n == k && x == v), "{k}={v} lost: {raw:?}");
            }
        }
    }
}
