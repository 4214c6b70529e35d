//! Searching the audit log: the filter people write (`audit command=deploy since=24h` in chat,
//! `warden audit search --command deploy --since 24h` on the command line) and the chat
//! rendering of the results.
//!
//! Architecture invariant: this module does no IO and reads no clock; `now` comes in as an
//! argument. `storage::Store::search_audit` runs the filter.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::AuditEvent;
use crate::model::parse_duration;

/// How many events a search returns when `last` is not given.
pub const DEFAULT_LAST: u32 = 20;

/// The most events one search returns.
pub const MAX_LAST: u32 = 500;

/// The longest result text, so that it fits one chat message (Slack cuts at about 4000).
pub const MAX_RESULT_CHARS: usize = 3500;

/// Which events a search returns: the newest `last` events matching every filter that is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only this tenant's events. Chat sets it to the caller's tenant; `parse_filter` never
    /// sets it, so nobody can search across tenants from chat.
    pub tenant: Option<String>,
    /// Events whose target is this command, or whose details name it (`details.command`).
    pub command: Option<String>,
    /// Events by this actor.
    pub actor: Option<String>,
    /// Events of this kind or family: `job` and `job.` match every `job.*` kind, `job.failed`
    /// matches only itself.
    pub kind: Option<String>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Events strictly before this time.
    pub until: Option<DateTime<Utc>>,
    /// At most this many events, the newest ones (1 to [`MAX_LAST`]).
    pub last: u32,
}

impl Default for SearchFilter {
    fn default() -> Self {
        SearchFilter {
            tenant: None,
            command: None,
            actor: None,
            kind: None,
            since: None,
            until: None,
            last: DEFAULT_LAST,
        }
    }
}

/// Parses the chat form `audit [command=deploy] [actor=alice] [kind=job.failed]
/// [since=24h|2026-11-01] [until=…] [last=50]`. `words` are the positional words: one bare word
/// is taken as the command (`audit deploy`), and `name=value` words are accepted there too.
/// Returns a sentence to show the caller when something is wrong; never panics.
pub fn parse_filter(
    words: &[String],
    named: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<SearchFilter, String> {
    let mut filter = SearchFilter::default();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for word in words {
        match word.split_once('=') {
            Some((name, value)) => pairs.push((name.to_string(), value.to_string())),
            None if filter.command.is_none() => filter.command = Some(word.clone()),
            None => {
                return Err(format!(
                "`{word}`: write filters as name=value (command, actor, kind, since, until, last)"
            ))
            }
        }
    }
    pairs.extend(named.iter().cloned());
    for (name, value) in pairs {
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(format!("`{name}=` needs a value"));
        }
        match name.as_str() {
            "command" => filter.command = Some(value),
            "actor" => filter.actor = Some(value),
            "kind" => filter.kind = Some(value),
            "since" => filter.since = Some(parse_time(&value, now)?),
            "until" => filter.until = Some(parse_time(&value, now)?),
            "last" | "n" => filter.last = parse_last(&value)?,
            other => {
                return Err(format!(
                    "unknown filter `{other}`: use command, actor, kind, since, until or last"
                ))
            }
        }
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since >= until {
            return Err("`since` must be before `until`".to_string());
        }
    }
    Ok(filter)
}

/// A point in time as people write it: a duration back from `now` (`24h`, `7d`), a UTC date
/// (`2026-11-01`, meaning its midnight) or an RFC 3339 time.
pub fn parse_time(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if value.starts_with(|c: char| c.is_ascii_digit()) && value.ends_with(['s', 'm', 'h', 'd']) {
        let back = parse_duration(value)?;
        let back =
            chrono::Duration::from_std(back).map_err(|_| format!("`{value}` is too long ago"))?;
        return now
            .checked_sub_signed(back)
            .ok_or_else(|| format!("`{value}` is too long ago"));
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("`{value}` is not a time: write a duration (24h, 7d), a date (2026-11-01) or an RFC 3339 time")
        })
}

/// How many events to return, 1 to [`MAX_LAST`].
pub fn parse_last(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_LAST).contains(&n) => Ok(n),
        _ => Err(format!(
            "`last={value}`: write a number from 1 to {MAX_LAST}"
        )),
    }
}

/// The results as one chat message: a header, then one line per event, `E-n HH:MM:SS UTC actor
/// kind target details`, under a date line whenever the day changes. When they do not fit in
/// [`MAX_RESULT_CHARS`], the oldest are left out and counted.
pub fn render_results(events: &[AuditEvent], tenant: &str) -> String {
    if events.is_empty() {
        return format!("No audit events in `{tenant}` match.");
    }
    let header = format!("Audit events in `{tenant}`, oldest first:");
    // Newest first, so that what is left out when space runs out is the oldest.
    let mut kept: Vec<&AuditEvent> = Vec::new();
    let mut used = header.len() + 80;
    for event in events.iter().rev() {
        let cost = event_line(event).len() + 12 + 1;
        if used + cost > MAX_RESULT_CHARS {
            break;
        }
        used += cost;
        kept.push(event);
    }
    kept.reverse();
    let mut lines = vec![header];
    let left_out = events.len() - kept.len();
    if left_out > 0 {
        lines.push(format!("({left_out} more; narrow the search)"));
    }
    lines.push("```".to_string());
    let mut day = String::new();
    for event in kept {
        let (date, _) = split_at(&event.at);
        if date != day {
            lines.push(format!("{date}:"));
            day = date;
        }
        lines.push(event_line(event));
    }
    lines.push("```".to_string());
    lines.join("\n")
}

