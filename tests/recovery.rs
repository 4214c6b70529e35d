//! Crash recovery: warden is killed with SIGKILL while jobs run, started again on the same
//! database, and every job ends (failed with an alert, or retried) within the lease time.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use warden::jobs::JobStatus;
use warden::storage::Store;

fn start(env: &std::collections::HashMap<String, String>, port: u16, log: &Path) -> Child {
    let mut env = env.clone();
    env.insert("WARDEN_LISTEN".into(), format!("127.0.0.1:{port}"));
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("serve")
        .env_clear()
        .envs(&env)
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A free port on loopback for a warden process to bind.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The test process's own view of the database the warden processes share.
async fn open_store(dir: &Path) -> Store {
    Store::connect(&common::db::database_url(&dir.join("warden.db")))
        .await
        .unwrap()
}

/// Writes the test directory file and returns the environment of a warden process using it,
/// the given commands and the fake Slack at `api`.
fn directory_env(
    dir: &Path,
    commands: &Path,
    api: String,
) -> std::collections::HashMap<String, String> {
    let config = dir.join("warden.toml");
    std::fs::write(&config, DIRECTORY).unwrap();
    let mut env = settings_env(dir, &config, commands, &[]);
    env.insert("SLACK_API_URL".into(), api);
    env
}

/// Waits (at most 90 s) until nothing in the outbox is pending or being sent.
async fn wait_outbox_drained(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = store.outbox_rows(Some("pending"), 100).await.unwrap().len()
            + store.outbox_rows(Some("sending"), 100).await.unwrap().len();
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{left} messages were never delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "warden did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_command(port: u16, text: &str) -> String {
    let body = slash_body("T0ACME", "U0ALICE", "/ops", text);
    let ts = now().to_string();
    let sig = warden::chat::verify::slack_signature(SLACK_SECRET, &ts, body.as_bytes());
    let json: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/slack/commands"))
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json["text"].as_str().unwrap().to_string()
}

async fn wait_status(store: &Store, id: i64, wanted: &[JobStatus], within: Duration) -> JobStatus {
    let deadline = Instant::now() + within;
    loop {
        let status = store.job(id).await.unwrap().unwrap().status;
        if wanted.contains(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "J-{id} stayed {status}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_job_survives_kill_9_of_its_runner() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    let pid_file = dir.path().join("pid");
    let marker = dir.path().join("second-attempt");
    let once = dir.path().join("once.sh");
    std::fs::write(
        &once,
        format!("echo $$ > {}\necho working\nsleep 60\n", pid_file.display()),
    )
    .unwrap();
    let twice = dir.path().join("twice.sh");
    std::fs::write(
        &twice,
        format!(
            "if [ -e {m} ]; then echo second attempt; exit 0; fi\ntouch {m}\nsleep 60\n",
            m = marker.display()
        ),
    )
    .unwrap();
    std::fs::write(commands.join("long.toml"), script_command("long", &once, 0)).unwrap();
    std::fs::write(
        commands.join("retried.toml"),
        script_command("retried", &twice, 1),
    )
    .unwrap();

    let fake = FakeSlack::default();
    let api = fake.start().await;
    let mut env = directory_env(dir.path(), &commands, api);
    env.insert("WARDEN_JOB_LEASE".into(), "3s".into());
    env.insert("WARDEN_LOG_FORMAT".into(), "json".into());
    let port = free_port();

    let mut first = start(&env, port, &dir.path().join("first.log"));
    wait_ready(port).await;
    let store = open_store(dir.path()).await;
    let long = post_command(port, "long").await;
    assert!(long.contains("J-1 queued"), "{long}");
    let retried = post_command(port, "retried").await;
    assert!(retried.contains("J-2 queued"), "{retried}");
    wait_status(&store, 1, &[JobStatus::Running], Duration::from_secs(10)).await;
    wait_status(&store, 2, &[JobStatus::Running], Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pid_file.exists() || !marker.exists() {
        assert!(Instant::now() < deadline, "the programs did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    first.kill().unwrap(); // SIGKILL: no cleanup of any kind.
    first.wait().unwrap();
    let killed_at = Instant::now();
    // The program died with its parent, rather than acting on in the background.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "the job's program outlived warden: {state}"
    );

    let port = free_port();
    let mut second = start(&env, port, &dir.path().join("second.log"));
    wait_ready(port).await;
    let failed = wait_status(&store, 1, &[JobStatus::Failed], Duration::from_secs(15)).await;
    assert_eq!(failed, JobStatus::Failed);
    let done = wait_status(&store, 2, &[JobStatus::Succeeded], Duration::from_secs(15)).await;
    assert_eq!(done, JobStatus::Succeeded);
    assert!(killed_at.elapsed() < Duration::from_secs(15));
    let job = store.job(1).await.unwrap().unwrap();
    assert!(job.error.unwrap().contains("lease ran out"));
    let job2 = store.job(2).await.unwrap().unwrap();
    assert_eq!(job2.attempt, 2);

    // The failure was alerted, with its Retry button.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alerts: Vec<_> = fake
            .calls_of("chat.postMessage")
            .into_iter()
            .filter(|m| m["channel"] == "C0ALERTS")
            .collect();
        if let Some(alert) = alerts.first() {
            assert!(alert["text"].as_str().unwrap().contains("J-1"), "{alert}");
            assert!(alert["blocks"].to_string().contains("Retry"), "{alert}");
            assert_eq!(alerts.len(), 1, "only J-1 failed for good: {alerts:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no alert: {:?}", fake.calls());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = store.audit_events(&Default::default()).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "job.failed"
        && e.target == "J-1"
        && e.details.contains("\"recovered\":true")));
    assert!(events
        .iter()
        .any(|e| e.kind == "job.retried" && e.target == "J-2"));
    assert!(events
        .iter()
        .any(|e| e.kind == "job.succeeded" && e.target == "J-2"));

    Command::new("kill")
        .arg("-TERM")
        .arg(second.id().to_string())
        .status()
        .unwrap();
    second.wait().unwrap();
    assert_audit_verifies(&env["WARDEN_DATABASE_URL"]);
}

/// The outbox survives a crash during a chat outage: messages queued while Slack fails are
/// delivered, once each, by the next process.
#[tokio::test]
async fn pending_messages_survive_kill_9_during_a_chat_outage() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    let quick = dir.path().join("quick.sh");
    std::fs::write(&quick, "echo done\n").unwrap();
    std::fs::write(
        commands.join("quick.toml"),
        script_command("quick", &quick, 0),
    )
    .unwrap();

    // Slack is down: every post fails with a retryable error.
    let fake = FakeSlack::default();
    fake.failing
        .lock()
        .unwrap()
        .insert("chat.postMessage".into(), "internal_error".into());
    let api = fake.start().await;
    let env = directory_env(dir.path(), &commands, api);
    let port = free_port();
    let mut first = start(&env, port, &dir.path().join("first.log"));
    wait_ready(port).await;
    let store = open_store(dir.path()).await;
    for _ in 0..3 {
        let reply = post_command(port, "quick").await;
        assert!(reply.contains("queued"), "{reply}");
    }
    for id in 1..=3 {
        wait_status(&store, id, &[JobStatus::Succeeded], Duration::from_secs(15)).await;
    }
    // Wait until the dispatcher has tried and failed at least once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.calls_of("chat.postMessage").is_empty() {
        assert!(Instant::now() < deadline, "the dispatcher never tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let pending = store.outbox_rows(Some("pending"), 100).await.unwrap().len()
        + store.outbox_rows(Some("sending"), 100).await.unwrap().len();
    assert!(
        pending >= 3,
        "the three job messages wait in the outbox: {pending}"
    );

    // Slack is back; a new process delivers everything.
    fake.failing.lock().unwrap().clear();
    let failed_calls = fake.calls().len();
    let port = free_port();
    let mut second = start(&env, port, &dir.path().join("second.log"));
    wait_ready(port).await;
    wait_outbox_drained(&store).await;
    assert!(store
        .outbox_rows(Some("dead"), 100)
        .await
        .unwrap()
        .is_empty());
    // Each job's message was posted successfully exactly once, and ends showing success.
    let accepted: Vec<serde_json::Value> = fake
        .calls()
        .into_iter()
        .filter(|(method, _, _)| method == "chat.postMessage" || method == "chat.update")
        .map(|(_, body, _)| body)
        .collect();
    let delivered_posts: Vec<serde_json::Value> = fake.calls()[failed_calls..]
        .iter()
        .filter(|(method, body, _)| method == "chat.postMessage" && body["thread_ts"].is_null())
        .map(|(_, body, _)| body.clone())
        .collect();
    for id in 1..=3 {
        let label = format!("J-{id} ");
        let posts = delivered_posts
            .iter()
            .filter(|b| b["text"].as_str().unwrap_or_default().starts_with(&label))
            .count();
        assert_eq!(
            posts, 1,
            "J-{id}'s message must be posted exactly once: {delivered_posts:?}"
        );
        let finals = accepted
            .iter()
            .filter(|b| b["text"].as_str().unwrap_or_default().starts_with(&label))
            .filter(|b| b["text"].as_str().unwrap_or_default().contains("succeeded"))
            .count();
        assert!(finals >= 1, "J-{id} never showed its result: {accepted:?}");
    }
    Command::new("kill")
        .arg("-TERM")
        .arg(second.id().to_string())
        .status()
        .unwrap();
    second.wait().unwrap();
}

/// Issue 11: the card is posted, its thread replies cannot be (Slack refuses them for a
/// while), and warden is killed with SIGKILL. After a restart the replies are delivered in
/// order under the same card, and the card is not posted again.
#[tokio::test]
async fn thread_replies_survive_kill_9_between_the_card_and_its_replies() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    let quick = dir.path().join("quick.sh");
    std::fs::write(&quick, "echo done\n").unwrap();
    std::fs::write(
        commands.join("quick.toml"),
        script_command("quick", &quick, 0),
    )
    .unwrap();
    let fake = FakeSlack::default();
    *fake.failing_replies.lock().unwrap() = Some("internal_error".into());
    let api = fake.start().await;
    let env = directory_env(dir.path(), &commands, api);
    let port = free_port();
    let mut first = start(&env, port, &dir.path().join("first.log"));
    wait_ready(port).await;
    let store = open_store(dir.path()).await;
    let reply = post_command(port, "quick").await;
    assert!(reply.contains("queued"), "{reply}");
    wait_status(&store, 1, &[JobStatus::Succeeded], Duration::from_secs(15)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fake
        .calls_of("chat.postMessage")
        .iter()
        .any(|m| m["thread_ts"].is_string())
    {
        assert!(Instant::now() < deadline, "no reply was ever tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: no cleanup of any kind.
    first.wait().unwrap();
    let cards: Vec<serde_json::Value> = fake
        .calls_of("chat.postMessage")
        .into_iter()
        .filter(|m| m["thread_ts"].is_null())
        .collect();
    assert_eq!(cards.len(), 1, "the card was posted before the kill");

    *fake.failing_replies.lock().unwrap() = None;
    let before = fake.calls().len();
    let port = free_port();
    let mut second = start(&env, port, &dir.path().join("second.log"));
    wait_ready(port).await;
    wait_outbox_drained(&store).await;
    let after: Vec<serde_json::Value> = fake.calls()[before..]
        .iter()
        .filter(|(method, _, _)| method == "chat.postMessage")
        .map(|(_, body, _)| body.clone())
        .collect();
    assert!(
        after.iter().all(|m| m["thread_ts"] == "1700000000.000001"),
        "every delivery after the restart is a reply under the card: {after:?}"
    );
    let texts: Vec<&str> = after
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    let started = texts.iter().position(|t| t.contains("J-1 started"));
    let outcome = texts.iter().position(|t| t.contains("J-1 succeeded"));
    assert!(
        matches!((started, outcome), (Some(s), Some(o)) if s < o),
        "the start, then the outcome: {texts:?}"
    );
    Command::new("kill")
        .arg("-TERM")
        .arg(second.id().to_string())
        .status()
        .unwrap();
    second.wait().unwrap();
}

/// Two replicas share the database; the one running a job is killed with SIGKILL, and the
/// other one notices the expired lease and runs the job's retry to the end.
#[tokio::test]
async fn a_replica_killed_mid_job_has_its_job_recovered_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    let runner_file = dir.path().join("runner");
    let marker = dir.path().join("first-attempt");
    // The first attempt records which warden process runs it (the shell's parent) and hangs;
    // the second finishes at once and records its runner too.
    let script = dir.path().join("job.sh");
    std::fs::write(
        &script,
        format!(
            "echo $PPID >> {r}\nif [ -e {m} ]; then echo recovered; exit 0; fi\ntouch {m}\nsleep 60\n",
            r = runner_file.display(),
            m = marker.display()
        ),
    )
    .unwrap();
    std::fs::write(
        commands.join("long.toml"),
        script_command("long", &script, 1),
    )
    .unwrap();

    let fake = FakeSlack::default();
    let api = fake.start().await;
    let mut env = directory_env(dir.path(), &commands, api);
    env.insert("WARDEN_JOB_LEASE".into(), "3s".into());
    let ports = [free_port(), free_port()];
    let mut replicas: Vec<Child> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| start(&env, *port, &dir.path().join(format!("replica-{i}.log"))))
        .collect();
    for port in ports {
        wait_ready(port).await;
    }
    let store = open_store(dir.path()).await;
    let queued = post_command(ports[1], "long").await;
    assert!(queued.contains("J-1 queued"), "{queued}");
    wait_status(&store, 1, &[JobStatus::Running], Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the job did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let runner: u32 = std::fs::read_to_string(&runner_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let victim = replicas
        .iter()
        .position(|c| c.id() == runner)
        .expect("the job runs in one of the replicas");
    replicas[victim].kill().unwrap(); // SIGKILL
    replicas[victim].wait().unwrap();
    let survivor = 1 - victim;

    let done = wait_status(&store, 1, &[JobStatus::Succeeded], Duration::from_secs(20)).await;
    assert_eq!(done, JobStatus::Succeeded);
    let job = store.job(1).await.unwrap().unwrap();
    assert_eq!(job.attempt, 2);
    let runners: Vec<u32> = std::fs::read_to_string(&runner_file)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(
        runners,
        vec![runner, replicas[survivor].id()],
        "the survivor ran the retry"
    );
    let events = store.audit_events(&Default::default()).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "job.retried" && e.target == "J-1"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "job.succeeded" && e.target == "J-1")
            .count(),
        1
    );

    Command::new("kill")
        .arg("-TERM")
        .arg(replicas[survivor].id().to_string())
        .status()
        .unwrap();
    replicas[survivor].wait().unwrap();
    assert_audit_verifies(&env["WARDEN_DATABASE_URL"]);
}

/// Issue 14: an alert webhook that was answered loses no card, even when warden is killed
/// with SIGKILL right after answering, before anything could be posted.
#[tokio::test]
async fn an_answered_alert_webhook_loses_no_card_to_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    let fake = FakeSlack::default();
    // Slack refuses every post while the first process runs, so nothing can leave before the
    // kill: the cards exist only as outbox rows.
    fake.failing
        .lock()
        .unwrap()
        .insert("chat.postMessage".into(), "internal_error".into());
    let api = fake.start().await;
    let mut env = directory_env(dir.path(), &commands, api);
    let config = dir.path().join("warden.toml");
    let alerts = r#"
[alert_sources.prom]
kind = "alertmanager"
token_env = "PROM_ALERT_TOKEN"

[[alert_routes]]
source = "prom"
tenant = "acme"
"#;
    std::fs::write(&config, format!("{DIRECTORY}\n{alerts}")).unwrap();
    env.insert("PROM_ALERT_TOKEN".into(), "tok-kill9".into());
    let port = free_port();
    let mut first = start(&env, port, &dir.path().join("first.log"));
    wait_ready(port).await;
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/alerts/alertmanager"))
        .bearer_auth("tok-kill9")
        .body(include_str!("fixtures/alertmanager.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    first.kill().unwrap(); // SIGKILL, right after the answer.
    first.wait().unwrap();

    // Whatever the first process tried was refused; only what comes after counts.
    let refused = fake.calls().len();
    fake.failing.lock().unwrap().clear();
    let port = free_port();
    let mut second = start(&env, port, &dir.path().join("second.log"));
    wait_ready(port).await;
    let store = open_store(dir.path()).await;
    wait_outbox_drained(&store).await;
    let cards: Vec<serde_json::Value> = fake.calls()[refused..]
        .iter()
        .filter(|(method, body, _)| {
            method == "chat.postMessage"
                && body["thread_ts"].is_null()
                && body["text"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("*FIRING*")
        })
        .map(|(_, body, _)| body.clone())
        .collect();
    assert_eq!(cards.len(), 2, "two cards, once each: {cards:?}");
    Command::new("kill")
        .arg("-TERM")
        .arg(second.id().to_string())
        .status()
        .unwrap();
    second.wait().unwrap();
}

/// Issue 20: SIGKILL in the middle of sustained load loses no acknowledged request. Twenty
/// clients send `/ops help` (each a fresh signed body) while warden is killed; after a
/// restart on the same database, every request that was answered has its audit event (found
/// by its request id), the chain verifies, and sending the same signed body again is
/// answered as a replay, so its replay key was committed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_request() {
    let dir = tempfile::tempdir().unwrap();
    let env = directory_env(
        dir.path(),
        &shipped_commands(),
        "http://127.0.0.1:9/api/".into(),
    );
    let port = free_port();
    let mut first = start(&env, port, &dir.path().join("first.log"));
    wait_ready(port).await;

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/slack/commands");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..20 {
        let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            // (request id, timestamp, signature, body) of every answered request.
            let mut answered = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = slash_body("T0ACME", "U0ALICE", "/ops", "help");
                let ts = now().to_string();
                let sig = warden::chat::verify::slack_signature(SLACK_SECRET, &ts, body.as_bytes());
                let sent = client
                    .post(&url)
                    .header("x-slack-request-timestamp", &ts)
                    .header("x-slack-signature", &sig)
                    .body(body.clone())
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                let rid = response.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_string();
                let Ok(json) = response.json::<serde_json::Value>().await else {
                    break;
                };
                let text = json["text"].as_str().unwrap_or_default();
                assert!(text.starts_with("Commands you may run"), "{text}");
                answered.push((rid, ts, sig, body));
            }
            answered
        }));
    }
    // Let the load run long enough for many group-committed batches, then kill mid-load.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill().unwrap(); // SIGKILL: no cleanup of any kind.
    first.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered = Vec::new();
    for c in clients {
        answered.extend(c.await.unwrap());
    }
    assert!(
        answered.len() > 50,
        "only {} requests answered before the kill",
        answered.len()
    );

    let mut second = start(&env, port, &dir.path().join("second.log"));
    wait_ready(port).await;
    let store = open_store(dir.path()).await;
    let events = store
        .audit_events(&warden::storage::AuditQuery {
            kind: Some("command.invoked".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let recorded: std::collections::HashSet<&str> =
        events.iter().map(|e| e.request_id.as_str()).collect();
    for (rid, ..) in &answered {
        assert!(
            recorded.contains(rid.as_str()),
            "answered request {rid} has no audit event"
        );
    }
    assert_audit_verifies(&env["WARDEN_DATABASE_URL"]);
    // A sample of the answered requests, sent again byte for byte: each is a replay.
    for (_, ts, sig, body) in answered.iter().step_by(answered.len() / 20 + 1) {
        let json: serde_json::Value = client
            .post(&url)
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = json["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("already received"),
            "not a replay after restart: {text}"
        );
    }
    second.kill().unwrap();
    second.wait().unwrap();
}
