//! How values read on a page: times both absolute (UTC) and relative to `now`, durations, and
//! audit details as key/value pairs. Shared by the job page, the dashboard and their streams.

use chrono::{DateTime, TimeDelta, Utc};
use maud::{html, Markup};

/// Parses a stored RFC 3339 time.
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A stored time as people read it, in UTC. Text that is not RFC 3339 is shown as it is rather
/// than hidden, so a storage bug stays visible.
pub(super) fn absolute(text: &str) -> String {
    match parse_time(text) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => text.to_owned(),
    }
}

/// How long ago (or how far ahead) `at` is from `now`: `just now`, `42 s ago`, `5 min ago`,
/// `3 h ago`, `2 d ago`, `in 11 h`.
pub(super) fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let (ahead, secs) = (secs < 0, secs.unsigned_abs());
    let amount = match secs {
        0..=4 => return "just now".to_owned(),
        5..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    };
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A time as a `<time>` element: absolute in UTC, then relative to `now` in a span that the
/// page's script keeps current (`data-at`). Unparseable text is shown as it is.
pub(super) fn moment(text: &str, now: DateTime<Utc>) -> Markup {
    match parse_time(text) {
        Some(at) => {
            let iso = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            html! {
                time datetime=(iso) { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
                " " span.rel data-at=(iso) { "(" (relative(at, now)) ")" }
            }
        }
        None => html! { (text) },
    }
}

/// A duration as people read it: `350 ms`, `12s`, `4m 05s`, `2h 03m 00s`, `1d 2h 03m`.
pub(super) fn human_duration(d: TimeDelta) -> String {
    // Clock skew between replicas can make a later step look earlier; show zero, not nonsense.
    let ms = d.num_milliseconds().max(0);
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    let (days, hours, mins, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{mins}m {secs:02}s"),
        (0, _, _) => format!("{hours}h {mins:02}m {secs:02}s"),
        _ => format!("{days}d {hours}h {mins:02}m"),
    }
}

/// Audit details as key/value pairs: a JSON object is flattened (`plan.hash`), strings are shown
/// without quotes and other values as compact JSON. Details that are not a JSON object are one
/// pair with an empty key, so nothing recorded is ever hidden.
pub(super) fn detail_pairs(details: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(serde_json::Value::Object(map)) => {
            let mut pairs = Vec::new();
            for (key, value) in &map {
                flatten(key, value, &mut pairs);
            }
            pairs
        }
        _ if details.trim().is_empty() => Vec::new(),
        _ => vec![(String::new(), details.to_owned())],
    }
}

fn flatten(key: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (inner, value) in map {
                flatten(&format!("{key}.{inner}"), value, out);
            }
        }
        serde_json::Value::String(text) => out.push((key.to_owned(), text.clone())),
        other => out.push((key.to_owned(), other.to_string())),
    }
}

/// Audit details as a wrapping definition list (empty details render nothing).
pub(super) fn details(details: &str) -> Markup {
    let pairs = detail_pairs(details);
    html! {
        @if !pairs.is_empty() {
            dl.kv {
                @for (key, value) in &pairs {
                    dt { (key) } dd { (value) }
                }
            }
        }
    }
}

/// The badge class for a status. Only known statuses get their colour; the status text itself
/// never lands in an attribute.
pub(super) fn status_class(status: &str) -> &'static str {
    match status {
        "queued" => "badge s-queued",
        "running" => "badge s-running",
        "succeeded" | "approved" => "badge s-succeeded",
        "failed" | "denied" => "badge s-failed",
        "timed_out" | "expired" => "badge s-timed_out",
        "cancelled" | "pending" => "badge s-cancelled",
        _ => "badge s-unknown",
    }
}

/// A status as people read it (`timed_out` → `timed out`).
pub(super) fn status_text(status: &str) -> String {
    status.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = parse_time("2026-03-01T12:00:00Z").unwrap();
        for (at, expected) in [
            ("2026-03-01T12:00:00Z", "just now"),
            ("2026-03-01T11:59:18Z", "42 s ago"),
            ("2026-03-01T11:55:00Z", "5 min ago"),
            ("2026-03-01T09:00:00Z", "3 h ago"),
            ("2026-02-27T12:00:00Z", "2 d ago"),
            ("2026-03-01T23:00:00Z", "in 11 h"),
        ] {
            assert_eq!(relative(parse_time(at).unwrap(), now), expected, "{at}");
        }
    }

    #[test]
    fn details_become_pairs() {
        assert_eq!(
            detail_pairs(r#"{"command":"deploy","plan":{"hash":"ab","n":2},"ok":true}"#),
            vec![
                ("command".into(), "deploy".into()),
                ("ok".into(), "true".into()),
                ("plan.hash".into(), "ab".into()),
                ("plan.n".into(), "2".into()),
            ]
        );
        assert_eq!(
            detail_pairs("not json"),
            vec![(String::new(), "not json".into())]
        );
        assert!(detail_pairs("").is_empty());
    }

    #[test]
    fn durations() {
        for (ms, expected) in [
            (350, "350 ms"),
            (12_000, "12s"),
            (245_000, "4m 05s"),
            (7_380_000, "2h 03m 00s"),
            (93_780_000, "1d 2h 03m"),
            (-5, "0 ms"),
        ] {
            assert_eq!(human_duration(TimeDelta::milliseconds(ms)), expected);
        }
    }
}
