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
//!
//! The grammar is in `args/grammar.rs`, the check of one value in `args/value.rs`, the errors in
//! `args/error.rs`, and the usage line and help text in `args/usage.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::commands::spec::{ActionSpec, CommandSpec};
use crate::commands::template;
use crate::model::format_duration;

mod error;
mod grammar;
mod usage;
mod value;

pub use error::ArgError;
pub(crate) use grammar::is_arg_name;
pub use grammar::{parse_raw, quote_token, split_command_text, GrammarError};
pub use usage::{arguments_usage, describe, usage};

use error::shown;

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

/// Refuses values that would change the path of the command's http request: an empty, `.`
/// or `..` path segment (see [`template::dot_segment_ref`]).
fn check_url_path(spec: &CommandSpec, values: &[(String, ArgValue)]) -> Result<(), ArgError> {
    let ActionSpec::Http { url, .. } = &spec.action else {
        return Ok(());
    };
    let strings: BTreeMap<String, String> = values
        .iter()
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect();
    // A template that does not parse was refused when the command was loaded.
    match template::dot_segment_ref(url, &strings) {
        Ok(Some(name)) => Err(ArgError::DotSegment {
            name: name.to_string(),
        }),
        Ok(None) | Err(_) => Ok(()),
    }
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
    check_url_path(spec, &values)?;
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

#[cfg(test)]
mod tests;
