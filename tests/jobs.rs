//! Jobs end to end: commands typed in Slack run real programs and real HTTP calls as tracked
//! jobs, their messages and alerts reach a fake Slack, and the job page shows them.

mod common;

use std::path::Path;

use common::*;
use warden::jobs::JobStatus;

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    path.display().to_string()
}

fn exec_command(name: &str, script: &str, extra: &str) -> (String, String) {
    (
        format!("{name}.toml"),
        format!(
            r#"
name = "{name}"
summary = "Test command {name}"
role = "operator"
environment = "staging"
dry_run = true
{extra}

[[args]]
name = "target"
type = "string"
default = "api"

[action]
type = "exec"
program = "/bin/sh"
args = ["{script}", "{{{{target}}}}"]
dry_run_args = ["--dry-run"]
"#
        ),
    )
}

/// Extracts `J-n` from a "J-n queued" reply.
fn job_id(text: &str) -> i64 {
    number_after("J-", text)
}

async fn app_with(
    commands: Vec<(String, String)>,
    fake: &FakeSlack,
    env: Vec<(String, String)>,
) -> TestApp {
    let api = fake.start().await;
    let mut env = env;
    env.push(("SLACK_API_URL".into(), api));
    env.push((
        "WARDEN_PUBLIC_URL".into(),
        "https://warden.example.com".into(),
    ));
    TestApp::spawn_with(Options { env, commands }).await
}

