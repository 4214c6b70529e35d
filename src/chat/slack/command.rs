//! A slash command, parsed into slack-morphism's `SlackCommandEvent`. The library's model has
//! no `user_name`, which warden shows in answers, so that one field is read from the same form.

use slack_morphism::prelude::SlackCommandEvent;

/// A verified slash command: slack-morphism's model plus the typist's handle.
#[derive(Clone)]
pub struct SlashCommand {
    /// The command as slack-morphism parses it (team, channel, user, command, text,
    /// `response_url`, `trigger_id`).
    pub event: SlackCommandEvent,
    /// The user's handle, for display only.
    pub user_name: Option<String>,
}

// By hand, so that `response_url` (a credential, valid 30 minutes) never reaches a log through
// `{:?}`, as for interactions.
impl std::fmt::Debug for SlashCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.event;
        f.debug_struct("SlashCommand")
            .field("team_id", &e.team_id.0)
            .field("user_id", &e.user_id.0)
            .field("user_name", &self.user_name)
            .field("channel_id", &e.channel_id.0)
            .field("command", &e.command.0)
            .field("text", &e.text)
            .field("response_url", &"[redacted]")
            .finish()
    }
}

/// Parses a form-encoded slash command body (already verified). A body slack-morphism cannot
/// read (a missing `channel_id`, `response_url` or `trigger_id`, which Slack always sends) is
/// refused with the library's reason.
pub fn parse_command(body: &[u8]) -> Result<SlashCommand, String> {
    let event = serde_urlencoded::from_bytes::<SlackCommandEvent>(body)
        .map_err(|e| format!("not a Slack slash command: {e}"))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| format!("not a Slack slash command: {e}"))?;
    let user_name = fields
        .into_iter()
        .find_map(|(k, v)| (k == "user_name").then_some(v));
    Ok(SlashCommand { event, user_name })
}

/// Parses the JSON payload of a Socket Mode `slash_commands` envelope: the same fields as the
/// HTTP form, as a JSON object.
pub fn parse_command_payload(payload: &serde_json::Value) -> Result<SlashCommand, String> {
    let event = serde_json::from_value::<SlackCommandEvent>(payload.clone())
        .map_err(|e| format!("not a Slack slash command: {e}"))?;
    let user_name = payload
        .get("user_name")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    Ok(SlashCommand { event, user_name })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `response_url` of a slash command is a credential: `Debug` output, which logs may
    /// carry, never shows it.
    #[test]
    fn slash_command_debug_hides_the_response_url() {
        let cmd = parse_command(
            b"team_id=T01&user_id=U01&channel_id=C01&command=%2Fops&text=help&trigger_id=1.2.3&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT01%2F1%2Fsecret",
        )
        .unwrap();
        let shown = format!("{cmd:?}");
        assert!(!shown.contains("hooks.slack.com"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("T01"),
            "{shown}"
        );
    }

    /// The body Slack documents for a slash command (docs.slack.dev, "Implementing slash
    /// commands"), with every field it sends.
    #[test]
    fn documented_body_parses() {
        let body = "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456";
        let cmd = parse_command(body.as_bytes()).unwrap();
        assert_eq!(cmd.event.team_id.0, "T0001");
        assert_eq!(cmd.event.user_id.0, "U2147483697");
        assert_eq!(cmd.event.channel_id.0, "C2147483705");
        assert_eq!(cmd.event.command.0, "/weather");
        assert_eq!(cmd.event.text.as_deref(), Some("94070"));
        assert_eq!(cmd.user_name.as_deref(), Some("Steve"));
        assert_eq!(
            cmd.event.response_url.0.as_str(),
            "https://hooks.slack.com/commands/1234/5678"
        );
        // Without the fields Slack always sends, the library refuses it, and so do we.
        let err = parse_command(b"team_id=T0001&user_id=U1&command=%2Fops").unwrap_err();
        assert!(err.starts_with("not a Slack slash command"), "{err}");
    }
}
