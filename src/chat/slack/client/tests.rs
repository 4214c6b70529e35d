//! The client against a fake Slack on 127.0.0.1:0 that records each call and plays back
//! canned answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::chat::message::{Button, ButtonKind};

const TOKEN: &str = "xoxb-1234-secret-token";

/// One recorded call: path, Authorization header, JSON body.
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
            move |_m: Method, uri: Uri, headers: HeaderMap, body: String| {
                let fake = fake.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string());
                    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
                    fake.calls
                        .lock()
                        .unwrap()
                        .push((uri.path().to_string(), auth, json));
                    let next = fake.answers.lock().unwrap().pop_front();
                    let (status, extra, body) =
                        next.unwrap_or((200, vec![], r#"{"ok":true}"#.into()));
                    let mut response: Response =
                        (StatusCode::from_u16(status).unwrap(), body).into_response();
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

async fn client() -> (Fake, SlackClient, String) {
    let fake = Fake::default();
    let base = fake.spawn().await;
    let client = SlackClient::new(
        reqwest::Client::new(),
        format!("{base}/api/"),
        SecretString::from(TOKEN),
    );
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
        r#"{"ok":true,"channel":"C1","ts":"1700000000.000100"}"#,
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
        reqwest::Client::new(),
        format!("http://127.0.0.1:{port}/api/"),
        SecretString::from(TOKEN),
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
}

#[tokio::test]
async fn open_view_sends_the_trigger_and_view() {
    let (fake, client, _) = client().await;
    let view = json!({ "type": "modal", "callback_id": "warden.deny" });
    client.open_view("111.222", &view).await.unwrap();
    let (path, _, body) = &fake.calls()[0];
    assert_eq!(path, "/api/views.open");
    assert_eq!(body, &json!({ "trigger_id": "111.222", "view": view }));
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
