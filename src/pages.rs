//! Server-rendered HTML pages: the read-only job page (`job`) and a minimal error page.
//!
//! Every page is one self-contained HTML5 document: inline CSS, no scripts, no images, no
//! external assets, so it renders the same behind any proxy and can be served with the strict
//! [`CONTENT_SECURITY_POLICY`]. Every interpolated value goes through [`escape_html`]; job logs
//! and audit details are written by commands and people, so they are untrusted text.
//!
//! Architecture invariant: this module does no IO and knows neither axum nor sqlx. The HTTP
//! route verifies the link (`crate::links`), reads the job, and hands a [`JobView`] in.

mod job;
#[cfg(test)]
mod tests;

pub use job::{render_job_page, JobView, LogLineView};

/// The `Content-Security-Policy` header value the route should send with these pages. The pages
/// need nothing but their own inline styles, so everything else is refused, which also defuses
/// any markup that slipped past escaping.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The same policy as a `<meta>` tag, for when the page is saved or served without the header.
/// Browsers ignore `frame-ancestors` in a meta tag and warn about it, so it is left out here.
const META_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// The shared stylesheet, inlined into every page.
const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:72rem;padding:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
.muted{color:#57606a}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .6rem;border-bottom:1px solid #d0d7de}
th{background:#f6f8fa;font-weight:600}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dt{font-weight:600}dd{margin:0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#0d1117;color:#e6edf3;padding:.75rem 1rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;border-radius:6px}
pre .ts{color:#7d8590}pre .stderr{color:#ff7b72}pre .info{color:#79c0ff}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-size:.85rem;font-weight:600;color:#fff;background:#57606a;vertical-align:middle}
.s-queued{background:#6e7781}.s-running{background:#0969da}.s-succeeded{background:#1a7f37}
.s-failed,.s-timed_out{background:#cf222e}.s-cancelled{background:#9a6700}.dry{background:#8250df}
.error{border-left:4px solid #cf222e;background:#ffebe9;padding:.5rem .75rem;white-space:pre-wrap}
";

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"` and `'`.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A minimal HTML error page ("This link has expired…", "Job not found") with the given title
/// and message, both escaped.
pub fn render_error_page(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        escape_html(title),
        escape_html(message)
    );
    document(title, &body)
}

/// Wraps an already-escaped `body` in the shared HTML5 shell; `title` is escaped here.
///
/// The page asks browsers not to send a referrer, because its own URL carries the link token,
/// and asks search engines not to index it.
fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <title>{title} · warden</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        csp = META_CONTENT_SECURITY_POLICY,
        title = escape_html(title),
    )
}
