//! The Discord Gateway's wire format: the op frames Discord sends, the ones warden sends back,
//! and what a close code means. Pure parsing and serialising; the connection loop that uses
//! them is `transport::discord_gateway`. serenity has a Gateway client, but its `gateway`
//! feature pulls its TLS backend (tokio-tungstenite 0.21, rustls 0.22 with open advisories),
//! so warden speaks the few frames it needs itself.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

/// The API version and encoding warden speaks; appended to the Gateway URL.
pub const QUERY: &str = "v=10&encoding=json";

/// A frame Discord sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// op 10: the first frame, with the heartbeat interval.
    Hello {
        /// How often to heartbeat.
        heartbeat_interval: Duration,
    },
    /// op 11: Discord received the last heartbeat.
    HeartbeatAck,
    /// op 1: Discord asks for a heartbeat now.
    HeartbeatRequest,
    /// op 7: Discord asks warden to reconnect and resume.
    Reconnect,
    /// op 9: the session is invalid; `resumable` says whether a RESUME may still work.
    InvalidSession {
        /// Discord's `d`.
        resumable: bool,
    },
    /// op 0: an event, with its sequence number.
    Dispatch {
        /// `s`, the sequence number to heartbeat and resume with.
        seq: Option<u64>,
        /// The event.
        event: Dispatch,
    },
    /// Any other op code: ignored.
    Other(u64),
}

/// The events warden reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Dispatch {
    /// The session is identified: what resuming it later needs.
    Ready {
        /// The session id.
        session_id: String,
        /// The URL to resume at (without the query).
        resume_gateway_url: String,
    },
    /// A RESUME worked; missed events follow.
    Resumed,
    /// An interaction: `d` as Discord sent it, the same body the HTTP endpoint receives.
    InteractionCreate(Value),
    /// Any other event name: ignored (with intents 0 there are few).
    Other(String),
}

#[derive(Deserialize)]
struct Frame {
    op: u64,
    #[serde(default)]
    d: Value,
    #[serde(default)]
    s: Option<u64>,
    #[serde(default)]
    t: Option<String>,
}

/// Reads a text frame. A frame that is not JSON or lacks what its op code needs is an error
/// naming the problem, never a panic.
pub fn parse(text: &str) -> Result<Incoming, String> {
    let frame: Frame =
        serde_json::from_str(text).map_err(|e| format!("not a Gateway frame: {e}"))?;
    Ok(match frame.op {
        0 => Incoming::Dispatch {
            seq: frame.s,
            event: dispatch(frame.t.as_deref().unwrap_or_default(), frame.d)?,
        },
        1 => Incoming::HeartbeatRequest,
        7 => Incoming::Reconnect,
        9 => Incoming::InvalidSession {
            resumable: frame.d.as_bool().unwrap_or(false),
        },
        10 => {
            let millis = frame
                .d
                .get("heartbeat_interval")
                .and_then(Value::as_u64)
                .filter(|ms| *ms > 0)
                .ok_or("HELLO without a heartbeat_interval")?;
            Incoming::Hello {
                heartbeat_interval: Duration::from_millis(millis),
            }
        }
        11 => Incoming::HeartbeatAck,
        other => Incoming::Other(other),
    })
}

fn dispatch(name: &str, d: Value) -> Result<Dispatch, String> {
    Ok(match name {
        "READY" => {
            let text = |key: &str| {
                d.get(key)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or(format!("READY without {key}"))
            };
            Dispatch::Ready {
                session_id: text("session_id")?,
                resume_gateway_url: text("resume_gateway_url")?,
            }
        }
        "RESUMED" => Dispatch::Resumed,
        "INTERACTION_CREATE" if d.is_object() => Dispatch::InteractionCreate(d),
        "INTERACTION_CREATE" => return Err("INTERACTION_CREATE without a body".into()),
        other => Dispatch::Other(other.to_string()),
    })
}

