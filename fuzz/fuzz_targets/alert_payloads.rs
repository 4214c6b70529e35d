//! Alert payloads from monitoring (SPEC §15): Alertmanager's webhook, Grafana's contact point
//! and warden's generic alert.
//!
//! Input: one byte choosing the parser (`a` Alertmanager, `g` Grafana, anything else the
//! generic webhook), then the body as the sender posts it.
//!
//! Invariants:
//! - no input panics; a refusal is a non-empty message that does not carry more than a short
//!   cut of what was sent;
//! - parsing is deterministic;
//! - every alert has a name and a fingerprint of 1 to 200 characters without NUL (the key of
//!   its card: a cut one could merge two alerts), and only `http(s)` links with a host (a chat
//!   platform refuses a whole message for one bad URL; a `javascript:` link has no place on a
//!   card);
//! - a resolved alert's end is never before the Unix epoch, and a firing one has none;
//! - an alert survives its stored form (`alerts.alert` is its JSON) unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::alerts::{parse, Alert, AlertStatus};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let parser: fn(&[u8]) -> Result<Vec<Alert>, String> = match which {
        b'a' => parse::alertmanager,
        b'g' => parse::grafana,
        _ => parse::webhook,
    };
    let first = parser(body);
    assert_eq!(first, parser(body), "parsing is deterministic");
    let alerts = match first {
        Ok(alerts) => alerts,
        Err(message) => {
            assert!(!message.is_empty());
            // A refusal quotes at most a short cut of a value, plus serde's own context.
            assert!(
                message.chars().count() < 400 + body.len().min(200),
                "{message}"
            );
            return;
        }
    };
    for alert in &alerts {
        assert!(!alert.name.trim().is_empty());
        let n = alert.fingerprint.chars().count();
        assert!((1..=200).contains(&n), "fingerprint of {n} characters");
        assert!(!alert.fingerprint.contains('\0'));
        for link in &alert.links {
            let url = url::Url::parse(&link.url).expect("a shown link parses");
            assert!(matches!(url.scheme(), "http" | "https"), "{}", link.url);
            assert!(url.host().is_some(), "{}", link.url);
        }
        match alert.status {
            AlertStatus::Firing => assert!(alert.ends_at.is_none()),
            AlertStatus::Resolved => {
                assert!(alert.ends_at.is_none_or(|t| t.timestamp() > 0));
            }
        }
        let stored = serde_json::to_string(alert).expect("an alert serializes");
        let back: Alert = serde_json::from_str(&stored).expect("and reads back");
        assert_eq!(&back, alert);
    }
});
