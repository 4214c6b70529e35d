//! The `warden` binary itself: audit verification against a tampered database, `check`, and
//! `serve` with graceful shutdown and logs that never contain a secret.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn warden(env: &[(&str, String)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn audit_verify_names_the_event_whose_byte_was_changed() {
    let app = TestApp::spawn().await;
    for text in ["help", "whoami", "deploy api v1.2.3", "nope", "help deploy"] {
        app.slack("T0ACME", "U0ALICE", text).await;
    }
    app.slack("T0NOPE", "U0X", "help").await;
    let db = app.database_url();
    let env = [("WARDEN_DATABASE_URL", db.clone())];

    let (code, out, err) = warden(&env, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("7 events"), "{out}");

    let (code, out, _) = warden(&env, &["audit", "export", "--format", "jsonl"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    for key in [
        "id",
        "tenant",
        "at",
        "actor",
        "kind",
        "target",
        "channel",
        "request_id",
        "details",
        "prev_hash",
        "hash",
    ] {
        assert!(lines[0].get(key).is_some(), "export lacks {key}");
    }
    assert_eq!(lines[0]["id"], "E-1");
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    let (_, only_system, _) = warden(
        &env,
        &[
            "audit", "export", "--format", "jsonl", "--tenant", "_system",
        ],
    );
    assert_eq!(only_system.lines().count(), 1);

    let (code, tail, _) = warden(&env, &["audit", "tail", "-n", "2"]);
    assert_eq!(code, 0);
    assert_eq!(tail.lines().count(), 2);
    assert!(tail.starts_with("E-6 "), "{tail}");

    // The log is append-only: the database refuses an update...
    let store = &app.server.state.service.store;
    assert!(store
        .execute_raw("UPDATE audit_events SET actor = 'mallory' WHERE id = 3")
        .await
        .is_err());
    assert!(store
        .execute_raw("DELETE FROM audit_events WHERE id = 3")
        .await
        .is_err());
    // ...so an attacker with file access drops the trigger and changes one byte of event 3.
    store
        .execute_raw(
            &format!(
                "{}; UPDATE audit_events SET details = replace(details, 'v1.2.3', 'v1.2.4') WHERE id = 3",
                common::db::drop_trigger("audit_events_no_update")
            ),
        )
        .await
        .unwrap();
    let (code, out, _) = warden(&env, &["audit", "verify"]);
    assert_ne!(code, 0);
    assert!(out.contains("E-3"), "{out}");
    assert!(out.contains("altered"), "{out}");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn audit_verify_notices_a_removed_event() {
    let app = TestApp::spawn().await;
    for text in ["help", "whoami", "help"] {
        app.slack("T0ACME", "U0BOB", text).await;
    }
    let store = &app.server.state.service.store;
    store
        .execute_raw(&format!(
            "{}; DELETE FROM audit_events WHERE id = 2",
            common::db::drop_trigger("audit_events_no_delete")
        ))
        .await
        .unwrap();
    let (code, out, _) = warden(
        &[("WARDEN_DATABASE_URL", app.database_url())],
        &["audit", "verify"],
    );
    assert_ne!(code, 0);
    assert!(out.contains("E-3"), "{out}");
    app.server.shutdown().await.unwrap();
}

#[test]
fn check_accepts_the_shipped_files_and_names_file_and_line_of_problems() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ok_env = [
        (
            "WARDEN_CONFIG",
            root.join("warden.example.toml").display().to_string(),
        ),
        (
            "WARDEN_COMMANDS_DIR",
            root.join("commands").display().to_string(),
        ),
    ];
    let (code, out, err) = warden(&ok_env, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("binding warden.example.toml:"), "{out}");
    assert!(out.contains("alert route 1 warden.example.toml:"), "{out}");
    assert!(out.contains("PROM_ALERT_TOKEN is not set"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("ok: "), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    std::fs::write(
        commands.join("bad.toml"),
        "name = \"bad\"\nsummary = \"x\"\nrole = \"operator\"\ncolour = \"red\"\n[action]\ntype = \"builtin\"\nname = \"flags.get\"\n",
    )
    .unwrap();
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, "[tenants.acme]\nslack_team = \"T1\"\n\n[[bindings]]\nsubject = \"group:nobody\"\ntenant = \"acme\"\nrole = \"operator\"\n").unwrap();
    let env = [
        ("WARDEN_CONFIG", config.display().to_string()),
        ("WARDEN_COMMANDS_DIR", commands.display().to_string()),
    ];
    let (code, out, _) = warden(&env, &["check"]);
    assert_ne!(code, 0);
    assert!(out.contains("bad.toml:4:"), "{out}");
    assert!(out.contains("colour"), "{out}");
    assert!(out.contains("warden.toml:5:"), "{out}");
    assert!(out.contains("nobody"), "{out}");

    // An alert action naming a command or an argument that does not exist is reported with
    // the route's line.
    std::fs::write(
        &config,
        "[tenants.acme]\nslack_team = \"T1\"\nalert_channel = \"slack:C1\"\n\n[alert_sources.prom]\nkind = \"alertmanager\"\ntoken_env = \"PROM_ALERT_TOKEN\"\n\n[[alert_routes]]\nsource = \"prom\"\ntenant = \"acme\"\nactions = [{ label = \"Reboot\", command = \"reboot host={{labels.instance}}\" }]\n",
    )
    .unwrap();
    let shipped = [
        ("WARDEN_CONFIG", config.display().to_string()),
        (
            "WARDEN_COMMANDS_DIR",
            root.join("commands").display().to_string(),
        ),
    ];
    let (code, out, _) = warden(&shipped, &["check"]);
    assert_ne!(code, 0);
    assert!(
        out.contains("warden.toml:9: alert route 1, action `Reboot`: there is no command `reboot`"),
        "{out}"
    );
    std::fs::write(&config, "[tenants.acme]\nslack_team = \"T1\"\n\n[[bindings]]\nsubject = \"group:nobody\"\ntenant = \"acme\"\nrole = \"operator\"\n").unwrap();

    // serve refuses to start on the same problems, with the same lines.
    let (code, _, err) = warden(&env, &["serve"]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.toml:4:"), "{err}");

    // A bad environment variable stops start-up with one clear line, and no secret in it.
    let (code, _, err) = warden(
        &[
            ("DISCORD_PUBLIC_KEY", "zz-not-hex".into()),
            ("SLACK_BOT_TOKEN", "xoxb-very-secret".into()),
        ],
        &["check"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("DISCORD_PUBLIC_KEY"), "{err}");
    assert!(!err.contains("xoxb-very-secret"), "{err}");
}

/// Runs the real binary through a whole session (good, refused, forged and failing requests,
/// an app_mention whose Slack call fails), stops it with SIGTERM while a request is in flight,
/// and checks that it finished that request, exited cleanly, and never logged a secret.
#[tokio::test]
async fn serve_shuts_down_gracefully_and_never_logs_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, DIRECTORY).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = settings_env(dir.path(), &config, &shipped_commands(), &[]);
    env.insert("WARDEN_LISTEN".into(), format!("127.0.0.1:{port}"));
    env.insert("RUST_LOG".into(), "trace".into());
    env.insert("WARDEN_LOG_FORMAT".into(), "json".into());
    // A Slack API that is down: the mention answer fails and its error is logged.
    env.insert("SLACK_API_URL".into(), "http://127.0.0.1:9/api/".into());
    // Socket Mode on, against that same dead API: it retries in the background (logging why,
    // never the token) and must not hold up the shutdown.
    const APP_TOKEN: &str = "xapp-1-A0WARDEN-l0gsafe7";
    env.insert("SLACK_APP_TOKEN".into(), APP_TOKEN.into());
    // On PostgreSQL the URL carries a password (the test server trusts loopback, so any
    // password connects), which must not reach the logs either.
    const DB_PASSWORD: &str = "db-password-9f3c51";
    if common::db::on_postgres() {
        let url = env["WARDEN_DATABASE_URL"].replacen(
            "postgres://warden@",
            &format!("postgres://warden:{DB_PASSWORD}@"),
            1,
        );
        assert!(url.contains(DB_PASSWORD), "{url}");
        env.insert("WARDEN_DATABASE_URL".into(), url);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("serve")
        .env_clear()
        .envs(&env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Trace logs are plentiful: read them as they come, or a full pipe blocks the server.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out_reader = drain(Box::new(child.stdout.take().unwrap()));
    let err_reader = drain(Box::new(child.stderr.take().unwrap()));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "warden did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = |path: &str, body: String, secret: &str, ts: i64| {
        let ts = ts.to_string();
        let sig = warden::chat::verify::slack_signature(secret, &ts, body.as_bytes());
        http.post(format!("{base}{path}"))
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig)
            .body(body)
            .send()
    };
    for text in [
        "help",
        "whoami",
        "deploy api v1.2.3 env=prod",
        "deploy api bad",
        "rotate-key x",
        // A valid secret argument: sealed at rest, never logged, even at trace level.
        "rotate-key api tok_l0gsafe1",
    ] {
        let r = post(
            "/slack/commands",
            slash_body("T0ACME", "U0ALICE", "/ops", text),
            SLACK_SECRET,
            now(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let forged = post(
        "/slack/commands",
        slash_body("T0ACME", "U0ALICE", "/ops", "help"),
        "wrong",
        now(),
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), 401);
    let mention = r#"{"type":"event_callback","team_id":"T0ACME","api_app_id":"A0WARDEN","event_id":"Ev1","event_time":1,"event":{"type":"app_mention","user":"U0BOB","channel":"C1","text":"<@U0WARDEN>","ts":"1.1"}}"#;
    post("/slack/events", mention.to_string(), SLACK_SECRET, now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // SIGTERM with a request in flight (half its body sent): the request completes, then the
    // process exits 0.
    let body = slash_body("T0ACME", "U0BOB", "/ops", "help");
    let ts = now().to_string();
    let sig = warden::chat::verify::slack_signature(SLACK_SECRET, &ts, body.as_bytes());
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\nx-slack-request-timestamp: {ts}\r\nx-slack-signature: {sig}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(rest).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("Commands you may run"), "{response}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "warden did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");

    let mut logs = out_reader.join().unwrap();
    logs.push_str(&err_reader.join().unwrap());
    assert!(
        logs.contains("request rejected"),
        "the forged request is logged"
    );
    assert!(logs.contains("could not answer an app_mention"), "{logs}");
    assert!(logs.contains("shutting down"), "{logs}");
    // The start-up line names the database, without its password.
    let listening = logs
        .lines()
        .find(|l| l.contains("warden is listening"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(listening.contains("\"database\""), "{listening}");
    for secret in [
        SLACK_SECRET,
        SLACK_OLD_SECRET,
        SLACK_BOT_TOKEN,
        DB_PASSWORD,
        TEST_KEY,
        "tok_l0gsafe1",
        APP_TOKEN,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[test]
fn every_subcommand_has_help_with_an_example_and_completions_work() {
    for sub in [
        "serve",
        "migrate",
        "check",
        "audit",
        "outbox",
        "digest",
        "secrets",
        "demo",
        "completions",
    ] {
        let (code, out, err) = warden(&[], &[sub, "--help"]);
        assert_eq!(code, 0, "{sub}: {err}");
        assert!(
            out.contains("Example: ") && out.contains("warden "),
            "{sub} --help has no example:\n{out}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = warden(&[], &["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(out.contains("outbox") && out.contains("demo"), "{shell}");
    }
}

/// Without `WARDEN_PUBLIC_URL` the Slack manifest points at loopback, which Slack cannot call:
/// the manifest is still written (it is useful to read), with a warning naming the variable.
#[test]
fn a_slack_manifest_without_a_public_url_warns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = [(
        "WARDEN_COMMANDS_DIR",
        root.join("commands").display().to_string(),
    )];
    let (code, out, err) = warden(&env, &["manifest", "slack"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("WARDEN_PUBLIC_URL") && err.contains("127.0.0.1"),
        "{err}"
    );
    let manifest: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(manifest["settings"]["interactivity"]["request_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1"));
    let env = [
        env[0].clone(),
        ("WARDEN_PUBLIC_URL", "http://localhost:8080".to_string()),
    ];
    let (_, _, err) = warden(&env, &["manifest", "slack"]);
    assert!(err.contains("warning"), "localhost is loopback too: {err}");
}

/// The checked-in manifests are what `warden manifest` generates from the shipped commands:
/// this fails when a command changes and the manifests were not regenerated.
#[test]
fn checked_in_manifests_match_the_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = [
        (
            "WARDEN_PUBLIC_URL",
            "https://warden.example.com".to_string(),
        ),
        (
            "WARDEN_COMMANDS_DIR",
            root.join("commands").display().to_string(),
        ),
    ];
    for (which, file) in [
        ("slack", "slack-app.json"),
        ("discord", "discord-commands.json"),
    ] {
        let (code, out, err) = warden(&env, &["manifest", which]);
        assert_eq!(code, 0, "{err}");
        let generated: serde_json::Value = serde_json::from_str(&out).unwrap();
        let checked_in: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("manifests").join(file)).unwrap(),
        )
        .unwrap();
        assert_eq!(
            generated, checked_in,
            "manifests/{file} is stale: regenerate it with `warden manifest {which} > manifests/{file}`"
        );
    }
    // Discord's limits: lowercase names of at most 32 characters, descriptions of at most 100,
    // at most 25 options, required options first.
    let (_, out, _) = warden(&env, &["manifest", "discord"]);
    let commands: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    for command in &commands {
        let name = command["name"].as_str().unwrap();
        assert!(name.len() <= 32 && name == name.to_lowercase(), "{name}");
        assert!(command["description"].as_str().unwrap().chars().count() <= 100);
        let options = command["options"].as_array().cloned().unwrap_or_default();
        assert!(options.len() <= 25, "{name}");
        let required: Vec<bool> = options.iter().map(|o| o["required"] == true).collect();
        assert!(
            required.windows(2).all(|w| w[0] || !w[1]),
            "{name}: required options must come first"
        );
    }
    let (_, out, err) = warden(&env, &["manifest", "slack"]);
    assert!(!err.contains("warning"), "a public URL is set: {err}");
    let slack: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        slack["settings"]["interactivity"]["request_url"],
        "https://warden.example.com/slack/interactions"
    );
    assert_eq!(slack["features"]["slash_commands"][0]["command"], "/ops");
}

/// Delivered and dropped outbox rows are purged after a week; dead letters and pending rows stay.
#[tokio::test]
async fn old_delivered_outbox_rows_are_purged_and_dead_letters_kept() {
    use warden::outbox::{Delivery, Outbound};
    let dir = tempfile::tempdir().unwrap();
    let store =
        warden::storage::Store::connect(&common::db::database_url(&dir.path().join("w.db")))
            .await
            .unwrap();
    store.migrate().await.unwrap();
    let now = chrono::Utc::now();
    let mut tx = store.begin().await.unwrap();
    for _ in 0..4 {
        let out = Outbound {
            tenant: "acme".into(),
            delivery: Delivery::Post {
                channel: "slack:C1".parse().unwrap(),
                key: None,
                fallback: None,
                thread: None,
            },
            message: warden::chat::Message {
                text: "hello".into(),
                buttons: vec![],
            },
            important: false,
        };
        tx.enqueue(&out, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    store
        .execute_raw("UPDATE outbox SET status = 'done' WHERE id = 1; UPDATE outbox SET status = 'dropped' WHERE id = 2; UPDATE outbox SET status = 'dead' WHERE id = 3")
        .await
        .unwrap();
    // Nothing is a week old yet.
    assert_eq!(
        store
            .purge_outbox(now.timestamp_millis() - 7 * 86_400_000)
            .await
            .unwrap(),
        0
    );
    // A week later: the delivered and the dropped row go; the dead letter and the pending stay.
    assert_eq!(
        store
            .purge_outbox(now.timestamp_millis() + 1)
            .await
            .unwrap(),
        2
    );
    let left: Vec<String> = store
        .outbox_rows(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.contains(&"dead".to_string()) && left.contains(&"pending".to_string()),
        "{left:?}"
    );
}

/// A PostgreSQL password holding `?`, `/`, `@`, `#` or `:` (written as is, or percent-encoded
/// as it should be) never appears in what `warden migrate`, `warden audit verify` or
/// `warden serve` print when they cannot start: neither in a settings error, nor in a
/// connection error. The database named (port 1 on loopback) refuses every connection.
#[test]
fn database_passwords_with_awkward_characters_are_never_printed() {
    let passwords = [
        "12/hunter2x",
        "12?hunter2x",
        "12#hunter2x",
        "ab?hunter2x",
        "hunter2x:9",
        "hun@ter2x",
        "a?b/c@d#e:hunter2x",
    ];
    let mut runs = Vec::new();
    for password in passwords {
        let encoded: String = password
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        runs.push((password, encoded));
    }
    // Every run waits about 1.5 s for the refused connection, so they run side by side.
    std::thread::scope(|scope| {
        for (password, encoded) in &runs {
            for written in [password.to_string(), encoded.clone()] {
                for args in [&["migrate"][..], &["audit", "verify"], &["serve"]] {
                    let written = written.clone();
                    scope.spawn(move || {
                        let url = format!("postgres://warden:{written}@127.0.0.1:1/warden");
                        let env = [("WARDEN_DATABASE_URL", url.clone())];
                        let (code, out, err) = warden(&env, args);
                        assert_ne!(code, 0, "{args:?} with {url}: {out}{err}");
                        for secret in [password, encoded.as_str(), "hunter2", "ter2x"] {
                            assert!(
                                !out.contains(secret) && !err.contains(secret),
                                "{secret:?} printed by {args:?} for {url:?}: {out}{err}"
                            );
                        }
                    });
                }
            }
        }
    });
}

/// One transaction may append to several tenants' chains (a batch holds everybody's
/// requests): each chain gets its own contiguous sequence, both when the tenants have no head
/// yet and when they have, and `warden audit verify` accepts them all.
#[tokio::test]
async fn one_transaction_extends_many_tenants_chains() {
    let app = TestApp::spawn().await;
    let store = &app.server.state.service.store;
    let tenants = ["acme", "globex", "initech"];
    for round in 0..2 {
        let mut tx = store.begin().await.unwrap();
        for n in 0..7 {
            tx.append_audit(
                warden::audit::NewEvent {
                    tenant: tenants[n % 3].to_string(),
                    actor: "alice".into(),
                    kind: "command.invoked".into(),
                    target: format!("round-{round}-{n}"),
                    channel: "slack:C01".into(),
                    request_id: String::new(),
                    details: serde_json::json!({ "n": n }),
                },
                chrono::Utc::now(),
            );
        }
        tx.commit().await.unwrap();
    }
    let env = [("WARDEN_DATABASE_URL", app.database_url())];
    let (code, out, err) = warden(&env, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("14 events"), "{out}");
    let (_, export, _) = warden(&env, &["audit", "export", "--format", "jsonl"]);
    let rows: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (tenant, expected) in [("acme", 6), ("globex", 4), ("initech", 4)] {
        let mine: Vec<&serde_json::Value> = rows.iter().filter(|r| r["tenant"] == tenant).collect();
        assert_eq!(mine.len(), expected, "{tenant}");
        for pair in mine.windows(2) {
            assert_eq!(pair[1]["prev_hash"], pair[0]["hash"], "{tenant}");
        }
    }
    app.server.shutdown().await.unwrap();
}
