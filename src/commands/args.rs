//! What people type: the platform-neutral [`RawArgs`], the Slack text grammar that produces
//! them, and [`parse_args`], which checks them against a [`CommandSpec`].
//!
//! The Slack grammar, after the command name:
//!
//! * tokens are separated by whitespace; `"…"` and `'…'` quote, also in the middle of a token
//!   (`reason="two words"`); inside double quotes `\"` and `\\` are escapes and any other
//!   backslash is literal; single quotes keep everything literal; the smart quotes Slack may
//!   send (`“ ” ‘ ’`) count as `"` and `'`;
//! * `--dry-run` asks for a dry run; `--reason TEXT` or `--reason=TEXT` gives the reason (one
//!   token, so quote it when it has spaces); any other `--flag` is an error;
//! * `key=value`, where `key` looks like an argument name (`[a-z][a-z0-9_]*`), names an
//!   argument; the value is everything after the first `=`, so a value containing `=` is
//!   passed as `key=a=b`. Any other token is positional, including `-5` and `=x`.
//!
//! Values are never interpreted beyond their type: `api; touch /tmp/x` stays one literal
//! string, which then fails a choice or a pattern. Error messages echo what was typed (secret
//! values excepted); the chat adapter must escape them for its platform's markup.

use std::fmt;
use std::time::Duration;

use crate::commands::spec::{ArgSpec, ArgType, CommandSpec, EnvScope};
use crate::model::{format_duration, parse_duration};

/// Arguments as typed, before they are checked against a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawArgs {
    /// Values without a name, in the order given.
    pub positional: Vec<String>,
    /// `name=value` pairs, in the order given.
    pub named: Vec<(String, String)>,
    /// Whether `--dry-run` was given.
    pub dry_run: bool,
    /// The `--reason` text.
    pub reason: Option<String>,
}

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
    #[error("unknown option `{flag}`: only --dry-run and --reason are understood")]
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

/// A checked argument value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    /// A `string` or `choice` value.
    Str(String),
    /// An `int` value.
    Int(i64),
    /// A `bool` value.
    Bool(bool),
    /// A `duration` value.
    Duration(Duration),
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Str(s) => f.write_str(s),
            ArgValue::Int(n) => write!(f, "{n}"),
            ArgValue::Bool(b) => write!(f, "{b}"),
            ArgValue::Duration(d) => f.write_str(&format_duration(*d)),
        }
    }
}

/// Arguments checked against a command: every value has the argument's type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedArgs {
    /// The values in the command's declaration order, with defaults filled in. Optional
    /// arguments without a default that were not given are absent.
    pub values: Vec<(String, ArgValue)>,
    /// Whether this is a dry run.
    pub dry_run: bool,
    /// Why the person runs the command, if they said.
    pub reason: Option<String>,
}

impl ParsedArgs {
    /// The value of the argument called `name`.
    pub fn get(&self, name: &str) -> Option<&ArgValue> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Every value as text, unredacted, e.g. for rendering templates.
    pub fn as_strings(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(n, v)| (n.clone(), v.to_string()))
            .collect()
    }

    /// The values as a JSON object for audit records and messages, with secret arguments (and
    /// arguments the spec does not know, which should not happen) shown as `"[redacted]"`.
    pub fn redacted(&self, spec: &CommandSpec) -> serde_json::Value {
        let map = self
            .values
            .iter()
            .map(|(name, value)| {
                let json = match (spec.arg(name), value) {
                    (Some(arg), _) if arg.secret => serde_json::Value::from(REDACTED),
                    (None, _) => serde_json::Value::from(REDACTED),
                    (Some(_), ArgValue::Int(n)) => serde_json::Value::from(*n),
                    (Some(_), ArgValue::Bool(b)) => serde_json::Value::from(*b),
                    (Some(_), other) => serde_json::Value::from(other.to_string()),
                };
                (name.clone(), json)
            })
            .collect();
        serde_json::Value::Object(map)
    }
}

/// What secret values are replaced with.
pub const REDACTED: &str = "[redacted]";

