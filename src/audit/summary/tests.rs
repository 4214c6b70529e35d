use super::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A log written as `HH:MM tenant actor kind target details`, on 2026-11-22 (or the day before
/// for times written `-HH:MM`).
fn log(lines: &str) -> Vec<AuditEvent> {
    lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let mut parts = line.splitn(6, ' ');
            let mut next = || parts.next().unwrap_or("").to_string();
            let time = next();
            let at = match time.strip_prefix('-') {
                Some(time) => format!("2026-11-21T{time}:00.000Z"),
                None => format!("2026-11-22T{time}:00.000Z"),
            };
            let (tenant, actor, kind, target) = (next(), next(), next(), next());
            let details = match next() {
                d if d.is_empty() => "{}".to_string(),
                d => d,
            };
            AuditEvent {
                id: i as i64 + 1,
                tenant,
                seq: i as i64 + 1,
                at,
                actor,
                kind,
                target,
                channel: String::new(),
                request_id: String::new(),
                details,
                prev_hash: String::new(),
                hash: String::new(),
            }
        })
        .collect()
}

const LOG: &str = r#"
    -08:00 acme alice job.queued J-1 {"command":"deploy"}
    08:30 acme alice approval.requested A-3 {"command":"deploy"}
    -10:00 acme alice command.invoked deploy {}
    09:00 acme alice command.invoked deploy {"platform":"slack"}
    09:00 acme alice job.queued J-2 {"command":"deploy"}
    09:01 acme warden job.succeeded J-2 {"attempt":1}
    09:05 acme warden job.failed J-1 {"error":"deployer answered 503"}
    09:10 acme bob command.refused deploy {"step":"authorize"}
    09:11 acme bob command.refused restart {"step":"rate_limit"}
    09:12 acme eve command.refused ? {"step":"principal"}
    09:20 acme alice approval.requested A-4 {"command":"restart"}
    09:30 acme carol approval.approved A-4 {"approvers":["carol"]}
    09:31 acme alice job.queued J-5 {"command":"restart","approval":"A-4"}
    09:40 acme warden job.timed_out J-5 {"error":"killed at its timeout"}
    09:45 acme dave approval.denied A-3 {"reason":"not now"}
    09:50 acme alice approval.requested A-6 {"command":"deploy"}
    10:00 acme warden job.failed J-9 {"error":"boom"}
    10:30 acme alice access.breakglass B-1 {"role":"admin","for":"1h","reason":"incident 42","subject":"alice"}
    10:40 globex mallory command.invoked deploy {}
    11:00 acme alice command.invoked help {"builtin":true}
"#;

fn summary(chain: Result<u64, String>) -> Summary {
    summarize(
        &log(LOG),
        "acme",
        t("2026-11-22T09:00:00Z"),
        t("2026-11-22T12:00:00Z"),
        chain,
        &|id| format!("https://w.example/jobs/{id}?t=x"),
    )
}

#[test]
fn counts_follow_the_log() {
    let s = summary(Ok(40));
    assert_eq!(s.events, 16);
    assert_eq!(
        s.commands["deploy"],
        CommandCounts {
            invoked: 1,
            refused: 1,
            succeeded: 1,
            failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        s.commands["restart"],
        CommandCounts {
            refused: 1,
            timed_out: 1,
            ..Default::default()
        }
    );
    assert_eq!(s.commands["(unknown)"].failed, 1);
    assert_eq!(s.commands["help"].invoked, 1);
    assert_eq!(
        s.refusals
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("authorize", 1), ("principal", 1), ("rate_limit", 1)]
    );
    assert_eq!(s.pending_approvals, 1);
    assert_eq!(s.decision_minutes(), Some((42.5, 75.0)));
    assert_eq!(s.failures.len(), 3);
    assert_eq!(s.failures[0].link, "https://w.example/jobs/1?t=x");
    assert!(!s.chain_broken());
    assert_eq!(s.details()["failed"], 3);
    assert_eq!(s.details()["chain"], "verified");
}