#[tokio::test]
async fn exec_receives_exactly_the_validated_arguments_and_nothing_else_runs() {
    let scripts = tempfile::tempdir().unwrap();
    let out = scripts.path().join("argv.txt");
    let pwned = scripts.path().join("pwned");
    let body = format!(
        "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {}\necho \"ran with $# arguments\"",
        out.display()
    );
    let path = script(scripts.path(), "echo-args.sh", &body);
    let fake = FakeSlack::default();
    let app = app_with(vec![exec_command("echo-args", &path, "")], &fake, vec![]).await;

    let hostile = format!("api; touch {}", pwned.display());
    let answer = app
        .slack("T0ACME", "U0ALICE", &format!("echo-args \"{hostile}\""))
        .await;
    assert!(answer.text().contains("queued"), "{}", answer.text());
    assert!(
        answer.text().contains("https://warden.example.com/jobs/"),
        "{}",
        answer.text()
    );
    let job = app.wait_job(job_id(answer.text())).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{hostile}\n")
    );
    assert!(!pwned.exists(), "the hostile argument was run by a shell");

    // The job message was posted in the channel where the command was typed, and updated in
    // place with the result and the last log lines.
    // The outbox delivers the final update moments after the job is recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !fake
        .calls_of("chat.update")
        .last()
        .is_some_and(|m| m["text"].as_str().unwrap_or_default().contains("succeeded"))
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", fake.calls());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // One top-level card; everything else about the job is a reply in its thread.
    let (posts, replies): (Vec<_>, Vec<_>) = fake
        .calls_of("chat.postMessage")
        .into_iter()
        .partition(|m| m["thread_ts"].is_null());
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["channel"], "C0DEPLOYS");
    assert!(!replies.is_empty(), "no thread replies");
    assert!(
        replies
            .iter()
            .all(|r| r["channel"] == "C0DEPLOYS" && r["thread_ts"] == "1700000000.000001"),
        "{replies:?}"
    );
    assert!(posts[0]["text"]
        .as_str()
        .unwrap()
        .contains(&job.display_id()));
    let updates = fake.calls_of("chat.update");
    let last = updates.last().expect("the message is updated");
    assert_eq!(last["ts"], "1700000000.000001");
    let text = last["text"].as_str().unwrap();
    assert!(text.contains("succeeded"), "{text}");
    assert!(text.contains("ran with 1 arguments"), "{text}");
    assert!(text.contains("requested by alice"), "{text}");

    let kinds: Vec<String> = app.audit().await.into_iter().map(|e| e.kind).collect();
    for kind in [
        "command.invoked",
        "job.queued",
        "job.started",
        "job.succeeded",
    ] {
        assert!(
            kinds.contains(&kind.to_string()),
            "{kind} missing from {kinds:?}"
        );
    }
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_program_fails_the_job_and_alerts_with_a_retry_button() {
    let scripts = tempfile::tempdir().unwrap();
    let path = script(
        scripts.path(),
        "fail.sh",
        "echo 'connecting to api'\necho 'boom: no such service' >&2\nexit 3",
    );
    let fake = FakeSlack::default();
    let app = app_with(vec![exec_command("fails", &path, "")], &fake, vec![]).await;
    let answer = app.slack("T0ACME", "U0ALICE", "fails").await;
    let job = app.wait_job(job_id(answer.text())).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.error.as_deref().unwrap().contains("exit code 3"),
        "{:?}",
        job.error
    );

    // Give the alert (posted after the job is recorded) a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let alert = loop {
        let alert = fake
            .calls_of("chat.postMessage")
            .into_iter()
            .find(|m| m["channel"] == "C0ALERTS");
        if let Some(alert) = alert {
            break alert;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no alert: {:?}",
            fake.calls()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let text = alert["text"].as_str().unwrap();
    assert!(text.contains(&job.display_id()), "{text}");
    assert!(text.contains("failed"), "{text}");
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("exit code 3"), "{text}");
    assert!(text.contains("boom: no such service"), "{text}");
    assert!(text.contains("https://warden.example.com/jobs/"), "{text}");
    let blocks = alert["blocks"].to_string();
    assert!(blocks.contains("\"Retry\""), "{blocks}");
    assert!(blocks.contains("warden.retry"), "{blocks}");
    assert!(blocks.contains(&job.display_id()), "{blocks}");
    assert!(app.audit().await.iter().any(|e| e.kind == "job.failed"));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_sleeping_program_is_killed_at_its_timeout() {
    let scripts = tempfile::tempdir().unwrap();
    let pid_file = scripts.path().join("pid");
    let body = format!(
        "echo $$ > {}\nsleep 30 &\necho $! >> {}\nwait",
        pid_file.display(),
        pid_file.display()
    );
    let path = script(scripts.path(), "sleep.sh", &body);
    let fake = FakeSlack::default();
    let app = app_with(
        vec![exec_command("sleeper", &path, "timeout = \"1s\"")],
        &fake,
        vec![],
    )
    .await;
    let started = std::time::Instant::now();
    let answer = app.slack("T0ACME", "U0ALICE", "sleeper").await;
    let job = app.wait_job(job_id(answer.text())).await;
    assert_eq!(job.status, JobStatus::TimedOut);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    for pid in std::fs::read_to_string(&pid_file).unwrap().lines() {
        let pid: i32 = pid.trim().parse().unwrap();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for a parent that is not warden's to reap.
        assert!(
            state.is_empty() || state.contains(") Z "),
            "process {pid} still runs: {state}"
        );
    }
    assert!(app.audit().await.iter().any(|e| e.kind == "job.timed_out"));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_action_is_signed_with_the_job_id_as_idempotency_key_and_dry_run_is_marked() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(201).await;
    let command = (
        "notify.toml".to_string(),
        format!(
            r#"
name = "notify"
summary = "Tell the deployer"
role = "operator"
dry_run = true

[[args]]
name = "service"
type = "choice"
choices = ["api", "web"]

[action]
type = "http"
method = "POST"
url = "{url}/deploys/{{{{service}}}}"
body = {{ service = "{{{{service}}}}" }}
sign_secret_env = "TEST_DEPLOYER_SECRET"
"#
        ),
    );
    let fake = FakeSlack::default();
    let secret = "downstream-secret-8841";
    let app = app_with(
        vec![command],
        &fake,
        vec![("TEST_DEPLOYER_SECRET".into(), secret.into())],
    )
    .await;

    let answer = app.slack("T0ACME", "U0ALICE", "notify api").await;
    let job = app.wait_job(job_id(answer.text())).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    let dry = app.slack("T0ACME", "U0ALICE", "notify web --dry-run").await;
    assert!(dry.text().contains("dry run queued"), "{}", dry.text());
    let dry_job = app.wait_job(job_id(dry.text())).await;
    assert_eq!(dry_job.status, JobStatus::Succeeded);

    let received = downstream.received();
    assert_eq!(received.len(), 2);
    let real = &received[0];
    assert_eq!(real.method, "POST");
    assert_eq!(real.path_and_query, "/deploys/api");
    assert_eq!(real.headers["idempotency-key"], job.display_id().as_str());
    let ts = real.headers["x-warden-timestamp"].to_str().unwrap();
    assert!((ts.parse::<i64>().unwrap() - now()).abs() < 60);
    let expected =
        warden::actions::http::signature(secret.as_bytes(), ts.parse().unwrap(), &real.body);
    assert_eq!(real.headers["x-warden-signature"], expected.as_str());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&real.body).unwrap()["service"],
        "api"
    );
    assert!(real.headers.get("x-warden-dry-run").is_none());
    assert_eq!(received[1].headers["x-warden-dry-run"], "1");
    assert_eq!(
        received[1].headers["idempotency-key"],
        dry_job.display_id().as_str()
    );

    // The job page shows the response the downstream gave, and refuses a tampered link.
    let link = answer
        .text()
        .split("Job page: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let local = link.replace("https://warden.example.com", &app.base);
    let page = app.http.get(&local).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&job.display_id()), "{html}");
    assert!(html.contains("deploy"), "{html}");
    assert!(html.contains("job.succeeded"), "{html}");
    let tampered = format!("{}0", local);
    assert_eq!(app.http.get(&tampered).send().await.unwrap().status(), 403);
    let other = local.replace(
        &format!("/jobs/{}", job.id),
        &format!("/jobs/{}", dry_job.id),
    );
    assert_eq!(app.http.get(&other).send().await.unwrap().status(), 403);
    assert!(!html.contains(secret));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn dry_run_of_a_flag_change_changes_nothing_and_the_real_one_is_audited() {
    let fake = FakeSlack::default();
    let app = app_with(vec![], &fake, vec![]).await;
    let dry = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "flag-set checkout.new_flow on env=staging --dry-run",
        )
        .await;
    let dry_job = app.wait_job(job_id(dry.text())).await;
    assert_eq!(dry_job.status, JobStatus::Succeeded);
    let store = &app.server.state.service.store;
    assert!(store.flags("acme", None, None).await.unwrap().is_empty());

    let real = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "flag-set checkout.new_flow on env=staging",
        )
        .await;
    let job = app.wait_job(job_id(real.text())).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    let flags = store.flags("acme", Some("staging"), None).await.unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].value, "on");
    let changed = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.kind == "flag.changed")
        .expect("flag.changed audited");
    assert!(
        changed.details.contains("\"new\":\"on\""),
        "{}",
        changed.details
    );
    assert!(
        changed.details.contains("\"old\":null"),
        "{}",
        changed.details
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn jobs_builtin_lists_shows_and_cancel_is_refused_to_others() {
    let scripts = tempfile::tempdir().unwrap();
    let path = script(scripts.path(), "slow.sh", "echo started\nsleep 20");
    let fake = FakeSlack::default();
    let app = app_with(
        vec![exec_command("slow", &path, "timeout = \"60s\"")],
        &fake,
        vec![],
    )
    .await;
    let answer = app.slack("T0ACME", "U0ALICE", "slow").await;
    let id = job_id(answer.text());
    // Wait until it runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app
        .server
        .state
        .service
        .store
        .job(id)
        .await
        .unwrap()
        .unwrap()
        .status
        != JobStatus::Running
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let list = app.slack("T0ACME", "U0BOB", "jobs").await;
    assert!(list.text().contains(&format!("J-{id}")), "{}", list.text());
    let show = app
        .slack("T0ACME", "U0BOB", &format!("jobs show J-{id}"))
        .await;
    assert!(show.text().contains("running"), "{}", show.text());

    // Bob is a viewer and did not ask for it: refused, and the job keeps running.
    let refused = app
        .slack("T0ACME", "U0BOB", &format!("jobs cancel J-{id}"))
        .await;
    assert!(
        refused
            .text()
            .starts_with("Refused at the `authorize` step."),
        "{}",
        refused.text()
    );
    assert_eq!(
        app.server
            .state
            .service
            .store
            .job(id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Running
    );
    // Another tenant cannot see it at all.
    let other = app
        .slack("T0GLOBEX", "U0CAROL", &format!("jobs show J-{id}"))
        .await;
    assert!(other.text().contains("no job"), "{}", other.text());

    let cancelled = app
        .slack("T0ACME", "U0ALICE", &format!("jobs cancel J-{id}"))
        .await;
    assert!(
        cancelled.text().contains("being stopped"),
        "{}",
        cancelled.text()
    );
    let job = app.wait_job(id).await;
    assert_eq!(job.status, JobStatus::Cancelled);
    let kinds: Vec<String> = app.audit().await.into_iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&"job.cancel_requested".to_string()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"job.cancelled".to_string()), "{kinds:?}");
    app.server.shutdown().await.unwrap();
}