/// Why typed arguments do not fit a command. Every message is one sentence for the person who
/// typed them; secret values are never repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// More positional values than arguments left to fill.
    #[error("unexpected extra value `{value}`: every argument already has a value")]
    TooManyValues {
        /// The first value that did not fit.
        value: String,
    },
    /// A named argument the command does not declare.
    #[error("there is no argument `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownArg {
        /// The name as typed.
        name: String,
        /// The closest declared name, when one is close.
        suggestion: Option<String>,
    },
    /// The same argument given twice (by name, or by name and position).
    #[error("argument `{name}` is given more than once")]
    Repeated {
        /// The argument.
        name: String,
    },
    /// A required argument that was not given.
    #[error("argument `{name}` is required")]
    Missing {
        /// The argument.
        name: String,
    },
    /// A value of an `int` argument that is not a whole number.
    #[error("argument `{name}`: `{value}` is not a whole number")]
    NotAnInt {
        /// The argument.
        name: String,
        /// The value as typed.
        value: String,
    },
    /// A value of a `bool` argument that is not a yes or no.
    #[error(
        "argument `{name}`: `{value}` is not yes or no (write true/false, yes/no, on/off or 1/0)"
    )]
    NotABool {
        /// The argument.
        name: String,
        /// The value as typed.
        value: String,
    },
    /// A value of a `duration` argument that is not a duration.
    #[error("argument `{name}`: `{value}` is not a duration (write 30s, 10m, 2h or 1d)")]
    NotADuration {
        /// The argument.
        name: String,
        /// The value as typed.
        value: String,
    },
    /// A value of a `choice` argument outside its choices.
    #[error("argument `{name}`: `{value}` is not one of {}", choices.join(", "))]
    NotAChoice {
        /// The argument.
        name: String,
        /// The value as typed.
        value: String,
        /// The allowed values.
        choices: Vec<String>,
    },
    /// A value of a `string` argument that does not match its pattern.
    #[error("argument `{name}`: `{value}` does not match {pattern}")]
    NoMatch {
        /// The argument.
        name: String,
        /// The value as typed.
        value: String,
        /// The pattern as written in the file.
        pattern: String,
    },
    /// An `int` value outside min/max.
    #[error("argument `{name}`: {value} is {}", range_words(*min, *max))]
    OutOfRange {
        /// The argument.
        name: String,
        /// The value.
        value: i64,
        /// The smallest allowed value.
        min: Option<i64>,
        /// The largest allowed value.
        max: Option<i64>,
    },
    /// `--dry-run` on a command without `dry_run = true`.
    #[error("`{command}` does not support --dry-run")]
    DryRunUnsupported {
        /// The command.
        command: String,
    },
}

fn range_words(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("out of range: use {lo} to {hi}"),
        (Some(lo), None) => format!("too small: use at least {lo}"),
        (None, Some(hi)) => format!("too large: use at most {hi}"),
        (None, None) => "out of range".to_string(),
    }
}

impl ArgError {
    /// The argument the error is about, when it is about one.
    pub fn arg(&self) -> Option<&str> {
        match self {
            ArgError::UnknownArg { name, .. }
            | ArgError::Repeated { name }
            | ArgError::Missing { name }
            | ArgError::NotAnInt { name, .. }
            | ArgError::NotABool { name, .. }
            | ArgError::NotADuration { name, .. }
            | ArgError::NotAChoice { name, .. }
            | ArgError::NoMatch { name, .. }
            | ArgError::OutOfRange { name, .. } => Some(name),
            ArgError::TooManyValues { .. } | ArgError::DryRunUnsupported { .. } => None,
        }
    }
}

/// The longest piece of typed text repeated in a message; longer text is cut so that a pasted
/// novel does not come back as an error.
const SHOWN_MAX: usize = 64;

/// Typed text as it may be repeated in a message: control characters and backticks (which
/// would break the message's code spans) replaced, and cut to a reasonable length.
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(SHOWN_MAX)
        .map(|c| if c.is_control() || c == '`' { '?' } else { c })
        .collect();
    if value.chars().count() > SHOWN_MAX {
        out.push('…');
    }
    out
}

