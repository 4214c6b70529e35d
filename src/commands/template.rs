//! `{{arg}}` templates, the only template form in command files.
//!
//! There are deliberately no expressions, filters or defaults: a reference is replaced by the
//! argument's value and nothing else, so what an action does can be read off the file. `{{`
//! always starts a reference; a lone `{`, `}` or `}}` is literal text. Escaping depends on
//! where the text goes (a URL, a JSON string, an argv entry), so [`render`] takes the escaper
//! from its caller and applies it to substituted values only, never to the file's own text.

use std::collections::BTreeMap;

use crate::commands::args::{ArgValue, ParsedArgs};

/// A template that cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without a matching `}}`.
    #[error("`{{{{` at byte {at} is never closed with `}}}}`")]
    Unclosed {
        /// The byte offset of the `{{`.
        at: usize,
    },
    /// `{{…}}` whose content is not an argument name.
    #[error("`{{{{{inner}}}}}` is not a template reference: write `{{{{name}}}}` with an argument name and nothing else")]
    Malformed {
        /// The byte offset of the `{{`.
        at: usize,
        /// What stood between the braces.
        inner: String,
    },
    /// A reference to a value the caller did not supply.
    #[error("the template uses `{{{{{name}}}}}` but no value was given for it")]
    Missing {
        /// The referenced name.
        name: String,
    },
}

/// One piece of a parsed template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text copied as it is.
    Literal(&'a str),
    /// A `{{name}}` reference, holding the name.
    Ref(&'a str),
}

/// True for argument names, `[a-z][a-z0-9_]*`, which are the only thing a reference may hold.
fn is_ref_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Splits a template into literal text and references.
pub fn parse(template: &str) -> Result<Vec<Segment<'_>>, TemplateError> {
    let mut segments = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            segments.push(Segment::Literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed { at: offset + start });
        };
        let inner = &after[..end];
        if !is_ref_name(inner) {
            return Err(TemplateError::Malformed {
                at: offset + start,
                inner: inner.to_string(),
            });
        }
        segments.push(Segment::Ref(inner));
        let consumed = start + 2 + end + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    if !rest.is_empty() {
        segments.push(Segment::Literal(rest));
    }
    Ok(segments)
}

/// The names a template references, in order of appearance (a name used twice appears twice).
pub fn references(template: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|s| match s {
            Segment::Ref(name) => Some(name),
            Segment::Literal(_) => None,
        })
        .collect())
}

/// Renders a template: every `{{name}}` is replaced by `escape(values[name])`, literal text is
/// copied unchanged. A referenced name missing from `values` is an error rather than an empty
/// string, so that a half-filled URL or command line can never be sent.
pub fn render(
    template: &str,
    values: &BTreeMap<String, String>,
    escape: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for segment in parse(template)? {
        match segment {
            Segment::Literal(text) => out.push_str(text),
            Segment::Ref(name) => {
                let value = values.get(name).ok_or_else(|| TemplateError::Missing {
                    name: name.to_string(),
                })?;
                out.push_str(&escape(value));
            }
        }
    }
    Ok(out)
}

/// Percent-encodes everything but the unreserved characters `A-Za-z0-9-._~`, so that a value
/// is always exactly one path segment or one query value: `a b&c` cannot add a parameter.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The first reference of a URL template whose value makes its path segment empty, `.` or
/// `..` once escaped with [`percent_encode`], as it is when the URL is sent.
///
/// A URL parser removes dot segments (`/deploys/../admin` is `/admin`) and an empty segment
/// (`/deploys//x`) is rarely what a downstream expects, so a request built from such a value
/// would reach another path than the one the plan shows. Only segments that hold a reference
/// are checked: the file's own text is the file's business. A segment is rendered as it
/// would be sent and compared with `%2e` read as `.`, as URL parsers read it. The path starts
/// after `scheme://host` and ends at the first `?` or `#` of the template's own text.
/// Missing values are skipped ([`render`] refuses them anyway).
pub fn dot_segment_ref<'a>(
    template: &'a str,
    values: &BTreeMap<String, String>,
) -> Result<Option<&'a str>, TemplateError> {
    for segment in url_path_segments(template)? {
        let mut refs = segment.iter().filter_map(|piece| match piece {
            Segment::Ref(name) => Some(*name),
            Segment::Literal(_) => None,
        });
        let Some(first) = refs.next() else {
            continue;
        };
        let mut text = String::new();
        for piece in &segment {
            match piece {
                Segment::Literal(literal) => text.push_str(literal),
                Segment::Ref(name) => text.push_str(
                    &values
                        .get(*name)
                        .map_or("x".to_string(), |v| percent_encode(v)),
                ),
            }
        }
        let text = text.to_ascii_lowercase().replace("%2e", ".");
        if matches!(text.as_str(), "" | "." | "..") {
            let offending = std::iter::once(first)
                .chain(refs)
                .find(|name| {
                    values
                        .get(*name)
                        .is_some_and(|v| v.is_empty() || v.chars().all(|c| c == '.'))
                })
                .unwrap_or(first);
            return Ok(Some(offending));
        }
    }
    Ok(None)
}

