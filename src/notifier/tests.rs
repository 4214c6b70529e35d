use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use secrecy::SecretString;

use super::*;
use crate::chat::{Button, ButtonKind};

fn message() -> Message {
    Message {
        text: "J-42 failed".into(),
        buttons: vec![Button::new(ButtonKind::Retry, "J-42")],
    }
}

fn channel(s: &str) -> ChannelRef {
    s.parse().unwrap()
}

/// A fake serving both Slack's and Discord's answers, recording paths and auth headers. A
/// request naming channel `fail` (Slack: in the body, Discord: in the path) answers 429 with
/// `Retry-After: 7`.
async fn fake() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
        let seen = seen.clone();
        async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            seen.lock().unwrap().push((uri.path().to_string(), auth));
            if uri.path().contains("fail") || body.contains("\"fail\"") {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "7")],
                    "{}".into(),
                );
            }
            let body = match uri.path().strip_prefix("/slack/") {
                Some(method) => {
                    let request = serde_json::from_str(&body).unwrap_or_default();
                    crate::demo::fakes::web_api_answer(method, &request, "1.5").to_string()
                }
                None => r#"{"id":"99"}"#.to_string(),
            };
            (StatusCode::OK, [("content-type", "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

fn notifier(base: &str) -> ChatNotifier {
    let http = reqwest::Client::new();
    ChatNotifier::new(
        Some(SlackClient::new(
            format!("{base}/slack/"),
            SecretString::from("xoxb-secret"),
            Duration::from_secs(10),
        )),
        Some(DiscordClient::new(
            http,
            format!("{base}/discord"),
            SecretString::from("bot-secret"),
            None,
        )),
    )
}

#[tokio::test]
async fn dispatches_by_platform() {
    let (base, calls) = fake().await;
    let n = notifier(&base);
    let at = n.post(&channel("slack:C1"), &message()).await.unwrap();
    assert_eq!(at.id, "1.5");
    assert_eq!(at.channel, channel("slack:C1"));
    n.update(&at, &message()).await.unwrap();
    let at = n.post(&channel("discord:77"), &message()).await.unwrap();
    assert_eq!(at.id, "99");
    n.update(&at, &message()).await.unwrap();
    assert_eq!(
        calls.lock().unwrap().clone(),
        vec![
            (
                "/slack/chat.postMessage".into(),
                "Bearer xoxb-secret".into()
            ),
            ("/slack/chat.update".into(), "Bearer xoxb-secret".into()),
            (
                "/discord/channels/77/messages".into(),
                "Bot bot-secret".into()
            ),
            (
                "/discord/channels/77/messages/99".into(),
                "Bot bot-secret".into()
            ),
        ]
    );
}

#[tokio::test]
async fn failures_are_classified_delivery_errors() {
    let (base, _) = fake().await;
    let n = notifier(&base);
    for target in ["slack:fail", "discord:fail"] {
        let e = n.post(&channel(target), &message()).await.unwrap_err();
        let d = e.downcast_ref::<DeliveryError>().expect("a DeliveryError");
        assert_eq!(
            d.kind,
            DeliveryErrorKind::Retryable {
                retry_after: Some(Duration::from_secs(7))
            },
            "{target}"
        );
        assert!(!format!("{e:#} {e:?}").contains("secret"), "{e:?}");
    }
    assert!(!format!("{n:?}").contains("secret"));
}

#[tokio::test]
async fn a_platform_without_a_client_is_a_permanent_error() {
    let n = ChatNotifier::new(None, None);
    let e = n.post(&channel("slack:C1"), &message()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Slack is not configured: SLACK_BOT_TOKEN is not set"
    );
    assert_eq!(
        e.downcast_ref::<DeliveryError>().unwrap().kind,
        DeliveryErrorKind::Permanent
    );
    let at = MessageRef {
        channel: channel("discord:1"),
        id: "2".into(),
    };
    let e = n.update(&at, &message()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Discord is not configured: DISCORD_BOT_TOKEN is not set"
    );
    assert!(n.post(&channel("console:x"), &message()).await.is_err());
}

#[tokio::test]
async fn recording_notifier_remembers_in_order() {
    let r = RecordingNotifier::new();
    let notifier: &dyn Notifier = &r;
    let first = notifier
        .post(&channel("slack:C1"), &message())
        .await
        .unwrap();
    let second = notifier
        .post(&channel("discord:7"), &message())
        .await
        .unwrap();
    assert_eq!((first.id.as_str(), second.id.as_str()), ("m1", "m2"));
    notifier.update(&first, &Message::default()).await.unwrap();
    assert_eq!(
        r.posts(),
        vec![
            (channel("slack:C1"), message()),
            (channel("discord:7"), message())
        ]
    );
    assert_eq!(r.updates(), vec![(first, Message::default())]);
}
