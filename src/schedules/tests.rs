//! The schedules' slots, invocations and checks, by table.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::*;
use crate::commands::load::load_str;
use crate::config::parse_directory;

const DIRECTORY: &str = r#"
[tenants.acme]
slack_team = "T01"

[people.alice]
slack = "T01/UA"

[[schedules]]
name = "tick"
tenant = "acme"
run_as = "alice"
command = "restart web env=staging"
schedule = "every 10s"
channel = "slack:C01"

[[schedules]]
name = "raw"
tenant = "acme"
run_as = "slack:T01/UB"
command = "restart web"
schedule = "daily 03:00"
channel = "slack:C01"

[[schedules]]
name = "stranger"
tenant = "acme"
run_as = "slack:T09/UB"
command = "restart api colour=red"
schedule = "hourly"
channel = "slack:C01"

[[schedules]]
name = "builtin"
tenant = "acme"
run_as = "alice"
command = "whoami"
schedule = "hourly"
channel = "slack:C01"
"#;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn registry() -> Registry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("commands/restart.toml");
    let spec = load_str(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    Registry::from_specs(vec![spec]).unwrap()
}

#[test]
fn slots_fire_once_and_start_from_a_baseline() {
    let dir = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let every = &dir.schedules[0];
    let daily = &dir.schedules[1];
    let cases = [
        (
            every,
            None,
            "2026-11-22T10:00:07Z",
            Due::Baseline(t("2026-11-22T10:00:00Z")),
        ),
        (
            every,
            Some("2026-11-22T10:00:00Z"),
            "2026-11-22T10:00:09Z",
            Due::Nothing,
        ),
        (
            every,
            Some("2026-11-22T10:00:00Z"),
            "2026-11-22T10:00:10Z",
            Due::Fire(t("2026-11-22T10:00:10Z")),
        ),
        // An hour down: the latest slot fires, once.
        (
            every,
            Some("2026-11-22T10:00:00Z"),
            "2026-11-22T11:00:05Z",
            Due::Fire(t("2026-11-22T11:00:00Z")),
        ),
        (
            daily,
            None,
            "2026-11-22T14:00:00Z",
            Due::Baseline(t("2026-11-22T03:00:00Z")),
        ),
        (
            daily,
            Some("2026-11-22T03:00:00Z"),
            "2026-11-23T02:59:59Z",
            Due::Nothing,
        ),
        (
            daily,
            Some("2026-11-22T03:00:00Z"),
            "2026-11-23T03:00:00Z",
            Due::Fire(t("2026-11-23T03:00:00Z")),
        ),
    ];
    for (schedule, last, now, want) in cases {
        assert_eq!(
            due(schedule, last.map(t), t(now)),
            want,
            "{} {last:?} {now}",
            schedule.name
        );
    }
}

#[test]
fn a_run_is_an_ordinary_invocation_of_its_principal() {
    let dir = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let slot = t("2026-11-22T10:00:10Z");
    let inv = invocation(&dir.schedules[0], slot);
    assert_eq!(inv.platform, Platform::Console);
    assert_eq!(
        (inv.workspace.as_str(), inv.user.user.as_str()),
        ("acme", "alice")
    );
    assert_eq!(inv.command, "restart");
    assert_eq!(inv.input, ArgsInput::Text("web env=staging".into()));
    assert_eq!(inv.channel.as_deref(), Some("slack:C01"));
    assert_eq!(
        inv.replay_key.as_deref(),
        Some("schedule:tick:1795341610000")
    );
    let raw = invocation(&dir.schedules[1], slot);
    assert_eq!(
        (raw.platform, raw.workspace.as_str()),
        (Platform::Slack, "T01")
    );
}

#[test]
fn check_needs_a_command_with_valid_arguments_and_an_identity_of_the_tenant() {
    let dir = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let problems: Vec<String> = check(&dir, &registry())
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains(":24: schedule `stranger`: `restart api colour=red`"),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains(":24: schedule `stranger`: run_as `slack:T09/UB` is not an identity"),
        "{problems:#?}"
    );
    assert!(
        problems[2].contains(":32: schedule `builtin`: `whoami` is a built-in"),
        "{problems:#?}"
    );
}

#[test]
fn the_config_is_checked_line_by_line() {
    let bad = r#"
[tenants.acme]
slack_team = "T01"

[people.alice]
slack = "T01/UA"

[[schedules]]
name = "fast"
tenant = "acme"
run_as = "alice"
command = "restart web"
schedule = "every 5s"
channel = "slack:C01"

[[schedules]]
name = "fast"
tenant = "nope"
run_as = "group:sre"
command = "restart web"
schedule = "daily 25:00"
channel = "C01"

[[digests]]
tenant = "acme"
channel = "slack:C02"
schedule = "every 1h"
"#;
    let problems: Vec<String> = parse_directory(Path::new("warden.toml"), bad)
        .unwrap_err()
        .iter()
        .map(|p| p.to_string())
        .collect();
    let want = [
        "warden.toml:13: `every 5s`: a schedule runs every 10s at least",
        "warden.toml:17: schedule `fast` is already declared (line 8)",
        "warden.toml:18: unknown tenant `nope`",
        "warden.toml:19: a schedule runs as one principal",
        "warden.toml:21: `daily 25:00`: the time must be between 00:00 and 23:59",
        "warden.toml:22: channel:",
        "warden.toml:27: a digest is posted hourly, daily HH:MM or weekly mon HH:MM",
    ];
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
    for (got, want) in problems.iter().zip(want) {
        assert!(got.starts_with(want), "{got} should start with {want}");
    }
}