#[test]
fn text_is_stable() {
    let expected = "\
Audit summary for `acme`: 2026-11-22 09:00 UTC to 2026-11-22 12:00 UTC (16 events)
Commands:
• `(unknown)`: jobs: 1 failed
• `?`: 1 refused
• `deploy`: 1 invoked · 1 refused · jobs: 1 succeeded, 1 failed
• `help`: 1 invoked
• `restart`: 1 refused · jobs: 1 timed out
Approvals: 2 decided (1 approved, 1 denied, 0 expired); time to decide: median 42.5 min, max 75.0 min; 1 still pending
• A-4 `restart` approved by carol after 10.0 min
• A-3 `deploy` denied by dave after 75.0 min
Failures (3):
• J-1 `deploy` failed: deployer answered 503 · https://w.example/jobs/1?t=x
• J-5 `restart` timed out: killed at its timeout · https://w.example/jobs/5?t=x
• J-9 `(unknown)` failed: boom · https://w.example/jobs/9?t=x
Refusals by step: authorize 1, principal 1, rate_limit 1
Break-glass (1):
• alice took `admin` for 1h at 2026-11-22 10:30 UTC: incident 42
Audit chain: verified (40 events)";
    assert_eq!(summary(Ok(40)).text(), expected);
}

#[test]
fn a_broken_chain_is_said_loudly() {
    let s = summary(Err("E-7: its content does not match its hash".into()));
    assert!(s.chain_broken());
    assert!(s
        .text()
        .ends_with("Audit chain: BROKEN at E-7: its content does not match its hash"));
}

#[test]
fn an_empty_window_says_so() {
    let s = summarize(
        &log(LOG),
        "acme",
        t("2026-11-23T00:00:00Z"),
        t("2026-11-24T00:00:00Z"),
        Ok(0),
        &|_| String::new(),
    );
    assert_eq!(
        s.text(),
        "\
Audit summary for `acme`: 2026-11-23 00:00 UTC to 2026-11-24 00:00 UTC (0 events)
Commands: none.
Approvals: none decided.
Failures: none.
Refusals: none.
Break-glass: none.
Audit chain: verified (0 events)"
    );
}

#[test]
fn long_lists_are_capped() {
    let lines: String = (1..=25)
        .map(|i| format!("09:{i:02} acme warden job.failed J-{i} {{\"error\":\"e{i}\"}}\n"))
        .collect();
    let s = summarize(
        &log(&lines),
        "acme",
        t("2026-11-22T09:00:00Z"),
        t("2026-11-22T10:00:00Z"),
        Ok(25),
        &|_| String::new(),
    );
    let text = s.text();
    assert!(text.contains("Failures (25):"));
    assert!(text.contains("• J-10 "));
    assert!(!text.contains("• J-11 "));
    assert!(text.contains("… and 15 more"));
}

#[test]
fn alerts_are_counted_by_name_with_their_time_to_resolve() {
    let at = "2026-12-02T00:10:00.000Z";
    let event = |id: i64, kind: &str, details: serde_json::Value| AuditEvent {
        id,
        tenant: "acme".into(),
        seq: id,
        at: at.into(),
        actor: "alerts:prom".into(),
        kind: kind.into(),
        target: format!("AL-{id}"),
        channel: "slack:C0ALERTS".into(),
        request_id: String::new(),
        details: details.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    };
    let events = vec![
        event(
            1,
            "alert.received",
            serde_json::json!({ "name": "HighErrorRate" }),
        ),
        event(
            2,
            "alert.received",
            serde_json::json!({ "name": "HighErrorRate" }),
        ),
        event(
            3,
            "alert.resolved",
            serde_json::json!({ "name": "HighErrorRate", "duration_s": 600 }),
        ),
        event(
            4,
            "alert.resolved",
            serde_json::json!({ "name": "HighErrorRate", "duration_s": 120 }),
        ),
        event(
            5,
            "alert.received",
            serde_json::json!({ "name": "DiskFull" }),
        ),
    ];
    let from = chrono::DateTime::parse_from_rfc3339("2026-12-02T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let to = from + chrono::Duration::hours(1);
    let summary = summarize(&events, "acme", from, to, Ok(5), &|n| format!("J-{n}"));
    let high = &summary.alerts["HighErrorRate"];
    assert_eq!((high.fired, high.resolved), (2, 2));
    assert_eq!(high.mean_resolve_seconds(), Some(360));
    let text = summary.text();
    assert!(
        text.contains("`HighErrorRate`: fired 2, resolved 2, 6m to resolve on average"),
        "{text}"
    );
    assert!(text.contains("`DiskFull`: fired 1, resolved 0"), "{text}");
}
