//! A small Slack Web API client: `chat.postMessage`, `chat.update`, `chat.postEphemeral`,
//! `views.open`, and answers through a `response_url`. Every failure is a `SlackError` that
//! says whether a retry can help, so the outbox can decide without knowing Slack.
//!
//! The bot token is exposed only to build the `Authorization` header; it is never formatted
//! into an error or a log, and `Debug` redacts it. Errors never carry a URL either, because a
//! `response_url` is a credential of its own.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::render;
use crate::chat::message::Message;

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
    fn retryable(retry_after: Option<Duration>, message: String) -> Self {
        SlackError {
            kind: ErrorKind::Retryable { retry_after },
            message,
        }
    }

    fn permanent(message: String) -> Self {
        SlackError {
            kind: ErrorKind::Permanent,
            message,
        }
    }
}

/// Slack `error` codes that describe a passing condition on Slack's side. Every other code
/// (`channel_not_found`, `invalid_auth`, `msg_too_long`, …) will fail again the same way.
const RETRYABLE_CODES: [&str; 5] = [
    "ratelimited",
    "internal_error",
    "service_unavailable",
    "request_timeout",
    "fatal_error",
];

/// Posts to Slack's Web API at a configurable base URL (a fake one in tests).
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    api_url: String,
    token: SecretString,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("api_url", &self.api_url)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl SlackClient {
    /// A client for `api_url` (ending in `/`) with the bot token.
    pub fn new(http: reqwest::Client, api_url: String, token: SecretString) -> Self {
        SlackClient {
            http,
            api_url,
            token,
        }
    }

    /// `chat.postMessage`: posts `message` in `channel_id` and returns its `ts`, the id under
    /// which it can be updated.
    pub async fn post_message(
        &self,
        channel_id: &str,
        message: &Message,
    ) -> Result<String, SlackError> {
        let mut body = render::message_fields(message);
        body.insert("channel".into(), channel_id.into());
        let answer = self.api("chat.postMessage", Value::Object(body)).await?;
        match answer["ts"].as_str() {
            Some(ts) => Ok(ts.to_string()),
            // Posted, but we cannot address it; retrying would post it twice.
            None => Err(SlackError::permanent(
                "chat.postMessage: the answer has no `ts`".into(),
            )),
        }
    }

    /// `chat.postMessage` with `thread_ts`: a reply under the message `thread_ts`, mentioning
    /// `mentions` (user ids) at its start, and also shown in the channel when `broadcast`
    /// (`reply_broadcast`). Returns the reply's `ts`.
    pub async fn post_thread_reply(
        &self,
        channel_id: &str,
        thread_ts: &str,
        message: &Message,
        mentions: &[String],
        broadcast: bool,
    ) -> Result<String, SlackError> {
        let mut body = render::mentioning(message, mentions);
        body.insert("channel".into(), channel_id.into());
        body.insert("thread_ts".into(), thread_ts.into());
        if broadcast {
            body.insert("reply_broadcast".into(), true.into());
        }
        let answer = self.api("chat.postMessage", Value::Object(body)).await?;
        match answer["ts"].as_str() {
            Some(ts) => Ok(ts.to_string()),
            None => Err(SlackError::permanent(
                "chat.postMessage: the answer has no `ts`".into(),
            )),
        }
    }

    /// `chat.getPermalink`: the link to the message `ts` in `channel_id`. Sent form-encoded,
    /// the only body this read method takes.
    pub async fn permalink(&self, channel_id: &str, ts: &str) -> Result<String, SlackError> {
        let method = "chat.getPermalink";
        let request = self
            .http
            .post(format!("{}{method}", self.api_url))
            .bearer_auth(self.token.expose_secret())
            .form(&[("channel", channel_id), ("message_ts", ts)]);
        let (status, headers, bytes) = send(method, request).await?;
        let answer = classify(method, status, &headers, &bytes, true)?;
        match answer["permalink"].as_str() {
            Some(link) if link.starts_with("https://") || link.starts_with("http://") => {
                Ok(link.to_string())
            }
            _ => Err(SlackError::permanent(format!(
                "{method}: the answer has no permalink"
            ))),
        }
    }

    /// `chat.update`: replaces the text and buttons of the message `ts` in `channel_id`.
    pub async fn update_message(
        &self,
        channel_id: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let mut body = render::message_fields(message);
        body.insert("channel".into(), channel_id.into());
        body.insert("ts".into(), ts.into());
        self.api("chat.update", Value::Object(body)).await?;
        Ok(())
    }

    /// `chat.postEphemeral`: a message in `channel` that only `user` sees.
    pub async fn post_ephemeral_message(
        &self,
        channel: &str,
        user: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let mut body = render::message_fields(message);
        body.insert("channel".into(), channel.into());
        body.insert("user".into(), user.into());
        self.api("chat.postEphemeral", Value::Object(body)).await?;
        Ok(())
    }

    /// `chat.postEphemeral` with plain text (the `app_mention` answer).
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        let message = Message {
            text: text.to_string(),
            buttons: Vec::new(),
        };
        Ok(self.post_ephemeral_message(channel, user, &message).await?)
    }

    /// Answers through a `response_url`, used as given (SPEC §6). `replace_original` swaps the
    /// message that carried the clicked button for this one.
    pub async fn respond(
        &self,
        response_url: &str,
        message: &Message,
        ephemeral: bool,
        replace_original: bool,
    ) -> Result<(), SlackError> {
        let body = render::response(message, ephemeral, replace_original);
        // The response_url authorizes itself; the bot token is not sent to it.
        let request = self.http.post(response_url).json(&body);
        let (status, headers, bytes) = send("response_url", request).await?;
        classify("response_url", status, &headers, &bytes, false)?;
        Ok(())
    }

    /// `views.open`: shows a modal (the Deny reason form). `trigger_id` comes from the click
    /// and is valid for 3 seconds.
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        self.api(
            "views.open",
            json!({ "trigger_id": trigger_id, "view": view }),
        )
        .await?;
        Ok(())
    }

    async fn api(&self, method: &str, body: Value) -> Result<Value, SlackError> {
        let request = self
            .http
            .post(format!("{}{method}", self.api_url))
            .bearer_auth(self.token.expose_secret())
            .json(&body);
        let (status, headers, bytes) = send(method, request).await?;
        classify(method, status, &headers, &bytes, true)
    }
}

