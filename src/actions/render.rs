//! Rendering an action's templates, each value escaped for where it lands. These are the only
//! places typed text enters a URL, a header, a body or an argv, so the escaping rules live
//! together here.

use std::collections::BTreeMap;

use crate::commands::args::{ArgValue, ParsedArgs, REDACTED};
use crate::commands::spec::CommandSpec;
use crate::commands::template::{self, percent_encode};

/// The arguments with every secret value replaced by `[redacted]`, for text people see.
pub(super) fn redact(spec: &CommandSpec, args: &ParsedArgs) -> ParsedArgs {
    let mut shown = args.clone();
    for (name, value) in &mut shown.values {
        if spec.arg(name).is_none_or(|a| a.secret) {
            *value = ArgValue::Str(REDACTED.to_string());
        }
    }
    shown
}

fn values(args: &ParsedArgs) -> BTreeMap<String, String> {
    args.as_strings().into_iter().collect()
}

/// Renders a URL template with every value percent-encoded. With `readable`, the `[redacted]`
/// placeholder of [`redact`] is left as it is, because this URL is only shown to people.
///
/// A value that would make a path segment empty, `.` or `..` is refused, as the argument
/// check refuses it, so that no request ever reaches another path than its plan shows.
pub(super) fn url(template: &str, args: &ParsedArgs, readable: bool) -> Result<String, String> {
    let values = values(args);
    if let Ok(Some(name)) = template::dot_segment_ref(template, &values) {
        return Err(format!(
            "cannot render the url: argument `{name}` would make a path segment empty, `.` or `..`"
        ));
    }
    template::render(template, &values, |v| {
        if readable && v == REDACTED {
            v.to_string()
        } else {
            percent_encode(v)
        }
    })
    .map_err(|e| format!("cannot render the url: {e}"))
}

/// Renders a header value without escaping; a value with a line break (or NUL) is refused
/// rather than sent, because it would split the request into headers the file does not show.
/// The error names the header but never shows the value, which may be a secret.
pub(super) fn header(name: &str, template: &str, args: &ParsedArgs) -> Result<String, String> {
    let value = template::render(template, &values(args), template::no_escape)
        .map_err(|e| format!("cannot render header `{name}`: {e}"))?;
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!(
            "header `{name}` would contain a line break; the request was not sent"
        ));
    }
    Ok(value)
}

/// Renders a JSON body and serializes it; the string is exactly the bytes sent (and signed).
pub(super) fn body(
    body: Option<&serde_json::Value>,
    args: &ParsedArgs,
) -> Result<Option<String>, String> {
    body.map(|b| {
        let json =
            template::render_json(b, args).map_err(|e| format!("cannot render the body: {e}"))?;
        serde_json::to_string(&json).map_err(|e| format!("cannot serialize the body: {e}"))
    })
    .transpose()
}

/// Renders argv templates: each template becomes exactly one element, never split and never
/// seen by a shell, so no escaping is needed.
pub(super) fn argv(templates: &[String], args: &ParsedArgs) -> Result<Vec<String>, String> {
    let values = values(args);
    templates
        .iter()
        .map(|t| {
            template::render(t, &values, template::no_escape)
                .map_err(|e| format!("cannot render the arguments: {e}"))
        })
        .collect()
}
