//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! Most targets read their input as text in a small line format, so that the committed seed
//! corpus is made of real-shaped, readable inputs (a command file, a Slack form body, a URL
//! template and its values) rather than opaque bytes; libFuzzer mutates them from there. The
//! oracles here are written independently of the code under test, so that a target checks what
//! warden does against what it should do, not against itself.

use std::path::Path;

use warden::model::Problem;

/// The input as UTF-8 text, or `None` for bytes that are not (those inputs are skipped by the
/// text targets: every real input to these parsers is a Rust `&str`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Undoes the escapes a value line may use to hold characters a line cannot: `\n`, `\r`, `\t`,
/// `\0` and `\\`. Any other backslash is kept as it is.
pub fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The first line of `text` and the following lines unescaped, padded with empty values to
/// `values` entries.
pub fn head_and_values(text: &str, values: usize) -> (&str, Vec<String>) {
    let mut lines = text.split('\n');
    let head = lines.next().unwrap_or("");
    let mut rest: Vec<String> = lines.take(values).map(unescape).collect();
    rest.resize(values, String::new());
    (head, rest)
}

/// A TOML basic string holding exactly `s` (TOML cannot hold every character unescaped).
pub fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Renders `{{name}}` references by scanning left to right, independently of
/// `warden::commands::template`: at each position, a `{{name}}` with a known name is replaced
/// by its value (which is never scanned again), and every other character is copied. For every
/// template the loader accepts this is what rendering must give.
pub fn substitute(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    'scan: while !rest.is_empty() {
        for (name, value) in values {
            let reference = format!("{{{{{name}}}}}");
            if let Some(after) = rest.strip_prefix(reference.as_str()) {
                out.push_str(value);
                rest = after;
                continue 'scan;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Checks the problems a loader reported: at least one, each naming `file`, with a message and,
/// when it has a line, a line inside the file (1 to the number of lines, plus one for a problem
/// at the very end).
pub fn check_problems(problems: &[Problem], file: &Path, text: &str) {
    assert!(!problems.is_empty(), "a refusal without a problem");
    let last_line = text.split('\n').count() + 1;
    for problem in problems {
        assert_eq!(problem.file, file, "{problem}");
        assert!(!problem.message.trim().is_empty(), "{problem:?}");
        if let Some(line) = problem.line {
            assert!(
                (1..=last_line).contains(&line),
                "line {line} is outside the file ({last_line} lines): {problem}"
            );
        }
    }
}

/// True when `secret` is long enough, and absent enough from everything else in `context`,
/// that finding it in some output means the output leaked it.
pub fn recognisable(secret: &str, context: &[&str]) -> bool {
    secret.chars().count() >= 6 && !context.iter().any(|c| c.contains(secret))
}
