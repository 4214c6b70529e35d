use std::collections::BTreeMap;

use super::card::{actions_for, card, CardActionKind};
use super::template::CommandTemplate;
use super::*;
use crate::chat::ButtonKind;

const AM: &str = include_str!("../../tests/fixtures/alertmanager.json");
const GRAFANA: &str = include_str!("../../tests/fixtures/grafana.json");

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn alertmanager_payloads_become_one_alert_each_with_their_links() {
    let alerts = parse::alertmanager(AM.as_bytes()).unwrap();
    assert_eq!(alerts.len(), 2);
    let a = &alerts[0];
    assert_eq!(a.fingerprint, "c2a1e3b4d5f60718");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.name, "HighErrorRate");
    assert_eq!(a.severity(), Some("critical"));
    assert_eq!(a.ends_at, None, "a firing alert's zero endsAt is no end");
    assert_eq!(
        a.links.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(),
        ["Runbook", "Source"]
    );
}

#[test]
fn grafana_payloads_carry_dashboard_and_panel_links() {
    let alerts = parse::grafana(GRAFANA.as_bytes()).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].name, "DiskFull");
    assert_eq!(
        alerts[0]
            .links
            .iter()
            .map(|l| l.label.as_str())
            .collect::<Vec<_>>(),
        ["Source", "Dashboard", "Panel"]
    );
}

