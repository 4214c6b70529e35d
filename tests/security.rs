//! Hardening regressions, end to end: what a hostile caller or downstream can send (dot
//! segments in URL paths, request ids, echoed secrets, slow or oversized requests) never
//! reaches a place it must not.

mod common;

use common::*;

/// `fetch TEAM`: a viewer's GET of `url/teams/TEAM/report`, with a free string in the path.
fn fetch_command(url: &str) -> (String, String) {
    (
        "fetch.toml".into(),
        format!(
            r#"
name = "fetch"
summary = "Fetch a team's report"
role = "viewer"

[[args]]
name = "team"
type = "string"

[action]
type = "http"
method = "GET"
url = "{url}/teams/{{{{team}}}}/report"
"#
        ),
    )
}

/// `.` and `..` (and nothing) as a value placed in a URL path segment are refused at the
/// argument step, naming the argument, so the downstream never receives a request for another
/// path than the plan shows; an ordinary value reaches exactly the path of the template.
#[tokio::test]
async fn dot_segments_in_url_paths_are_refused_before_anything_is_sent() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with(Options {
        commands: vec![fetch_command(&url)],
        ..Options::default()
    })
    .await;
    for typed in [
        "fetch ..",
        "fetch .",
        "fetch team=..",
        "fetch \"\"",
        "fetch '..'",
    ] {
        let answer = app.slack("T0ACME", "U0ALICE", typed).await;
        assert_eq!(answer.status, 200);
        assert!(answer.ephemeral(), "{typed}: {}", answer.body);
        assert!(
            answer.text().contains("rgument `team`")
                && answer
                    .text()
                    .contains("URL path cannot be empty, `.` or `..`"),
            "{typed}: {}",
            answer.text()
        );
        assert!(!answer.text().contains("J-"), "{typed}: {}", answer.text());
    }
    let refused = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "command.refused" && e.details.contains("\"step\":\"args\""))
        .count();
    assert_eq!(refused, 5);

    let answer = app.slack("T0ACME", "U0ALICE", "fetch web..eu").await;
    let job = app.wait_job(number_after("J-", answer.text())).await;
    assert_eq!(job.status, warden::jobs::JobStatus::Succeeded, "{job:?}");
    let paths: Vec<String> = downstream
        .received()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(paths, vec!["/teams/web..eu/report".to_string()]);
}

/// Sends a signed `/ops whoami` over a raw TCP connection with `extra` as an additional header
/// line (raw bytes, so that anything a hostile client can put on the wire can be sent), and
/// returns the response as text.
async fn slack_with_raw_header(app: &TestApp, extra: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = slash_body("T0ACME", "U0ALICE", "/ops", "whoami");
    let ts = now().to_string();
    let sig = warden::chat::verify::slack_signature(SLACK_SECRET, &ts, body.as_bytes());
    let mut request = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\nx-slack-request-timestamp: {ts}\r\nx-slack-signature: {sig}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(extra);
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(body.as_bytes());
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("the server answers and closes")
    .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// A client-supplied `X-Request-Id` reaches the audit log only when it is 1 to 128 characters
/// of `[A-Za-z0-9._:-]`; a hostile one (10 KB, line breaks, markup, non-ASCII bytes, two of
/// them) is replaced by warden's own id, in the audit log as in the response header.
#[tokio::test]
async fn hostile_request_ids_never_reach_the_audit_log() {
    let app = TestApp::spawn().await;
    let huge = format!("x-request-id: {}", "A".repeat(10 * 1024));
    let hostile: Vec<&[u8]> = vec![
        huge.as_bytes(),
        b"x-request-id: caf\xc3\xa9-\xff\xfe",
        b"x-request-id: id with spaces <b>\"quoted\"</b>",
        b"x-request-id: ../../etc/passwd",
        b"x-request-id: one\nx-injected: two",
        b"x-request-id: one\r\n two-folded",
        b"x-request-id: line\rbreak",
        b"x-request-id: nul\x00byte",
        b"x-request-id: first-id\r\nx-request-id: second-id",
    ];
    for extra in &hostile {
        let response = slack_with_raw_header(&app, extra).await;
        let head = response.split("\r\n\r\n").next().unwrap_or_default();
        if let Some(line) = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("x-request-id:"))
        {
            let echoed = line["x-request-id:".len()..].trim();
            assert!(
                warden::http::request_id_acceptable(echoed.as_bytes()),
                "{:?} echoed",
                echoed.chars().take(80).collect::<String>()
            );
        }
    }
    // An acceptable id is kept, and echoed.
    let response = slack_with_raw_header(&app, b"x-request-id: trace-42.a:b_c").await;
    assert!(
        response
            .to_ascii_lowercase()
            .contains("x-request-id: trace-42.a:b_c\r\n"),
        "{response}"
    );

    let events = app.audit().await;
    assert!(events.len() >= 2, "{events:?}");
    for event in &events {
        let id = &event.request_id;
        assert!(
            warden::http::request_id_acceptable(id.as_bytes()),
            "{:?} reached the audit log ({})",
            id.chars().take(80).collect::<String>(),
            event.kind
        );
        for piece in [
            "AAAAAAAA",
            // Not "caf" alone: that is hex, and a generated id (a UUID) may hold it.
            "café",
            "\u{fffd}",
            "spaces",
            "passwd",
            "injected",
            "folded",
            "second-id",
            "first-id",
            "break",
            "byte",
        ] {
            assert!(!id.contains(piece), "{id:?}");
        }
    }
    assert!(events.iter().any(|e| e.request_id == "trace-42.a:b_c"));
    let export = format!("{events:?}");
    assert!(!export.contains("AAAAAAAAAAAAAAAA"));
}

