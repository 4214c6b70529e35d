//! Tests of [`Schedule`] and of loading `warden.toml`: syntax and semantic problems with their
//! lines, defaults, warnings and the example file.

use super::*;
use chrono::TimeZone;

use crate::model::Platform;

#[test]
fn schedules() {
    let cases = [
        ("hourly", Some(Schedule::Hourly), "hourly"),
        (
            "daily 09:00",
            Some(Schedule::Daily { hour: 9, minute: 0 }),
            "daily 09:00",
        ),
        (
            "daily  7:05",
            Some(Schedule::Daily { hour: 7, minute: 5 }),
            "daily 07:05",
        ),
        (
            "weekly Monday 23:59",
            Some(Schedule::Weekly {
                weekday: Weekday::Mon,
                hour: 23,
                minute: 59,
            }),
            "weekly mon 23:59",
        ),
        ("daily 24:00", None, ""),
        ("daily 9:5", None, ""),
        ("daily", None, ""),
        ("weekly 09:00", None, ""),
        ("weekly funday 09:00", None, ""),
        ("monthly 1 09:00", None, ""),
        ("", None, ""),
    ];
    for (input, want, shown) in cases {
        let got = input.parse::<Schedule>().ok();
        assert_eq!(got, want, "{input}");
        if let Some(s) = got {
            assert_eq!(s.to_string(), shown);
            assert_eq!(shown.parse::<Schedule>(), Ok(s));
        }
    }
}

fn problems(text: &str) -> Vec<(Option<usize>, String)> {
    parse_directory(Path::new("warden.toml"), text)
        .unwrap_err()
        .into_iter()
        .map(|p| (p.line, p.message))
        .collect()
}

/// Asserts that the problems are exactly `want`: a line and a fragment of the message each.
fn assert_problems(text: &str, want: &[(usize, &str)]) {
    let got = problems(text);
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, message), (want_line, fragment)) in got.iter().zip(want) {
        assert_eq!(*line, Some(*want_line), "{message}");
        assert!(
            message.contains(fragment),
            "line {want_line}: `{message}` lacks `{fragment}`"
        );
    }
}

#[test]
fn syntax_and_shape_errors_have_lines() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[tenants.acme]\nslack_team = \"T01\"\nbogus = 1\n",
            3,
            "unknown field `bogus`",
        ),
        (
            "[tenants.acme]\nslack_team = \"T01\"\n\n[widgets]\n",
            4,
            "unknown field `widgets`",
        ),
        (
            "[people.alice]\nslack = \"T01/U1\"\nemail = \"a@b\"\n",
            3,
            "unknown field `email`",
        ),
        (
            "\n[[bindings]]\nsubject = \"x\"\ntenant = \"a\"\nrole = \"viewer\"\nwhen = 1\n",
            6,
            "unknown field `when`",
        ),
        ("[tenants.acme]\nslack_team = 12\n", 2, "invalid type"),
        (
            "[people.alice]\nslack = 3\n",
            2,
            "an identity string or a list",
        ),
        ("[groups]\nsre = \"alice\"\n", 2, "invalid type"),
        (
            "\n\n[[bindings]]\ntenant = \"a\"\nrole = \"viewer\"\n",
            3,
            "missing field `subject`",
        ),
        ("[tenants.acme\n", 1, ""),
        ("a = 1\na = 2\n", 2, ""),
    ];
    for (text, line, fragment) in cases {
        let got = problems(text);
        assert_eq!(got.len(), 1, "{text}: {got:?}");
        assert_eq!(got[0].0, Some(*line), "{text}: {got:?}");
        assert!(got[0].1.contains(fragment), "{text}: {got:?}");
    }
}

