//! A small Discord REST client: channel messages (bot token) and interaction follow-ups and
//! edits (interaction token). The bodies are serenity's builders (`render`), sent with warden's
//! own reqwest client: serenity's `http` feature would bring an old rustls with open
//! advisories, and warden keeps its own timeouts, retry classification and base URL. Every failure is a `DiscordError` that says whether a retry can
//! help, so the outbox can decide without knowing Discord.
//!
//! The bot token is exposed only to build the `Authorization` header, and `Debug` redacts
//! it. Errors never carry a URL, because follow-up URLs contain the interaction token.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::render;
use crate::chat::message::Message;

/// Whether a failed call is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Rate limit, outage, timeout or lost connection: the same call may succeed later, no
    /// earlier than `retry_after` when Discord said so.
    Retryable {
        /// Discord's `retry_after`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The call cannot succeed as made (unknown channel, missing access, bad token, …).
    Permanent,
}

/// A failed Discord call. The message names the operation, the HTTP status and Discord's
/// numeric error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DiscordError {
    /// Whether to retry.
    pub kind: ErrorKind,
    /// What failed, e.g. "create_message: HTTP 404 (Discord code 10003)".
    pub message: String,
    /// Discord's numeric error code, when it sent one.
    pub code: Option<u64>,
}

impl DiscordError {
    fn new(kind: ErrorKind, message: String) -> Self {
        DiscordError {
            kind,
            message,
            code: None,
        }
    }
}

/// Discord's error code for a message sent to an archived thread.
pub const THREAD_ARCHIVED: u64 = 50083;

/// Discord's error code for an action the channel's type does not allow (e.g. starting a
/// thread from a message that is itself in a thread).
pub const NOT_IN_THIS_CHANNEL_TYPE: u64 = 50024;

/// Calls Discord's REST API at a configurable base URL (a fake one in tests).
#[derive(Clone)]
pub struct DiscordClient {
    http: reqwest::Client,
    api_url: String,
    token: SecretString,
    application_id: Option<String>,
}

impl std::fmt::Debug for DiscordClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordClient")
            .field("api_url", &self.api_url)
            .field("token", &"[redacted]")
            .field("application_id", &self.application_id)
            .finish()
    }
}

impl DiscordClient {
    /// A client for `api_url` (`DISCORD_API_URL`, without a trailing `/`), the bot token and
    /// the application id (`DISCORD_APPLICATION_ID`), when configured.
    pub fn new(
        http: reqwest::Client,
        api_url: String,
        token: SecretString,
        application_id: Option<String>,
    ) -> Self {
        DiscordClient {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            application_id,
        }
    }

    /// The configured application id, for follow-ups of interactions that did not say.
    pub fn application_id(&self) -> Option<&str> {
        self.application_id.as_deref()
    }

    /// `POST /channels/{id}/messages`: posts `message` and returns its id.
    pub async fn create_message(
        &self,
        channel_id: &str,
        message: &Message,
    ) -> Result<String, DiscordError> {
        let url = format!("{}/channels/{channel_id}/messages", self.api_url);
        let request = self
            .bot(self.http.post(url))
            .json(&render::create_message(message));
        message_id("create_message", send("create_message", request).await?)
    }

    /// `POST /channels/{id}/messages` into a thread, mentioning `mentions` (user ids) at the
    /// start; only those users are notified (`allowed_mentions`). Returns the message id.
    pub async fn create_thread_message(
        &self,
        thread_id: &str,
        message: &Message,
        mentions: &[String],
    ) -> Result<String, DiscordError> {
        let url = format!("{}/channels/{thread_id}/messages", self.api_url);
        let request = self
            .bot(self.http.post(url))
            .json(&render::thread_message(message, mentions));
        message_id(
            "create_thread_message",
            send("create_thread_message", request).await?,
        )
    }

    /// `POST /channels/{id}/messages/{message_id}/threads`: starts a thread from a message
    /// (named `name`, cut to Discord's 100 characters) and returns the thread's channel id.
    pub async fn start_thread(
        &self,
        channel_id: &str,
        message_id_: &str,
        name: &str,
    ) -> Result<String, DiscordError> {
        let url = format!(
            "{}/channels/{channel_id}/messages/{message_id_}/threads",
            self.api_url
        );
        let request = self
            .bot(self.http.post(url))
            .json(&render::start_thread(name));
        message_id("start_thread", send("start_thread", request).await?)
    }

    /// `PATCH /channels/{thread_id}` with `archived: false`: reopens an archived thread so
    /// that it can be posted in.
    pub async fn unarchive_thread(&self, thread_id: &str) -> Result<(), DiscordError> {
        let url = format!("{}/channels/{thread_id}", self.api_url);
        let request = self
            .bot(self.http.patch(url))
            .json(&render::unarchive_thread());
        send("unarchive_thread", request).await?;
        Ok(())
    }