async fn send(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>), SlackError> {
    let response = request.send().await.map_err(|e| transport(what, e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| transport(what, e))?;
    Ok((status, headers, bytes.to_vec()))
}

/// A request that did not complete. Only a malformed request (a bad URL) is permanent; a
/// timeout, a refused connection or a cut-off answer may well work next time.
fn transport(what: &str, e: reqwest::Error) -> SlackError {
    let cause = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        return SlackError::permanent(format!("{what}: the request could not be built"));
    } else {
        "the connection failed"
    };
    SlackError::retryable(None, format!("{what}: {cause}"))
}

/// Seconds from a `Retry-After` header (Slack sends whole seconds; fractions are tolerated).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Turns an HTTP answer into the JSON body or a classified error. Web API methods always
/// answer JSON with `ok`; a response_url may answer a bare `ok`.
fn classify(
    what: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    bytes: &[u8],
    require_ok: bool,
) -> Result<Value, SlackError> {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(SlackError::retryable(
            retry_after(headers),
            format!("{what}: HTTP 429, rate limited"),
        ));
    }
    if status.is_server_error() {
        return Err(SlackError::retryable(
            None,
            format!("{what}: HTTP {}", status.as_u16()),
        ));
    }
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    if let Some(code) = body.get("error").and_then(Value::as_str) {
        if body["ok"] != Value::Bool(true) {
            let code = sanitize(code);
            let message = format!("{what}: Slack error `{code}`");
            return Err(if RETRYABLE_CODES.contains(&code.as_str()) {
                SlackError::retryable(retry_after(headers), message)
            } else {
                SlackError::permanent(message)
            });
        }
    }
    if !status.is_success() {
        return Err(SlackError::permanent(format!(
            "{what}: HTTP {}",
            status.as_u16()
        )));
    }
    if require_ok && body["ok"] != Value::Bool(true) {
        return Err(SlackError::permanent(format!(
            "{what}: the answer is not `ok`"
        )));
    }
    Ok(body)
}

/// Slack error codes are short snake_case words; anything else in that field is cut down so
/// an odd answer cannot smuggle arbitrary text into our logs.
fn sanitize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests;