#[test]
fn every_semantic_problem_with_its_line() {
    let text = r#"
[tenants.acme]
slack_team = "T01"
alert_channel = "mail:ops"
breakglass = ["group:nobody", "Bad Subject"]

[tenants.Acme2]
slack_team = "T01"
discord_guild = "9x"

[tenants.globex]
discord_guild = "900"

[tenants.initech]
discord_guild = "900"

[tenants.empty]

[people.alice]
slack = "T01/UA"
discord = ["900/1", "900/1"]

[people.bob]
slack = ["T01/UB", "T01/UA"]
discord = "guild/user"

[people.Carol]
slack = "T01"

[groups]
sre = ["alice", "zed"]
"Big Group" = []

[[bindings]]
subject = "group:missing"
tenant = "nope"
role = "root"
environments = []
expires = "tomorrow"

[[bindings]]
subject = "mallory"
tenant = "acme"
role = "viewer"
environments = ["prod", "Prod Env"]

[[bindings]]
subject = "slack:T01/U99"
tenant = "acme"
role = "viewer"
expires = "2020-01-01T00:00:00Z"

[[digests]]
tenant = "acme"
schedule = "daily 25:00"

[[digests]]
tenant = "ghost"
channel = "slack:C1"
schedule = "hourly"

[[digests]]
tenant = "globex"
channel = "slack:"
schedule = "hourly"
"#;
    assert_problems(
        text,
        &[
            (4, "alert_channel: `mail:ops` is not a channel"),
            (5, "unknown group `nobody`"),
            (5, "`Bad Subject` is not a subject"),
            (7, "tenant name `Acme2` must be lowercase"),
            (
                8,
                "slack_team `T01` is already used by tenant `acme` (line 3)",
            ),
            (9, "discord_guild `9x` is not a valid id"),
            (
                15,
                "discord_guild `900` is already used by tenant `globex` (line 12)",
            ),
            (
                17,
                "tenant `empty` needs a slack_team, a discord_guild or both",
            ),
            (
                21,
                "discord:900/1 is already linked to person `alice` (line 21)",
            ),
            (
                24,
                "slack:T01/UA is already linked to person `alice` (line 20)",
            ),
            (25, "Discord guild and user ids are numbers"),
            (27, "person name `Carol` must be lowercase"),
            (28, "`T01` is not a slack identity"),
            (31, "group `sre` lists unknown person `zed`"),
            (32, "group name `Big Group` must be lowercase"),
            (35, "unknown group `missing`"),
            (36, "unknown tenant `nope`"),
            (37, "unknown role `root`"),
            (38, "environments is empty"),
            (39, "expires: `tomorrow` is not an RFC 3339 time"),
            (42, "unknown person `mallory`"),
            (45, "environment `Prod Env` must be `*` or lowercase"),
            (53, "tenant `acme` has no audit_channel to default to"),
            (55, "daily 25:00"),
            (58, "unknown tenant `ghost`"),
            (
                64,
                "channel: `slack:`: the channel id must be letters and digits",
            ),
        ],
    );
}

#[test]
fn digest_channel_defaults_to_audit_channel() {
    let text = "[tenants.acme]\nslack_team = \"T01\"\naudit_channel = \"slack:C0AUDIT\"\n\n[tenants.bare]\nslack_team = \"T02\"\n\n[[digests]]\ntenant = \"acme\"\nschedule = \"hourly\"\n";
    let dir = parse_directory(Path::new("warden.toml"), text).unwrap();
    assert_eq!(dir.digests[0].channel.to_string(), "slack:C0AUDIT");
    let bad = format!("{text}\n[[digests]]\ntenant = \"bare\"\nschedule = \"hourly\"\n");
    assert_problems(&bad, &[(12, "tenant `bare` has no audit_channel")]);
}

#[test]
fn expired_bindings_are_warnings_not_errors() {
    let text = "[tenants.acme]\nslack_team = \"T01\"\n\n[[bindings]]\nsubject = \"slack:T01/U1\"\ntenant = \"acme\"\nrole = \"admin\"\nexpires = 2026-01-01T00:00:00Z\n\n[[bindings]]\nsubject = \"slack:T01/U2\"\ntenant = \"acme\"\nrole = \"viewer\"\n";
    let dir = parse_directory(Path::new("/etc/warden/warden.toml"), text).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(dir.bindings[0].expires, Some(at));
    assert_eq!(dir.bindings[0].source, "warden.toml:4");
    assert_eq!(dir.bindings[1].environments, ["*"]);
    assert_eq!(dir.bindings[1].source, "warden.toml:10");
    assert!(dir.warnings(at - chrono::Duration::seconds(1)).is_empty());
    let warnings = dir.warnings(at);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, Some(4));
    assert_eq!(
        warnings[0].to_string(),
        "warden.toml:4: the binding of `admin` to slack:T01/U1 in `acme` expired at 2026-01-01 00:00 UTC; it grants nothing until it is renewed or removed"
    );
}

