//! The client against a fake Slack on 127.0.0.1:0 that records each call slack-morphism
//! makes and plays back canned answers, shaped like Slack's (JSON, `application/json`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::*;
use crate::chat::message::{Button, ButtonKind, Modal};

const TOKEN: &str = "xoxb-1234-secret-token";

/// One recorded call: path (with the query of a GET), Authorization header, JSON body.
type Call = (String, Option<String>, Value);

/// A canned answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, &'static str)>, String);

#[derive(Clone, Default)]
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

impl Fake {
    fn answer(&self, status: u16, headers: &[(&'static str, &'static str)], body: &str) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, headers.to_vec(), body.to_string()));
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    async fn spawn(&self) -> String {
        let fake = self.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
                let fake = fake.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string());
                    // What slack-morphism sends: JSON bodies, and GETs only for reads.
                    let json = if method == Method::POST {
                        assert_eq!(
                            headers["content-type"], "application/json; charset=utf-8",
                            "{uri}"
                        );
                        serde_json::from_str(&body).unwrap()
                    } else {
                        assert_eq!(method, Method::GET, "{uri}");
                        Value::Null
                    };
                    let path = match uri.query() {
                        Some(q) => format!("{}?{q}", uri.path()),
                        None => uri.path().to_string(),
                    };
                    fake.calls.lock().unwrap().push((path, auth, json.clone()));
                    let next = fake.answers.lock().unwrap().pop_front();
                    let (status, extra, body) =
                        next.unwrap_or_else(|| (200, vec![], success(uri.path(), &json)));
                    let mut response: Response =
                        (StatusCode::from_u16(status).unwrap(), body).into_response();
                    response.headers_mut().insert(
                        "content-type",
                        "application/json; charset=utf-8".parse().unwrap(),
                    );
                    for (k, v) in extra {
                        response.headers_mut().insert(k, v.parse().unwrap());
                    }
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }
}

/// Slack's success answer for the method at `path`, with the fields slack-morphism requires.
fn success(path: &str, request: &Value) -> String {
    let answer = match path.trim_start_matches("/api/") {
        "chat.postMessage" => json!({
            "ok": true, "channel": request["channel"], "ts": "1700000000.000100",
            "message": { "type": "message", "ts": "1700000000.000100", "text": request["text"] }
        }),
        "chat.update" => json!({
            "ok": true, "channel": request["channel"], "ts": request["ts"],
            "text": request["text"], "message": { "text": request["text"] }
        }),
        "views.open" => {
            let mut view = request["view"].clone();
            view["id"] = "V111".into();
            view["team_id"] = "T111".into();
            view["hash"] = "1.abc".into();
            view["state"] = json!({ "values": {} });
            json!({ "ok": true, "view": view })
        }
        _ => json!({ "ok": true }),
    };
    answer.to_string()
}

const TIMEOUT: Duration = Duration::from_secs(5);

async fn client() -> (Fake, SlackClient, String) {
    let fake = Fake::default();
    let base = fake.spawn().await;
    let client = SlackClient::new(format!("{base}/api/"), SecretString::from(TOKEN), TIMEOUT);
    (fake, client, base)
}

fn approval() -> Message {
    Message {
        text: "Approve `deploy api`?".into(),
        buttons: vec![
            Button::new(ButtonKind::Approve, "A-17"),
            Button::new(ButtonKind::Deny, "A-17"),
        ],
    }
}

#[tokio::test]
async fn post_then_update_with_the_returned_ts() {
    let (fake, client, _) = client().await;
    fake.answer(
        200,
        &[],
        r#"{"ok":true,"channel":"C1","ts":"1700000000.000100","message":{"type":"message","ts":"1700000000.000100","text":"x","bot_id":"B1"}}"#,
    );
    let ts = client.post_message("C1", &approval()).await.unwrap();
    assert_eq!(ts, "1700000000.000100");
    let done = Message {
        text: "Approved by <@U1>".into(),
        buttons: vec![],
    };
    client.update_message("C1", &ts, &done).await.unwrap();
    client
        .post_ephemeral_message("C1", "U2", &done)
        .await
        .unwrap();

    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    let (path, auth, body) = &calls[0];
    assert_eq!(path, "/api/chat.postMessage");
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(body["channel"], "C1");
    assert_eq!(body["text"], "Approve `deploy api`?");
    assert_eq!(
        body["blocks"][1]["elements"][0]["action_id"],
        "warden.approve"
    );
    let (path, _, body) = &calls[1];
    assert_eq!(path, "/api/chat.update");
    assert_eq!(body["ts"], "1700000000.000100");
    assert_eq!(body["text"], "Approved by &lt;@U1&gt;");
    assert_eq!(
        body["blocks"].as_array().unwrap().len(),
        1,
        "buttons removed"
    );
    let (path, _, body) = &calls[2];
    assert_eq!(path, "/api/chat.postEphemeral");
    assert_eq!(body["user"], "U2");
}

