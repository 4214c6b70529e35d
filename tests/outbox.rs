//! The outbox dispatcher against fake Slack and Discord APIs: retries until every message is
//! delivered exactly once, Retry-After honoured, dead letters and their alerts, updates after
//! their posts, order per lane under load, fallback replies, expired reply handles, leases of
//! a crashed dispatcher, pacing, and the `warden outbox` command.

#[path = "common/db.rs"]
mod db;
#[path = "outbox/env.rs"]
mod env;
#[path = "outbox/fake.rs"]
mod fake;

use std::time::{Duration, Instant};

use chrono::Utc;
use env::{fast, post, Env};
use fake::Answer;
use warden::chat::{Message, ReplyHandle};
use warden::notifier::outbox::DispatcherConfig;
use warden::outbox::{Delivery, Outbound};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_delivered_once_despite_429_500_ratelimited_and_timeouts() {
    let env = Env::started(fast()).await;
    env.fake.script(
        "chat.postMessage:C1",
        [
            Answer::Http(
                429,
                vec![("retry-after", "1".into())],
                r#"{"ok":false,"error":"ratelimited"}"#.into(),
            ),
            Answer::status(500),
            Answer::slack_error("ratelimited"),
            Answer::Hang(Duration::from_secs(3)),
        ],
    );
    for text in ["one", "two", "three"] {
        env.enqueue(post("slack:C1"), text, true).await;
    }
    env.settle().await;
    let calls = env.fake.calls_to("chat.postMessage:C1");
    assert_eq!(
        env.fake.accepted("chat.postMessage:C1"),
        ["one", "two", "three"]
    );
    assert_eq!(calls.len(), 7, "{calls:#?}");
    assert!(calls[..5].iter().all(|c| c.text() == "one"));
    let gap = calls[1].at - calls[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "retried {gap:?} after a 429 with Retry-After: 1"
    );
    for row in env.rows().await {
        assert_eq!(row.status, "done", "{row:?}");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let metrics = env.metrics.encode();
    assert!(
        metrics.contains("warden_outbox_deliveries_total{result=\"delivered\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_outbox_deliveries_total{result=\"retried\"} 4"),
        "{metrics}"
    );
    assert!(metrics.contains("warden_outbox_pending 0"), "{metrics}");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_429_retry_after_in_the_body_is_honoured() {
    let env = Env::started(fast()).await;
    let limited = r#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#;
    env.fake
        .script("create:123", [Answer::Http(429, vec![], limited.into())]);
    env.enqueue(post("discord:123"), "hello", false).await;
    env.settle().await;
    let calls = env.fake.calls_to("create:123");
    assert_eq!(calls.len(), 2);
    assert!(calls[1].at - calls[0].at >= Duration::from_millis(1500));
    assert_eq!(env.fake.accepted("create:123"), ["hello"]);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_dead_letter_at_once_and_important_ones_alert_once() {
    let config = DispatcherConfig {
        dead_letter_channel: Some("slack:C0DEAD".parse().unwrap()),
        ..fast()
    };
    let env = Env::started(config).await;
    let not_found = Answer::slack_error("channel_not_found");
    env.fake.script("chat.postMessage:C1", [not_found.clone()]);
    env.fake.script("chat.postMessage:C2", [not_found.clone()]);
    env.enqueue(post("slack:C1"), "J-1 failed: deploy api", true)
        .await;
    env.enqueue(post("slack:C2"), "routine note", false).await;
    env.settle().await;
    assert_eq!(env.fake.calls_to("chat.postMessage:C1").len(), 1);
    assert_eq!(env.fake.calls_to("chat.postMessage:C2").len(), 1);
    let dead = env.row("J-1 failed: deploy api").await;
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 1));
    assert!(dead
        .last_error
        .as_deref()
        .unwrap()
        .contains("channel_not_found"));
    assert_eq!(env.row("routine note").await.status, "dead");
    let alerts = env.fake.accepted("chat.postMessage:C0DEAD");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    for needle in [
        &format!("#{}", dead.id),
        "slack:C1",
        "channel_not_found",
        "J-1 failed",
    ] {
        assert!(alerts[0].contains(needle), "{needle} in {}", alerts[0]);
    }

    // An alert that dies itself is not alerted about.
    env.fake.script("chat.postMessage:C3", [not_found.clone()]);
    env.fake.script("chat.postMessage:C0DEAD", [not_found]);
    env.enqueue(post("slack:C3"), "J-2 failed", true).await;
    env.settle().await;
    assert_eq!(env.fake.calls_to("chat.postMessage:C0DEAD").len(), 2);
    assert_eq!(env.store.outbox_stats(0).await.unwrap().dead, 4);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_dead_letter_after_max_attempts() {
    let env = Env::started(DispatcherConfig {
        max_attempts: 3,
        ..fast()
    })
    .await;
    env.fake
        .script("chat.postMessage:C1", (0..5).map(|_| Answer::status(503)));
    env.enqueue(post("slack:C1"), "doomed", false).await;
    env.settle().await;
    let row = env.row("doomed").await;
    assert_eq!((row.status.as_str(), row.attempts), ("dead", 3));
    assert!(row.last_error.unwrap().contains("gave up after 3 attempts"));
    assert_eq!(env.fake.calls_to("chat.postMessage:C1").len(), 3);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_waits_for_its_post_and_edits_what_the_post_returned() {
    let env = Env::started(fast()).await;
    for (channel, key) in [("slack:C1", "job:7"), ("discord:123", "job:8")] {
        let update = Delivery::Update {
            channel: channel.parse().unwrap(),
            key: key.into(),
        };
        env.enqueue(update, &format!("{key} 50%"), false).await;
        let keyed = Delivery::Post {
            channel: channel.parse().unwrap(),
            key: Some(key.into()),
            fallback: None,
            thread: None,
        };
        env.enqueue(keyed, &format!("{key} started"), false).await;
        env.enqueue(post(channel), &format!("{key} after"), false)
            .await;
    }
    env.settle().await;
    let slack: Vec<_> = env
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.route.ends_with(":C1"))
        .collect();
    let texts: Vec<_> = slack.iter().map(|c| c.text()).collect();
    assert_eq!(texts, ["job:7 started", "job:7 50%", "job:7 after"]);
    assert_eq!(slack[1].route, "chat.update:C1");
    let ts = env.store.chat_message("job:7").await.unwrap().unwrap().id;
    assert_eq!(slack[1].body["ts"], ts.as_str());
    let discord: Vec<_> = env
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.route.ends_with(":123"))
        .collect();
    assert_eq!(
        discord.iter().map(|c| c.text()).collect::<Vec<_>>(),
        ["job:8 started", "job:8 50%", "job:8 after"]
    );
    let id = env.store.chat_message("job:8").await.unwrap().unwrap().id;
    assert_eq!(
        discord[1].path,
        format!("/discord/channels/123/messages/{id}")
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_channel_gets_its_messages_in_order_under_load() {
    let env = Env::started(DispatcherConfig {
        base_backoff: Duration::from_millis(20),
        ..fast()
    })
    .await;
    let channels = [
        "slack:C1",
        "slack:C2",
        "slack:C3",
        "discord:101",
        "discord:102",
    ];
    env.fake.script(
        "chat.postMessage:C1",
        [Answer::status(500), Answer::status(502)],
    );
    env.fake
        .script("chat.postMessage:C3", [Answer::slack_error("ratelimited")]);
    env.fake.script("create:101", [Answer::status(500)]);
    for batch in 0..20 {
        let mut tx = env.store.begin().await.unwrap();
        for i in batch * 10..batch * 10 + 10 {
            let channel = channels[i % 5];
            let out = Outbound {
                tenant: "acme".into(),
                delivery: post(channel),
                message: Message {
                    text: format!("{channel} #{i:03}"),
                    buttons: Vec::new(),
                },
                important: false,
            };
            tx.enqueue(&out, Utc::now()).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    env.settle().await;
    let routes = [
        "chat.postMessage:C1",
        "chat.postMessage:C2",
        "chat.postMessage:C3",
        "create:101",
        "create:102",
    ];
    for (n, (channel, route)) in channels.iter().zip(routes).enumerate() {
        let expected: Vec<String> = (0..200)
            .filter(|i| i % 5 == n)
            .map(|i| format!("{channel} #{i:03}"))
            .collect();
        assert_eq!(env.fake.accepted(route), expected, "{channel}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_the_bot_cannot_make_is_answered_through_its_fallback_in_order() {
    let env = Env::started(fast()).await;
    env.fake.script(
        "chat.postMessage:C1",
        [Answer::slack_error("not_in_channel")],
    );
    let handle = ReplyHandle::slack(&format!("{}/respond/T0ACME-secret-hook", env.fake.base));
    let keyed = Delivery::Post {
        channel: "slack:C1".parse().unwrap(),
        key: Some("job:9".into()),
        fallback: Some(handle),
        thread: None,
    };
    env.enqueue(keyed, "J-9 failed", true).await;
    env.enqueue(post("slack:C1"), "next in channel", false)
        .await;
    let update = Delivery::Update {
        channel: "slack:C1".parse().unwrap(),
        key: "job:9".into(),
    };
    env.enqueue(update, "J-9 edited", false).await;
    env.settle().await;
    let routes: Vec<_> = env
        .fake
        .calls()
        .iter()
        .map(|c| (c.route.clone(), c.text()))
        .collect();
    let expect = [
        ("chat.postMessage:C1", "J-9 failed"),
        ("respond", "J-9 failed"),
        ("chat.postMessage:C1", "next in channel"),
    ];
    let expect: Vec<_> = expect
        .iter()
        .map(|(r, t)| (r.to_string(), t.to_string()))
        .collect();
    assert_eq!(routes, expect);
    let respond = &env.fake.calls_to("respond")[0];
    assert_eq!(respond.path, "/respond/T0ACME-secret-hook");
    assert_eq!(respond.body["response_type"], "in_channel");
    let row = env.row("J-9 failed").await;
    assert_eq!(row.status, "done");
    assert!(row
        .last_error
        .as_deref()
        .unwrap()
        .contains("not_in_channel"));
    // There is no channel message to edit: a progress update (not important) is skipped, not
    // stuck and not dead-lettered; a final one would go through the same fallback handle.
    let update = env.row("J-9 edited").await;
    assert_eq!(update.status, "done");
    assert!(!format!("{update:?}{row:?}").contains("secret-hook"));
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reply_handles_are_dead_without_a_call() {
    let env = Env::started(fast()).await;
    let minutes = |m| Utc::now() - chrono::Duration::minutes(m);
    let slack = ReplyHandle::slack(&format!("{}/respond/old", env.fake.base));
    env.enqueue_at(
        Delivery::Reply { handle: slack },
        "slack late",
        false,
        minutes(31),
    )
    .await;
    let old = ReplyHandle::discord("777", "old-token");
    env.enqueue_at(
        Delivery::Reply { handle: old },
        "discord late",
        false,
        minutes(16),
    )
    .await;
    let fresh = ReplyHandle::discord("777", "fresh-token");
    env.enqueue_at(
        Delivery::Reply { handle: fresh },
        "discord fresh",
        false,
        minutes(14),
    )
    .await;
    env.settle().await;
    assert!(env.fake.calls_to("respond").is_empty());
    let followups = env.fake.calls_to("followup");
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0].path, "/discord/webhooks/777/fresh-token");
    for text in ["slack late", "discord late"] {
        let row = env.row(text).await;
        assert_eq!((row.status.as_str(), row.attempts), ("dead", 1));
        assert!(row.last_error.unwrap().contains("expired"));
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_dispatchers_rows_are_reclaimed_after_the_lease() {
    let mut env = Env::new().await;
    env.enqueue(post("slack:C1"), "first", false).await;
    env.enqueue(post("slack:C1"), "second", false).await;
    let claimed_at = Instant::now();
    let now_ms = Utc::now().timestamp_millis();
    let claimed = env
        .store
        .claim_outbox("crashed", now_ms, 1_500, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one row per lane");
    env.start(fast());
    env.settle().await;
    let calls = env.fake.calls_to("chat.postMessage:C1");
    assert_eq!(
        env.fake.accepted("chat.postMessage:C1"),
        ["first", "second"]
    );
    assert_eq!(calls.len(), 2);
    assert!(calls[0].at - claimed_at >= Duration::from_millis(1_400));
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_in_one_channel_is_paced() {
    let env = Env::started(DispatcherConfig {
        per_channel_per_sec: 5.0,
        burst: 2,
        poll: Duration::from_millis(20),
        ..fast()
    })
    .await;
    let start = std::time::Instant::now();
    for i in 0..5 {
        env.enqueue(post("slack:C1"), &format!("m{i}"), false).await;
    }
    env.settle().await;
    let calls = env.fake.calls_to("chat.postMessage:C1");
    assert_eq!(
        env.fake.accepted("chat.postMessage:C1"),
        ["m0", "m1", "m2", "m3", "m4"]
    );
    // Two at once, then one every 200 ms: the fifth cannot leave before 600 ms have passed
    // since the first was enqueued. This is measured from the enqueue rather than from the
    // first call's arrival, because the first call also pays for opening the connection,
    // which would shorten the span between the calls without any pacing being skipped.
    let span = calls[4].at - start;
    assert!(span >= Duration::from_millis(590), "{span:?}");
    env.shutdown().await;
}

/// Two replicas deliver one channel's messages: they share the channel's pace, rather than
/// each sending at the full rate (the bucket is in the database, taken when a row is claimed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_pace_a_channel_together() {
    let config = DispatcherConfig {
        per_channel_per_sec: 5.0,
        burst: 2,
        poll: Duration::from_millis(20),
        ..fast()
    };
    let env = Env::started(config.clone()).await;
    // The second replica: its own connection pool and dispatcher on the same database.
    let url = crate::db::database_url(&env.dir.path().join("outbox.db"));
    let other = warden::storage::Store::connect(&url).await.unwrap();
    let http = reqwest::Client::new();
    let second = std::sync::Arc::new(warden::notifier::outbox::Dispatcher::new(
        other,
        Some(env.fake.slack(Duration::from_secs(10))),
        Some(env.fake.discord(&http)),
        env.metrics.clone(),
        config,
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(second.run(stopped));

    let start = std::time::Instant::now();
    for i in 0..7 {
        env.enqueue(post("slack:C1"), &format!("m{i}"), false).await;
    }
    env.settle().await;
    let calls = env.fake.calls_to("chat.postMessage:C1");
    assert_eq!(
        env.fake.accepted("chat.postMessage:C1"),
        ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    );
    // Two at once, then one every 200 ms for both replicas together: at least 1 s from the
    // first enqueue to the seventh call (each replica pacing on its own would allow about half
    // that). Measured from the enqueue, as in the single-replica test above.
    let span = calls[6].at - start;
    assert!(span >= Duration::from_millis(990), "{span:?}");

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    env.shutdown().await;
}

#[path = "outbox/cli.rs"]
mod cli;