#[test]
fn empty_file_is_the_empty_directory() {
    assert_eq!(
        parse_directory(Path::new("warden.toml"), ""),
        Ok(Directory::default())
    );
    let missing = load_directory(Path::new("/nonexistent/warden.toml")).unwrap_err();
    assert_eq!(missing[0].line, None);
    assert!(missing[0].message.starts_with("cannot read the file"));
}

#[test]
fn example_file_parses() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/warden.example.toml"));
    let dir = load_directory(path).unwrap_or_else(|problems| {
        panic!(
            "{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let acme = &dir.tenants["acme"];
    assert_eq!(acme.slack_team.as_deref(), Some("T0ACME"));
    assert_eq!(acme.breakglass, [Subject::Group("oncall".into())]);
    for name in ["alice", "bob", "carol", "dave"] {
        let platforms: Vec<Platform> = dir.people[name]
            .identities
            .iter()
            .map(|u| u.platform)
            .collect();
        assert_eq!(platforms, [Platform::Slack, Platform::Discord], "{name}");
    }
    for group in ["sre", "sre-leads", "oncall"] {
        assert!(dir.groups.contains_key(group), "{group}");
    }
    let roles: Vec<Role> = dir.bindings.iter().map(|b| b.role).collect();
    assert_eq!(
        roles,
        [Role::Viewer, Role::Operator, Role::Admin, Role::Operator]
    );
    assert_eq!(dir.digests[0].channel, acme.audit_channel.clone().unwrap());
    let before_2026_end = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    assert!(dir.warnings(before_2026_end).is_empty());
}

#[test]
fn alert_sources_and_routes_report_every_problem_with_its_line() {
    let text = r#"[tenants.acme]
slack_team = "T1"

[tenants.quiet]
slack_team = "T2"

[alert_sources.prom]
kind = "alertmanager"
token_env = "PROM_ALERT_TOKEN"
silence_url = "not a url"

[alert_sources.open]
kind = "grafana"

[alert_sources.odd]
kind = "nagios"
token_env = "lowercase"

[[alert_routes]]
source = "prom"
tenant = "acme"
channel = "slack:C1"
match_re = { alertname = "(" }
actions = [
  { label = "Restart", command = "restart {{labels.service}}" },
  { label = "Both", command = "restart", silence = "1h" },
]

[[alert_routes]]
source = "nowhere"
tenant = "quiet"
storm = 0
"#;
    let found = problems(text);
    let lines: Vec<usize> = found.iter().filter_map(|(l, _)| *l).collect();
    let text_of = |line: usize| {
        found
            .iter()
            .filter(|(l, _)| *l == Some(line))
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(text_of(10).contains("silence_url `not a url`"), "{found:?}");
    assert!(text_of(12).contains("needs token_env"), "{found:?}");
    assert!(text_of(16).contains("`nagios`"), "{found:?}");
    assert!(
        text_of(17).contains("not an environment variable name"),
        "{found:?}"
    );
    assert!(
        text_of(23).contains("not a regular expression"),
        "{found:?}"
    );
    assert!(text_of(25).contains("names every argument"), "{found:?}");
    assert!(
        text_of(26).contains("a command or a silence, not both"),
        "{found:?}"
    );
    assert!(
        text_of(30).contains("unknown alert source `nowhere`"),
        "{found:?}"
    );
    assert!(text_of(29).contains("no alert_channel"), "{found:?}");
    assert!(text_of(32).contains("storm"), "{found:?}");
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "sorted by line: {found:?}"
    );
}

#[test]
fn unknown_keys_of_alert_tables_are_refused() {
    let text = "[tenants.acme]\nslack_team = \"T1\"\n\n[alert_sources.prom]\nkind = \"alertmanager\"\ntoken_env = \"T\"\ncolour = \"red\"\n";
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Some(7), "{found:?}");
    assert!(found[0].1.contains("colour"), "{found:?}");
}
