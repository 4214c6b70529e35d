//! The http action against a fake downstream on 127.0.0.1 that records what it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;

use super::{args, bounded, run_simple, run_with, spec};
use crate::actions::{ActionEnv, ActionOutcome, Stream};

const SECRET: &str = "s3cret-key";

/// One request as the downstream saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

struct Fake {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Answers by the first path segment; the rest of the path comes from the command's template.
async fn respond(path: &str) -> Response {
    match path.split('/').nth(1).unwrap_or("") {
        "fail" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "boom: deployer down\nsecond line",
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        "redirect" => (StatusCode::FOUND, [("location", "/elsewhere")]).into_response(),
        _ => (StatusCode::CREATED, "{\"id\":7}\nsecond").into_response(),
    }
}

/// Starts a downstream that records every request and answers by path.
async fn fake() -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(Seen {
                    method,
                    path: uri.path().to_string(),
                    query: uri.query().map(str::to_string),
                    headers,
                    body: body.to_vec(),
                });
                respond(uri.path()).await
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Fake { addr, seen }
}

/// A signed POST command aimed at the fake, on `path`.
fn post_spec(addr: SocketAddr, path: &str) -> crate::commands::CommandSpec {
    let toml = r#"
name = "deploy"
summary = "Deploy"
role = "operator"
dry_run = true
[[args]]
name = "service"
type = "string"
[[args]]
name = "replicas"
type = "int"
[[args]]
name = "force"
type = "bool"
default = false
[action]
type = "http"
method = "POST"
url = "http://ADDRPATH/{{service}}?q={{service}}&n={{replicas}}"
headers = { "X-Extra" = "{{service}}" }
body = { service = "{{service}}", replicas = "{{replicas}}", force = "{{force}}", label = "n={{replicas}}" }
sign_secret_env = "TEST_HMAC"
"#;
    spec(
        &toml
            .replace("ADDR", &addr.to_string())
            .replace("PATH", path),
    )
}

fn secret_env() -> ActionEnv {
    ActionEnv::from_values([("TEST_HMAC", SECRET)])
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn signed_post_arrives_escaped_typed_and_signed() {
    let fake = fake().await;
    let spec = post_spec(fake.addr, "/deploys");
    let args = args(
        &spec,
        &[("service", "a b&c"), ("replicas", "3"), ("force", "yes")],
        false,
    );
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &secret_env()),
    )
    .await;
    let ActionOutcome::Succeeded { summary } = &ran.outcome else {
        panic!("{:?}\n{}", ran.outcome, ran.all());
    };
    assert!(summary.starts_with("HTTP 201 Created ("), "{summary}");

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, "/deploys/a%20b%26c");
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query.as_deref().unwrap()).unwrap();
    assert_eq!(
        query,
        vec![("q".into(), "a b&c".into()), ("n".into(), "3".into())],
        "the value arrives as one query value"
    );
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"service": "a b&c", "replicas": 3, "force": true, "label": "n=3"})
    );
    assert_eq!(header(req, "idempotency-key"), Some("J-42"));
    assert_eq!(header(req, "content-type"), Some("application/json"));
    assert_eq!(header(req, "x-extra"), Some("a b&c"));
    assert_eq!(header(req, "x-warden-dry-run"), None);

    // The signature verifies, computed independently, over "{ts}.{body}".
    let ts = header(req, "x-warden-timestamp").unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(ts.parse().unwrap()) < 30, "timestamp {ts}");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&req.body);
    let want = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    let got = header(req, "x-warden-signature").unwrap();
    assert_eq!(got, want);

    // The log: the exchange as Info, then the body as Stdout; never the secret or signature.
    let info = ran.texts(Stream::Info);
    let prefix = format!(
        "POST http://{}/deploys/a%20b%26c?q=a%20b%26c&n=3 → 201 Created (",
        fake.addr
    );
    assert!(info[0].starts_with(&prefix), "{}", ran.all());
    assert!(info[0].ends_with(" ms)"), "{}", ran.all());
    assert_eq!(ran.texts(Stream::Stdout), vec!["{\"id\":7}", "second"]);
    let all = ran.all();
    assert!(!all.contains(SECRET) && !all.contains(got), "{all}");
}

#[tokio::test]
async fn dry_run_sends_the_dry_run_header() {
    let fake = fake().await;
    let spec = post_spec(fake.addr, "/deploys");
    for dry_run in [true, false] {
        let args = args(&spec, &[("service", "api"), ("replicas", "1")], dry_run);
        let ran = bounded(
            Duration::from_secs(10),
            run_simple(&spec, &args, &secret_env()),
        )
        .await;
        assert!(
            matches!(ran.outcome, ActionOutcome::Succeeded { .. }),
            "{}",
            ran.all()
        );
    }
    let seen = fake.seen();
    assert_eq!(header(&seen[0], "x-warden-dry-run"), Some("1"));
    assert_eq!(header(&seen[1], "x-warden-dry-run"), None);
    assert!(header(&seen[0], "x-warden-signature").is_some());
}