/// `leaky TOKEN`: runs `script` with the secret token as its argument and an inherited token
/// in its environment.
fn leaky_exec_command(script: &str) -> (String, String) {
    (
        "leaky.toml".into(),
        format!(
            r#"
name = "leaky"
summary = "Prints what it was given"
role = "operator"
environment = "staging"

[[args]]
name = "token"
type = "string"
secret = true
pattern = '^tok_[a-z0-9]{{8}}$'

[action]
type = "exec"
program = "/bin/sh"
args = ["{script}", "{{{{token}}}}"]
inherit_env = ["LEAKY_API_TOKEN"]
"#
        ),
    )
}

/// `echoed TOKEN`: a signed POST whose downstream echoes the request back with a 400.
fn echoed_http_command(url: &str) -> (String, String) {
    (
        "echoed.toml".into(),
        format!(
            r#"
name = "echoed"
summary = "Calls a service that echoes"
role = "operator"
environment = "staging"

[[args]]
name = "token"
type = "string"
secret = true
pattern = '^tok_[a-z0-9]{{8}}$'

[action]
type = "http"
method = "POST"
url = "{url}/echo?t={{{{token}}}}"
headers = {{ "X-Token" = "{{{{token}}}}" }}
body = {{ token = "{{{{token}}}}" }}
sign_secret_env = "ECHO_SIGNING_SECRET"
"#
        ),
    )
}

/// A downstream that answers 400 with the request's body, path and `X-Token` header, one a
/// line, as a careless service's error page might.
async fn start_echo_downstream() -> String {
    use axum::Router;
    let app = Router::new().fallback(|req: axum::extract::Request| async move {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let token = parts
            .headers
            .get("x-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = format!(
            "{}\nyou asked for {}\nwith token {token}",
            String::from_utf8_lossy(&body),
            parts.uri
        );
        (axum::http::StatusCode::BAD_REQUEST, text)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A program that prints its secret argument (and an inherited token), and a downstream that
/// echoes the secret it was sent: the values reach none of the job's log, its error, the
/// messages sent to Slack (job message and alert), the audit chain and its export, or the
/// job page. `[redacted]` stands in their place.
#[tokio::test]
async fn secrets_echoed_by_actions_are_scrubbed_everywhere() {
    const TOKEN: &str = "tok_s3cr3t42";
    const INHERITED: &str = "inherited-token-5521";
    const SIGNING: &str = "echo-signing-secret-9f1";
    let scripts = tempfile::tempdir().unwrap();
    let script = scripts.path().join("leaky.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"using $1\"\necho \"stderr says $1\" >&2\necho \"url ?t=$1&x=1\"\necho \"env $LEAKY_API_TOKEN\"\necho \"failed for $1\" >&2\nexit 3\n",
    )
    .unwrap();
    let echo = start_echo_downstream().await;
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("SLACK_API_URL".into(), api),
            (
                "WARDEN_PUBLIC_URL".into(),
                "https://warden.example.com".into(),
            ),
            ("LEAKY_API_TOKEN".into(), INHERITED.into()),
            ("ECHO_SIGNING_SECRET".into(), SIGNING.into()),
        ],
        commands: vec![
            leaky_exec_command(&script.display().to_string()),
            echoed_http_command(&echo),
        ],
    })
    .await;

    let mut jobs = Vec::new();
    for typed in [format!("leaky {TOKEN}"), format!("echoed {TOKEN}")] {
        let answer = app.slack("T0ACME", "U0ALICE", &typed).await;
        assert!(!answer.text().contains(TOKEN), "{}", answer.text());
        let job = app.wait_job(number_after("J-", answer.text())).await;
        assert_eq!(job.status, warden::jobs::JobStatus::Failed, "{job:?}");
        let link = answer
            .text()
            .split("Job page: ")
            .nth(1)
            .unwrap()
            .trim()
            .replace("https://warden.example.com", &app.base);
        jobs.push((job, link));
    }
    // The actions did see the secrets (so the test means something) and said so.
    let store = &app.server.state.service.store;
    let leaky_log = store.job_log(jobs[0].0.id, None).await.unwrap();
    let echoed_log = store.job_log(jobs[1].0.id, None).await.unwrap();
    assert!(
        leaky_log.iter().any(|l| l.text == "using [redacted]"),
        "{leaky_log:?}"
    );
    assert!(
        leaky_log.iter().any(|l| l.text == "env [redacted]"),
        "{leaky_log:?}"
    );
    assert!(
        echoed_log
            .iter()
            .any(|l| l.text == r#"{"token":"[redacted]"}"#),
        "{echoed_log:?}"
    );
    assert!(
        jobs[1]
            .0
            .error
            .as_deref()
            .unwrap()
            .contains(r#"HTTP 400 Bad Request: {"token":"[redacted]"}"#),
        "{:?}",
        jobs[1].0.error
    );

    // Wait for both alerts, which are sent after the jobs' outcomes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fake
        .calls_of("chat.postMessage")
        .iter()
        .filter(|m| m["channel"] == "C0ALERTS")
        .count()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", fake.calls());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let mut places: Vec<(String, String)> = Vec::new();
    places.push(("leaky log".into(), format!("{leaky_log:?}")));
    places.push(("echoed log".into(), format!("{echoed_log:?}")));
    for (job, link) in &jobs {
        // The job row itself keeps the argument (it needs it to run); what is shown is scrubbed.
        places.push((
            format!("{} error", job.display_id()),
            format!("{:?}", job.error),
        ));
        let page = app.http.get(link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("[redacted]"), "{html}");
        places.push((format!("{} page", job.display_id()), html));
    }
    places.push(("slack".into(), format!("{:?}", fake.calls())));
    places.push(("audit".into(), format!("{:?}", app.audit().await)));
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "export", "--format", "jsonl"])
        .env_clear()
        .env("WARDEN_DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert!(export.status.success());
    places.push((
        "audit export".into(),
        String::from_utf8_lossy(&export.stdout).into_owned(),
    ));
    for (place, text) in &places {
        for secret in [TOKEN, INHERITED, SIGNING] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into the {place}: {text}"
            );
        }
    }
    assert!(fake
        .calls()
        .iter()
        .any(|(_, body, _)| body.to_string().contains("[redacted]")));
}