impl ArgSpec {
    /// Checks one value against this argument's type, choices, pattern and range. Used for
    /// typed values as well as for defaults and `when` values in files.
    pub fn parse_value(&self, raw: &str) -> Result<ArgValue, ArgError> {
        let name = self.name.clone();
        let value = if self.secret {
            REDACTED.to_string()
        } else {
            shown(raw)
        };
        match self.kind {
            ArgType::String => {
                if let Some(pattern) = &self.pattern {
                    if !matches_whole(pattern, raw) {
                        return Err(ArgError::NoMatch {
                            name,
                            value,
                            pattern: pattern.as_str().to_string(),
                        });
                    }
                }
                Ok(ArgValue::Str(raw.to_string()))
            }
            ArgType::Choice => {
                if self.choices.iter().any(|c| c == raw) {
                    Ok(ArgValue::Str(raw.to_string()))
                } else {
                    Err(ArgError::NotAChoice {
                        name,
                        value,
                        choices: self.choices.clone(),
                    })
                }
            }
            ArgType::Int => {
                let n: i64 = raw
                    .trim()
                    .parse()
                    .map_err(|_| ArgError::NotAnInt { name, value })?;
                let too_small = self.min.is_some_and(|lo| n < lo);
                let too_large = self.max.is_some_and(|hi| n > hi);
                if too_small || too_large {
                    return Err(ArgError::OutOfRange {
                        name: self.name.clone(),
                        value: n,
                        min: self.min,
                        max: self.max,
                    });
                }
                Ok(ArgValue::Int(n))
            }
            ArgType::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(ArgValue::Bool(true)),
                "false" | "no" | "off" | "0" => Ok(ArgValue::Bool(false)),
                _ => Err(ArgError::NotABool { name, value }),
            },
            ArgType::Duration => parse_duration(raw)
                .map(ArgValue::Duration)
                .map_err(|_| ArgError::NotADuration { name, value }),
        }
    }
}

/// Whether `pattern` matches all of `value`. Patterns always apply to the whole value, as if
/// written `^(?:…)$`, so that an unanchored `[a-z]+` cannot let `api; rm -rf /` through.
fn matches_whole(pattern: &regex::Regex, value: &str) -> bool {
    // Anchoring a pattern that compiled cannot fail in practice; should it ever, refusing the
    // value is the safe answer.
    regex::Regex::new(&format!("^(?:{})$", pattern.as_str())).is_ok_and(|re| re.is_match(value))
}

/// The edit distance between two names, for "did you mean" suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The declared name closest to `typed`, if it is close enough to be a plausible typo.
fn suggest(spec: &CommandSpec, typed: &str) -> Option<String> {
    spec.args
        .iter()
        .map(|a| (distance(typed, &a.name), &a.name))
        .filter(|(d, name)| *d <= 2.max(name.len() / 3) && *d < name.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name.clone())
}

/// Checks raw arguments against a command. Named values are placed first; positionals then
/// fill the arguments not yet named, in declaration order; defaults fill what is left.
pub fn parse_args(spec: &CommandSpec, raw: &RawArgs) -> Result<ParsedArgs, ArgError> {
    if raw.dry_run && !spec.dry_run {
        return Err(ArgError::DryRunUnsupported {
            command: spec.name.clone(),
        });
    }
    let mut given: Vec<Option<&str>> = vec![None; spec.args.len()];
    for (name, value) in &raw.named {
        let Some(index) = spec.args.iter().position(|a| &a.name == name) else {
            return Err(ArgError::UnknownArg {
                name: shown(name),
                suggestion: suggest(spec, name),
            });
        };
        if given[index].is_some() {
            return Err(ArgError::Repeated { name: name.clone() });
        }
        given[index] = Some(value);
    }
    let mut positionals = raw.positional.iter();
    for slot in given.iter_mut().filter(|s| s.is_none()) {
        match positionals.next() {
            Some(value) => *slot = Some(value),
            None => break,
        }
    }
    if let Some(extra) = positionals.next() {
        return Err(ArgError::TooManyValues {
            value: shown(extra),
        });
    }
    let mut values = Vec::with_capacity(spec.args.len());
    for (arg, value) in spec.args.iter().zip(given) {
        let value = match (value, &arg.default) {
            (Some(v), _) => v,
            (None, Some(default)) => default.as_str(),
            (None, None) if arg.required => {
                return Err(ArgError::Missing {
                    name: arg.name.clone(),
                })
            }
            (None, None) => continue,
        };
        values.push((arg.name.clone(), arg.parse_value(value)?));
    }
    let reason = raw
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    Ok(ParsedArgs {
        values,
        dry_run: raw.dry_run,
        reason,
    })
}

/// How an argument's value is shown in usage lines.
fn value_hint(arg: &ArgSpec) -> String {
    match arg.kind {
        ArgType::Choice => arg.choices.join("|"),
        ArgType::String => arg.name.clone(),
        other => other.as_str().to_string(),
    }
}