    /// `PATCH /channels/{id}/messages/{message_id}`: replaces the text and buttons.
    pub async fn edit_message(
        &self,
        channel_id: &str,
        message_id: &str,
        message: &Message,
    ) -> Result<(), DiscordError> {
        let url = format!(
            "{}/channels/{channel_id}/messages/{message_id}",
            self.api_url
        );
        let request = self
            .bot(self.http.patch(url))
            .json(&render::edit_message(message));
        send("edit_message", request).await?;
        Ok(())
    }

    /// `POST /webhooks/{application_id}/{token}`: a follow-up to an interaction (valid 15
    /// minutes after it), returning the new message's id.
    pub async fn followup(
        &self,
        application_id: &str,
        interaction_token: &str,
        message: &Message,
        ephemeral: bool,
    ) -> Result<String, DiscordError> {
        // The interaction token in the path is the credential; the bot token is not sent.
        let url = format!(
            "{}/webhooks/{application_id}/{interaction_token}",
            self.api_url
        );
        let request = self
            .http
            .post(url)
            .json(&render::followup(message, ephemeral));
        message_id("followup", send("followup", request).await?)
    }

    /// `PATCH /webhooks/{application_id}/{token}/messages/@original`: edits the first
    /// response to an interaction.
    pub async fn edit_original(
        &self,
        application_id: &str,
        interaction_token: &str,
        message: &Message,
    ) -> Result<(), DiscordError> {
        let url = format!(
            "{}/webhooks/{application_id}/{interaction_token}/messages/@original",
            self.api_url
        );
        let request = self.http.patch(url).json(&render::edit_original(message));
        send("edit_original", request).await?;
        Ok(())
    }

    /// `POST /interactions/{id}/{token}/callback`: the first answer to an interaction that
    /// came over the Gateway (which, unlike the HTTP endpoint, has no response to put it in).
    /// `body` is the same interaction response the HTTP route would return.
    pub async fn interaction_callback(
        &self,
        interaction_id: &str,
        interaction_token: &str,
        body: &Value,
    ) -> Result<(), DiscordError> {
        // The interaction token in the path is the credential; the bot token is not sent.
        let url = format!(
            "{}/interactions/{interaction_id}/{interaction_token}/callback",
            self.api_url
        );
        // Discord answers 204 with no body; `send` reads an empty body as null.
        send("interaction_callback", self.http.post(url).json(body)).await?;
        Ok(())
    }

    /// `GET /gateway`: the WebSocket URL to connect the Gateway to.
    pub async fn gateway_url(&self) -> Result<String, DiscordError> {
        let url = format!("{}/gateway", self.api_url);
        let body = send("gateway", self.http.get(url)).await?;
        super::gateway::parse_gateway_url(body.to_string().as_bytes()).map_err(|problem| {
            DiscordError::new(ErrorKind::Permanent, format!("gateway: {problem}"))
        })
    }

    fn bot(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header(
            reqwest::header::AUTHORIZATION,
            format!("Bot {}", self.token.expose_secret()),
        )
    }
}

fn message_id(what: &str, body: Value) -> Result<String, DiscordError> {
    match body.get("id").and_then(Value::as_str) {
        Some(id) => Ok(id.to_string()),
        // Posted, but we cannot address it; retrying would post it twice.
        None => Err(DiscordError::new(
            ErrorKind::Permanent,
            format!("{what}: the answer has no message id"),
        )),
    }
}

async fn send(what: &str, request: reqwest::RequestBuilder) -> Result<Value, DiscordError> {
    let response = request.send().await.map_err(|e| transport(what, e))?;
    let status = response.status();
    let header_delay = retry_after_header(response.headers());
    let bytes = response.bytes().await.map_err(|e| transport(what, e))?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let code_number = body.get("code").and_then(Value::as_u64);
    let code = code_number
        .map(|c| format!(" (Discord code {c})"))
        .unwrap_or_default();
    let message = format!("{what}: HTTP {}{code}", status.as_u16());
    let kind = if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        // The body's `retry_after` (seconds, fractional) is the precise one; the header is
        // rounded up to whole seconds.
        let body_delay = body
            .get("retry_after")
            .and_then(Value::as_f64)
            .and_then(seconds);
        ErrorKind::Retryable {
            retry_after: body_delay.or(header_delay),
        }
    } else if status.is_server_error() {
        ErrorKind::Retryable { retry_after: None }
    } else {
        ErrorKind::Permanent
    };
    Err(DiscordError {
        kind,
        message,
        code: code_number,
    })
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    seconds(
        headers
            .get("retry-after")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?,
    )
}

/// A request that did not complete. Only a malformed request is permanent; a timeout, a
/// refused connection or a cut-off answer may well work next time.
fn transport(what: &str, e: reqwest::Error) -> DiscordError {
    let (kind, cause) = if e.is_builder() {
        (ErrorKind::Permanent, "the request could not be built")
    } else if e.is_timeout() {
        (ErrorKind::Retryable { retry_after: None }, "timed out")
    } else if e.is_connect() {
        (
            ErrorKind::Retryable { retry_after: None },
            "could not connect",
        )
    } else {
        (
            ErrorKind::Retryable { retry_after: None },
            "the connection failed",
        )
    };
    DiscordError::new(kind, format!("{what}: {cause}"))
}

#[cfg(test)]
mod tests;