#[tokio::test]
async fn server_error_fails_with_status_and_first_line() {
    let fake = fake().await;
    let spec = post_spec(fake.addr, "/fail");
    let args = args(&spec, &[("service", "api"), ("replicas", "1")], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &secret_env()),
    )
    .await;
    assert_eq!(
        ran.outcome,
        ActionOutcome::Failed {
            error: "HTTP 500 Internal Server Error: boom: deployer down".into()
        }
    );
    assert_eq!(
        ran.texts(Stream::Stdout),
        vec!["boom: deployer down", "second line"]
    );
}

#[tokio::test]
async fn slow_downstream_times_out() {
    let fake = fake().await;
    let mut spec = post_spec(fake.addr, "/slow");
    spec.timeout = Duration::from_millis(500);
    let args = args(&spec, &[("service", "api"), ("replicas", "1")], false);
    let started = Instant::now();
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &secret_env()),
    )
    .await;
    assert_eq!(ran.outcome, ActionOutcome::TimedOut, "{}", ran.all());
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[tokio::test]
async fn cancel_aborts_the_request() {
    let fake = fake().await;
    let spec = post_spec(fake.addr, "/slow");
    let args = args(&spec, &[("service", "api"), ("replicas", "1")], false);
    let (tx, cancel) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.send(true).unwrap();
        // Keep the sender alive so the receiver sees a cancellation, not a closed channel.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let started = Instant::now();
    let env = secret_env();
    let ran = bounded(
        Duration::from_secs(10),
        run_with(&spec, &args, &env, cancel),
    )
    .await;
    assert_eq!(ran.outcome, ActionOutcome::Cancelled, "{}", ran.all());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn missing_secret_fails_without_calling_downstream() {
    let fake = fake().await;
    let spec = post_spec(fake.addr, "/deploys");
    let args = args(&spec, &[("service", "api"), ("replicas", "1")], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &ActionEnv::empty()),
    )
    .await;
    let ActionOutcome::Failed { error } = &ran.outcome else {
        panic!("{:?}", ran.outcome);
    };
    assert!(error.contains("$TEST_HMAC"), "{error}");
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn header_with_line_break_is_never_sent() {
    let fake = fake().await;
    let spec = post_spec(fake.addr, "/deploys");
    let args = args(
        &spec,
        &[("service", "api\r\nX-Evil: 1"), ("replicas", "1")],
        false,
    );
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &secret_env()),
    )
    .await;
    let ActionOutcome::Failed { error } = &ran.outcome else {
        panic!("{:?}", ran.outcome);
    };
    assert!(
        error.contains("X-Extra") && error.contains("line break"),
        "{error}"
    );
    assert!(!error.contains("Evil"), "the value is not echoed: {error}");
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn redirects_are_not_followed_and_secret_args_stay_out_of_the_log() {
    let fake = fake().await;
    let toml = r#"
name = "probe"
summary = "Probe"
role = "viewer"
[[args]]
name = "token"
type = "string"
secret = true
[action]
type = "http"
method = "GET"
url = "http://ADDR/redirect?token={{token}}"
"#;
    let spec = spec(&toml.replace("ADDR", &fake.addr.to_string()));
    let args = args(&spec, &[("token", "tok-123")], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &ActionEnv::empty()),
    )
    .await;
    assert_eq!(
        ran.outcome,
        ActionOutcome::Failed {
            error: "HTTP 302 Found".into()
        }
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "the redirect is not followed");
    assert_eq!(seen[0].query.as_deref(), Some("token=tok-123"));
    assert_eq!(
        header(&seen[0], "content-type"),
        None,
        "no body, no content type"
    );
    assert_eq!(header(&seen[0], "x-warden-signature"), None);
    let all = ran.all();
    assert!(all.contains("token=[redacted]"), "{all}");
    assert!(!all.contains("tok-123"), "{all}");
}

#[tokio::test]
async fn unreachable_downstream_fails() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let spec = post_spec(addr, "/deploys");
    let args = args(&spec, &[("service", "api"), ("replicas", "1")], false);
    let ran = bounded(
        Duration::from_secs(15),
        run_simple(&spec, &args, &secret_env()),
    )
    .await;
    let ActionOutcome::Failed { error } = &ran.outcome else {
        panic!("{:?}", ran.outcome);
    };
    assert!(
        error.starts_with(&format!("POST http://{addr}/deploys/api")),
        "{error}"
    );
}
