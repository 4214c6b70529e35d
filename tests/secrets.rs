//! Secrets at rest (SPEC §16), end to end on the database the suite runs on: a secret
//! argument is in plaintext nowhere in the database (SQLite file and WAL, or every PostgreSQL
//! table), nor in chat, the audit export or the job page; it survives a key rotation between
//! request and approval; a value that does not open fails its job with an alert and calls
//! nothing; and without a key such commands are refused.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sqlx::Row;
use warden::jobs::JobStatus;
use warden::storage::Sealed;

/// Another key, for rotations.
const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// `vault-set` sends its secret `token` to the fake downstream (body), so a test can check the
/// value that arrives; in prod it needs two leads' approval.
fn vault_set(url: &str) -> (String, String) {
    (
        "vault-set.toml".into(),
        format!(
            r#"
name = "vault-set"
summary = "Store a token"
role = "operator"
environment = "{{{{env}}}}"

[[args]]
name = "token"
type = "string"
secret = true
pattern = '^tok_[a-z0-9]{{8}}$'

[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
default = "staging"

[approval]
when = {{ env = ["prod"] }}
approvals = 2
approvers = ["group:leads"]

[action]
type = "http"
url = "{url}/vault"
body = {{ token = "{{{{token}}}}" }}
"#
        ),
    )
}

async fn any_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}

/// Every byte warden's database holds: the SQLite files, or every row of every table as text.
async fn database_bytes(app: &TestApp) -> Vec<u8> {
    let url = app.database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                all.extend(bytes);
            }
        }
        assert!(!all.is_empty(), "no database file at {path}");
        return all;
    }
    let pool = any_pool(&url).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut all = Vec::new();
    for table in tables {
        let rows = sqlx::query(&format!(
            "SELECT CAST(row_to_json(t) AS TEXT) AS r FROM {table} t"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        for row in rows {
            let text: String = row.get("r");
            all.extend(text.into_bytes());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The sealed value of row `id` of `column`, read through the app's own store (a second
/// connection pool to a SQLite file inside the same process is asking for trouble).
async fn sealed(app: &TestApp, column: Sealed, id: i64) -> Option<String> {
    app.server
        .state
        .service
        .store
        .sealed(column, id)
        .await
        .unwrap()
}

async fn world() -> (TestApp, FakeSlack, FakeDownstream) {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api)],
        commands: vec![vault_set(&url)],
    })
    .await;
    (app, fake, downstream)
}