#[tokio::test]
async fn rate_limits_and_outages_are_retryable() {
    let (fake, client, _) = client().await;
    fake.answer(
        429,
        &[("retry-after", "30")],
        r#"{"ok":false,"error":"ratelimited"}"#,
    );
    fake.answer(503, &[], "down");
    fake.answer(200, &[], r#"{"ok":false,"error":"internal_error"}"#);
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Retryable {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert!(e.message.contains("chat.postMessage"), "{e}");
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Retryable { retry_after: None });
    let e = client
        .update_message("C1", "1.2", &approval())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Retryable { retry_after: None });
    assert!(e.message.contains("chat.update") && e.message.contains("internal_error"));
}

#[tokio::test]
async fn slack_errors_are_permanent() {
    let (fake, client, _) = client().await;
    for code in [
        "channel_not_found",
        "invalid_auth",
        "msg_too_long",
        "something_new",
    ] {
        fake.answer(200, &[], &format!(r#"{{"ok":false,"error":"{code}"}}"#));
        let e = client.post_message("C1", &approval()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Permanent, "{code}");
        assert_eq!(e.message, format!("chat.postMessage: Slack error `{code}`"));
    }
}

#[tokio::test]
async fn a_dead_server_is_retryable() {
    // Bind and drop, so the port is very likely closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = SlackClient::new(
        format!("http://127.0.0.1:{port}/api/"),
        SecretString::from(TOKEN),
        TIMEOUT,
    );
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Retryable { .. }), "{e:?}");
}