fn confirmation_id(answer: &SlackAnswer) -> String {
    answer.body["blocks"][1]["elements"][0]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no Confirm button in {}", answer.body))
        .to_string()
}

async fn click_text(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    json["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn high_risk_runs_only_after_its_requester_confirms_once() {
    let scripts = tempfile::tempdir().unwrap();
    let marker = scripts.path().join("ran");
    let path = script(
        scripts.path(),
        "risky.sh",
        &format!("echo run >> {}", marker.display()),
    );
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let response_url = format!("{api}response");
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api)],
        commands: vec![exec_command("risky", &path, "risk = \"high\"")],
    })
    .await;

    let prompt = app.slack("T0ACME", "U0ALICE", "risky web").await;
    assert!(prompt.text().contains("is high risk"), "{}", prompt.text());
    assert!(
        prompt.text().contains(&path),
        "the plan names the program: {}",
        prompt.text()
    );
    let id = confirmation_id(&prompt);
    assert!(!marker.exists(), "nothing runs before Confirm");

    // Carol may run it too, but she did not type it: only alice can confirm.
    let carol = click_text(
        app.click("T0ACME", "U0CAROL", "warden.confirm", &id, &response_url)
            .await,
    )
    .await;
    assert!(carol.contains("Only alice can confirm"), "{carol}");
    // A click from another workspace is refused outright.
    let foreign = click_text(
        app.click("T0GLOBEX", "U0ALICE", "warden.confirm", &id, &response_url)
            .await,
    )
    .await;
    assert!(foreign.contains("no pending command"), "{foreign}");

    // Alice clicks Confirm five times at once: exactly one job.
    let clicks =
        (0..5).map(|_| app.click("T0ACME", "U0ALICE", "warden.confirm", &id, &response_url));
    let texts: Vec<String> = futures_util::future::join_all(
        futures_util::future::join_all(clicks)
            .await
            .into_iter()
            .map(click_text),
    )
    .await;
    let queued: Vec<&String> = texts.iter().filter(|t| t.contains("queued")).collect();
    assert_eq!(queued.len(), 1, "{texts:?}");
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("already confirmed"))
            .count(),
        4,
        "{texts:?}"
    );
    let job = app.wait_job(job_id(queued[0])).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\n");

    // The outcome replaced the prompt through the click's response_url.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while fake.calls_of("response").is_empty() {
        assert!(std::time::Instant::now() < deadline, "{:?}", fake.calls());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let responses = fake.calls_of("response");
    assert!(
        responses.iter().any(|r| r["replace_original"] == true
            && r["text"].as_str().unwrap_or_default().contains("queued")),
        "{responses:?}"
    );

    // Cancel: a second request is cancelled and never runs.
    let second = app.slack("T0ACME", "U0ALICE", "risky api").await;
    let id2 = confirmation_id(&second);
    let cancelled = click_text(
        app.click("T0ACME", "U0ALICE", "warden.cancel", &id2, &response_url)
            .await,
    )
    .await;
    assert!(cancelled.contains("nothing was run"), "{cancelled}");
    let late = click_text(
        app.click("T0ACME", "U0ALICE", "warden.confirm", &id2, &response_url)
            .await,
    )
    .await;
    assert!(late.contains("already cancelled"), "{late}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\n");

    let kinds: Vec<String> = app.audit().await.into_iter().map(|e| e.kind).collect();
    for kind in [
        "confirmation.requested",
        "command.confirmed",
        "command.cancelled",
        "command.refused",
    ] {
        assert!(
            kinds.contains(&kind.to_string()),
            "{kind} missing from {kinds:?}"
        );
    }
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn retry_from_the_alert_is_guarded_like_the_original_command() {
    let scripts = tempfile::tempdir().unwrap();
    let counter = scripts.path().join("runs");
    let path = script(
        scripts.path(),
        "flaky.sh",
        &format!(
            "echo x >> {c}\n[ $(wc -l < {c}) -ge 2 ]",
            c = counter.display()
        ),
    );
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let response_url = format!("{api}response");
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api)],
        commands: vec![exec_command("flaky", &path, "")],
    })
    .await;
    let first = app.slack("T0ACME", "U0ALICE", "flaky").await;
    let failed = app.wait_job(job_id(first.text())).await;
    assert_eq!(failed.status, JobStatus::Failed);

    // Bob is a viewer: the Retry button is refused to him, as the command would be.
    let bob = click_text(
        app.click(
            "T0ACME",
            "U0BOB",
            "warden.retry",
            &failed.display_id(),
            &response_url,
        )
        .await,
    )
    .await;
    assert!(bob.starts_with("Refused at the `authorize` step."), "{bob}");
    // Alice retries: a new job, which succeeds this time.
    let alice = click_text(
        app.click(
            "T0ACME",
            "U0ALICE",
            "warden.retry",
            &failed.display_id(),
            &response_url,
        )
        .await,
    )
    .await;
    assert!(alice.contains("queued"), "{alice}");
    let retried = app.wait_job(job_id(&alice)).await;
    assert_ne!(retried.id, failed.id);
    assert_eq!(retried.retry_of, Some(failed.id));
    assert_eq!(retried.status, JobStatus::Succeeded, "{:?}", retried.error);
    // `jobs retry` by bob is refused the same way.
    let again = app
        .slack(
            "T0ACME",
            "U0BOB",
            &format!("jobs retry {}", failed.display_id()),
        )
        .await;
    assert!(
        again.text().starts_with("Refused at the `authorize` step."),
        "{}",
        again.text()
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn discord_confirm_updates_the_prompt_in_place() {
    let scripts = tempfile::tempdir().unwrap();
    let path = script(scripts.path(), "ok.sh", "echo fine");
    let app = TestApp::spawn_with(Options {
        commands: vec![exec_command("risky", &path, "risk = \"high\"")],
        ..Options::default()
    })
    .await;
    let guild = "900000000000000001";
    let alice = "100000000000000001";
    let r = app
        .post_discord(
            &discord_command(
                "810000000000000001",
                guild,
                alice,
                "risky",
                serde_json::json!([]),
            ),
            now(),
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    let button = &body["data"]["components"][0]["components"][0];
    assert_eq!(button["label"], "Confirm");
    let custom_id = button["custom_id"].as_str().unwrap().to_string();
    let click = discord_click(
        "810000000000000002",
        guild,
        alice,
        "alice",
        "820000000000000001",
        &custom_id,
    );
    let r = app.post_discord(&click, now()).await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], 7, "{body}");
    let content = body["data"]["content"].as_str().unwrap();
    assert!(content.contains("queued"), "{content}");
    let job = app.wait_job(job_id(content)).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_a_running_job_finish() {
    let scripts = tempfile::tempdir().unwrap();
    let done = scripts.path().join("done");
    let path = script(
        scripts.path(),
        "short.sh",
        &format!("sleep 1\ntouch {}", done.display()),
    );
    let fake = FakeSlack::default();
    let app = app_with(vec![exec_command("short", &path, "")], &fake, vec![]).await;
    let answer = app.slack("T0ACME", "U0ALICE", "short").await;
    let id = job_id(answer.text());
    let store = app.server.state.service.store.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.job(id).await.unwrap().unwrap().status != JobStatus::Running {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let db = app.database_url();
    app.server.shutdown().await.unwrap();
    assert!(done.exists(), "the program was not allowed to finish");
    let store = warden::storage::Store::connect(&db).await.unwrap();
    assert_eq!(
        store.job(id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
}

#[tokio::test]
async fn when_the_bot_cannot_post_in_the_channel_the_job_answers_through_response_url() {
    let scripts = tempfile::tempdir().unwrap();
    let path = script(scripts.path(), "ok.sh", "echo done");
    let fake = FakeSlack::default();
    fake.failing
        .lock()
        .unwrap()
        .insert("chat.postMessage".into(), "not_in_channel".into());
    let api = fake.start().await;
    RESPONSE_URL.with(|url| *url.borrow_mut() = format!("{api}response"));
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api)],
        commands: vec![exec_command("quiet", &path, "")],
    })
    .await;
    let answer = app.slack("T0ACME", "U0ALICE", "quiet").await;
    let job = app.wait_job(job_id(answer.text())).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let responses = fake.calls_of("response");
        if responses
            .iter()
            .any(|r| r["text"].as_str().unwrap_or_default().contains("succeeded"))
        {
            assert!(
                responses.iter().all(|r| r["response_type"] == "in_channel"),
                "{responses:?}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", fake.calls());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.server.shutdown().await.unwrap();
}
