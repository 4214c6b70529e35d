//! The three payloads warden accepts, parsed into neutral [`Alert`]s: Alertmanager's webhook
//! (version 4), Grafana's webhook contact point, and warden's generic alert. Unknown fields
//! are ignored (senders add fields between versions); a missing or mistyped field that warden
//! needs is an error naming it, answered 400.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Alert, AlertLink, AlertStatus};

/// The longest fingerprint kept; longer ones are refused rather than cut, since a cut one
/// could merge two alerts.
const MAX_FINGERPRINT: usize = 200;

/// Alertmanager's webhook body (`version: "4"`), and Grafana's, which extends it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupPayload {
    version: Option<String>,
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    // Grafana's additions.
    #[serde(rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(rename = "panelURL")]
    panel_url: Option<String>,
}

/// warden's generic alert (SPEC §2).
#[derive(Deserialize)]
struct GenericAlert {
    fingerprint: String,
    status: String,
    title: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    url: Option<String>,
}

/// Parses an Alertmanager webhook body.
pub fn alertmanager(body: &[u8]) -> Result<Vec<Alert>, String> {
    let payload: GroupPayload = serde_json::from_slice(body)
        .map_err(|e| format!("not an Alertmanager webhook payload: {}", serde_problem(&e)))?;
    match payload.version.as_deref() {
        Some("4") => {}
        Some(other) => {
            return Err(format!(
                "Alertmanager webhook version `{other}` is not supported: warden reads version 4"
            ))
        }
        None => {
            return Err(
                "the payload has no `version`: warden reads Alertmanager's version 4".into(),
            )
        }
    }
    payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, raw)| group_alert(i, raw))
        .collect()
}

/// Parses a Grafana webhook contact point body.
pub fn grafana(body: &[u8]) -> Result<Vec<Alert>, String> {
    let payload: GroupPayload = serde_json::from_slice(body)
        .map_err(|e| format!("not a Grafana webhook payload: {}", serde_problem(&e)))?;
    payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, raw)| group_alert(i, raw))
        .collect()
}

/// Parses a generic alert: one object, or a list of them.
pub fn webhook(body: &[u8]) -> Result<Vec<Alert>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {}", serde_problem(&e)))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let g: GenericAlert = serde_json::from_value(item)
                .map_err(|e| format!("alert {i}: not a generic alert ({{\"fingerprint\",\"status\",\"title\",…}}): {}", serde_problem(&e)))?;
            let status = status(i, &g.status)?;
            let fingerprint = fingerprint(i, Some(g.fingerprint), &g.labels)?;
            let mut annotations = g.annotations;
            if let Some(text) = g.text.filter(|t| !t.trim().is_empty()) {
                annotations.entry("description".into()).or_insert(text);
            }
            let title = g.title.trim().to_string();
            if title.is_empty() {
                return Err(format!("alert {i}: `title` is empty"));
            }
            let mut links = Vec::new();
            push_link(&mut links, "Runbook", annotations.get("runbook_url"));
            push_link(&mut links, "Open", g.url.as_ref());
            Ok(Alert {
                fingerprint,
                status,
                name: title,
                labels: g.labels,
                annotations,
                starts_at: None,
                ends_at: None,
                links,
            })
        })
        .collect()
}

fn group_alert(i: usize, raw: RawAlert) -> Result<Alert, String> {
    let status = status(i, &raw.status)?;
    let fingerprint = fingerprint(i, raw.fingerprint, &raw.labels)?;
    let starts_at = time(i, "startsAt", raw.starts_at.as_deref())?;
    let ends_at = match status {
        AlertStatus::Resolved => time(i, "endsAt", raw.ends_at.as_deref())?,
        // A firing alert's endsAt is when it would be considered resolved if not sent again:
        // not an end.
        AlertStatus::Firing => None,
    };
    let name = raw
        .labels
        .get("alertname")
        .filter(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| "(unnamed alert)".to_string());
    let mut links = Vec::new();
    push_link(&mut links, "Runbook", raw.annotations.get("runbook_url"));
    push_link(&mut links, "Source", raw.generator_url.as_ref());
    push_link(&mut links, "Dashboard", raw.dashboard_url.as_ref());
    push_link(&mut links, "Panel", raw.panel_url.as_ref());
    Ok(Alert {
        fingerprint,
        status,
        name,
        labels: raw.labels,
        annotations: raw.annotations,
        starts_at,
        ends_at,
        links,
    })
}

fn status(i: usize, s: &str) -> Result<AlertStatus, String> {
    AlertStatus::parse(s).ok_or_else(|| {
        format!(
            "alert {i}: status `{}` is neither firing nor resolved",
            cut(s)
        )
    })
}

/// The sender's fingerprint, or, when it sends none, one made from the labels (as
/// Alertmanager makes its own): the same labels are the same alert.
fn fingerprint(
    i: usize,
    given: Option<String>,
    labels: &BTreeMap<String, String>,
) -> Result<String, String> {
    match given.map(|f| f.trim().to_string()) {
        Some(f) if f.chars().count() > MAX_FINGERPRINT => Err(format!(
            "alert {i}: the fingerprint is longer than {MAX_FINGERPRINT} characters"
        )),
        Some(f) if f.contains('\0') => {
            Err(format!("alert {i}: the fingerprint holds a NUL character"))
        }
        Some(f) if !f.is_empty() => Ok(f),
        _ => {
            use sha2::{Digest, Sha256};
            let mut hasher = Sha256::new();
            for (k, v) in labels {
                hasher.update(k.as_bytes());
                hasher.update([0xff]);
                hasher.update(v.as_bytes());
                hasher.update([0xff]);
            }
            Ok(format!("labels:{}", hex::encode(&hasher.finalize()[..8])))
        }
    }
}

/// An RFC 3339 time; Alertmanager's zero time (`0001-01-01T00:00:00Z`) means none.
fn time(i: usize, field: &str, s: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|_| format!("alert {i}: `{field}` is not an RFC 3339 time: `{}`", cut(s)))?
        .with_timezone(&Utc);
    Ok(if t.timestamp() <= 0 { None } else { Some(t) })
}

/// Keeps a link only when it is an absolute http(s) URL of reasonable length: a chat platform
/// refuses a whole message for one bad URL, and a `javascript:` link has no business on a card.
fn push_link(links: &mut Vec<AlertLink>, label: &str, url: Option<&String>) {
    let Some(url) = url.map(|u| u.trim()).filter(|u| !u.is_empty()) else {
        return;
    };
    let ok = url.len() <= 2_000
        && url::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if ok {
        links.push(AlertLink {
            label: label.to_string(),
            url: url.to_string(),
        });
    }
}

/// serde's description of a problem, cut: it quotes a wrong-typed string whole (escaped, so
/// one control character becomes six), and an answer must not echo a payload back.
fn serde_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.chars().count() <= 200 {
        return text;
    }
    let mut short: String = text.chars().take(200).collect();
    short.push('…');
    short
}

/// A value quoted in an error, cut so an error never carries a whole payload.
fn cut(s: &str) -> String {
    s.chars().take(40).collect()
}
