//! A minimal Slack Web API client: the calls the foundation needs (an ephemeral answer to an
//! `app_mention`). The durable outbox and the full client come with the outbox issue; until
//! then a failed post is logged and counted, never retried.

use secrecy::{ExposeSecret, SecretString};

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

    /// `chat.postEphemeral`: a message in `channel` that only `user` sees.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}chat.postEphemeral", self.api_url))
            .bearer_auth(self.token.expose_secret())
            .json(&serde_json::json!({ "channel": channel, "user": user, "text": text }))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("chat.postEphemeral: {}", e.without_url()))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() || body["ok"] != serde_json::Value::Bool(true) {
            anyhow::bail!(
                "chat.postEphemeral failed: HTTP {status}, error `{}`",
                body["error"].as_str().unwrap_or("unknown")
            );
        }
        Ok(())
    }
}