/// Splits the path of a URL template into its segments, each as its pieces of literal text
/// and references. The path starts at the first `/` after `scheme://` (or at the start, for a
/// template without a scheme) and ends at the first `?` or `#` of literal text.
fn url_path_segments(template: &str) -> Result<Vec<Vec<Segment<'_>>>, TemplateError> {
    #[derive(PartialEq)]
    enum Part {
        Authority,
        Path,
        Rest,
    }
    let mut part = Part::Path;
    let mut segments: Vec<Vec<Segment<'_>>> = Vec::new();
    let mut current: Vec<Segment<'_>> = Vec::new();
    for (index, piece) in parse(template)?.into_iter().enumerate() {
        match piece {
            Segment::Ref(name) => {
                if part == Part::Path {
                    current.push(Segment::Ref(name));
                }
            }
            Segment::Literal(mut text) => {
                if index == 0 {
                    if let Some(at) = text.find("://") {
                        text = &text[at + 3..];
                        part = Part::Authority;
                    }
                }
                while !text.is_empty() && part != Part::Rest {
                    let Some(at) = text.find(['/', '?', '#']) else {
                        if part == Part::Path {
                            current.push(Segment::Literal(text));
                        }
                        break;
                    };
                    if part == Part::Path && at > 0 {
                        current.push(Segment::Literal(&text[..at]));
                    }
                    if text.as_bytes()[at] == b'/' {
                        if part == Part::Path {
                            segments.push(std::mem::take(&mut current));
                        }
                        part = Part::Path;
                    } else {
                        part = Part::Rest;
                    }
                    text = &text[at + 1..];
                }
            }
        }
    }
    if part != Part::Authority {
        segments.push(current);
    }
    Ok(segments)
}

/// The escaper for places that need none, e.g. argv entries or JSON strings that are
/// serialized afterwards.
pub fn no_escape(value: &str) -> String {
    value.to_string()
}

/// Renders every string in a JSON body. A string that is exactly one reference to an `int` or
/// `bool` argument becomes a JSON number or boolean, so that `replicas = "{{replicas}}"` sends
/// `5` rather than `"5"`; every other string is interpolated without escaping, because JSON
/// serialization escapes it afterwards. Object keys are never templates.
pub fn render_json(
    body: &serde_json::Value,
    args: &ParsedArgs,
) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value;
    Ok(match body {
        Value::String(s) => {
            let segments = parse(s)?;
            if let [Segment::Ref(name)] = segments.as_slice() {
                match args.get(name) {
                    Some(ArgValue::Int(n)) => return Ok(Value::from(*n)),
                    Some(ArgValue::Bool(b)) => return Ok(Value::Bool(*b)),
                    _ => {}
                }
            }
            let values: BTreeMap<String, String> = args.as_strings().into_iter().collect();
            Value::String(render(s, &values, no_escape)?)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, args))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, args)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// Every string inside a JSON value, for checking the references of a body.
pub fn json_strings(value: &serde_json::Value) -> Vec<&str> {
    let mut out = Vec::new();
    collect_strings(value, &mut out);
    out
}