/// Reads from `stream` until the server closes it (EOF or reset), up to `limit`; returns what
/// was read and how long it took, or `None` if the connection was still open at `limit`.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    limit: std::time::Duration,
) -> Option<(String, std::time::Duration)> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((
                    String::from_utf8_lossy(&out).into_owned(),
                    started.elapsed(),
                ))
            }
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

async fn app_with_limits(header: &str, idle: &str, max: &str) -> TestApp {
    TestApp::spawn_with(Options {
        env: vec![
            ("WARDEN_HEADER_TIMEOUT".into(), header.into()),
            ("WARDEN_IDLE_TIMEOUT".into(), idle.into()),
            ("WARDEN_MAX_CONNECTIONS".into(), max.into()),
        ],
        ..Options::default()
    })
    .await
}

/// A client that sends half a request's headers and stalls is disconnected once the header
/// timeout (1 s here) has passed since their first byte.
#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::AsyncWriteExt;
    let app = app_with_limits("1s", "30s", "64").await;
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    stream
        .write_all(b"POST /slack/commands HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slack-sign")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut stream, std::time::Duration::from_secs(5))
        .await
        .expect("the stalled connection is closed");
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(3),
        "{took:?}"
    );
    // The server still serves others.
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// A connection that sends nothing, or waits after its last request, is closed after the idle
/// timeout (2 s here), not after the shorter header timeout.
#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    use tokio::io::AsyncWriteExt;
    let app = app_with_limits("1s", "2s", "64").await;
    let mut silent = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let mut kept = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::io::AsyncReadExt::read(&mut kept, &mut buf)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Still open after the header timeout: no request was begun.
    assert!(
        read_until_closed(&mut kept, std::time::Duration::from_millis(1300))
            .await
            .is_none()
    );
    for stream in [&mut silent, &mut kept] {
        let (_, took) = read_until_closed(stream, std::time::Duration::from_secs(4))
            .await
            .expect("the idle connection is closed");
        assert!(took < std::time::Duration::from_secs(4), "{took:?}");
    }
}

/// With a cap of 2 connections, a third is not served until one of the two closes.
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    use tokio::io::AsyncWriteExt;
    let app = app_with_limits("10s", "30s", "2").await;
    let first = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let _second = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut third = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut third, std::time::Duration::from_millis(500))
            .await
            .is_none(),
        "the third connection was served beyond the cap"
    );
    drop(first);
    let (response, _) = read_until_closed(&mut third, std::time::Duration::from_secs(5))
        .await
        .expect("served once a slot is free");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// A request declaring a 10 MB body is answered 413 at once, without warden waiting for (or
/// reading) the body, and its connection is closed.
#[tokio::test]
async fn a_declared_oversized_body_is_refused_at_once() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn().await;
    for path in [
        "/slack/commands",
        "/discord/interactions",
        "/slack/interactions",
    ] {
        let mut stream = tokio::net::TcpStream::connect(app.server.addr)
            .await
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 10000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b'a'; 1024]).await.unwrap();
        let (response, took) = read_until_closed(&mut stream, std::time::Duration::from_secs(3))
            .await
            .expect("answered and closed without the body");
        assert!(response.starts_with("HTTP/1.1 413"), "{path}: {response}");
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    }
    let metrics = app.metrics().await;
    assert!(metrics.contains("too_large"), "{metrics}");
}
