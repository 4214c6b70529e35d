//! The test environment: a fresh SQLite database, the fake chat APIs, and a dispatcher with
//! a stop channel.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use warden::chat::Message;
use warden::metrics::Metrics;
use warden::notifier::outbox::{Dispatcher, DispatcherConfig};
use warden::outbox::{Delivery, Outbound};
use warden::storage::{OutboxRow, Store};

use super::fake::Fake;

/// Every wait in these tests ends by this deadline.
const LIMIT: Duration = Duration::from_secs(30);

pub struct Env {
    pub store: Store,
    pub fake: Fake,
    pub metrics: Arc<Metrics>,
    stop: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

pub fn fast() -> DispatcherConfig {
    DispatcherConfig {
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        poll: Duration::from_millis(50),
        per_channel_per_sec: 1_000_000.0,
        burst: 1_000,
        ..DispatcherConfig::default()
    }
}

pub fn post(channel: &str) -> Delivery {
    Delivery::Post {
        channel: channel.parse().unwrap(),
        key: None,
        fallback: None,
        thread: None,
    }
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::database_url(&dir.path().join("outbox.db"));
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Env {
            store,
            fake: Fake::start().await,
            metrics: Arc::new(Metrics::new()),
            stop: None,
            task: None,
            dir,
        }
    }

    pub async fn started(config: DispatcherConfig) -> Env {
        let mut env = Env::new().await;
        env.start(config);
        env
    }

    pub fn start(&mut self, config: DispatcherConfig) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let dispatcher = Arc::new(Dispatcher::new(
            self.store.clone(),
            Some(self.fake.slack(Duration::from_secs(1))),
            Some(self.fake.discord(&http)),
            self.metrics.clone(),
            config,
        ));
        let (stop, stopped) = watch::channel(false);
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(dispatcher.run(stopped)));
    }

    pub async fn enqueue_at(
        &self,
        delivery: Delivery,
        text: &str,
        important: bool,
        at: DateTime<Utc>,
    ) {
        let out = Outbound {
            tenant: "acme".into(),
            delivery,
            message: Message {
                text: text.into(),
                buttons: Vec::new(),
            },
            important,
        };
        let mut tx = self.store.begin().await.unwrap();
        tx.enqueue(&out, at).await.unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn enqueue(&self, delivery: Delivery, text: &str, important: bool) {
        self.enqueue_at(delivery, text, important, Utc::now()).await;
    }

    /// Waits until nothing is pending or being sent.
    pub async fn settle(&self) {
        eventually("the outbox to drain", || async {
            let stats = self.store.outbox_stats(0).await.unwrap();
            stats.pending == 0
        })
        .await;
    }

    pub async fn rows(&self) -> Vec<OutboxRow> {
        self.store.outbox_rows(None, 10_000).await.unwrap()
    }

    pub async fn row(&self, text: &str) -> OutboxRow {
        let rows = self.rows().await;
        let needle = format!("\"text\":\"{text}\"");
        rows.into_iter()
            .find(|r| r.message.contains(&needle))
            .unwrap_or_else(|| panic!("no outbox row `{text}`"))
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(true).unwrap();
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the dispatcher stops within its grace period")
                .unwrap();
        }
    }
}

pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + LIMIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
