//! [`ArgError`]: why typed arguments do not fit a command, and how typed text may be repeated in
//! its messages.

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
        /// The value, or `[redacted]` for a `secret = true` argument.
        value: String,
        /// The smallest allowed value.
        min: Option<i64>,
        /// The largest allowed value.
        max: Option<i64>,
    },
    /// A value that would make a URL path segment of the command's http action empty, `.` or
    /// `..`, so that the request would reach another path than the plan shows.
    #[error("argument `{name}`: a value placed in the URL path cannot be empty, `.` or `..`")]
    DotSegment {
        /// The argument.
        name: String,
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
            | ArgError::OutOfRange { name, .. }
            | ArgError::DotSegment { name } => Some(name),
            ArgError::TooManyValues { .. } | ArgError::DryRunUnsupported { .. } => None,
        }
    }
}

/// The longest piece of typed text repeated in a message; longer text is cut so that a pasted
/// novel does not come back as an error.
const SHOWN_MAX: usize = 64;

/// Typed text as it may be repeated in a message: control characters and backticks (which
/// would break the message's code spans) replaced, and cut to a reasonable length.
pub(super) fn shown(value: &str) -> String {
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