#[tokio::test]
async fn a_secret_argument_is_in_plaintext_nowhere_and_erased_when_its_job_ends() {
    let (app, fake, downstream) = world().await;
    let secret = "tok_zq81xk3p";
    // The request's response_url is a capability: it must be sealed at rest too.
    let capability = "http://127.0.0.1:9/hooks/T0ACME/capability-9f3e2d1c";
    RESPONSE_URL.with(|url| *url.borrow_mut() = capability.to_string());
    let answer = app
        .slack("T0ACME", "U0ALICE", &format!("vault-set {secret}"))
        .await;
    let job = app.wait_job(number_after("J-", answer.text())).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    // The action received the real value.
    let received = downstream.received();
    assert_eq!(received.len(), 1);
    assert!(contains(&received[0].body, secret));
    // Once the job ended, its sealed copy is erased.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fake
        .calls_of("chat.update")
        .iter()
        .any(|m| m["text"].as_str().unwrap_or_default().contains("succeeded"))
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = sealed(&app, Sealed::JobSecrets, job.id).await;
    assert_eq!(left, None, "the sealed value outlived its job");
    // The value is nowhere: database, chat, audit export, job page; nor is the capability.
    let bytes = database_bytes(&app).await;
    assert!(!contains(&bytes, secret));
    assert!(!contains(&bytes, "capability-9f3e2d1c"));
    assert!(
        contains(&bytes, "enc:v1:"),
        "the capability is stored sealed"
    );
    for (_, body, _) in fake.calls() {
        assert!(!body.to_string().contains(secret), "{body}");
    }
    let page_link = fake
        .calls_of("chat.update")
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .find_map(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Details: ").map(str::to_string))
        })
        .expect("the card links to the job page");
    let path = &page_link[page_link.find("/jobs/").unwrap()..];
    let page = reqwest::get(format!("{}{path}", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("vault-set") && !page.contains(secret));
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "export", "--format", "jsonl"])
        .env_clear()
        .env("WARDEN_DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert!(!String::from_utf8_lossy(&export.stdout).contains(secret));
    assert!(String::from_utf8_lossy(&export.stdout).contains("vault-set"));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_secret_survives_a_key_rotation_between_request_and_approval() {
    let (app, _fake, downstream) = world().await;
    let secret = "tok_r0tat3d1";
    let asked = app
        .slack("T0ACME", "U0ALICE", &format!("vault-set {secret} env=prod"))
        .await;
    let a: i64 = number_after("A-", asked.text());
    let stored = sealed(&app, Sealed::ApprovalSecrets, a)
        .await
        .expect("the request keeps its secret sealed");
    assert!(
        stored.starts_with(&format!("enc:v1:{TEST_KEY_ID}:")),
        "{stored}"
    );
    assert!(!contains(&database_bytes(&app).await, secret));

    // A new key comes first; `warden secrets rotate` re-seals under it (run while warden is
    // stopped, as the runbook says for SQLite); then the old key goes.
    let both = format!("new:{NEW_KEY},{TEST_KEY_ID}:{TEST_KEY}");
    let mut app = app;
    app.env
        .insert("WARDEN_ENCRYPTION_KEYS".into(), format!("new:{NEW_KEY}"));
    let app = app
        .restart_after(|env| {
            // The stopped server's connections may take a moment to let go of the file under
            // load: a CLI that could not open the database yet is run again.
            let run = |args: &[&str]| {
                let mut tries = 0;
                loop {
                    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
                        .args(args)
                        .env_clear()
                        .env("WARDEN_DATABASE_URL", &env["WARDEN_DATABASE_URL"])
                        .env("WARDEN_ENCRYPTION_KEYS", &both)
                        .output()
                        .unwrap();
                    // Under a loaded machine the file may still be busy (opening it, or a
                    // write waiting past the busy timeout); a rotation is idempotent, so it is
                    // run again. A value that could not be opened is a real failure.
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let busy = !stderr.contains("not re-sealed")
                        && (stderr.contains("cannot open the database")
                            || stderr.contains("locked")
                            || stderr.contains("busy")
                            || stderr.contains("timed out"));
                    tries += 1;
                    if out.status.success() || !busy || tries == 5 {
                        return out;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
            };
            let rotated = run(&["secrets", "rotate"]);
            assert!(
                rotated.status.success(),
                "stdout: {}\nstderr: {}",
                String::from_utf8_lossy(&rotated.stdout),
                String::from_utf8_lossy(&rotated.stderr)
            );
            let status = run(&["secrets", "status"]);
            let status = String::from_utf8_lossy(&status.stdout).to_string();
            assert!(
                status.contains("new: 1") && !status.contains(TEST_KEY_ID),
                "{status}"
            );
        })
        .await;

    let response_url = "http://127.0.0.1:9/response";
    for lead in ["U0CAROL", "U0DAVE"] {
        let r = app
            .click(
                "T0ACME",
                lead,
                "warden.approve",
                &format!("A-{a}"),
                response_url,
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while downstream.received().is_empty() {
        assert!(Instant::now() < deadline, "the approved job never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(contains(&downstream.received()[0].body, secret));
    let left = sealed(&app, Sealed::ApprovalSecrets, a).await;
    assert_eq!(
        left, None,
        "the request's copy is erased once the job holds it"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_value_that_does_not_open_fails_the_job_with_an_alert_and_calls_nothing() {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let scripts = tempfile::tempdir().unwrap();
    let slow = scripts.path().join("slow.sh");
    std::fs::write(&slow, "sleep 2\n").unwrap();
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("SLACK_API_URL".into(), api),
            ("WARDEN_JOB_CONCURRENCY".into(), "1".into()),
        ],
        commands: vec![
            vault_set(&url),
            ("slow.toml".into(), script_command("slow", &slow, 0)),
        ],
    })
    .await;
    // The only runner slot is busy, so the next job waits in the queue.
    let slow_job = app.slack("T0ACME", "U0ALICE", "slow").await;
    let first = app
        .slack("T0ACME", "U0ALICE", "vault-set tok_aaaaaaaa")
        .await;
    let second = app
        .slack("T0ACME", "U0ALICE", "vault-set tok_bbbbbbbb")
        .await;
    let (j1, j2) = (
        number_after("J-", first.text()),
        number_after("J-", second.text()),
    );
    // A ciphertext moved from another row does not open in this one.
    let store = &app.server.state.service.store;
    let moved = store.sealed(Sealed::JobSecrets, j1).await.unwrap().unwrap();
    let changed = store
        .reseal(Sealed::JobSecrets, |id, _| {
            (id == j2).then(|| moved.clone())
        })
        .await
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(
        app.wait_job(number_after("J-", slow_job.text()))
            .await
            .status,
        JobStatus::Succeeded
    );
    assert_eq!(app.wait_job(j1).await.status, JobStatus::Succeeded);
    let failed = app.wait_job(j2).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("cannot be opened"), "{error}");
    // Only the first job reached the downstream, with its own value.
    let received = downstream.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(contains(&received[0].body, "tok_aaaaaaaa"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fake.calls_of("chat.postMessage").iter().any(|m| {
        m["channel"] == "C0ALERTS"
            && m["text"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("J-{j2}"))
    }) {
        assert!(Instant::now() < deadline, "no alert for J-{j2}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Its values are erased now that it ended: a Retry is refused, saying why.
    let retry = app
        .click(
            "T0ACME",
            "U0ALICE",
            "warden.retry",
            &format!("J-{j2}"),
            "http://127.0.0.1:9/response",
        )
        .await;
    let said: serde_json::Value = retry.json().await.unwrap();
    let said = said["text"].as_str().unwrap_or_default();
    assert!(
        said.contains("cannot be retried") && said.contains("erased"),
        "{said}"
    );
    assert_eq!(downstream.received().len(), 1);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_key_commands_with_secret_arguments_are_refused() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with(Options {
        env: vec![("WARDEN_ENCRYPTION_KEYS".into(), String::new())],
        commands: vec![vault_set(&url)],
    })
    .await;
    let answer = app
        .slack("T0ACME", "U0ALICE", "vault-set tok_nokey000")
        .await;
    assert!(answer.ephemeral());
    assert!(
        answer.text().contains("WARDEN_ENCRYPTION_KEYS is not set"),
        "{}",
        answer.text()
    );
    assert!(!contains(&database_bytes(&app).await, "tok_nokey000"));
    // Everything else works.
    let status = app.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(status.text().contains("alice"), "{}", status.text());
    // `warden check` names the command and its file.
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("check")
        .env_clear()
        .env("WARDEN_CONFIG", app.env["WARDEN_CONFIG"].clone())
        .env(
            "WARDEN_COMMANDS_DIR",
            app.env["WARDEN_COMMANDS_DIR"].clone(),
        )
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success());
    assert!(
        out.contains("vault-set.toml:") && out.contains("WARDEN_ENCRYPTION_KEYS is not set"),
        "{out}"
    );
    assert!(downstream.received().is_empty());
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reply_handles_stored_without_a_key_are_sealed_once_a_key_is_configured() {
    let app = TestApp::spawn_with(Options {
        env: vec![("WARDEN_ENCRYPTION_KEYS".into(), String::new())],
        ..Options::default()
    })
    .await;
    let capability = "http://127.0.0.1:9/hooks/T0ACME/legacy-4b7c0e";
    RESPONSE_URL.with(|url| *url.borrow_mut() = capability.to_string());
    let answer = app.slack("T0ACME", "U0ALICE", "flag-get").await;
    let job = app.wait_job(number_after("J-", answer.text())).await;
    let handles = |app: &TestApp| {
        let store = app.server.state.service.store.clone();
        async move { store.stored_reply_handles().await.unwrap() }
    };
    // Without a key, a handle is stored as it came (a deployment that chose not to seal).
    let before = handles(&app).await;
    assert!(
        before.iter().any(|h| h.contains("legacy-4b7c0e")),
        "{before:?}"
    );
    // With a key, start-up seals every one, and they still work for the job.
    let mut app = app;
    app.env.insert(
        "WARDEN_ENCRYPTION_KEYS".into(),
        format!("{TEST_KEY_ID}:{TEST_KEY}"),
    );
    let app = app.restart().await;
    let after = handles(&app).await;
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|h| h.starts_with("enc:v1:test1:")),
        "{after:?}"
    );
    let reread = app
        .server
        .state
        .service
        .store
        .job(job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reread.reply_to.map(|h| h.stored().to_string()),
        Some(format!("slack:{capability}"))
    );
    app.server.shutdown().await.unwrap();
}
