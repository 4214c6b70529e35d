//! The silence a Silence click asks Alertmanager for (`POST {silence_url}/api/v2/silences`):
//! one equality matcher per label of the alert, so it silences exactly this alert.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{display_id, Alert};

/// The body of the silence request.
pub fn request(
    id: i64,
    alert: &Alert,
    created_by: &str,
    now: DateTime<Utc>,
    seconds: u64,
) -> Value {
    let matchers: Vec<Value> = alert
        .labels
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value, "isRegex": false, "isEqual": true }))
        .collect();
    let ends = now + chrono::Duration::seconds(seconds.min(i64::MAX as u64) as i64);
    json!({
        "matchers": matchers,
        "startsAt": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "endsAt": ends.to_rfc3339_opts(SecondsFormat::Secs, true),
        "createdBy": created_by,
        "comment": format!("Silenced from warden by {created_by}: {} `{}`", display_id(id), alert.name),
    })
}

/// The silence id in Alertmanager's answer (`{"silenceID": "…"}`).
pub fn silence_id(answer: &Value) -> Option<String> {
    answer
        .get("silenceID")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .map(str::to_string)
}

/// The silences API of an Alertmanager.
pub fn url(silence_url: &str) -> String {
    format!("{}/api/v2/silences", silence_url.trim_end_matches('/'))
}
