//! The test harness: the real app on port 0 with a fresh database, requests signed exactly as
//! Slack and Discord sign them, and a fake Slack Web API on 127.0.0.1.
#![allow(dead_code)]

pub mod db;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::{Json, Router};
use ed25519_dalek::{Signer, SigningKey};
use warden::app::{start, RunningServer};
use warden::audit::AuditEvent;
use warden::chat::verify::slack_signature;
use warden::config::Settings;
use warden::storage::AuditQuery;

/// The id of the test app's encryption key.
pub const TEST_KEY_ID: &str = "test1";
/// The test app's encryption key (32 bytes, base64); a secret: it must never appear in logs.
pub const TEST_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// The current Slack signing secret of the test app.
pub const SLACK_SECRET: &str = "test-signing-secret-new-5c1e";
/// The previous secret, still accepted during a rotation.
pub const SLACK_OLD_SECRET: &str = "test-signing-secret-old-77a0";
/// The bot token; it must never appear in logs.
pub const SLACK_BOT_TOKEN: &str = "xoxb-test-bot-token-0b5e11";
/// The Discord application's signing key (the public half is configured in the app).
pub const DISCORD_SEED: [u8; 32] = [42u8; 32];

/// The directory every integration test uses.
pub const DIRECTORY: &str = r#"
[tenants.acme]
slack_team = "T0ACME"
discord_guild = "900000000000000001"
alert_channel = "slack:C0ALERTS"
audit_channel = "slack:C0AUDIT"
breakglass = ["group:sre"]

[tenants.globex]
slack_team = "T0GLOBEX"

[people.alice]
slack = "T0ACME/U0ALICE"
discord = "900000000000000001/100000000000000001"

[people.bob]
slack = "T0ACME/U0BOB"
discord = "900000000000000001/100000000000000002"

[people.carol]
slack = ["T0ACME/U0CAROL", "T0GLOBEX/U0CAROL"]

[people.dave]
slack = "T0ACME/U0DAVE"
discord = "900000000000000001/100000000000000004"

[people.erin]
slack = "T0ACME/U0ERIN"

# An admin of staging alone: must not be able to decide on anything wider.
[people.frank]
slack = "T0ACME/U0FRANK"

[groups]
sre = ["alice"]
leads = ["carol", "dave", "erin"]
everyone = ["alice", "bob", "carol", "dave", "erin"]

[[bindings]]
subject = "group:everyone"
tenant = "acme"
role = "viewer"

[[bindings]]
subject = "group:sre"
tenant = "acme"
role = "operator"
environments = ["staging", "prod"]

[[bindings]]
subject = "carol"
tenant = "acme"
role = "operator"
environments = ["staging"]

[[bindings]]
subject = "carol"
tenant = "acme"
role = "admin"
expires = "2020-01-01T00:00:00Z"

[[bindings]]
subject = "frank"
tenant = "acme"
role = "admin"
environments = ["staging"]
"#;

/// A test command with a secret argument and a tight rate limit, beside the shipped ones.
pub const ROTATE_COMMAND: &str = r#"
name = "rotate-key"
summary = "Rotate an API key"
role = "operator"
environment = "staging"
rate_limit = "2/hour"

[[args]]
name = "service"
type = "choice"
choices = ["api", "web"]

[[args]]
name = "token"
type = "string"
secret = true
pattern = '^tok_[a-z0-9]{8}$'

# The test does not care what runs; a built-in read keeps the job harmless.
[action]
type = "builtin"
name = "flags.get"
"#;

/// The repository's shipped command definitions.
pub fn shipped_commands() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("commands")
}

/// A running app with its temporary directory.
pub struct TestApp {
    pub server: RunningServer,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// The environment it was started with; a test may change it before `restart`.
    pub env: HashMap<String, String>,
}

