//! warden's Slack Web API client, on slack-morphism's hyper client: `chat.postMessage`,
//! `chat.update`, `chat.postEphemeral`, `chat.getPermalink`, `views.open`, and answers
//! through a `response_url`. Every failure is a `SlackError` that says whether a retry can
//! help, so the outbox can decide without knowing Slack (see `errors`).
//!
//! The library's own rate control stays off: the outbox owns pacing and retries across
//! replicas, and the library's throttle is per process. Its hyper client has no request
//! timeout, so every call here is bounded by `timeout`.
//!
//! The bot token lives only in slack-morphism's `SlackApiToken`, whose `Debug` shows its
//! length; it is never formatted into an error or a log. Errors never carry a URL or Slack's
//! answer either, because a `response_url` is a credential of its own.

mod errors;

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::{
    SlackApiChatGetPermalinkRequest, SlackApiChatPostEphemeralRequest,
    SlackApiChatPostMessageRequest, SlackApiChatUpdateRequest, SlackApiPostWebhookMessageResponse,
    SlackApiToken, SlackApiTokenValue, SlackApiViewsOpenRequest, SlackChannelId,
    SlackClientHyperConnector, SlackTriggerId, SlackTs, SlackUserId,
};
use slack_morphism::{ClientResult, SlackClientApiCallContext, SlackClientHttpConnector};

pub use errors::{ErrorKind, SlackError};

use super::render;
use crate::chat::message::{Message, Modal};

type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;

/// Calls Slack's Web API at a configurable base URL (a fake one on `http://127.0.0.1` in
/// tests, hence a connector that accepts plain HTTP as well as HTTPS).
#[derive(Clone)]
pub struct SlackClient {
    client: Arc<slack_morphism::SlackClient<Connector>>,
    api_url: String,
    token: SlackApiToken,
    timeout: Duration,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("api_url", &self.api_url)
            .field("token", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SlackClient {
    /// A client for `api_url` (`SLACK_API_URL`, e.g. `https://slack.com/api/`) with the bot
    /// token; each call gives up after `timeout`.
    pub fn new(api_url: String, token: SecretString, timeout: Duration) -> Self {
        // Webpki roots rather than the OS bundle, so that no image needs CA certificates;
        // `https_or_http` so that tests can point it at a fake on 127.0.0.1.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        // slack-morphism joins the base and the method with a `/` of its own.
        let base = api_url.trim_end_matches('/');
        let connector = SlackClientHyperConnector::with_connector(https).with_slack_api_url(base);
        SlackClient {
            client: Arc::new(slack_morphism::SlackClient::new(connector)),
            api_url,
            token: SlackApiToken::new(SlackApiTokenValue(token.expose_secret().to_string())),
            timeout,
        }
    }

    /// Runs one call within the timeout and classifies its failure.
    async fn call<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = ClientResult<T>>,
    ) -> Result<T, SlackError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(errors::classify(what, error)),
            Err(_) => Err(SlackError::retryable(None, format!("{what}: timed out"))),
        }
    }

    /// `chat.postMessage`: posts `message` in `channel_id` and returns its `ts`, the id under
    /// which it can be updated.
    pub async fn post_message(
        &self,
        channel_id: &str,
        message: &Message,
    ) -> Result<String, SlackError> {
        let request = SlackApiChatPostMessageRequest::new(
            SlackChannelId(channel_id.to_string()),
            render::content(message),
        );
        let session = self.client.open_session(&self.token);
        let answer = self
            .call("chat.postMessage", session.chat_post_message(&request))
            .await?;
        Ok(answer.ts.0)
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
        let request = SlackApiChatPostMessageRequest::new(
            SlackChannelId(channel_id.to_string()),
            render::mentioning(message, mentions),
        )
        .with_thread_ts(SlackTs(thread_ts.to_string()))
        .opt_reply_broadcast(broadcast.then_some(true));
        let session = self.client.open_session(&self.token);
        let answer = self
            .call("chat.postMessage", session.chat_post_message(&request))
            .await?;
        Ok(answer.ts.0)
    }

    /// `chat.getPermalink`: the link to the message `ts` in `channel_id` (a GET with query
    /// parameters, as slack-morphism sends this read method).
    pub async fn permalink(&self, channel_id: &str, ts: &str) -> Result<String, SlackError> {
        let method = "chat.getPermalink";
        let request = SlackApiChatGetPermalinkRequest::new(
            SlackChannelId(channel_id.to_string()),
            SlackTs(ts.to_string()),
        );
        let session = self.client.open_session(&self.token);
        let answer = self
            .call(method, session.chat_get_permalink(&request))
            .await?;
        // The link is shown in chat as a link: only a web address will do.
        match answer.permalink.scheme() {
            "https" | "http" => Ok(answer.permalink.to_string()),
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
        let request = SlackApiChatUpdateRequest::new(
            SlackChannelId(channel_id.to_string()),
            render::content(message),
            SlackTs(ts.to_string()),
        );
        let session = self.client.open_session(&self.token);
        self.call("chat.update", session.chat_update(&request))
            .await?;
        Ok(())
    }

    /// `chat.postEphemeral`: a message in `channel` that only `user` sees.
    pub async fn post_ephemeral_message(
        &self,
        channel: &str,
        user: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let request = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId(channel.to_string()),
            SlackUserId(user.to_string()),
            render::content(message),
        );
        let session = self.client.open_session(&self.token);
        self.call("chat.postEphemeral", session.chat_post_ephemeral(&request))
            .await?;
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
    ///
    /// slack-morphism's `respond_to_event` sends a request without `response_type`, which
    /// warden needs (an answer only the clicker sees, or one for the channel), so the body
    /// built from the library's models plus that field goes through the library's own HTTP
    /// connector instead. The response_url authorizes itself: no token is sent to it.
    pub async fn respond(
        &self,
        response_url: &str,
        message: &Message,
        ephemeral: bool,
        replace_original: bool,
    ) -> Result<(), SlackError> {
        let what = "response_url";
        let url = url::Url::parse(response_url)
            .map_err(|_| SlackError::permanent(format!("{what}: not a URL")))?;
        let body = render::response(message, ephemeral, replace_original);
        let span = tracing::Span::current();
        let context = SlackClientApiCallContext {
            rate_control_params: None,
            token: None,
            tracing_span: &span,
            // The library then logs a hash of the path, not the URL.
            is_sensitive_url: true,
        };
        let sent = self
            .client
            .http_api
            .connector
            .http_post_uri::<_, SlackApiPostWebhookMessageResponse>(url, &body, context);
        match tokio::time::timeout(self.timeout, sent).await {
            Ok(Ok(_)) => Ok(()),
            // A response_url answers a bare `ok`, and the library reads an HTTP 200 body it
            // cannot parse as a protocol error: the answer was accepted.
            Ok(Err(SlackClientError::ProtocolError(_))) => Ok(()),
            Ok(Err(error)) => Err(errors::classify(what, error)),
            Err(_) => Err(SlackError::retryable(None, format!("{what}: timed out"))),
        }
    }

    /// `views.open`: shows `modal` (the Deny reason form). `trigger_id` comes from the click
    /// and is valid for 3 seconds.
    pub async fn open_view(&self, trigger_id: &str, modal: &Modal) -> Result<(), SlackError> {
        let request = SlackApiViewsOpenRequest::new(
            SlackTriggerId(trigger_id.to_string()),
            render::view(modal),
        );
        let session = self.client.open_session(&self.token);
        self.call("views.open", session.views_open(&request))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
