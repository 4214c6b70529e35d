//! `/ops why` and `warden policy explain|who-can` (SPEC §17) end to end: the answer for each
//! case agrees with what the same invocation then really does, on Slack and Discord, and
//! nothing is audited for asking.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

const GUILD: &str = "900000000000000001";
const ALICE_DISCORD: &str = "100000000000000001";

/// The step a `why` answer says refuses, if any.
fn refused_step(why: &str) -> Option<String> {
    why.lines()
        .find_map(|l| l.strip_prefix("• ")?.split_once(": REFUSED"))
        .map(|(step, _)| step.to_string())
}

/// The step a real answer was refused at, if any.
fn real_step(reply: &str) -> Option<String> {
    let rest = reply.strip_prefix("Refused at the `")?;
    Some(rest.split_once('`')?.0.to_string())
}

#[tokio::test]
async fn why_agrees_with_what_the_command_then_does() {
    let app = TestApp::spawn().await;
    // Alice may use break-glass (group sre); her grant then shows in her own `why`.
    let glass = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "access breakglass admin --reason \"outage\"",
        )
        .await;
    assert!(!glass.text().starts_with("Refused"), "{}", glass.text());
    // (case, user, command, words the answer must contain)
    let cases = [
        (
            "viewer",
            "U0BOB",
            "restart api env=staging",
            vec!["role too low", "access request operator env=staging"],
        ),
        (
            "operator outside the environment",
            "U0CAROL",
            "restart api env=prod",
            vec!["does not cover this environment"],
        ),
        (
            "expired binding",
            "U0CAROL",
            "scale api replicas=3 env=prod",
            vec!["until 2020-01-01 00:00 UTC): expired"],
        ),
        (
            "break-glass grant",
            "U0ALICE",
            "flag-set checkout.new value=on env=staging",
            vec!["(breakglass", "matched"],
        ),
        (
            "viewer command",
            "U0ERIN",
            "status api",
            vec!["approval: not needed"],
        ),
        (
            "approval needed",
            "U0ALICE",
            "restart api env=prod",
            vec!["approval: needed: 1 approval from anyone with admin"],
        ),
        (
            "unknown argument",
            "U0ALICE",
            "restart api env=staging colour=red",
            vec!["there is no argument `colour`"],
        ),
        (
            "rate limit, first use",
            "U0ALICE",
            "rotate-key api token=tok_abcdefgh",
            vec!["2 uses left of 2/1h"],
        ),
        (
            "rate limit, second use",
            "U0ALICE",
            "rotate-key api token=tok_abcdefgh",
            vec!["1 use left of 2/1h"],
        ),
        (
            "rate limit exhausted",
            "U0ALICE",
            "rotate-key api token=tok_abcdefgh",
            vec!["rate_limit: REFUSED", "Next: wait"],
        ),
    ];
    for (case, user, typed, words) in cases {
        let before = app.command_kinds().await.len();
        let why = app.slack("T0ACME", user, &format!("why {typed}")).await;
        assert!(why.ephemeral(), "{case}");
        let text = why.text().to_string();
        for word in words {
            assert!(text.contains(word), "{case}: `{word}` missing from\n{text}");
        }
        assert!(
            !text.contains("tok_abcdefgh"),
            "{case}: a secret is shown:\n{text}"
        );
        assert_eq!(
            app.command_kinds().await.len(),
            before,
            "{case}: `why` is not audited"
        );
        let real = app.slack("T0ACME", user, typed).await;
        assert_eq!(
            refused_step(&text),
            real_step(real.text()),
            "{case}: why said\n{text}\nthe command answered\n{}",
            real.text()
        );
    }
    assert!(app
        .metrics()
        .await
        .contains("warden_explains_total{outcome=\"rate_limit\"} 1"));
}

#[tokio::test]
async fn why_on_discord_answers_the_caller_alone() {
    let app = TestApp::spawn().await;
    let options = json!([
        { "name": "command", "type": 3, "value": "restart" },
        { "name": "args", "type": 3, "value": "api env=prod" }
    ]);
    let r = app
        .post_discord(
            &discord_command("800000000000000009", GUILD, ALICE_DISCORD, "why", options),
            now(),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"]["flags"], 64);
    let text = body["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("matched by the linked identity `discord:"),
        "{text}"
    );
    assert!(text.contains("approval: needed"), "{text}");
    let slack = app
        .slack("T0ACME", "U0ALICE", "why restart api env=prod")
        .await;
    // The same verdicts, whichever platform asked (the identity line differs).
    let verdicts = |t: &str| {
        t.lines()
            .filter(|l| !l.contains("principal:") && !l.contains("tenant:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(text), verdicts(slack.text()));

    // A whole line typed into the `command` option is understood the same way.
    let options = json!([{ "name": "command", "type": 3, "value": "restart api env=prod" }]);
    let r = app
        .post_discord(
            &discord_command("800000000000000010", GUILD, ALICE_DISCORD, "why", options),
            now(),
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        verdicts(body["data"]["content"].as_str().unwrap()),
        verdicts(slack.text())
    );
}

fn warden(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let dir = app.dir.path();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env("WARDEN_DATABASE_URL", app.database_url())
        .env("WARDEN_CONFIG", dir.join("warden.toml"))
        .env("WARDEN_COMMANDS_DIR", dir.join("commands"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn policy_explain_and_who_can() {
    let app = TestApp::spawn().await;
    let (code, out, err) = warden(
        &app,
        &[
            "policy",
            "explain",
            "--as",
            "slack:T0ACME/U0CAROL",
            "restart",
            "api",
            "env=prod",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("authorize: REFUSED"), "{out}");
    assert!(out.contains("expired"), "{out}");
    assert!(out.contains("access request operator env=prod"), "{out}");
    // The answer is the one `/ops why` gives.
    let chat = app
        .slack("T0ACME", "U0CAROL", "why restart api env=prod")
        .await;
    assert_eq!(out.trim_end(), chat.text());

    let (code, out, err) = warden(&app, &["policy", "explain", "--as", "nobody", "status"]);
    assert_eq!(code, 2, "{out}{err}");

    // A run-time grant counts, with its expiry.
    app.slack(
        "T0ACME",
        "U0ALICE",
        "access breakglass admin --reason \"outage\"",
    )
    .await;
    let (code, out, err) = warden(
        &app,
        &[
            "policy", "who-can", "restart", "env=prod", "--tenant", "acme",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tenant `acme` in `prod`"), "{out}");
    let alice = out.lines().find(|l| l.contains("  alice ")).expect(&out);
    assert!(
        alice.contains("admin") && alice.contains("(breakglass") && alice.contains("until"),
        "{alice}"
    );
    for nobody in ["  bob ", "  carol ", "  frank "] {
        assert!(!out.contains(nobody), "{nobody}: {out}");
    }
    let (code, out, _) = warden(
        &app,
        &[
            "policy",
            "who-can",
            "restart",
            "env=staging",
            "--tenant",
            "acme",
        ],
    );
    assert_eq!(code, 0);
    for who in ["  alice ", "  carol ", "  frank "] {
        assert!(out.contains(who), "{who}: {out}");
    }
    let (code, _, err) = warden(&app, &["policy", "who-can", "nope"]);
    assert_eq!(code, 2, "{err}");
}