#[test]
fn malformed_payloads_name_the_problem() {
    type Parser = fn(&[u8]) -> Result<Vec<Alert>, String>;
    let cases: [(&str, Parser, &str); 7] = [
        ("{}", parse::alertmanager, "missing field `alerts`"),
        (r#"{"alerts":[]}"#, parse::alertmanager, "no `version`"),
        (
            r#"{"version":"3","alerts":[]}"#,
            parse::alertmanager,
            "version `3`",
        ),
        (
            r#"{"version":"4"}"#,
            parse::alertmanager,
            "missing field `alerts`",
        ),
        (
            r#"{"version":"4","alerts":[{"status":"burning"}]}"#,
            parse::alertmanager,
            "status `burning`",
        ),
        (
            r#"{"version":"4","alerts":[{"status":"firing","startsAt":"yesterday"}]}"#,
            parse::alertmanager,
            "startsAt",
        ),
        (r#"{"status":"firing"}"#, parse::webhook, "fingerprint"),
    ];
    for (body, parser, wanted) in cases {
        let error = parser(body.as_bytes()).unwrap_err();
        assert!(error.contains(wanted), "{body}: {error}");
    }
}

/// Found by fuzzing: serde quotes a wrong-typed string whole and escapes each control
/// character into six, so a 1 KiB string made a 6 KiB refusal. Refusals stay short.
#[test]
fn a_refusal_does_not_echo_the_payload() {
    let long = "\u{7f}".repeat(1000);
    let bodies = [
        (format!("\"{long}\""), parse::webhook as fn(&[u8]) -> _),
        (format!("[\"{long}\"]"), parse::webhook),
        (
            format!(r#"{{"version":"4","alerts":"{long}"}}"#),
            parse::alertmanager,
        ),
        (format!(r#"{{"alerts":"{long}"}}"#), parse::grafana),
    ];
    for (body, parser) in bodies {
        let error: String = parser(body.as_bytes()).unwrap_err();
        assert!(error.contains("invalid type: string"), "{error}");
        assert!(
            error.chars().count() < 300,
            "{} chars: {error}",
            error.chars().count()
        );
    }
}

#[test]
fn a_javascript_link_is_dropped() {
    let body = r#"{"fingerprint":"f1","status":"firing","title":"T","url":"javascript:alert(1)","annotations":{"runbook_url":"https://ok.example/r"}}"#;
    let alerts = parse::webhook(body.as_bytes()).unwrap();
    assert_eq!(alerts[0].links.len(), 1);
    assert_eq!(alerts[0].links[0].url, "https://ok.example/r");
}

#[test]
fn without_a_fingerprint_the_same_labels_make_the_same_alert() {
    let body = |svc: &str| {
        format!(
            r#"{{"version":"4","alerts":[{{"status":"firing","labels":{{"alertname":"X","service":"{svc}"}}}}]}}"#
        )
    };
    let a = parse::alertmanager(body("web").as_bytes()).unwrap();
    let b = parse::alertmanager(body("web").as_bytes()).unwrap();
    let c = parse::alertmanager(body("api").as_bytes()).unwrap();
    assert_eq!(a[0].fingerprint, b[0].fingerprint);
    assert_ne!(a[0].fingerprint, c[0].fingerprint);
}

#[test]
fn a_label_value_stays_one_argument_value() {
    let t =
        CommandTemplate::parse("restart service={{labels.service}} env={{labels.env}}").unwrap();
    let hostile = labels(&[
        ("service", "web env=staging --dry-run"),
        ("env", "prod\" --reason \"x"),
    ]);
    let args = t.fill(&hostile, &BTreeMap::new()).unwrap();
    assert_eq!(
        args.named,
        [
            (
                "service".to_string(),
                "web env=staging --dry-run".to_string()
            ),
            ("env".to_string(), "prod\" --reason \"x".to_string()),
        ]
    );
    assert!(!args.dry_run);
    assert_eq!(args.reason, None);
}

#[test]
fn action_templates_refuse_what_could_be_injected_or_is_unclear() {
    for bad in [
        "restart {{labels.service}}",
        "{{labels.cmd}} x=1",
        "restart service={{labels.service}",
        "restart service={{env}}",
        "",
        // Found by the `alert_actions` fuzz target: a quoted command "name" with a space.
        "'re start' service=web",
    ] {
        assert!(CommandTemplate::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_missing_label_withholds_the_button_and_says_why() {
    let route = crate::config::AlertRoute {
        index: 0,
        source: "prom".into(),
        tenant: "acme".into(),
        channel: "slack:C1".parse().unwrap(),
        matchers: Vec::new(),
        actions: vec![
            crate::config::AlertAction {
                label: "Restart".into(),
                kind: crate::config::AlertActionKind::Command(
                    "restart service={{labels.service}}".into(),
                ),
            },
            crate::config::AlertAction {
                label: "Silence 1h".into(),
                kind: crate::config::AlertActionKind::Silence(std::time::Duration::from_secs(3600)),
            },
        ],
        storm: 20,
        file: "warden.toml".into(),
        line: 1,
    };
    let alert = Alert {
        fingerprint: "f".into(),
        status: AlertStatus::Firing,
        name: "X".into(),
        labels: labels(&[("alertname", "X")]),
        annotations: BTreeMap::new(),
        starts_at: None,
        ends_at: None,
        links: Vec::new(),
    };
    let actions = actions_for(&route, &alert);
    assert!(matches!(
        actions[0].kind,
        CardActionKind::Unavailable { .. }
    ));
    let message = card(7, "prom", &alert, chrono::Utc::now(), None, &actions);
    assert_eq!(message.buttons.len(), 1);
    assert_eq!(message.buttons[0].kind, ButtonKind::Silence);
    assert_eq!(message.buttons[0].value, "AL-7:1");
    assert!(message
        .text
        .contains("Restart is not offered: the alert has no label `service`."));
    let resolved = Alert {
        status: AlertStatus::Resolved,
        ..alert
    };
    let message = card(
        7,
        "prom",
        &resolved,
        chrono::Utc::now(),
        Some(725),
        &actions,
    );
    assert!(
        message.buttons.is_empty(),
        "a resolved card offers no action"
    );
    assert!(
        message.text.starts_with("*RESOLVED* `X` after 12m 5s"),
        "{}",
        message.text
    );
}

#[test]
fn action_values_round_trip() {
    assert_eq!(parse_action_value(&action_value(12, 3)), Some((12, 3)));
    assert_eq!(parse_action_value("A-12"), None);
    assert_eq!(parse_action_value("AL-x:1"), None);
}

#[test]
fn warden_check_names_unknown_commands_and_arguments_of_actions() {
    let registry = crate::commands::load::load_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("commands"),
    )
    .unwrap();
    let text = r#"[tenants.acme]
slack_team = "T1"
alert_channel = "slack:C1"

[alert_sources.prom]
kind = "alertmanager"
token_env = "PROM_ALERT_TOKEN"

[[alert_routes]]
source = "prom"
tenant = "acme"
actions = [
  { label = "Restart", command = "restart service={{labels.service}} env={{labels.env}}" },
  { label = "Reboot", command = "reboot host={{labels.instance}}" },
  { label = "Typo", command = "restart servce={{labels.service}}" },
  { label = "Bad env", command = "restart service={{labels.service}} env=moon" },
  { label = "Whoami", command = "whoami" },
]
"#;
    let directory =
        crate::config::parse_directory(std::path::Path::new("warden.toml"), text).unwrap();
    let problems: Vec<String> = check::check(&directory, &registry)
        .into_iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems.iter().all(|p| p.starts_with("warden.toml:9:")),
        "{problems:#?}"
    );
    assert!(problems[0].contains("there is no command `reboot`"));
    assert!(problems[1].contains("`restart` has no argument `servce`"));
    assert!(problems[2].contains("moon"));
    assert!(problems[3].contains("built-in"));
}