/// Where a Gateway interaction is answered: its id and token, for
/// `POST /interactions/{id}/{token}/callback`. The token is a credential: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The interaction id (also the replay key).
    pub id: String,
    /// The interaction token.
    pub token: String,
}

impl std::fmt::Debug for CallbackTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackTarget")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// The callback address of an INTERACTION_CREATE's body, read before the body is parsed, so
/// that even an interaction warden cannot read gets an answer.
pub fn callback_target(interaction: &Value) -> Option<CallbackTarget> {
    let text = |key: &str| interaction.get(key)?.as_str().map(str::to_string);
    Some(CallbackTarget {
        id: text("id")?,
        token: text("token")?,
    })
}

/// op 1: a heartbeat with the last sequence number received.
pub fn heartbeat(seq: Option<u64>) -> String {
    json!({ "op": 1, "d": seq }).to_string()
}

/// op 2: IDENTIFY with the bot token and no intents: interactions come without any, and no
/// privileged intent has to be switched on in the developer portal. The result holds the
/// token: send it, never log it.
pub fn identify(token: &str) -> String {
    json!({
        "op": 2,
        "d": {
            "token": token,
            "intents": 0,
            "properties": { "os": std::env::consts::OS, "browser": "warden", "device": "warden" },
        }
    })
    .to_string()
}

/// op 6: RESUME a session after a drop. The result holds the token: send it, never log it.
pub fn resume(token: &str, session_id: &str, seq: Option<u64>) -> String {
    json!({ "op": 6, "d": { "token": token, "session_id": session_id, "seq": seq } }).to_string()
}

/// `url` with warden's version and encoding query, as Discord asks connections to carry.
pub fn connect_url(url: &str) -> String {
    if url.contains('?') {
        return format!("{url}&{QUERY}");
    }
    format!("{}/?{QUERY}", url.trim_end_matches('/'))
}

/// The URL in the answer of `GET /gateway`.
pub fn parse_gateway_url(body: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Answer {
        url: String,
    }
    serde_json::from_slice::<Answer>(body)
        .map(|a| a.url)
        .map_err(|e| format!("not a GET /gateway answer: {e}"))
}

/// What a close code from Discord means for the next connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// Connect again and RESUME the session.
    Resume,
    /// Connect again with a new IDENTIFY (the session cannot be resumed).
    Identify,
    /// No retry can work until an operator changes something: stop, saying why.
    Stop(&'static str),
}

/// Reads a close code. 4004 means the token was refused; 4010–4014 mean a configuration
/// Discord will keep refusing (shards, API version, intents). 4007 and 4009 end the session;
/// any other close (or none) leaves it resumable.
pub fn close_action(code: Option<u16>) -> CloseAction {
    match code {
        Some(4004) => CloseAction::Stop(
            "authentication failed (close code 4004): Discord refused DISCORD_BOT_TOKEN",
        ),
        Some(4010) => CloseAction::Stop("invalid shard (close code 4010)"),
        Some(4011) => CloseAction::Stop("sharding required (close code 4011)"),
        Some(4012) => CloseAction::Stop("invalid API version (close code 4012)"),
        Some(4013) => CloseAction::Stop("invalid intents (close code 4013)"),
        Some(4014) => CloseAction::Stop("disallowed intents (close code 4014)"),
        Some(4007) | Some(4009) => CloseAction::Identify,
        _ => CloseAction::Resume,
    }
}