/// The one-line usage of a command, e.g.
/// `/ops deploy <service:api|web|worker> <version> [env=staging|prod] [--dry-run] [--reason "…"]`.
/// When `root` is the command's own slash command, the name is not repeated after it.
pub fn usage(spec: &CommandSpec, root: &str) -> String {
    let mut parts = vec![root.to_string()];
    if spec.slash_command.as_deref() != Some(root) {
        parts.push(spec.name.clone());
    }
    for arg in &spec.args {
        parts.push(match (arg.required, arg.kind) {
            (true, ArgType::String) => format!("<{}>", arg.name),
            (true, _) => format!("<{}:{}>", arg.name, value_hint(arg)),
            (false, _) => format!("[{}={}]", arg.name, value_hint(arg)),
        });
    }
    if spec.dry_run {
        parts.push("[--dry-run]".to_string());
    }
    parts.push("[--reason \"…\"]".to_string());
    parts.join(" ")
}

/// The multi-line help shown by `help NAME`: summary, usage, arguments, who may run it, where,
/// how risky it is and when it needs approval.
pub fn describe(spec: &CommandSpec, root: &str) -> String {
    let mut out = format!(
        "{} — {}\nUsage: {}\n",
        spec.name,
        spec.summary,
        usage(spec, root)
    );
    if let Some(description) = &spec.description {
        out.push_str(&format!("{}\n", description.trim_end()));
    }
    if !spec.args.is_empty() {
        out.push_str("Arguments:\n");
        for arg in &spec.args {
            let mut facts = vec![arg.kind.as_str().to_string()];
            if arg.kind == ArgType::Choice {
                facts.push(format!("one of {}", arg.choices.join(", ")));
            }
            if let Some(pattern) = &arg.pattern {
                facts.push(format!("matching {}", pattern.as_str()));
            }
            match (arg.min, arg.max) {
                (Some(lo), Some(hi)) => facts.push(format!("{lo} to {hi}")),
                (Some(lo), None) => facts.push(format!("at least {lo}")),
                (None, Some(hi)) => facts.push(format!("at most {hi}")),
                (None, None) => {}
            }
            match (&arg.default, arg.required) {
                (Some(default), _) => facts.push(format!("default {default}")),
                (None, true) => facts.push("required".to_string()),
                (None, false) => facts.push("optional".to_string()),
            }
            if arg.secret {
                facts.push("secret".to_string());
            }
            out.push_str(&format!("  {} ({})", arg.name, facts.join(", ")));
            if let Some(description) = &arg.description {
                out.push_str(&format!(": {description}"));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!("Role: {} or above\n", spec.role));
    match &spec.environment {
        Some(EnvScope::Literal(env)) => out.push_str(&format!("Environment: {env}\n")),
        Some(EnvScope::Arg(name)) => out.push_str(&format!("Environment: the value of `{name}`\n")),
        None => {}
    }
    out.push_str(&format!("Risk: {}\n", spec.risk));
    if let Some(approval) = &spec.approval {
        let count = match approval.approvals {
            1 => "1 approval".to_string(),
            n => format!("{n} approvals"),
        };
        let mut from: Vec<String> = approval.approvers.iter().map(|s| s.to_string()).collect();
        if let Some(role) = approval.approver_role {
            from.push(format!("anyone with role {role} or above"));
        }
        let when = if approval.when.is_empty() {
            "always".to_string()
        } else {
            let conditions: Vec<String> = approval
                .when
                .iter()
                .map(|(name, values)| format!("{name} is {}", values.join(" or ")))
                .collect();
            format!("when {}", conditions.join(" and "))
        };
        let own = if approval.allow_self {
            "; requesters may approve their own requests"
        } else {
            "; requesters cannot approve their own requests"
        };
        out.push_str(&format!(
            "Approval: {when}, {count} from {} within {}{own}\n",
            from.join(", "),
            format_duration(approval.expires_in)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn deploy() -> CommandSpec {
        let text = r#"
name = "deploy"
summary = "Deploy a service version"
command = "/deploy"
role = "operator"
environment = "{{env}}"
dry_run = true
[[args]]
name = "service"
type = "choice"
choices = ["api", "web", "worker"]
description = "The service"
[[args]]
name = "version"
type = "string"
pattern = '^v\d+\.\d+\.\d+$'
[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
default = "staging"
[[args]]
name = "replicas"
type = "int"
min = 1
max = 20
required = false
[[args]]
name = "force"
type = "bool"
default = false
[[args]]
name = "wait"
type = "duration"
default = "5m"
[[args]]
name = "token"
type = "string"
secret = true
required = false
[approval]
when = { env = ["prod"] }
approvals = 2
approvers = ["group:sre-leads"]
expires_in = "30m"
[action]
type = "builtin"
name = "deploy.run"
"#;
        crate::commands::load::load_str(Path::new("deploy.toml"), text).unwrap()
    }

    fn toks(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn split_table() {
        let cases: &[(&str, Result<&[&str], GrammarError>)] = &[
            ("", Ok(&[])),
            ("   ", Ok(&[])),
            ("api v1.2.3", Ok(&["api", "v1.2.3"])),
            ("  api \t v1  ", Ok(&["api", "v1"])),
            ("\"two words\" x", Ok(&["two words", "x"])),
            ("'two words'", Ok(&["two words"])),
            ("reason=\"two words\"", Ok(&["reason=two words"])),
            ("a\"b c\"d", Ok(&["ab cd"])),
            ("\"say \\\"hi\\\"\"", Ok(&["say \"hi\""])),
            ("\"a\\\\b\"", Ok(&["a\\b"])),
            ("\"^v\\d+$\"", Ok(&["^v\\d+$"])),
            ("'it\\'", Ok(&["it\\"])),
            ("a\\ b", Ok(&["a\\", "b"])),
            ("\"\" x=''", Ok(&["", "x="])),
            ("\u{201C}two words\u{201D}", Ok(&["two words"])),
            ("\u{2018}two words\u{2019}", Ok(&["two words"])),
            ("\"it\u{2019}s\"", Ok(&["it's"])),
            ("api;\u{a0}touch", Ok(&["api;", "touch"])),
            ("\"api; touch /tmp/x\"", Ok(&["api; touch /tmp/x"])),
            (
                "\"open",
                Err(GrammarError::UnterminatedQuote { quote: '"' }),
            ),
            (
                "'open",
                Err(GrammarError::UnterminatedQuote { quote: '\'' }),
            ),
            (
                "\"open\\\"",
                Err(GrammarError::UnterminatedQuote { quote: '"' }),
            ),
            (
                "\u{201C}open",
                Err(GrammarError::UnterminatedQuote { quote: '"' }),
            ),
        ];
        for (input, want) in cases {
            let want = want.clone().map(toks);
            assert_eq!(split_command_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn parse_raw_table() {
        let raw = |pos: &[&str], named: &[(&str, &str)], dry: bool, reason: Option<&str>| RawArgs {
            positional: toks(pos),
            named: named
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dry_run: dry,
            reason: reason.map(str::to_string),
        };
        let cases: Vec<(&[&str], Result<RawArgs, GrammarError>)> = vec![
            (&[], Ok(RawArgs::default())),
            (&["api", "v1"], Ok(raw(&["api", "v1"], &[], false, None))),
            (
                &["env=prod", "api"],
                Ok(raw(&["api"], &[("env", "prod")], false, None)),
            ),
            (
                &["version=a=b"],
                Ok(raw(&[], &[("version", "a=b")], false, None)),
            ),
            (
                &["Env=prod", "=x", "-5", "a-b=c"],
                Ok(raw(&["Env=prod", "=x", "-5", "a-b=c"], &[], false, None)),
            ),
            (&["env="], Ok(raw(&[], &[("env", "")], false, None))),
            (&["--dry-run", "api"], Ok(raw(&["api"], &[], true, None))),
            (
                &["--reason", "hot fix", "api"],
                Ok(raw(&["api"], &[], false, Some("hot fix"))),
            ),
            (
                &["--reason=hot fix"],
                Ok(raw(&[], &[], false, Some("hot fix"))),
            ),
            (&["--reason"], Err(GrammarError::MissingReason)),
            (&["--reason="], Err(GrammarError::MissingReason)),
            (&["--reason", "  "], Err(GrammarError::MissingReason)),
            (&["--reason", "--dry-run"], Err(GrammarError::MissingReason)),
            (
                &["--reason=a", "--reason=b"],
                Err(GrammarError::RepeatedReason),
            ),
            (
                &["--force"],
                Err(GrammarError::UnknownFlag {
                    flag: "--force".into(),
                }),
            ),
            (
                &["--dry-run=yes"],
                Err(GrammarError::UnknownFlag {
                    flag: "--dry-run=yes".into(),
                }),
            ),
            (
                &["--"],
                Err(GrammarError::UnknownFlag { flag: "--".into() }),
            ),
        ];
        for (tokens, want) in cases {
            assert_eq!(parse_raw(&toks(tokens)), want, "{tokens:?}");
        }
        assert_eq!(
            GrammarError::UnknownFlag {
                flag: "--force".into()
            }
            .to_string(),
            "unknown option `--force`: only --dry-run and --reason are understood"
        );
    }

    fn typed(text: &str) -> Result<ParsedArgs, ArgError> {
        let raw = parse_raw(&split_command_text(text).unwrap()).unwrap();
        parse_args(&deploy(), &raw)
    }

    #[test]
    fn parse_args_fills_positionals_and_defaults() {
        let got = typed("api v1.2.3").unwrap();
        assert_eq!(
            got.values,
            vec![
                ("service".to_string(), ArgValue::Str("api".into())),
                ("version".to_string(), ArgValue::Str("v1.2.3".into())),
                ("env".to_string(), ArgValue::Str("staging".into())),
                ("force".to_string(), ArgValue::Bool(false)),
                (
                    "wait".to_string(),
                    ArgValue::Duration(Duration::from_secs(300))
                ),
            ]
        );
        // Named values take their slot; positionals fill the rest in order.
        let got = typed("env=prod api v1.0.0 7 yes 90s --dry-run --reason \"roll it\"").unwrap();
        assert_eq!(got.get("env"), Some(&ArgValue::Str("prod".into())));
        assert_eq!(got.get("replicas"), Some(&ArgValue::Int(7)));
        assert_eq!(got.get("force"), Some(&ArgValue::Bool(true)));
        assert_eq!(got.get("wait").unwrap().to_string(), "90s");
        assert!(got.dry_run);
        assert_eq!(got.reason.as_deref(), Some("roll it"));
        let got = typed("version=v1.0.0 service=web token=hunter2 force=OFF").unwrap();
        assert_eq!(got.get("force"), Some(&ArgValue::Bool(false)));
        assert_eq!(
            got.as_strings()[..2],
            [
                ("service".to_string(), "web".to_string()),
                ("version".to_string(), "v1.0.0".to_string())
            ]
        );
        assert_eq!(
            got.redacted(&deploy()),
            serde_json::json!({
                "service": "web", "version": "v1.0.0", "env": "staging",
                "force": false, "wait": "5m", "token": "[redacted]"
            })
        );
    }

    #[test]
    fn parse_args_errors() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("api v1.0.0 prod 3 no 1m tok extra", "unexpected extra value `extra`: every argument already has a value", None),
            ("api v1.0.0 sevice=web", "there is no argument `sevice`; did you mean `service`?", Some("sevice")),
            ("api v1.0.0 colour=red", "there is no argument `colour`", Some("colour")),
            ("api v1.0.0 env=prod env=staging", "argument `env` is given more than once", Some("env")),
            ("api", "argument `version` is required", Some("version")),
            ("", "argument `service` is required", Some("service")),
            ("api v1.0.0 replicas=many", "argument `replicas`: `many` is not a whole number", Some("replicas")),
            ("api v1.0.0 replicas=0", "argument `replicas`: 0 is out of range: use 1 to 20", Some("replicas")),
            ("api v1.0.0 replicas=21", "argument `replicas`: 21 is out of range: use 1 to 20", Some("replicas")),
            ("api v1.0.0 force=maybe", "argument `force`: `maybe` is not yes or no (write true/false, yes/no, on/off or 1/0)", Some("force")),
            ("api v1.0.0 wait=soon", "argument `wait`: `soon` is not a duration (write 30s, 10m, 2h or 1d)", Some("wait")),
            ("db v1.0.0", "argument `service`: `db` is not one of api, web, worker", Some("service")),
            ("\"api; touch /tmp/x\" v1.0.0", "argument `service`: `api; touch /tmp/x` is not one of api, web, worker", Some("service")),
            ("api 1.2", "argument `version`: `1.2` does not match ^v\\d+\\.\\d+\\.\\d+$", Some("version")),
            ("api \"v1.0.0; rm -rf /\"", "argument `version`: `v1.0.0; rm -rf /` does not match ^v\\d+\\.\\d+\\.\\d+$", Some("version")),
            ("api v1.0.0 env=qa", "argument `env`: `qa` is not one of staging, prod", Some("env")),
            ("api v`1 ", "argument `version`: `v?1` does not match ^v\\d+\\.\\d+\\.\\d+$", Some("version")),
        ];
        for (input, message, arg) in cases {
            let err = typed(input).unwrap_err();
            assert_eq!(err.to_string(), *message, "{input}");
            assert_eq!(err.arg(), *arg, "{input}");
        }
        let mut spec = deploy();
        spec.dry_run = false;
        let raw = RawArgs {
            positional: toks(&["api", "v1.0.0"]),
            dry_run: true,
            ..RawArgs::default()
        };
        let err = parse_args(&spec, &raw).unwrap_err();
        assert_eq!(err.to_string(), "`deploy` does not support --dry-run");
        assert_eq!(err.arg(), None);
    }

    #[test]
    fn errors_never_repeat_secrets_or_novels() {
        let mut spec = deploy();
        spec.args[6].pattern = Some(regex::Regex::new("^[a-f0-9]{8}$").unwrap());
        let raw = RawArgs {
            positional: toks(&["api", "v1.0.0"]),
            named: vec![("token".into(), "hunter2".into())],
            ..RawArgs::default()
        };
        let err = parse_args(&spec, &raw).unwrap_err().to_string();
        assert!(
            !err.contains("hunter2") && err.contains("[redacted]"),
            "{err}"
        );
        let long = "x".repeat(500);
        let err = typed(&format!("api {long}")).unwrap_err().to_string();
        assert!(err.len() < 200 && err.contains('…'), "{err}");
    }

    #[test]
    fn patterns_match_whole_values() {
        let mut spec = deploy();
        spec.args[1].pattern = Some(regex::Regex::new("[a-z]+|v1").unwrap());
        let parse = |v: &str| {
            let raw = RawArgs {
                positional: toks(&["api", v]),
                ..RawArgs::default()
            };
            parse_args(&spec, &raw).is_ok()
        };
        assert!(parse("abc"));
        assert!(parse("v1"));
        assert!(!parse("abc; rm"));
        assert!(!parse("v12"));
    }

    #[test]
    fn suggestions_are_only_for_close_names() {
        let spec = deploy();
        assert_eq!(suggest(&spec, "sevrice").as_deref(), Some("service"));
        assert_eq!(suggest(&spec, "evn").as_deref(), Some("env"));
        assert_eq!(suggest(&spec, "xyz"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn arg_value_display() {
        assert_eq!(ArgValue::Str("a b".into()).to_string(), "a b");
        assert_eq!(ArgValue::Int(-3).to_string(), "-3");
        assert_eq!(ArgValue::Bool(true).to_string(), "true");
        assert_eq!(
            ArgValue::Duration(Duration::from_secs(600)).to_string(),
            "10m"
        );
    }

    #[test]
    fn usage_and_describe() {
        let mut spec = deploy();
        spec.args.truncate(3);
        assert_eq!(
            usage(&spec, "/ops"),
            "/ops deploy <service:api|web|worker> <version> [env=staging|prod] [--dry-run] [--reason \"…\"]"
        );
        assert_eq!(
            usage(&spec, "/deploy"),
            "/deploy <service:api|web|worker> <version> [env=staging|prod] [--dry-run] [--reason \"…\"]"
        );
        let full = deploy();
        assert!(usage(&full, "/ops")
            .contains("[replicas=int] [force=bool] [wait=duration] [token=token]"));
        let help = describe(&full, "/ops");
        for needle in [
            "deploy — Deploy a service version",
            "Usage: /ops deploy <service:api|web|worker>",
            "  service (choice, one of api, web, worker, required): The service",
            "  version (string, matching ^v\\d+\\.\\d+\\.\\d+$, required)",
            "  env (choice, one of staging, prod, default staging)",
            "  replicas (int, 1 to 20, optional)",
            "  token (string, optional, secret)",
            "Role: operator or above",
            "Environment: the value of `env`",
            "Risk: low",
            "Approval: when env is prod, 2 approvals from group:sre-leads within 30m; requesters cannot approve their own requests",
        ] {
            assert!(help.contains(needle), "{needle}\n---\n{help}");
        }
    }
}