fn collect_strings<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_table() {
        let cases: &[(&str, Result<Vec<&str>, TemplateError>)] = &[
            ("", Ok(vec![])),
            ("plain text", Ok(vec![])),
            ("{{env}}", Ok(vec!["env"])),
            (
                "https://x/{{service}}/{{env}}?v={{service}}",
                Ok(vec!["service", "env", "service"]),
            ),
            ("a { b } c }} d", Ok(vec![])),
            ("--env={{env}}", Ok(vec!["env"])),
            ("x{{a_1}}y", Ok(vec!["a_1"])),
            ("{{env", Err(TemplateError::Unclosed { at: 0 })),
            ("ab{{env}", Err(TemplateError::Unclosed { at: 2 })),
            (
                "{{ env }}",
                Err(TemplateError::Malformed {
                    at: 0,
                    inner: " env ".into(),
                }),
            ),
            (
                "x{{env|upper}}",
                Err(TemplateError::Malformed {
                    at: 1,
                    inner: "env|upper".into(),
                }),
            ),
            (
                "{{}}",
                Err(TemplateError::Malformed {
                    at: 0,
                    inner: String::new(),
                }),
            ),
            (
                "{{Env}}",
                Err(TemplateError::Malformed {
                    at: 0,
                    inner: "Env".into(),
                }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&references(input), want, "{input}");
        }
    }

    #[test]
    fn render_table() {
        let values: BTreeMap<String, String> = [("service", "api"), ("q", "a b&c")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let pct = |s: &str| s.replace(' ', "%20").replace('&', "%26");
        let cases: &[(&str, Result<&str, TemplateError>)] = &[
            ("no refs", Ok("no refs")),
            ("/s/{{service}}", Ok("/s/api")),
            ("?q={{q}}&x=1 y", Ok("?q=a%20b%26c&x=1 y")),
            (
                "{{nope}}",
                Err(TemplateError::Missing {
                    name: "nope".into(),
                }),
            ),
            ("{{q", Err(TemplateError::Unclosed { at: 0 })),
        ];
        for (input, want) in cases {
            let got = render(input, &values, pct);
            assert_eq!(
                got.as_deref().map_err(Clone::clone),
                want.clone(),
                "{input}"
            );
        }
        assert_eq!(render("{{q}}", &values, no_escape).unwrap(), "a b&c");
    }

    #[test]
    fn error_messages_show_the_braces() {
        assert_eq!(
            TemplateError::Missing { name: "env".into() }.to_string(),
            "the template uses `{{env}}` but no value was given for it"
        );
        assert_eq!(
            TemplateError::Malformed {
                at: 0,
                inner: " x ".into()
            }
            .to_string(),
            "`{{ x }}` is not a template reference: write `{{name}}` with an argument name and nothing else"
        );
    }

    #[test]
    fn render_json_types_whole_references() {
        use crate::commands::args::ParsedArgs;
        let args = ParsedArgs {
            values: vec![
                ("replicas".into(), ArgValue::Int(5)),
                ("force".into(), ArgValue::Bool(true)),
                ("service".into(), ArgValue::Str("api \"x\"".into())),
            ],
            dry_run: false,
            reason: None,
        };
        let body = serde_json::json!({
            "replicas": "{{replicas}}",
            "label": "n={{replicas}}",
            "force": "{{force}}",
            "nested": [{"s": "{{service}}"}, 3, null],
        });
        let got = render_json(&body, &args).unwrap();
        assert_eq!(
            got,
            serde_json::json!({
                "replicas": 5,
                "label": "n=5",
                "force": true,
                "nested": [{"s": "api \"x\""}, 3, null],
            })
        );
        let bad = serde_json::json!({"x": "{{missing}}"});
        assert!(render_json(&bad, &args).is_err());
        assert_eq!(json_strings(&body).len(), 4);
    }

    #[test]
    fn dot_segments_in_url_paths() {
        let values: BTreeMap<String, String> = [
            ("dot", "."),
            ("dots", ".."),
            ("empty", ""),
            ("name", "api"),
            ("three", "..."),
            ("slashed", "../admin"),
            ("encoded", "%2e%2e"),
            ("e", "e"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cases: &[(&str, Option<&str>)] = &[
            ("https://h/deploys/{{name}}", None),
            ("https://h/deploys/{{dot}}", Some("dot")),
            ("https://h/deploys/{{dots}}/x", Some("dots")),
            ("https://h/deploys/{{empty}}/x", Some("empty")),
            ("https://h/deploys/{{empty}}", Some("empty")),
            ("https://h/{{dots}}", Some("dots")),
            ("https://h/{{dot}}{{dot}}", Some("dot")),
            ("https://h/{{empty}}{{dots}}", Some("empty")),
            ("https://h/{{name}}{{dots}}", None),
            ("https://h/v{{dots}}", None),
            ("https://h/.{{dot}}", Some("dot")),
            ("https://h/%2E{{dot}}", Some("dot")),
            ("https://h/{{three}}", None),
            // A `/` in a value is percent-encoded, so it stays inside its segment.
            ("https://h/{{slashed}}", None),
            // A `%` in a value is percent-encoded too.
            ("https://h/{{encoded}}", None),
            ("https://h/%2{{e}}", Some("e")),
            // Query and fragment values are not path segments.
            ("https://h/x?to={{dots}}", None),
            ("https://h/x?to={{empty}}&y=/{{dots}}", None),
            ("https://h/x#{{dots}}", None),
            ("https://h?{{dots}}", None),
            // A template without a scheme is all path.
            ("{{dots}}/x", Some("dots")),
            ("/x/{{dot}}", Some("dot")),
        ];
        for (template, want) in cases {
            assert_eq!(
                dot_segment_ref(template, &values).unwrap(),
                *want,
                "{template}"
            );
        }
        assert!(dot_segment_ref("https://h/{{x", &values).is_err());
        assert_eq!(
            dot_segment_ref("https://h/{{missing}}", &values).unwrap(),
            None
        );
    }
}
