//! One bad request fails alone: a NUL byte in what a person types is refused before it
//! reaches the database, and a unit the database refuses cannot fail the other requests
//! committed in the same group-commit batch.

mod common;

use common::*;

/// The answer a caller gets when the database refused to record their request.
const UNRECORDED: &str = "could not record this request";

/// A trigger refuses the audit event of `/ops poison-pill` (as PostgreSQL refuses a NUL byte);
/// sent in the middle of bursts of concurrent `whoami`s, which the writer commits in batches
/// with it, the poisoned request fails alone and every other one is answered and recorded.
#[tokio::test]
async fn a_unit_the_database_refuses_fails_alone_not_its_batch() {
    let app = TestApp::spawn().await;
    app.server
        .state
        .service
        .store
        .execute_raw(db::poison_trigger_sql())
        .await
        .unwrap();
    const ROUNDS: usize = 3;
    const BURST: usize = 24;
    for _ in 0..ROUNDS {
        let mut requests = Vec::new();
        for i in 0..BURST {
            let text = if i == BURST / 2 {
                "poison-pill"
            } else {
                "whoami"
            };
            requests.push(app.slack("T0ACME", "U0ALICE", text));
        }
        let answers = futures_util::future::join_all(requests).await;
        for (i, answer) in answers.iter().enumerate() {
            assert_eq!(answer.status, 200);
            if i == BURST / 2 {
                assert!(answer.text().contains(UNRECORDED), "{}", answer.text());
            } else {
                assert!(
                    answer.text().starts_with("You are alice"),
                    "request {i} failed with the poisoned one: {}",
                    answer.text()
                );
            }
        }
    }
    let events = app.audit().await;
    let whoamis = events
        .iter()
        .filter(|e| e.kind == "command.invoked" && e.target == "whoami")
        .count();
    assert_eq!(whoamis, ROUNDS * (BURST - 1));
    assert!(!events.iter().any(|e| e.target.contains("poison")));
    assert_audit_verifies(&app.database_url());
}

/// The words every NUL refusal uses.
const NUL_REFUSED: &str = "contains a NUL character";

/// Asserts that no audit event holds a NUL, and that the chains verify.
async fn assert_no_nul_recorded(app: &TestApp) {
    for event in app.audit().await {
        let text = format!(
            "{}{}{}{}{}{}",
            event.tenant, event.actor, event.kind, event.target, event.channel, event.details
        );
        assert!(!text.contains('\0'), "{event:?}");
    }
    assert_audit_verifies(&app.database_url());
}

/// A NUL typed anywhere in a Slack command (its name, an argument, `--reason`, an id given
/// to a built-in) or in a Discord option is refused at once with an ephemeral answer naming
/// where it is; the refusal is audited without the NUL, and nothing else happens.
#[tokio::test]
async fn nul_characters_in_commands_are_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let typed = [
        ("who\0ami", "The command name"),
        (
            "deploy api v1.2.3 env=staging --reason \"a\0b\"",
            "The command text",
        ),
        ("deploy api v1.2.3\0", "The command text"),
        ("jobs cancel J-1\0", "The command text"),
        (
            "access request operator env=prod --for 1h --reason \"x\0\"",
            "The command text",
        ),
    ];
    for (text, field) in typed {
        let answer = app.slack("T0ACME", "U0ALICE", text).await;
        assert_eq!(answer.status, 200);
        assert!(answer.ephemeral(), "{}", answer.body);
        assert!(
            answer.text().contains(NUL_REFUSED) && answer.text().contains(field),
            "{text:?}: {}",
            answer.text()
        );
        assert!(!answer.text().contains('\0'));
    }
    let options = serde_json::json!([
        { "name": "service", "type": 3, "value": "api" },
        { "name": "version", "type": 3, "value": "v1.2.3\u{0}" },
        { "name": "reason", "type": 3, "value": "fine" }
    ]);
    let r = app
        .post_discord(
            &discord_command(
                "800000000000000099",
                "900000000000000001",
                "100000000000000001",
                "deploy",
                options,
            ),
            now(),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let content = body["data"]["content"].as_str().unwrap_or_default();
    assert_eq!(body["data"]["flags"], 64, "{body}");
    assert!(
        content.contains(NUL_REFUSED) && content.contains("rgument `version`"),
        "{content}"
    );

    // Nothing ran or was queued; every refusal is in the audit log, without its NUL.
    let events = app.audit().await;
    let refused = events
        .iter()
        .filter(|e| e.kind == "command.refused" && e.details.contains("NUL character"))
        .count();
    assert_eq!(refused, 6, "{events:?}");
    assert!(!events.iter().any(|e| e.kind == "job.queued"));
    assert_no_nul_recorded(&app).await;
    // The same person is served normally afterwards.
    let answer = app.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(
        answer.text().starts_with("You are alice"),
        "{}",
        answer.text()
    );
}

/// A Deny reason holding a NUL is refused on the form itself, like a reason that is too short,
/// and nothing is recorded.
#[tokio::test]
async fn a_nul_in_a_deny_reason_is_refused_on_the_form() {
    let app = TestApp::spawn().await;
    let before = app.audit().await.len();
    let payload = serde_json::json!({
        "type": "view_submission",
        "team": { "id": "T0ACME", "domain": "acme" },
        "user": { "id": "U0CAROL", "username": "carol", "team_id": "T0ACME" },
        "api_app_id": "A0WARDEN",
        "trigger_id": "1.1.x",
        "view": {
            "id": "V0DENY", "team_id": "T0ACME", "hash": "1.x", "type": "modal",
            "title": { "type": "plain_text", "text": "Deny" }, "blocks": [], "callback_id": "warden.deny", "private_metadata": "A-1",
            "state": { "values": { "reason": { "reason": {
                "type": "plain_text_input", "value": "not during\u{0} the freeze"
            } } } }
        }
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let r = app
        .post_slack("/slack/interactions", &body, SLACK_SECRET, now())
        .await;
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["response_action"], "errors", "{json}");
    assert!(
        json["errors"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains(NUL_REFUSED),
        "{json}"
    );
    assert_eq!(app.audit().await.len(), before);
}

/// A program printing NUL bytes (and failing with them in what it prints) logs U+FFFD in
/// their place: its log lines and outcome are stored, on PostgreSQL as on SQLite.
#[tokio::test]
async fn nul_bytes_printed_by_a_program_are_replaced_in_its_log() {
    let scripts = tempfile::tempdir().unwrap();
    let script = scripts.path().join("nul.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'before\\000after\\n'\nprintf 'err\\000or\\n' >&2\nexit 2\n",
    )
    .unwrap();
    let command = format!(
        r#"
name = "nully"
summary = "Prints NUL bytes"
role = "operator"
environment = "staging"

[action]
type = "exec"
program = "/bin/sh"
args = ["{}"]
"#,
        script.display()
    );
    let app = TestApp::spawn_with(Options {
        commands: vec![("nully.toml".into(), command)],
        ..Options::default()
    })
    .await;
    let answer = app.slack("T0ACME", "U0ALICE", "nully").await;
    let job = app.wait_job(number_after("J-", answer.text())).await;
    assert_eq!(job.status, warden::jobs::JobStatus::Failed, "{job:?}");
    let log = app
        .server
        .state
        .service
        .store
        .job_log(job.id, None)
        .await
        .unwrap();
    let texts: Vec<&str> = log.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&"before\u{fffd}after"), "{texts:?}");
    assert!(texts.contains(&"err\u{fffd}or"), "{texts:?}");
    assert_no_nul_recorded(&app).await;
}