/// One event without its date.
fn event_line(event: &AuditEvent) -> String {
    let (_, time) = split_at(&event.at);
    let mut line = format!(
        "{} {time} UTC {} {} {}",
        event.display_id(),
        event.actor,
        event.kind,
        event.target
    );
    let details = details_summary(&event.details);
    if !details.is_empty() {
        line.push(' ');
        line.push_str(&details);
    }
    line.replace("```", "'''")
}

/// `2026-11-22T09:15:02.123Z` as (`2026-11-22`, `09:15:02`); anything else as (``, itself).
fn split_at(at: &str) -> (String, String) {
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            (
                t.format("%Y-%m-%d").to_string(),
                t.format("%H:%M:%S").to_string(),
            )
        }
        Err(_) => (String::new(), at.to_string()),
    }
}

/// The details as `key=value` pairs, the platform left out, at most about 100 characters.
pub fn details_summary(details: &str) -> String {
    const MAX: usize = 100;
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(details)
    else {
        return truncate(details, MAX);
    };
    let parts: Vec<String> = map
        .iter()
        .filter(|(k, v)| k.as_str() != "platform" && !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    truncate(&parts.join(" "), MAX)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T12:00:00Z".parse().unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn check(text: &str, expect: Result<SearchFilter, &str>) {
        let mut words = Vec::new();
        let mut named = Vec::new();
        for w in text.split_whitespace() {
            match w.split_once('=') {
                Some((k, v)) => named.push((k.to_string(), v.to_string())),
                None => words.push(w.to_string()),
            }
        }
        let got = parse_filter(&words, &named, now());
        match expect {
            Ok(filter) => assert_eq!(got, Ok(filter), "{text}"),
            Err(part) => {
                let err = got.expect_err(text);
                assert!(err.contains(part), "{text}: {err}");
            }
        }
    }

    #[test]
    fn filters_parse() {
        let f = SearchFilter::default;
        check("", Ok(f()));
        check(
            "command=deploy actor=alice kind=job.failed",
            Ok(SearchFilter {
                command: Some("deploy".into()),
                actor: Some("alice".into()),
                kind: Some("job.failed".into()),
                ..f()
            }),
        );
        check(
            "deploy",
            Ok(SearchFilter {
                command: Some("deploy".into()),
                ..f()
            }),
        );
        check(
            "since=24h last=50",
            Ok(SearchFilter {
                since: Some(t("2026-11-21T12:00:00Z")),
                last: 50,
                ..f()
            }),
        );
        check(
            "since=2026-11-01 until=2026-11-02T06:30:00Z",
            Ok(SearchFilter {
                since: Some(t("2026-11-01T00:00:00Z")),
                until: Some(t("2026-11-02T06:30:00Z")),
                ..f()
            }),
        );
        // `name=value` may also arrive among the positional words.
        assert_eq!(
            parse_filter(&["actor=bob".to_string()], &[], now()).map(|f| f.actor),
            Ok(Some("bob".to_string()))
        );
        check("deploy rollback", Err("name=value"));
        check("tenant=globex", Err("unknown filter `tenant`"));
        check("last=0", Err("1 to 500"));
        check("last=501", Err("1 to 500"));
        check("last=many", Err("1 to 500"));
        check("since=yesterday", Err("is not a time"));
        check("since=0h", Err("at least 1s"));
        check("since=2026-11-02 until=2026-11-01", Err("before `until`"));
        check("actor=", Err("needs a value"));
    }

    fn event(id: i64, at: &str, details: &str) -> AuditEvent {
        AuditEvent {
            id,
            tenant: "acme".into(),
            seq: id,
            at: at.into(),
            actor: "alice".into(),
            kind: "command.invoked".into(),
            target: "deploy".into(),
            channel: String::new(),
            request_id: String::new(),
            details: details.into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn results_render_one_line_each_with_day_headers() {
        let events = [
            event(
                1,
                "2026-11-21T23:59:58.000Z",
                r#"{"platform":"slack","env":"prod"}"#,
            ),
            event(2, "2026-11-22T00:00:01.500Z", "{}"),
        ];
        assert_eq!(
            render_results(&events, "acme"),
            "Audit events in `acme`, oldest first:\n```\n2026-11-21:\n\
             E-1 23:59:58 UTC alice command.invoked deploy env=prod\n2026-11-22:\n\
             E-2 00:00:01 UTC alice command.invoked deploy\n```"
        );
        assert_eq!(
            render_results(&[], "acme"),
            "No audit events in `acme` match."
        );
    }

    #[test]
    fn long_results_keep_the_newest_and_count_the_rest() {
        let long = format!(r#"{{"error":"{}"}}"#, "x".repeat(300));
        let events: Vec<_> = (1..=200)
            .map(|i| event(i, "2026-11-22T10:00:00.000Z", &long))
            .collect();
        let text = render_results(&events, "acme");
        assert!(text.len() <= MAX_RESULT_CHARS, "{}", text.len());
        assert!(text.contains("E-200 "));
        assert!(!text.contains("E-1 "));
        let shown = text.lines().filter(|l| l.starts_with("E-")).count();
        assert!(text.contains(&format!("({} more; narrow the search)", 200 - shown)));
    }
}
