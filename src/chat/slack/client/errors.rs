//! slack-morphism's `SlackClientError` mapped onto warden's typed outcome: retry later (with
//! Slack's `Retry-After` when it gave one) or give up. The messages name the call and Slack's
//! error code only: never Slack's answer body, a URL or the token.
//!
//! How the library reports each answer (checked against a fake server in `tests`):
//! - HTTP 429: `RateLimitError` with `retry_after` from a whole-seconds `Retry-After`;
//! - HTTP 200 with `ok: false`: `ApiError` with Slack's `code` (`channel_not_found`, …);
//! - any other status (500, 503, 401, 404, …): `HttpError` with the status and the body;
//! - HTTP 200 whose body does not parse as the method's answer: `ProtocolError`;
//! - no answer (refused, reset): `HttpProtocolError` wrapping hyper's error.

use std::time::Duration;

use slack_morphism::errors::SlackClientError;

/// Whether a failed call is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Rate limit, outage, timeout or lost connection: the same call may succeed later,
    /// no earlier than `retry_after` when Slack said so.
    Retryable {
        /// Slack's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The call cannot succeed as made (bad channel, revoked token, missing scope, …).
    Permanent,
}

/// A failed Slack call. The message names the API method and Slack's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SlackError {
    /// Whether to retry.
    pub kind: ErrorKind,
    /// What failed, e.g. "chat.postMessage: Slack error `channel_not_found`".
    pub message: String,
}

impl SlackError {
    pub(crate) fn retryable(retry_after: Option<Duration>, message: String) -> Self {
        SlackError {
            kind: ErrorKind::Retryable { retry_after },
            message,
        }
    }

    pub(crate) fn permanent(message: String) -> Self {
        SlackError {
            kind: ErrorKind::Permanent,
            message,
        }
    }
}

/// Slack `error` codes that describe a passing condition on Slack's side. Every other code
/// (`channel_not_found`, `not_in_channel`, `invalid_auth`, `msg_too_long`, …) will fail again
/// the same way.
const RETRYABLE_CODES: [&str; 5] = [
    "ratelimited",
    "internal_error",
    "service_unavailable",
    "request_timeout",
    "fatal_error",
];

/// Classifies a failed call to `what` (the method, or `response_url`).
pub(super) fn classify(what: &str, error: SlackClientError) -> SlackError {
    match error {
        SlackClientError::RateLimitError(limit) => {
            SlackError::retryable(limit.retry_after, format!("{what}: HTTP 429, rate limited"))
        }
        SlackClientError::ApiError(api) => by_code(what, &api.code),
        SlackClientError::HttpError(http) if http.status_code.is_server_error() => {
            SlackError::retryable(None, format!("{what}: HTTP {}", http.status_code.as_u16()))
        }
        // A refusal such as a 404 from an expired response_url may still say why in
        // Slack's usual `{"ok":false,"error":…}`.
        SlackClientError::HttpError(http) => {
            match http.http_response_body.as_deref().and_then(error_code) {
                Some(code) => by_code(what, &code),
                None => {
                    SlackError::permanent(format!("{what}: HTTP {}", http.status_code.as_u16()))
                }
            }
        }
        // Slack answered 200 with something that is not the method's answer: sending it
        // again would most likely repeat a call that worked.
        SlackClientError::ProtocolError(_) => {
            SlackError::permanent(format!("{what}: the answer is not what Slack sends"))
        }
        SlackClientError::HttpProtocolError(e) => transport(what, e.cause.as_deref()),
        SlackClientError::EndOfStream(_) | SlackClientError::SystemError(_) => {
            SlackError::retryable(None, format!("{what}: the connection failed"))
        }
        SlackClientError::SocketModeProtocolError(_) => {
            SlackError::permanent(format!("{what}: unexpected Socket Mode error"))
        }
    }
}

/// A request that did not complete. Only a malformed request (a bad URL) is permanent; a
/// refused connection or a cut-off answer may well work next time.
fn transport(
    what: &str,
    cause: Option<&(dyn std::error::Error + Send + Sync + 'static)>,
) -> SlackError {
    if cause.is_some_and(|c| c.is::<url::ParseError>() || c.is::<axum::http::Error>()) {
        return SlackError::permanent(format!("{what}: the request could not be built"));
    }
    let connect = cause
        .and_then(|c| c.downcast_ref::<hyper_util::client::legacy::Error>())
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    let cause = if connect {
        "could not connect"
    } else {
        "the connection failed"
    };
    SlackError::retryable(None, format!("{what}: {cause}"))
}

fn by_code(what: &str, code: &str) -> SlackError {
    let code = sanitize(code);
    let message = format!("{what}: Slack error `{code}`");
    if RETRYABLE_CODES.contains(&code.as_str()) {
        SlackError::retryable(None, message)
    } else {
        SlackError::permanent(message)
    }
}

/// Slack's `error` field of an answer body, if it is one of Slack's JSON answers.
fn error_code(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("error")?.as_str().map(str::to_string)
}

/// Slack error codes are short snake_case words; anything else in that field is cut down so
/// an odd answer cannot smuggle arbitrary text into our logs.
fn sanitize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}
