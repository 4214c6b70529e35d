//! The client against a fake Discord on 127.0.0.1:0 that records each call and plays back
//! canned answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::*;
use crate::chat::message::{Button, ButtonKind};

const TOKEN: &str = "MTA-discord-bot-secret";
const INTERACTION_TOKEN: &str = "aW50ZXJhY3Rpb24-secret";

/// One recorded call: method, path, Authorization header, JSON body.
type Call = (String, String, Option<String>, Value);

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
                    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
                    fake.calls.lock().unwrap().push((
                        method.to_string(),
                        uri.path().to_string(),
                        auth,
                        json,
                    ));
                    let next = fake.answers.lock().unwrap().pop_front();
                    let (status, extra, body) =
                        next.unwrap_or((200, vec![], r#"{"id":"1"}"#.into()));
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
        format!("http://{addr}/api/v10")
    }
}

async fn client() -> (Fake, DiscordClient) {
    let fake = Fake::default();
    let base = fake.spawn().await;
    let client = DiscordClient::new(
        reqwest::Client::new(),
        base,
        SecretString::from(TOKEN),
        Some("290926444748734465".into()),
    );
    (fake, client)
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
async fn create_then_edit_with_the_returned_id() {
    let (fake, client) = client().await;
    fake.answer(200, &[], r#"{"id":"1100","channel_id":"77","content":"x"}"#);
    let id = client.create_message("77", &approval()).await.unwrap();
    assert_eq!(id, "1100");
    client
        .edit_message("77", &id, &Message::default())
        .await
        .unwrap();
    let calls = fake.calls();
    let (method, path, auth, body) = &calls[0];
    assert_eq!(method, "POST");
    assert_eq!(path, "/api/v10/channels/77/messages");
    assert_eq!(auth.as_deref(), Some(format!("Bot {TOKEN}").as_str()));
    assert_eq!(
        body["components"][0]["components"][1]["custom_id"],
        "warden.deny:A-17"
    );
    assert_eq!(
        body["allowed_mentions"],
        json!({ "parse": [], "users": [], "roles": [] })
    );
    let (method, path, auth, body) = &calls[1];
    assert_eq!(method, "PATCH");
    assert_eq!(path, "/api/v10/channels/77/messages/1100");
    assert_eq!(auth.as_deref(), Some(format!("Bot {TOKEN}").as_str()));
    assert_eq!(body["components"], json!([]));
}

#[tokio::test]
async fn followups_and_original_edits_use_the_interaction_token() {
    let (fake, client) = client().await;
    fake.answer(200, &[], r#"{"id":"2200"}"#);
    let app = client.application_id().unwrap().to_string();
    let id = client
        .followup(&app, INTERACTION_TOKEN, &approval(), true)
        .await
        .unwrap();
    assert_eq!(id, "2200");
    client
        .edit_original(&app, INTERACTION_TOKEN, &approval())
        .await
        .unwrap();
    let calls = fake.calls();
    let (method, path, auth, body) = &calls[0];
    assert_eq!(method, "POST");
    assert_eq!(
        path,
        &format!("/api/v10/webhooks/{app}/{INTERACTION_TOKEN}")
    );
    assert_eq!(auth, &None, "the bot token is not sent to webhooks");
    assert_eq!(body["flags"], 64);
    let (method, path, _, body) = &calls[1];
    assert_eq!(method, "PATCH");
    assert_eq!(
        path,
        &format!("/api/v10/webhooks/{app}/{INTERACTION_TOKEN}/messages/@original")
    );
    assert_eq!(body.get("flags"), None);
}

#[tokio::test]
async fn rate_limits_and_outages_are_retryable() {
    let (fake, client) = client().await;
    fake.answer(
        429,
        &[("retry-after", "2")],
        r#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#,
    );
    fake.answer(429, &[("retry-after", "3")], "not json");
    fake.answer(502, &[], "bad gateway");
    let e = client.create_message("77", &approval()).await.unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Retryable {
            retry_after: Some(Duration::from_millis(1500))
        }
    );
    assert_eq!(e.message, "create_message: HTTP 429");
    let e = client.create_message("77", &approval()).await.unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Retryable {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    let e = client
        .edit_message("77", "1", &approval())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Retryable { retry_after: None });
}

#[tokio::test]
async fn client_errors_are_permanent() {
    let (fake, client) = client().await;
    for status in [401, 403, 404, 400] {
        fake.answer(status, &[], r#"{"message":"Unknown Channel","code":10003}"#);
        let e = client.create_message("77", &approval()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Permanent, "{status}");
        assert_eq!(
            e.message,
            format!("create_message: HTTP {status} (Discord code 10003)")
        );
    }
}

#[tokio::test]
async fn tokens_never_show() {
    let (fake, client) = client().await;
    assert!(!format!("{client:?}").contains(TOKEN));
    fake.answer(401, &[], &format!(r#"{{"message":"{TOKEN}","code":0}}"#));
    fake.answer(404, &[], r#"{"message":"Unknown Webhook","code":10015}"#);
    let e = client.create_message("77", &approval()).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(TOKEN), "{e:?}");
    let e = client
        .followup("1", INTERACTION_TOKEN, &approval(), false)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    assert!(!format!("{e} {e:?}").contains(INTERACTION_TOKEN), "{e:?}");
    // A dead server: the connection error must not carry the URL (and its token) either.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = DiscordClient::new(
        reqwest::Client::new(),
        format!("http://127.0.0.1:{port}"),
        SecretString::from(TOKEN),
        None,
    );
    let e = dead
        .followup("1", INTERACTION_TOKEN, &approval(), false)
        .await
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Retryable { .. }), "{e:?}");
    let any = anyhow::Error::from(e);
    assert!(!format!("{any:#} {any:?}").contains(INTERACTION_TOKEN));
}
