//! Small pure checks of what a command file may contain: the shapes of names, and the conversion
//! of TOML values into typed text and JSON.

/// True for command names: `[a-z][a-z0-9-]*`.
pub(super) fn is_command_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// True for the shape of Slack slash commands: `/` and `[a-z0-9_-]+`. Their length is one of
/// the platform limits in `limits.rs`, reported with its own message.
pub fn is_slash_command(s: &str) -> bool {
    s.strip_prefix('/').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    })
}

/// True for names of environment variables: `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn is_env_var(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for the names of secret variables: `[A-Z_][A-Z0-9_]*`.
pub(super) fn is_upper_env_var(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// True for built-in action names: `[a-z_]+(\.[a-z_]+)*`.
pub(super) fn is_builtin_name(s: &str) -> bool {
    s.split('.')
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// True for HTTP header names (RFC 9110 tokens).
pub(super) fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Argument names that would be confused with the grammar's own options.
pub(super) const RESERVED_ARG_NAMES: [&str; 3] = ["reason", "dry_run", "for"];

/// Converts a TOML scalar written as a default or a `when` value into the text a person would
/// type, so that it goes through the same validation as typed values.
pub(super) fn scalar_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts a TOML body into JSON. Datetimes become their TOML text; non-finite floats have no
/// JSON form and are refused.
pub(super) fn toml_to_json(value: &toml::Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(n) => serde_json::Value::from(*n),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("body: {f} has no JSON form"))?,
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}