/// The close code warden sends when it drops a connection it means to resume: Discord ends a
/// session closed with 1000 or 1001, so any other code keeps it resumable.
pub const RESUMABLE_CLOSE: u16 = 4000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_op_warden_uses() {
        let cases = [
            (
                r#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#,
                Incoming::Hello {
                    heartbeat_interval: Duration::from_millis(41250),
                },
            ),
            (r#"{"op":11}"#, Incoming::HeartbeatAck),
            (r#"{"op":1,"d":null}"#, Incoming::HeartbeatRequest),
            (r#"{"op":7,"d":null}"#, Incoming::Reconnect),
            (
                r#"{"op":9,"d":true}"#,
                Incoming::InvalidSession { resumable: true },
            ),
            (
                r#"{"op":9,"d":false}"#,
                Incoming::InvalidSession { resumable: false },
            ),
            (
                r#"{"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"abc","resume_gateway_url":"wss://r.example"}}"#,
                Incoming::Dispatch {
                    seq: Some(1),
                    event: Dispatch::Ready {
                        session_id: "abc".into(),
                        resume_gateway_url: "wss://r.example".into(),
                    },
                },
            ),
            (
                r#"{"op":0,"s":5,"t":"RESUMED","d":{}}"#,
                Incoming::Dispatch {
                    seq: Some(5),
                    event: Dispatch::Resumed,
                },
            ),
            (
                r#"{"op":0,"s":2,"t":"INTERACTION_CREATE","d":{"id":"1","type":2}}"#,
                Incoming::Dispatch {
                    seq: Some(2),
                    event: Dispatch::InteractionCreate(json!({"id":"1","type":2})),
                },
            ),
            (
                r#"{"op":0,"s":3,"t":"GUILD_CREATE","d":{}}"#,
                Incoming::Dispatch {
                    seq: Some(3),
                    event: Dispatch::Other("GUILD_CREATE".into()),
                },
            ),
            (r#"{"op":42}"#, Incoming::Other(42)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn refuses_frames_without_what_they_need() {
        for text in [
            "",
            "[]",
            r#"{"d":1}"#,
            r#"{"op":10,"d":{}}"#,
            r#"{"op":10,"d":{"heartbeat_interval":0}}"#,
            r#"{"op":0,"t":"READY","d":{"session_id":"x"}}"#,
            r#"{"op":0,"t":"INTERACTION_CREATE","d":null}"#,
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn writes_identify_resume_and_heartbeat() {
        let identify: Value = serde_json::from_str(&identify("tok")).unwrap();
        assert_eq!(identify["op"], 2);
        assert_eq!(identify["d"]["token"], "tok");
        assert_eq!(identify["d"]["intents"], 0);
        assert_eq!(identify["d"]["properties"]["browser"], "warden");
        let resume: Value = serde_json::from_str(&resume("tok", "s1", Some(7))).unwrap();
        assert_eq!(
            resume,
            json!({"op": 6, "d": {"token": "tok", "session_id": "s1", "seq": 7}})
        );
        assert_eq!(heartbeat(None), r#"{"d":null,"op":1}"#);
        assert_eq!(heartbeat(Some(3)), r#"{"d":3,"op":1}"#);
    }

    #[test]
    fn callback_target_redacts_the_token() {
        let target = callback_target(&json!({"id": "5", "token": "secret-tok"})).unwrap();
        assert_eq!(target.id, "5");
        assert!(!format!("{target:?}").contains("secret-tok"));
        assert!(callback_target(&json!({"id": "5"})).is_none());
    }

    #[test]
    fn close_codes() {
        assert!(matches!(close_action(Some(4004)), CloseAction::Stop(r) if r.contains("4004")));
        for code in 4010..=4014 {
            assert!(matches!(close_action(Some(code)), CloseAction::Stop(_)));
        }
        assert_eq!(close_action(Some(4007)), CloseAction::Identify);
        assert_eq!(close_action(Some(4009)), CloseAction::Identify);
        for code in [None, Some(1000), Some(1006), Some(4000), Some(4008)] {
            assert_eq!(close_action(code), CloseAction::Resume);
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            connect_url("wss://gateway.discord.gg"),
            "wss://gateway.discord.gg/?v=10&encoding=json"
        );
        assert_eq!(
            connect_url("ws://127.0.0.1:5/"),
            "ws://127.0.0.1:5/?v=10&encoding=json"
        );
        assert_eq!(
            parse_gateway_url(br#"{"url":"wss://gateway.discord.gg"}"#).unwrap(),
            "wss://gateway.discord.gg"
        );
        assert!(parse_gateway_url(b"{}").is_err());
    }
}
