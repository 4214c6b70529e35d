//! Server-rendered HTML pages (SPEC §18): the job page (`job`), the tenant dashboard
//! (`dashboard`), the fragments their live streams send (`live`), and a minimal error page.
//!
//! Pages are rendered with maud: markup is checked at compile time and every interpolated value
//! is HTML-escaped unless it is already `Markup`, so there is no string concatenation of HTML
//! anywhere. Job logs, arguments and audit details are written by commands and people: they are
//! untrusted text and only ever reach the page through maud's escaping.
//!
//! The stylesheet and the one small script are static assets (`assets/`), served by the HTTP
//! edge at `/assets/pages.css` and `/assets/live.js` and referenced with their SHA-256
//! (subresource integrity). The pages carry no inline script or style, so they can be served
//! with the strict [`CONTENT_SECURITY_POLICY`]. Asset and stream URLs are relative, so the pages
//! also work behind a proxy that serves warden under a path prefix.
//!
//! Architecture invariant: this module does no IO and knows neither axum nor sqlx. The HTTP
//! edge verifies the link (`crate::links`), reads storage, and hands plain views in, with the
//! time to show relative times against.

mod dashboard;
mod format;
mod job;
mod live;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

pub use dashboard::{
    dashboard_expired, dashboard_patch, render_dashboard_page, render_dashboard_sections, AlertRow,
    ApprovalRow, DashboardView, JobRow,
};
pub use job::{render_job_page, JobView, LogLineView};
pub use live::{job_patches, EndOfStream, JobCursor, Patch};

/// The `Content-Security-Policy` header value for every page: scripts, styles and stream
/// connections only from warden itself, nothing inline, nothing else at all. It also defuses
/// any markup that could ever slip past escaping.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The same policy as a `<meta>` tag, for when a page is saved or served without the header.
/// Browsers ignore `frame-ancestors` in a meta tag and warn about it, so it is left out here.
const META_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

/// The stylesheet every page links to.
pub const STYLESHEET: &str = include_str!("pages/assets/pages.css");

/// The script of the live pages: follows the stream and puts its fragments in place.
pub const SCRIPT: &str = include_str!("pages/assets/live.js");

/// `sha256-…` of an asset, for the `integrity` attribute: the browser refuses an asset that is
/// not byte for byte the one this build renders pages for.
fn integrity(asset: &str) -> String {
    let digest = Sha256::digest(asset.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

static STYLESHEET_INTEGRITY: LazyLock<String> = LazyLock::new(|| integrity(STYLESHEET));
static SCRIPT_INTEGRITY: LazyLock<String> = LazyLock::new(|| integrity(SCRIPT));

/// Where a page sits, for its relative URLs: `/jobs/42` is one level down, `/dashboard` is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// `/dashboard`: assets at `assets/…`.
    Top,
    /// `/jobs/{id}`: assets at `../assets/…`.
    Nested,
}

impl Depth {
    fn prefix(self) -> &'static str {
        match self {
            Depth::Top => "",
            Depth::Nested => "../",
        }
    }
}

/// What a page's shell needs besides its body.
struct Shell<'a> {
    title: &'a str,
    depth: Depth,
    /// The page's stream, relative to the page (`42/events`), when it updates itself.
    stream: Option<String>,
    /// Where the stream starts, so it sends only what the snapshot does not show.
    cursor: Option<String>,
}

/// Wraps `body` in the HTML5 document every page shares.
///
/// The page asks browsers not to send a referrer, because its own URL carries the link token,
/// and asks search engines not to index it.
fn document(shell: Shell<'_>, body: Markup) -> String {
    let prefix = shell.depth.prefix();
    let live = shell.stream.is_some();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="robots" content="noindex, nofollow";
                meta http-equiv="Content-Security-Policy" content=(META_CONTENT_SECURITY_POLICY);
                title { (shell.title) " · warden" }
                link rel="stylesheet" href={ (prefix) "assets/pages.css" }
                    integrity=(STYLESHEET_INTEGRITY.as_str());
                @if live {
                    script src={ (prefix) "assets/live.js" } integrity=(SCRIPT_INTEGRITY.as_str()) defer {}
                }
            }
            body data-stream=[shell.stream.as_deref()] data-cursor=[shell.cursor.as_deref()] {
                (body)
            }
        }
    }
    .into_string()
}

/// A minimal HTML error page ("This link has expired…", "Job not found") with the given title
/// and message, both escaped. `depth` is where the page is served, for its stylesheet.
pub fn render_error_page(title: &str, message: &str, depth: Depth) -> String {
    document(
        Shell {
            title,
            depth,
            stream: None,
            cursor: None,
        },
        html! {
            h1 { (title) }
            p.notice { (message) }
        },
    )
}

/// A duration in words for chat messages and pages: `12 h`, `45 min`, `30 s`.
pub fn duration_words(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        _ if secs % 3600 == 0 || secs >= 10 * 3600 => format!("{} h", (secs + 1800) / 3600),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// Text already escaped by maud, for code that assembles markup from rendered parts.
fn fragment(markup: Markup) -> String {
    let PreEscaped(html) = markup;
    html
}
