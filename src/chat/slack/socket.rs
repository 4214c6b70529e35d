//! Slack Socket Mode's wire format: the answer of `apps.connections.open`, the frames Slack
//! sends over the WebSocket, and the acknowledgement warden sends back. slack-morphism has a
//! Socket Mode client, but its envelope types cannot be named from outside the crate and it
//! handles the envelopes of one connection one at a time; warden drives the socket itself
//! (`transport::slack_socket`) and keeps the JSON here.

use serde::Deserialize;
use serde_json::Value;

/// The answer of `apps.connections.open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The WebSocket URL to connect to (valid for one connection).
    Url(String),
    /// The app token was refused (`invalid_auth`, `not_authed`, `token_revoked`, …): no retry
    /// can succeed until an operator changes it.
    Refused(String),
    /// Another error (`ratelimited`, `internal_error`, …): worth retrying later.
    Failed(String),
}

/// The Slack errors that mean the app token itself is wrong or gone.
const TOKEN_ERRORS: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "not_allowed_token_type",
];

/// Reads the body of `apps.connections.open`.
pub fn parse_opened(body: &[u8]) -> Opened {
    #[derive(Deserialize)]
    struct Body {
        ok: bool,
        url: Option<String>,
        error: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(Body {
            ok: true,
            url: Some(url),
            ..
        }) => Opened::Url(url),
        Ok(Body { error, .. }) => {
            let error = error.unwrap_or_else(|| "no url in the answer".to_string());
            if TOKEN_ERRORS.contains(&error.as_str()) {
                Opened::Refused(error)
            } else {
                Opened::Failed(error)
            }
        }
        Err(e) => Opened::Failed(format!("not an apps.connections.open answer: {e}")),
    }
}

/// A frame Slack sends over a Socket Mode connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The connection is ready; Slack says how many connections the app has open (more than
    /// the replicas running means another process shares the token and its requests).
    Hello {
        /// The app's open Socket Mode connections, this one included.
        num_connections: Option<u64>,
    },
    /// Slack will close this connection soon (`refresh_requested`, `warning`,
    /// `link_disabled`); a new one should be opened first.
    Disconnect {
        /// Slack's reason.
        reason: String,
    },
    /// A request to acknowledge.
    Envelope(Envelope),
    /// A frame type warden does not know: ignored.
    Other(String),
}

/// What an envelope carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeKind {
    /// A slash command; the ack's payload is the answer.
    SlashCommand,
    /// A click or a form submission.
    Interactive,
    /// An Events API callback.
    EventsApi,
}

/// One request from Slack, to be acknowledged with its `envelope_id` within 3 seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The id to acknowledge; the same when Slack delivers the envelope again.
    pub envelope_id: String,
    /// What it carries.
    pub kind: EnvelopeKind,
    /// The request, in the same JSON as over HTTP (the slash-command form as an object).
    pub payload: Value,
    /// Whether Slack reads a `payload` in the ack (slash commands, view submissions).
    pub accepts_response_payload: bool,
}

/// Parses one text frame. A frame that is not JSON, or an envelope without an id, is an
/// error; a frame of an unknown type is `Other`.
pub fn parse_frame(text: &str) -> Result<Frame, String> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "type")]
        kind: String,
        envelope_id: Option<String>,
        payload: Option<Value>,
        #[serde(default)]
        accepts_response_payload: bool,
        reason: Option<String>,
        num_connections: Option<u64>,
    }
    let raw: Raw =
        serde_json::from_str(text).map_err(|e| format!("not a Socket Mode frame: {e}"))?;
    let kind = match raw.kind.as_str() {
        "hello" => {
            return Ok(Frame::Hello {
                num_connections: raw.num_connections,
            })
        }
        "disconnect" => {
            return Ok(Frame::Disconnect {
                reason: raw.reason.unwrap_or_default(),
            })
        }
        "slash_commands" => EnvelopeKind::SlashCommand,
        "interactive" => EnvelopeKind::Interactive,
        "events_api" => EnvelopeKind::EventsApi,
        _ => return Ok(Frame::Other(raw.kind)),
    };
    let envelope_id = raw
        .envelope_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("a `{}` envelope without an envelope_id", raw.kind))?;
    Ok(Frame::Envelope(Envelope {
        envelope_id,
        kind,
        payload: raw.payload.unwrap_or(Value::Null),
        accepts_response_payload: raw.accepts_response_payload,
    }))
}

/// The acknowledgement of an envelope, with the answer when there is one.
pub fn ack(envelope_id: &str, payload: Option<&Value>) -> String {
    let mut ack = serde_json::json!({ "envelope_id": envelope_id });
    if let Some(payload) = payload {
        ack["payload"] = payload.clone();
    }
    ack.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_open_answers() {
        let cases: &[(&str, Opened)] = &[
            (
                r#"{"ok":true,"url":"wss://wss.slack.com/link/?ticket=1"}"#,
                Opened::Url("wss://wss.slack.com/link/?ticket=1".into()),
            ),
            (
                r#"{"ok":false,"error":"invalid_auth"}"#,
                Opened::Refused("invalid_auth".into()),
            ),
            (
                r#"{"ok":false,"error":"token_revoked"}"#,
                Opened::Refused("token_revoked".into()),
            ),
            (
                r#"{"ok":false,"error":"ratelimited"}"#,
                Opened::Failed("ratelimited".into()),
            ),
            (
                r#"{"ok":true}"#,
                Opened::Failed("no url in the answer".into()),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(&parse_opened(body.as_bytes()), expected, "{body}");
        }
        assert!(matches!(parse_opened(b"<html>"), Opened::Failed(_)));
    }

    /// Frames in the shapes Slack documents ("Using Socket Mode", docs.slack.dev).
    #[test]
    fn frames() {
        let hello = r#"{"type":"hello","num_connections":1,"debug_info":{"host":"applink-1"},"connection_info":{"app_id":"A1"}}"#;
        assert_eq!(
            parse_frame(hello).unwrap(),
            Frame::Hello {
                num_connections: Some(1)
            }
        );
        let bye = r#"{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"h"}}"#;
        assert_eq!(
            parse_frame(bye).unwrap(),
            Frame::Disconnect {
                reason: "refresh_requested".into()
            }
        );
        let slash = r#"{"envelope_id":"e1","payload":{"command":"/ops","text":"help"},"type":"slash_commands","accepts_response_payload":true}"#;
        let Frame::Envelope(env) = parse_frame(slash).unwrap() else {
            panic!("an envelope")
        };
        assert_eq!(env.envelope_id, "e1");
        assert_eq!(env.kind, EnvelopeKind::SlashCommand);
        assert!(env.accepts_response_payload);
        assert_eq!(env.payload["text"], "help");
        let event = r#"{"envelope_id":"e2","payload":{"type":"event_callback"},"type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}"#;
        assert!(matches!(
            parse_frame(event).unwrap(),
            Frame::Envelope(Envelope {
                kind: EnvelopeKind::EventsApi,
                ..
            })
        ));
        assert_eq!(
            parse_frame(r#"{"type":"something_new"}"#).unwrap(),
            Frame::Other("something_new".into())
        );
        assert!(parse_frame(r#"{"type":"interactive","payload":{}}"#).is_err());
        assert!(parse_frame("not json").is_err());
    }

    #[test]
    fn acks() {
        assert_eq!(ack("e1", None), r#"{"envelope_id":"e1"}"#);
        let answer = serde_json::json!({"text": "hi"});
        let sent: Value = serde_json::from_str(&ack("e1", Some(&answer))).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"envelope_id": "e1", "payload": {"text": "hi"}})
        );
    }
}
