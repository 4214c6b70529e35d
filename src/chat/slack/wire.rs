//! Slack's slash-command and Events API shapes, reduced to the fields warden reads. Unknown fields are ignored
//! because Slack adds fields over time.

use serde::Deserialize;

/// A slash command, as Slack posts it (form-encoded).
#[derive(Clone, Deserialize)]
pub struct SlashCommand {
    /// The workspace (team) id.
    pub team_id: String,
    /// The user who typed the command.
    pub user_id: String,
    /// The user's handle, for display only.
    #[serde(default)]
    pub user_name: Option<String>,
    /// The channel the command was typed in.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// The slash command itself, e.g. `/ops`.
    pub command: String,
    /// Everything typed after the slash command.
    #[serde(default)]
    pub text: String,
    /// Where delayed answers go (valid 30 minutes, 5 uses).
    #[serde(default)]
    pub response_url: Option<String>,
}

// By hand, so that `response_url` (a credential, valid 30 minutes) never reaches a log through
// `{:?}`, as for interactions.
impl std::fmt::Debug for SlashCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlashCommand")
            .field("team_id", &self.team_id)
            .field("user_id", &self.user_id)
            .field("user_name", &self.user_name)
            .field("channel_id", &self.channel_id)
            .field("command", &self.command)
            .field("text", &self.text)
            .field(
                "response_url",
                &self.response_url.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// An Events API callback.
#[derive(Debug, Clone)]
pub enum EventRequest {
    /// The endpoint check Slack makes when the Events URL is configured.
    UrlVerification {
        /// The value to echo back.
        challenge: String,
    },
    /// A mention of the bot in a channel.
    AppMention {
        /// The event id, identical across Slack's retries of the same event.
        event_id: String,
        /// The workspace.
        team_id: String,
        /// Who mentioned the bot.
        user: String,
        /// Where.
        channel: String,
    },
    /// Any other event: acknowledged and ignored.
    Other {
        /// The event id, when there is one.
        event_id: Option<String>,
    },
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event: Option<RawInner>,
}

#[derive(Deserialize)]
struct RawInner {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

/// Parses an Events API body (already verified).
pub fn parse_event(body: &[u8]) -> Result<EventRequest, String> {
    let raw: RawEvent =
        serde_json::from_slice(body).map_err(|e| format!("not a Slack event: {e}"))?;
    match raw.kind.as_str() {
        "url_verification" => Ok(EventRequest::UrlVerification {
            challenge: raw
                .challenge
                .ok_or("url_verification without a challenge")?,
        }),
        "event_callback" => match (raw.event, raw.event_id, raw.team_id) {
            (Some(inner), Some(event_id), Some(team_id)) if inner.kind == "app_mention" => {
                Ok(EventRequest::AppMention {
                    event_id,
                    team_id,
                    user: inner.user.ok_or("app_mention without a user")?,
                    channel: inner.channel.ok_or("app_mention without a channel")?,
                })
            }
            (_, event_id, _) => Ok(EventRequest::Other { event_id }),
        },
        _ => Ok(EventRequest::Other {
            event_id: raw.event_id,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `response_url` of a slash command is a credential: `Debug` output, which logs may
    /// carry, never shows it.
    #[test]
    fn slash_command_debug_hides_the_response_url() {
        let cmd: SlashCommand = serde_urlencoded::from_str(
            "team_id=T01&user_id=U01&command=%2Fops&text=help&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT01%2F1%2Fsecret",
        )
        .unwrap();
        let shown = format!("{cmd:?}");
        assert!(!shown.contains("hooks.slack.com"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("T01"),
            "{shown}"
        );
    }

    #[test]
    fn events_parse() {
        let v =
            parse_event(br#"{"token":"x","challenge":"abc","type":"url_verification"}"#).unwrap();
        assert!(matches!(v, EventRequest::UrlVerification { challenge } if challenge == "abc"));
        let m = parse_event(
            br#"{"type":"event_callback","team_id":"T01","event_id":"Ev1","event":{"type":"app_mention","user":"U1","channel":"C1","text":"<@UB> hi"}}"#,
        )
        .unwrap();
        assert!(matches!(m, EventRequest::AppMention { event_id, .. } if event_id == "Ev1"));
        assert!(parse_event(b"{").is_err());
    }
}
