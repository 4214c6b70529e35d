//! Events API callbacks, parsed into slack-morphism's `SlackPushEvent` and reduced to what
//! warden acts on: the URL check and a mention of the bot.

use slack_morphism::prelude::{SlackEventCallbackBody, SlackPushEvent};

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

/// Parses an Events API body (already verified). The two envelopes warden reads
/// (`url_verification`, `event_callback`) must parse as slack-morphism models, or the body is
/// refused with the library's reason; any other envelope type (one Slack adds later, say) is
/// acknowledged and ignored, as before.
pub fn parse_event(body: &[u8]) -> Result<EventRequest, String> {
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not a Slack event: {e}"))?;
    let kind = raw.get("type").and_then(serde_json::Value::as_str);
    if !matches!(kind, Some("url_verification" | "event_callback")) {
        let event_id = raw
            .get("event_id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        return Ok(EventRequest::Other { event_id });
    }
    let event: SlackPushEvent =
        serde_json::from_value(raw).map_err(|e| format!("not a Slack event: {e}"))?;
    Ok(match event {
        SlackPushEvent::UrlVerification(check) => EventRequest::UrlVerification {
            challenge: check.challenge,
        },
        SlackPushEvent::EventCallback(callback) => match callback.event {
            SlackEventCallbackBody::AppMention(mention) => EventRequest::AppMention {
                event_id: callback.event_id.0,
                team_id: callback.team_id.0,
                user: mention.user.0,
                channel: mention.channel.0,
            },
            _ => EventRequest::Other {
                event_id: Some(callback.event_id.0),
            },
        },
        SlackPushEvent::AppRateLimited(_) => EventRequest::Other { event_id: None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse() {
        let v =
            parse_event(br#"{"token":"x","challenge":"abc","type":"url_verification"}"#).unwrap();
        assert!(matches!(v, EventRequest::UrlVerification { challenge } if challenge == "abc"));
        let m = parse_event(
            br#"{"type":"event_callback","team_id":"T01","api_app_id":"A01","event_id":"Ev1","event_time":1700000000,"event":{"type":"app_mention","user":"U1","channel":"C1","text":"<@UB> hi","ts":"1.1"}}"#,
        )
        .unwrap();
        assert!(matches!(m, EventRequest::AppMention { event_id, .. } if event_id == "Ev1"));
        assert!(parse_event(b"{").is_err());
    }

    /// The `app_mention` callback as slackapi/bolt-python `tests/scenario_tests/test_app_mention.py`
    /// sends it, with `authorizations` and a rich-text block.
    #[test]
    fn bolt_app_mention_parses() {
        let body = serde_json::json!({
            "token": "verification_token",
            "team_id": "T111",
            "enterprise_id": "E111",
            "api_app_id": "A111",
            "event": {
                "client_msg_id": "9cbd4c5b-7ddf-4ede-b479-ad21fca66d63",
                "type": "app_mention",
                "text": "<@W111> Hi there!",
                "user": "W222",
                "ts": "1595926230.009600",
                "team": "T111",
                "channel": "C111",
                "event_ts": "1595926230.009600"
            },
            "type": "event_callback",
            "event_id": "Ev111",
            "event_time": 1595926230,
            "authorizations": [{
                "enterprise_id": "E111", "team_id": "T111", "user_id": "W111",
                "is_bot": true, "is_enterprise_install": false
            }]
        });
        let event = parse_event(body.to_string().as_bytes()).unwrap();
        let EventRequest::AppMention {
            event_id,
            team_id,
            user,
            channel,
        } = event
        else {
            panic!("expected a mention, got {event:?}")
        };
        assert_eq!(
            (
                event_id.as_str(),
                team_id.as_str(),
                user.as_str(),
                channel.as_str()
            ),
            ("Ev111", "T111", "W222", "C111")
        );
    }

    #[test]
    fn other_events_and_envelopes_are_ignored_and_broken_ones_refused() {
        let reaction = br#"{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"Ev2","event_time":1,"event":{"type":"reaction_added","user":"U1","reaction":"eyes","item":{"type":"message","channel":"C1","ts":"1.1"},"event_ts":"1.2"}}"#;
        assert!(matches!(
            parse_event(reaction).unwrap(),
            EventRequest::Other { event_id: Some(id) } if id == "Ev2"
        ));
        assert!(matches!(
            parse_event(br#"{"type":"something_new","event_id":"Ev3"}"#).unwrap(),
            EventRequest::Other { event_id: Some(id) } if id == "Ev3"
        ));
        // An `event_callback` without its envelope fields names what is missing.
        let err = parse_event(br#"{"type":"event_callback","event":{"type":"app_mention"}}"#)
            .unwrap_err();
        assert!(err.starts_with("not a Slack event"), "{err}");
        assert!(parse_event(br#"{"type":"url_verification"}"#).is_err());
    }
}