#[tokio::test]
async fn respond_uses_the_response_url_as_given_without_the_token() {
    let (fake, client, base) = client().await;
    let url = format!("{base}/actions/T1/123/secret-part");
    client.respond(&url, &approval(), true, true).await.unwrap();
    fake.answer(404, &[], r#"{"ok":false,"error":"expired_url"}"#);
    let e = client
        .respond(&url, &approval(), false, false)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    assert!(!e.message.contains("secret-part"), "{e}");
    let calls = fake.calls();
    let (path, auth, body) = &calls[0];
    assert_eq!(path, "/actions/T1/123/secret-part");
    assert_eq!(auth, &None);
    assert_eq!(body["replace_original"], true);
    assert_eq!(body["response_type"], "ephemeral");
    assert_eq!(calls[1].2.get("replace_original"), None);
    assert_eq!(calls[1].2["response_type"], "in_channel");
    assert_eq!(calls[1].2["blocks"][1]["elements"][1]["style"], "danger");

    // Slack's real answer to a response_url is a bare `ok` in HTML.
    fake.answer(200, &[("content-type", "text/html")], "ok");
    client
        .respond(&url, &approval(), true, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn open_view_sends_the_trigger_and_view() {
    let (fake, client, _) = client().await;
    let modal = Modal::deny("A-17");
    client.open_view("111.222", &modal).await.unwrap();
    let (path, auth, body) = &fake.calls()[0];
    assert_eq!(path, "/api/views.open");
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    let view = serde_json::to_value(render::view(&modal)).unwrap();
    assert_eq!(body, &json!({ "trigger_id": "111.222", "view": view }));
    assert_eq!(body["view"]["callback_id"], "warden.deny");
    assert_eq!(
        body["view"]["blocks"][0]["element"]["type"],
        "plain_text_input"
    );
}

#[tokio::test]
async fn the_token_never_shows() {
    let (fake, client, _) = client().await;
    assert!(!format!("{client:?}").contains(TOKEN));
    fake.answer(200, &[], r#"{"ok":false,"error":"invalid_auth"}"#);
    fake.answer(401, &[], TOKEN);
    fake.answer(200, &[], &format!(r#"{{"ok":false,"error":"{TOKEN}"}}"#));
    for _ in 0..3 {
        let e = client.post_message("C1", &approval()).await.unwrap_err();
        assert!(!e.to_string().contains(TOKEN), "{e}");
        assert!(!format!("{e:?}").contains(TOKEN), "{e:?}");
        let any = anyhow::Error::from(e);
        assert!(!format!("{any:#}").contains(TOKEN));
    }
}

/// How slack-morphism reports each kind of failing answer, and what warden makes of it.
#[tokio::test]
async fn library_errors_map_onto_retry_or_give_up() {
    let (fake, client, _) = client().await;
    // An HTTP 500 with a non-JSON body: an outage, retried.
    fake.answer(500, &[("content-type", "text/html")], "<html>oops</html>");
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Retryable { retry_after: None });
    assert_eq!(e.message, "chat.postMessage: HTTP 500");
    // A 429 without a JSON body still carries Retry-After.
    fake.answer(
        429,
        &[("content-type", "text/plain"), ("retry-after", "7")],
        "slow down",
    );
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Retryable {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    // An HTTP 200 that is not Slack's JSON: the call may have worked, so it is not repeated.
    fake.answer(200, &[("content-type", "text/html")], "<html>proxy</html>");
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    assert!(!e.message.contains("proxy"), "{e}");
    // `ok: true` without a `ts` cannot be addressed later; posting again would duplicate it.
    fake.answer(200, &[], r#"{"ok":true}"#);
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    // A 4xx with Slack's error body keeps the code; without one, the status.
    fake.answer(403, &[], r#"{"ok":false,"error":"not_in_channel"}"#);
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    assert_eq!(e.message, "chat.postMessage: Slack error `not_in_channel`");
    fake.answer(404, &[("content-type", "text/plain")], "not found");
    let e = client
        .update_message("C1", "1.2", &approval())
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Permanent, "chat.update: HTTP 404")
    );
    for code in ["channel_not_found", "not_in_channel", "invalid_auth"] {
        fake.answer(200, &[], &format!(r#"{{"ok":false,"error":"{code}"}}"#));
        let e = client
            .update_message("C1", "1.2", &approval())
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Permanent, "{code}");
        assert_eq!(e.message, format!("chat.update: Slack error `{code}`"));
    }
}

/// The hyper client has no timeout of its own: a Slack that never answers is given up on
/// after the client's timeout, as a retryable failure.
#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = SlackClient::new(
        format!("http://{addr}/api/"),
        SecretString::from(TOKEN),
        Duration::from_millis(200),
    );
    let started = std::time::Instant::now();
    let e = client.post_message("C1", &approval()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Retryable { retry_after: None });
    assert_eq!(e.message, "chat.postMessage: timed out");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn thread_replies_and_permalinks() {
    let (fake, client, _) = client().await;
    let ts = client
        .post_thread_reply(
            "C1",
            "1.2",
            &approval(),
            &["U1".into(), "<!here>".into()],
            true,
        )
        .await
        .unwrap();
    assert_eq!(ts, "1700000000.000100");
    fake.answer(
        200,
        &[],
        r#"{"ok":true,"channel":"C1","permalink":"https://acme.slack.com/archives/C1/p12"}"#,
    );
    let link = client.permalink("C1", "1.2").await.unwrap();
    assert_eq!(link, "https://acme.slack.com/archives/C1/p12");
    fake.answer(
        200,
        &[],
        r#"{"ok":true,"channel":"C1","permalink":"javascript:alert(1)"}"#,
    );
    assert_eq!(
        client.permalink("C1", "1.2").await.unwrap_err().kind,
        ErrorKind::Permanent
    );
    let calls = fake.calls();
    let (path, _, body) = &calls[0];
    assert_eq!(path, "/api/chat.postMessage");
    assert_eq!(body["thread_ts"], "1.2");
    assert_eq!(body["reply_broadcast"], true);
    assert_eq!(body["text"], "<@U1> Approve `deploy api`?");
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        "<@U1> Approve `deploy api`?"
    );
    let (path, auth, _) = &calls[1];
    assert_eq!(path, "/api/chat.getPermalink?channel=C1&message_ts=1.2");
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
}