/// Options for spawning.
#[derive(Default)]
pub struct Options {
    /// Extra environment variables (e.g. SLACK_API_URL of a fake Slack).
    pub env: Vec<(String, String)>,
    /// Extra command definitions: file name and TOML text.
    pub commands: Vec<(String, String)>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> TestApp {
        Self::spawn_with_directory(options, DIRECTORY).await
    }

    /// `spawn_with`, with `directory` as the text of `warden.toml`.
    pub async fn spawn_with_directory(options: Options, directory: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let commands = dir.path().join("commands");
        std::fs::create_dir(&commands).unwrap();
        for entry in std::fs::read_dir(shipped_commands()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                std::fs::copy(&path, commands.join(path.file_name().unwrap())).unwrap();
            }
        }
        std::fs::write(commands.join("rotate-key.toml"), ROTATE_COMMAND).unwrap();
        for (name, text) in &options.commands {
            std::fs::write(commands.join(name), text).unwrap();
        }
        let config = dir.path().join("warden.toml");
        std::fs::write(&config, directory).unwrap();
        let env = settings_env(dir.path(), &config, &commands, &options.env);
        let settings = Settings::from_env(&env).expect("test settings are valid");
        let server = start(settings).await.expect("the app starts");
        let base = format!("http://{}", server.addr);
        TestApp {
            server,
            base,
            dir,
            http: reqwest::Client::new(),
            env,
        }
    }

    /// Stops the app and starts it again on the same database and files.
    pub async fn restart(self) -> TestApp {
        self.restart_after(|_| {}).await
    }

    /// Stops the app, runs `between` with its environment (e.g. a CLI command against its
    /// database while no server runs), and starts it again.
    pub async fn restart_after(self, between: impl FnOnce(&HashMap<String, String>)) -> TestApp {
        let TestApp {
            server,
            dir,
            http,
            env,
            ..
        } = self;
        server.shutdown().await.unwrap();
        // `between` blocks this runtime's thread (a CLI run is a blocking child process). The
        // stopped server's background loops end, and their connections are returned, only when
        // the runtime polls them, so give them a moment first: otherwise a loop cut off in the
        // middle of a transaction keeps the SQLite file locked while the CLI waits for it.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        between(&env);
        let settings = Settings::from_env(&env).expect("test settings are valid");
        let server = start(settings).await.expect("the app starts again");
        let base = format!("http://{}", server.addr);
        TestApp {
            server,
            base,
            dir,
            http,
            env,
        }
    }

    /// The kinds of the `command.*` audit events, oldest first (jobs add their own events
    /// asynchronously, which these assertions ignore).
    pub async fn command_kinds(&self) -> Vec<String> {
        self.audit()
            .await
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| k.starts_with("command."))
            .collect()
    }

    /// Every audit event, oldest first.
    pub async fn audit(&self) -> Vec<AuditEvent> {
        self.server
            .state
            .service
            .store
            .audit_events(&AuditQuery::default())
            .await
            .unwrap()
    }

    /// The database URL, for running the CLI (or another replica) against the same database.
    pub fn database_url(&self) -> String {
        self.env["WARDEN_DATABASE_URL"].clone()
    }

    /// Sends a slash command signed with the current secret, as `user` in `team`.
    pub async fn slack(&self, team: &str, user: &str, text: &str) -> SlackAnswer {
        let body = slash_body(team, user, "/ops", text);
        let response = self
            .post_slack("/slack/commands", &body, SLACK_SECRET, now())
            .await;
        SlackAnswer::from(response).await
    }

    /// Posts a body to a Slack route, signed with `secret` at `timestamp`.
    pub async fn post_slack(
        &self,
        path: &str,
        body: &str,
        secret: &str,
        timestamp: i64,
    ) -> reqwest::Response {
        let ts = timestamp.to_string();
        let sig = slack_signature(secret, &ts, body.as_bytes());
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Posts a Discord interaction signed with the test key at `timestamp`.
    pub async fn post_discord(
        &self,
        body: &serde_json::Value,
        timestamp: i64,
    ) -> reqwest::Response {
        let body = body.to_string();
        let ts = timestamp.to_string();
        let sig = discord_signature(&ts, body.as_bytes());
        self.http
            .post(format!("{}/discord/interactions", self.base))
            .header("content-type", "application/json")
            .header("x-signature-timestamp", ts)
            .header("x-signature-ed25519", sig)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// The environment a test app (or the binary) is started with.
pub fn settings_env(
    dir: &Path,
    config: &Path,
    commands: &Path,
    extra: &[(String, String)],
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("WARDEN_LISTEN", "127.0.0.1:0".to_string()),
        (
            "WARDEN_DATABASE_URL",
            db::database_url(&dir.join("warden.db")),
        ),
        ("WARDEN_CONFIG", config.display().to_string()),
        ("WARDEN_COMMANDS_DIR", commands.display().to_string()),
        (
            "SLACK_SIGNING_SECRET",
            format!("{SLACK_SECRET},{SLACK_OLD_SECRET}"),
        ),
        ("SLACK_BOT_TOKEN", SLACK_BOT_TOKEN.to_string()),
        ("DISCORD_PUBLIC_KEY", discord_public_key_hex()),
        // Tests never talk to Slack or Discord: unless a test starts a fake, the APIs point at
        // a closed port on loopback.
        ("SLACK_API_URL", "http://127.0.0.1:9/api/".to_string()),
        ("DISCORD_API_URL", "http://127.0.0.1:9/discord".to_string()),
        // Pacing is tested by the outbox's own tests; here it would only slow every test.
        ("WARDEN_CHANNEL_RATE", "1000".to_string()),
        // Secret arguments are sealed at rest (SPEC §16); without a key they are refused.
        (
            "WARDEN_ENCRYPTION_KEYS",
            format!("{TEST_KEY_ID}:{TEST_KEY}"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        env.insert(k.clone(), v.clone());
    }
    // An empty key list means "no key": the variable is left unset.
    if env
        .get("WARDEN_ENCRYPTION_KEYS")
        .is_some_and(|v| v.is_empty())
    {
        env.remove("WARDEN_ENCRYPTION_KEYS");
    }
    env
}

/// Runs `warden audit verify` (the real binary) on `database_url` and asserts that every chain
/// is intact; returns what it printed.
pub fn assert_audit_verifies(database_url: &str) -> String {
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "verify"])
        .env_clear()
        .env("WARDEN_DATABASE_URL", database_url)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout).to_string();
    assert!(
        verify.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    out
}

/// The number after `prefix` in a reply: 12 for `J-` in "J-12 queued", 3 for `A-` in "A-3: …".
pub fn number_after(prefix: &str, text: &str) -> i64 {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[start + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix} in {text}"))
}

/// `ship SERVICE [env=staging|prod]`: calls the fake downstream at `url/ship/SERVICE`; prod
/// needs 2 approvals from the leads, expiring after `expires`.
pub fn ship(url: &str, expires: &str) -> (String, String) {
    (
        "ship.toml".into(),
        format!(
            r#"
name = "ship"
summary = "Ship a service"
role = "operator"
environment = "{{{{env}}}}"

[[args]]
name = "service"
type = "string"
pattern = '^[a-z0-9-]{{1,30}}$'

[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
default = "staging"

[approval]
when = {{ env = ["prod"] }}
approvals = 2
approvers = ["group:leads"]
expires_in = "{expires}"

[action]
type = "http"
url = "{url}/ship/{{{{service}}}}"
"#
        ),
    )
}

/// A command file that runs `script` with `/bin/sh` (no arguments), for tests of long jobs.
pub fn script_command(name: &str, script: &Path, retries: u32) -> String {
    format!(
        r#"
name = "{name}"
summary = "A long job"
role = "operator"
retries = {retries}
timeout = "2m"

[action]
type = "exec"
program = "/bin/sh"
args = ["{}"]
"#,
        script.display()
    )
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

thread_local! {
    /// The `response_url` slash commands carry; a closed loopback port unless a test sets it.
    pub static RESPONSE_URL: std::cell::RefCell<String> =
        std::cell::RefCell::new("http://127.0.0.1:9/response".to_string());
}

/// A slash command body exactly as Slack sends it.
pub fn slash_body(team: &str, user: &str, command: &str, text: &str) -> String {
    // Slack gives every request its own trigger_id, so two identical commands typed in the
    // same second still have different bodies (and signatures).
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let trigger = format!(
        "{}.47445629121.803a0bc887a14d10d2c447fce8b6703c",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let response_url = RESPONSE_URL.with(|url| url.borrow().clone());
    serde_urlencoded::to_string([
        ("token", "deprecated-verification-token"),
        ("team_id", team),
        ("team_domain", "acme"),
        ("channel_id", "C0DEPLOYS"),
        ("channel_name", "deploys"),
        ("user_id", user),
        ("user_name", "someone"),
        ("command", command),
        ("text", text),
        ("api_app_id", "A0WARDEN"),
        ("response_url", response_url.as_str()),
        ("trigger_id", trigger.as_str()),
    ])
    .unwrap()
}

pub fn discord_public_key_hex() -> String {
    hex::encode(
        SigningKey::from_bytes(&DISCORD_SEED)
            .verifying_key()
            .to_bytes(),
    )
}

pub fn discord_signature(timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    hex::encode(
        SigningKey::from_bytes(&DISCORD_SEED)
            .sign(&message)
            .to_bytes(),
    )
}

/// A guild member as Discord sends it (serenity reads roles, deaf, mute and flags).
pub fn discord_member(user: &str, username: &str) -> serde_json::Value {
    serde_json::json!({
        "user": { "id": user, "username": username, "discriminator": "0", "global_name": null, "avatar": null, "public_flags": 0 },
        "roles": [], "premium_since": null, "permissions": "2147483647", "pending": false,
        "nick": null, "mute": false, "deaf": false, "flags": 0,
        "joined_at": "2023-03-13T19:19:14.040000+00:00"
    })
}

/// An application-command interaction as Discord sends it.
pub fn discord_command(
    id: &str,
    guild: &str,
    user: &str,
    name: &str,
    options: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "type": 2,
        "id": id,
        "application_id": "123456789012345678",
        "token": "interaction-token",
        "version": 1,
        "guild_id": guild,
        "channel_id": "700000000000000001",
        "channel": { "id": "700000000000000001", "type": 0, "guild_id": guild },
        "member": discord_member(user, "someone"),
        "data": { "id": "600000000000000001", "name": name, "type": 1, "options": options },
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "442368",
        "entitlements": [],
        "authorizing_integration_owners": { "0": guild },
        "context": 0,
        "attachment_size_limit": 26214400,
    })
}

/// A button click as Discord sends it: `user` (named `username`) in `guild` clicks the button
/// `custom_id` on message `message` in channel 700000000000000001.
pub fn discord_click(
    id: &str,
    guild: &str,
    user: &str,
    username: &str,
    message: &str,
    custom_id: &str,
) -> serde_json::Value {
    let channel = "700000000000000001";
    serde_json::json!({
        "type": 3,
        "id": id,
        "application_id": "123456789012345678",
        "token": "interaction-token",
        "version": 1,
        "guild_id": guild,
        "channel_id": channel,
        "channel": { "id": channel, "type": 0, "guild_id": guild },
        "member": discord_member(user, username),
        "message": {
            "id": message, "type": 0, "channel_id": channel, "content": "",
            "author": { "id": "123456789012345678", "username": "warden", "discriminator": "0", "avatar": null, "bot": true },
            "timestamp": "2026-12-01T10:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "flags": 0,
            "components": [{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Click", "custom_id": custom_id }] }]
        },
        "data": { "custom_id": custom_id, "component_type": 2 },
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "442368",
        "entitlements": [],
        "attachment_size_limit": 26214400,
    })
}

/// A slash-command answer: status and the JSON Slack would render.
pub struct SlackAnswer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl SlackAnswer {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        SlackAnswer { status, body }
    }

    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }

    pub fn ephemeral(&self) -> bool {
        self.body["response_type"] == "ephemeral"
    }
}

/// One recorded Web API call: method, JSON body, Authorization header.
pub type SlackCall = (String, serde_json::Value, Option<String>);

/// A fake Slack Web API that records every call slack-morphism makes and answers as Slack
/// does (see `warden::demo::fakes::web_api_answer`).
#[derive(Clone, Default)]
pub struct FakeSlack {
    pub calls: Arc<Mutex<Vec<SlackCall>>>,
    /// Methods that answer `{"ok":false,"error":CODE}`.
    pub failing: Arc<Mutex<HashMap<String, String>>>,
    /// When set, thread replies (`chat.postMessage` with `thread_ts`) answer this error code.
    pub failing_replies: Arc<Mutex<Option<String>>>,
}

impl FakeSlack {
    /// Starts it on 127.0.0.1 and returns its base URL (ending in `/`).
    pub async fn start(&self) -> String {
        let calls = self.calls.clone();
        let failing = self.failing.clone();
        let failing_replies = self.failing_replies.clone();
        let handler = move |axum::extract::Path(method): axum::extract::Path<String>,
                            request_method: axum::http::Method,
                            axum::extract::RawQuery(query): axum::extract::RawQuery,
                            headers: axum::http::HeaderMap,
                            raw: axum::body::Bytes| {
            let calls = calls.clone();
            let failing = failing.clone();
            let failing_replies = failing_replies.clone();
            async move {
                // What slack-morphism sends: reads as GETs with a query, every other
                // method as a JSON POST.
                let read = method == "chat.getPermalink";
                let expected = if read { "GET" } else { "POST" };
                assert_eq!(request_method.as_str(), expected, "{method}");
                if !read {
                    assert_eq!(
                        headers.get("content-type").and_then(|v| v.to_str().ok()),
                        Some("application/json; charset=utf-8"),
                        "{method}"
                    );
                }
                let body = warden::demo::fakes::web_api_body(query.as_deref(), &raw);
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let mut calls = calls.lock().unwrap();
                let reply_code = body["thread_ts"]
                    .is_string()
                    .then(|| failing_replies.lock().unwrap().clone())
                    .flatten();
                if let Some(code) = reply_code {
                    calls.push((method, body.clone(), auth));
                    return Json(serde_json::json!({ "ok": false, "error": code }));
                }
                if let Some(code) = failing.lock().unwrap().get(&method).cloned() {
                    calls.push((method, body.clone(), auth));
                    return Json(serde_json::json!({ "ok": false, "error": code }));
                }
                calls.push((method.clone(), body.clone(), auth));
                // Every message gets its own ts, as Slack's do.
                let ts = format!("1700000000.{:06}", calls.len());
                Json(warden::demo::fakes::web_api_answer(&method, &body, &ts))
            }
        };
        let app = Router::new().route(
            "/api/{method}",
            axum::routing::get(handler.clone()).post(handler),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/api/")
    }

    pub fn calls(&self) -> Vec<SlackCall> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls of one Web API method.
    pub fn calls_of(&self, method: &str) -> Vec<serde_json::Value> {
        self.calls()
            .into_iter()
            .filter(|(m, _, _)| m == method)
            .map(|(_, body, _)| body)
            .collect()
    }
}

/// One request a fake downstream received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path_and_query: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

/// A fake downstream HTTP service that records every request and answers with `status`.
#[derive(Clone, Default)]
pub struct FakeDownstream {
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl FakeDownstream {
    /// Starts it on 127.0.0.1; every request is answered `status` with a small JSON body.
    pub async fn start(&self, status: u16) -> String {
        let received = self.received.clone();
        let app = Router::new().fallback(move |req: axum::extract::Request| {
            let received = received.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
                received.lock().unwrap().push(Received {
                    method: parts.method.to_string(),
                    path_and_query: parts
                        .uri
                        .path_and_query()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    headers: parts.headers,
                    body,
                });
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    "{\"deploy\":\"started\"}\nsecond line",
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl TestApp {
    /// Waits (bounded) until job `id` reaches a final state, and returns it.
    pub async fn wait_job(&self, id: i64) -> warden::jobs::Job {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let job = self.server.state.service.store.job(id).await.unwrap();
            if let Some(job) = job.filter(|j| j.status.is_final()) {
                return job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job J-{id} did not finish in time"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Sends a Slack button click (block_actions) as `user`, with the action and value.
    pub async fn click(
        &self,
        team: &str,
        user: &str,
        action_id: &str,
        value: &str,
        response_url: &str,
    ) -> reqwest::Response {
        let body = click_body(team, user, action_id, value, response_url);
        self.post_slack("/slack/interactions", &body, SLACK_SECRET, now())
            .await
    }
}

/// A Slack button click (block_actions) body as `user`, with the action and value; each call
/// makes a new click (its own trigger id), as Slack does.
pub fn click_body(
    team: &str,
    user: &str,
    action_id: &str,
    value: &str,
    response_url: &str,
) -> String {
    {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let payload = serde_json::json!({
            "type": "block_actions",
            "team": { "id": team, "domain": "acme" },
            "user": { "id": user, "username": "someone", "team_id": team },
            "api_app_id": "A0WARDEN",
            "token": "deprecated",
            "container": { "type": "message", "message_ts": "1700000000.000001", "channel_id": "C0DEPLOYS", "is_ephemeral": true },
            "trigger_id": format!("{n}.1.abc"),
            "channel": { "id": "C0DEPLOYS", "name": "deploys" },
            "response_url": response_url,
            "actions": [{
                "action_id": action_id,
                "block_id": "b1",
                "text": { "type": "plain_text", "text": "x" },
                "value": value,
                "type": "button",
                "action_ts": format!("1700000001.{n:06}")
            }]
        });
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
    }
}

/// One command sent over two transports leaves two audit records that are the same apart from
/// `details.transport`, which names each path (SPEC §14: one pipeline whatever the transport).
pub fn assert_alike_but_transport(
    first: &AuditEvent,
    first_transport: &str,
    second: &AuditEvent,
    second_transport: &str,
) {
    let split = |event: &AuditEvent| {
        let mut details: serde_json::Value = serde_json::from_str(&event.details).unwrap();
        let transport = details.as_object_mut().unwrap().remove("transport");
        (details, transport)
    };
    let (first_details, first_seen) = split(first);
    let (second_details, second_seen) = split(second);
    assert_eq!(first_seen, Some(serde_json::json!(first_transport)));
    assert_eq!(second_seen, Some(serde_json::json!(second_transport)));
    assert_eq!(first_details, second_details);
    assert_eq!(
        (
            &first.kind,
            &first.tenant,
            &first.actor,
            &first.target,
            &first.channel
        ),
        (
            &second.kind,
            &second.tenant,
            &second.actor,
            &second.target,
            &second.channel
        )
    );
}

/// `/readyz`'s body at `base` (empty while nothing answers there, e.g. a process starting).
pub async fn readyz(base: &str) -> String {
    match reqwest::get(format!("{base}/readyz")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (at most about 20 s) until `/readyz` at `base` shows `line`, and returns its body.
pub async fn wait_ready_line(base: &str, line: &str) -> String {
    let mut body = String::new();
    for _ in 0..400 {
        body = readyz(base).await;
        if body.contains(line) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("/readyz never showed `{line}`: {body}");
}
