//! Showing a database URL without its password.
//!
//! A database URL is parsed with a real URL parser (the `url` crate, which sqlx uses too) and
//! shown rebuilt from its parts, with the password replaced by `[redacted]`. A URL that does
//! not parse, or that parses in a way that leaves credentials-looking text outside the
//! userinfo (an `@` in the path, query or fragment, as an unencoded `/`, `?` or `#` in a
//! password produces), is not shown at all: only its scheme is. So a password never appears in
//! the output, whatever characters it contains.

use url::Url;

/// What replaces a password, a query that may carry one, or a whole URL that cannot be read.
const REDACTED: &str = "[redacted]";

/// Hides the password of a database URL (`postgres://user:PASSWORD@host/db`) and any query
/// string that carries one, so that the URL can be logged and printed.
///
/// `sqlite:` URLs hold no credentials and are returned as they are, so that a wrong path stays
/// readable in an error.
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_string();
    }
    let Some(parsed) = parse_unambiguous(url) else {
        return match scheme_of(url) {
            Some(scheme) => format!("{scheme}://{REDACTED}"),
            None => REDACTED.to_string(),
        };
    };
    let mut shown = format!("{}://", parsed.scheme());
    if !parsed.username().is_empty() || parsed.password().is_some() {
        shown.push_str(parsed.username());
        if parsed.password().is_some() {
            shown.push(':');
            shown.push_str(REDACTED);
        }
        shown.push('@');
    }
    shown.push_str(parsed.host_str().unwrap_or_default());
    if let Some(port) = parsed.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(parsed.path());
    if let Some(query) = parsed.query() {
        if query.to_ascii_lowercase().contains("pass") {
            shown.push('?');
            shown.push_str(REDACTED);
        } else {
            shown.push('?');
            shown.push_str(query);
        }
    }
    shown
}

/// Parses a database URL, or returns `None` when it does not parse or cannot be read
/// unambiguously: it has no authority (`postgres:user:pw@host`), a fragment (an unencoded `#`),
/// or an `@` after the authority (an unencoded `/` or `?` in the password). Such a URL would
/// connect somewhere other than its author meant, and showing any part of it could show part
/// of the password.
pub(super) fn parse_unambiguous(url: &str) -> Option<Url> {
    let parsed = Url::parse(url).ok()?;
    if parsed.cannot_be_a_base() || parsed.host_str().is_none() || parsed.fragment().is_some() {
        return None;
    }
    if parsed.path().contains('@') || parsed.query().is_some_and(|q| q.contains('@')) {
        return None;
    }
    Some(parsed)
}

/// The scheme in front of `://`, when it is one (a letter, then letters, digits, `+`, `-`, `.`).
fn scheme_of(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URLs whose redacted form is known exactly.
    #[test]
    fn url_redaction() {
        let cases = [
            ("sqlite://warden.db", "sqlite://warden.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            (
                "sqlite:///var/lib/warden/w.db",
                "sqlite:///var/lib/warden/w.db",
            ),
            ("postgres://db/warden", "postgres://db/warden"),
            ("postgres://user@db/warden", "postgres://user@db/warden"),
            ("postgres://db:5433/warden", "postgres://db:5433/warden"),
            (
                "postgres://user:pw@db/warden",
                "postgres://user:[redacted]@db/warden",
            ),
            (
                "postgres://user:p@ss@db/warden",
                "postgres://user:[redacted]@db/warden",
            ),
            (
                "postgres://user:a:b@db:5432/warden",
                "postgres://user:[redacted]@db:5432/warden",
            ),
            (
                "postgres://user:p%3Fs%2Fs%23@db/warden",
                "postgres://user:[redacted]@db/warden",
            ),
            (
                "postgres://u:p w@db/warden",
                "postgres://u:[redacted]@db/warden",
            ),
            (
                "postgres://:pw@db/warden",
                "postgres://:[redacted]@db/warden",
            ),
            (
                "postgresql://u:pw@[::1]:5432/w?sslmode=require",
                "postgresql://u:[redacted]@[::1]:5432/w?sslmode=require",
            ),
            (
                "postgres://db/w?sslmode=require",
                "postgres://db/w?sslmode=require",
            ),
            (
                "postgres://db/w?user=u&password=pw",
                "postgres://db/w?[redacted]",
            ),
            ("postgres://db/w?PASSWORD=pw", "postgres://db/w?[redacted]"),
            // Unparseable or ambiguous: only the scheme is shown.
            ("postgres://user:12/ss@db/warden", "postgres://[redacted]"),
            ("postgres://user:12?ss@db/warden", "postgres://[redacted]"),
            ("postgres://user:12#ss@db/warden", "postgres://[redacted]"),
            ("postgres://user:ab/cd@db/warden", "postgres://[redacted]"),
            ("postgres:user:pw@db/warden", "[redacted]"),
            ("user:pw@db/warden", "[redacted]"),
            ("", "[redacted]"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    /// Whatever a password contains, and wherever it lands in a URL written by hand (encoded or
    /// not), it never appears in the redacted form.
    #[test]
    fn passwords_with_awkward_characters_never_appear() {
        let passwords = [
            "hunter2",
            "hun?ter2",
            "hun/ter2",
            "hun@ter2",
            "hun#ter2",
            "hun:ter2",
            "12?ter2",
            "12/ter2",
            "12#ter2",
            "12:34",
            "?/@#:",
            "a?b/c@d#e:f",
            "@@@hunter2",
            "hunter2@",
            "p ss&sslmode=x",
            "hünter2",
            "%2Fhunter2",
        ];
        let encode =
            |p: &str| -> String { url::form_urlencoded::byte_serialize(p.as_bytes()).collect() };
        for password in passwords {
            let urls = [
                format!("postgres://warden:{password}@db.internal:5432/warden"),
                format!("postgres://warden:{password}@db.internal/warden?sslmode=require"),
                format!("postgresql://warden:{password}@10.0.0.1/warden"),
                format!("postgres://warden:{}@db/warden", encode(password)),
                format!("postgres://db/warden?password={password}"),
                format!("postgres://db/warden?sslmode=require&password={password}"),
            ];
            for url in urls {
                let shown = redact_url(&url);
                assert!(
                    !shown.contains(password) && !shown.contains(&encode(password)),
                    "{password:?} leaked from {url:?} as {shown:?}"
                );
                // No fragment of three characters or more of the password leaks either.
                let chars: Vec<char> = password.chars().collect();
                for window in chars.windows(3) {
                    let piece: String = window.iter().collect();
                    if "postgres://warden:[redacted]@db.internal:5432/warden?sslmode=require"
                        .contains(&piece)
                        || piece.chars().all(|c| c.is_ascii_digit())
                    {
                        continue;
                    }
                    assert!(
                        !shown.contains(&piece),
                        "{piece:?} of {password:?} leaked from {url:?} as {shown:?}"
                    );
                }
            }
        }
    }
}
