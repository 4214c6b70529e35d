//! Thread replies in the outbox dispatcher (SPEC §13), against the scriptable fake chat APIs:
//! Discord threads started from the card once and unarchived when needed, replies that wait
//! for their card, and replies whose card could never be posted falling back to the channel.

// The harness is shared with `tests/outbox.rs`, which uses more of it.
#[path = "common/db.rs"]
mod db;
#[allow(dead_code)]
#[path = "outbox/env.rs"]
mod env;
#[allow(dead_code)]
#[path = "outbox/fake.rs"]
mod fake;

use env::{eventually, fast, Env};
use fake::Answer;
use warden::outbox::{Card, Delivery};

fn card_post(channel: &str, key: &str) -> Delivery {
    Delivery::Post {
        channel: channel.parse().unwrap(),
        key: Some(key.into()),
        fallback: None,
        thread: None,
    }
}

fn reply(channel: &str, key: &str, mentions: &[&str]) -> Delivery {
    Delivery::Thread {
        channel: channel.parse().unwrap(),
        card: Card {
            key: key.into(),
            title: "J-1 deploy web".into(),
            guild: Some("9000".into()),
        },
        broadcast: false,
        mentions: mentions.iter().map(|m| m.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_replies_start_one_thread_from_the_card_and_unarchive_it() {
    let mut env = Env::new().await;
    // Ids are handed out in call order from 1000: the card is 1000, its thread 1001. The
    // thread is archived when the first reply arrives.
    env.fake.script(
        "create:1001",
        [Answer::Http(
            400,
            vec![],
            r#"{"message":"Thread is archived","code":50083}"#.into(),
        )],
    );
    env.enqueue(card_post("discord:123", "job:1"), "card", false)
        .await;
    env.enqueue(reply("discord:123", "job:1", &["42"]), "one", true)
        .await;
    env.enqueue(reply("discord:123", "job:1", &[]), "two", true)
        .await;
    env.start(fast());
    env.settle().await;
    let threads = env.fake.calls_to("thread:123");
    assert_eq!(threads.len(), 1, "one thread per card: {threads:?}");
    assert!(threads[0]
        .path
        .ends_with("/channels/123/messages/1000/threads"));
    assert_eq!(threads[0].body["name"], "J-1 deploy web");
    assert_eq!(env.fake.calls_to("unarchive:1001").len(), 1);
    assert_eq!(env.fake.accepted("create:1001"), ["<@42> one", "two"]);
    let first = &env.fake.calls_to("create:1001")[1];
    assert_eq!(first.body["allowed_mentions"]["users"][0], "42");
    // The card itself stays the only message in the channel.
    assert_eq!(env.fake.accepted("create:123"), ["card"]);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_replies_wait_for_their_card_and_keep_their_order() {
    let mut env = Env::new().await;
    // The card fails twice before it goes through; its replies must not overtake it.
    env.fake.script(
        "chat.postMessage:C1",
        [Answer::status(500), Answer::slack_error("ratelimited")],
    );
    env.enqueue(card_post("slack:C1", "approval:7"), "card", false)
        .await;
    for text in ["vote", "decision", "outcome"] {
        env.enqueue(reply("slack:C1", "approval:7", &["U1"]), text, true)
            .await;
    }
    env.start(fast());
    env.settle().await;
    let accepted: Vec<_> = env
        .fake
        .calls_to("chat.postMessage:C1")
        .into_iter()
        .filter(|c| c.accepted)
        .collect();
    let texts: Vec<String> = accepted.iter().map(|c| c.text()).collect();
    assert_eq!(
        texts,
        ["card", "<@U1> vote", "<@U1> decision", "<@U1> outcome"]
    );
    assert!(accepted[0].body["thread_ts"].is_null());
    let card_ts = env
        .store
        .card_message("approval:7")
        .await
        .unwrap()
        .unwrap()
        .at
        .id;
    assert!(accepted[1..]
        .iter()
        .all(|c| c.body["thread_ts"] == card_ts.as_str()));
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_of_a_card_that_was_never_posted_fall_back_to_the_channel() {
    let mut env = Env::new().await;
    env.fake.script(
        "chat.postMessage:C1",
        [Answer::slack_error("invalid_blocks")],
    );
    env.enqueue(card_post("slack:C1", "approval:8"), "card", true)
        .await;
    env.enqueue(reply("slack:C1", "approval:8", &["U1"]), "decided", true)
        .await;
    env.start(fast());
    eventually("the reply to be delivered", || async {
        env.fake.accepted("chat.postMessage:C1").len() == 1
    })
    .await;
    let texts = env.fake.accepted("chat.postMessage:C1");
    assert!(
        texts[0].starts_with("(About J-1 deploy web: its message could not be posted"),
        "{texts:?}"
    );
    assert!(texts[0].ends_with("decided"), "{texts:?}");
    let delivered = env
        .fake
        .calls_to("chat.postMessage:C1")
        .into_iter()
        .find(|c| c.accepted)
        .unwrap();
    assert!(delivered.body["thread_ts"].is_null());
    let card = env.row("card").await;
    assert_eq!(card.status, "dead");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_card_inside_a_thread_gets_its_replies_in_that_thread() {
    let mut env = Env::new().await;
    // The card was posted in a thread channel (the command was typed there): Discord refuses
    // to start a thread inside a thread, so the replies go to the same thread.
    env.fake.script(
        "thread:555",
        [Answer::Http(
            400,
            vec![],
            r#"{"message":"Cannot execute action on this channel type","code":50024}"#.into(),
        )],
    );
    env.enqueue(card_post("discord:555", "job:2"), "card", false)
        .await;
    env.enqueue(reply("discord:555", "job:2", &[]), "started", true)
        .await;
    env.enqueue(reply("discord:555", "job:2", &[]), "done", true)
        .await;
    env.start(fast());
    env.settle().await;
    assert_eq!(env.fake.accepted("create:555"), ["card", "started", "done"]);
    assert_eq!(
        env.fake.calls_to("thread:555").len(),
        1,
        "asked once, then remembered"
    );
    for row in env.rows().await {
        assert_eq!(row.status, "done", "{row:?}");
    }
    env.shutdown().await;
}

fn card_in_thread(channel: &str, key: &str, parent: &str) -> Delivery {
    Delivery::Post {
        channel: channel.parse().unwrap(),
        key: Some(key.into()),
        fallback: None,
        thread: Some(Card {
            key: parent.into(),
            title: "AL-1 HighErrorRate".into(),
            guild: Some("9000".into()),
        }),
    }
}

fn update(channel: &str, key: &str) -> Delivery {
    Delivery::Update {
        channel: channel.parse().unwrap(),
        key: key.into(),
    }
}

/// Issue 14: a job started from an alert's card has its own card in the alert's thread; its
/// edits and its replies stay there (a thread holds no thread), on both platforms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_in_another_cards_thread_keeps_its_edits_and_replies_there_on_discord() {
    let mut env = Env::new().await;
    // Ids in call order from 1000: the alert's card 1000, its thread 1001, the job's card 1002.
    env.enqueue(card_post("discord:123", "alert:1"), "alert", true)
        .await;
    env.enqueue(
        card_in_thread("discord:123", "job:7", "alert:1"),
        "job card",
        false,
    )
    .await;
    env.enqueue(update("discord:123", "job:7"), "job card, running", false)
        .await;
    env.enqueue(reply("discord:123", "job:7", &[]), "started", true)
        .await;
    env.start(fast());
    env.settle().await;
    assert_eq!(
        env.fake.accepted("create:123"),
        ["alert"],
        "one top-level message"
    );
    assert_eq!(
        env.fake.calls_to("thread:123").len(),
        1,
        "one thread, the alert's"
    );
    assert_eq!(env.fake.accepted("create:1001"), ["job card", "started"]);
    let edits = env.fake.calls_to("edit:1001");
    assert_eq!(edits.len(), 1, "the job's card is edited in the thread");
    assert!(
        edits[0].path.ends_with("/channels/1001/messages/1002"),
        "{}",
        edits[0].path
    );
    for row in env.rows().await {
        assert_eq!(row.status, "done", "{row:?}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_in_another_cards_thread_keeps_its_edits_and_replies_there_on_slack() {
    let mut env = Env::new().await;
    // The alert's card gets ts 1000.0001, the job's card (a reply) 1001.0001.
    env.enqueue(card_post("slack:C1", "alert:1"), "alert", true)
        .await;
    env.enqueue(
        card_in_thread("slack:C1", "job:7", "alert:1"),
        "job card",
        false,
    )
    .await;
    env.enqueue(update("slack:C1", "job:7"), "job card, running", false)
        .await;
    env.enqueue(reply("slack:C1", "job:7", &[]), "started", true)
        .await;
    env.start(fast());
    env.settle().await;
    let posts = env.fake.calls_to("chat.postMessage:C1");
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert!(posts[0].body["thread_ts"].is_null());
    assert_eq!(
        posts[1].body["thread_ts"], "1000.0001",
        "the job's card under the alert's"
    );
    assert_eq!(
        posts[2].body["thread_ts"], "1000.0001",
        "its reply in the same thread"
    );
    let edits = env.fake.calls_to("chat.update:C1");
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0].body["ts"], "1001.0001",
        "the job's card itself is edited"
    );
    env.shutdown().await;
}

/// A card whose parent was never posted is posted top-level, saying so, rather than lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_whose_parent_was_never_posted_goes_top_level() {
    let mut env = Env::new().await;
    env.fake.script(
        "chat.postMessage:C1",
        [Answer::slack_error("channel_not_found")],
    );
    env.enqueue(card_post("slack:C1", "alert:1"), "alert", true)
        .await;
    env.enqueue(
        card_in_thread("slack:C1", "job:7", "alert:1"),
        "job card",
        false,
    )
    .await;
    env.start(fast());
    env.settle().await;
    let accepted = env.fake.accepted("chat.postMessage:C1");
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert!(accepted[0].contains("not in its thread") && accepted[0].ends_with("job card"));
    env.shutdown().await;
}
