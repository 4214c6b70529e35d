//! Outbox: how fast the dispatcher drains the durable outbox to a fake Slack Web API, whether
//! per-channel pacing holds, and what writing outbox rows adds to a request's transaction.
//!
//! Run it with `cargo bench --bench outbox`; `OUTBOX_N` (default 2000) sets the unpaced run's
//! messages, `OUTBOX_PACED_N` (default 200) the paced run's. The fake Slack Web API is this
//! binary re-executed with `--fake-slack ADDR` (its own process and tokio runtime): it answers
//! `chat.postMessage` with `{"ok":true,"ts":…}` and records each call's channel, text and
//! arrival time, handed out (and cleared) by `GET /calls`. The `Dispatcher` runs in this
//! process, driven directly as `tests/outbox.rs` does, with a fresh SQLite store per run:
//!
//! - **backlog**: N posts over 20 channels enqueued (20 per transaction), then the dispatcher
//!   started; **live**: the dispatcher runs while the N posts are enqueued one per transaction;
//!   both with pacing off (`per_channel_per_sec = 0`), default concurrency (8);
//! - **paced**: `DispatcherConfig::default()` (1 message/s per channel, burst 3), backlog.
//!
//! Then `Tx` latency: `begin` + `append_audit` + `commit`, against the same plus 1 and 3
//! `enqueue`s, interleaved, sequential, 2000 each. Any undelivered row, a call count or
//! per-channel order that is wrong, or a timeout makes the bench exit non-zero.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, ensure, Context};
use chrono::Utc;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::watch;
use warden::audit::NewEvent;
use warden::chat::slack::SlackClient;
use warden::chat::Message;
use warden::metrics::Metrics;
use warden::notifier::outbox::{Dispatcher, DispatcherConfig};
use warden::outbox::{Delivery, Outbound};
use warden::storage::Store;

const CHANNELS: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long one run may take to deliver everything.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
const TX_ITERATIONS: usize = 2000;
const TX_WARMUP: usize = 100;
/// (channel, text, arrival in µs since the epoch), as the fake recorded them.
type Calls = Vec<(String, String, i64)>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().position(|a| a == "--fake-slack") {
        Some(i) => fake_slack(args.get(i + 1).map_or("", |a| a.as_str())),
        None => tokio::runtime::Runtime::new()
            .context("the bench runtime")
            .and_then(|runtime| runtime.block_on(run())),
    };
    result.map_or_else(
        |error| {
            eprintln!("outbox bench: FAILED: {error:#}");
            ExitCode::FAILURE
        },
        |()| ExitCode::SUCCESS,
    )
}

fn micros() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.map_or(0, |d| d.as_micros() as i64)
}

/// The fake Slack Web API; exits with stdin's EOF.
fn fake_slack(addr: &str) -> anyhow::Result<()> {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let calls: Arc<Mutex<Calls>> = Arc::default();
    let taken = calls.clone();
    let post = move |body: String| async move {
        let at = micros();
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let field = |name: &str| body[name].as_str().unwrap_or_default().to_string();
        let mut calls = calls.lock().expect("the calls");
        calls.push((field("channel"), field("text"), at));
        axum::Json(json!({ "ok": true, "ts": format!("{}.0001", calls.len()) }))
    };
    let take =
        move || async move { axum::Json(std::mem::take(&mut *taken.lock().expect("the calls"))) };
    let app = axum::Router::new()
        .route("/api/chat.postMessage", axum::routing::post(post))
        .route("/calls", axum::routing::get(take));
    let serve = async { axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await };
    Ok(tokio::runtime::Runtime::new()?.block_on(serve)?)
}

/// The fake's process, killed if it still runs when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    let n = std::env::var(name).map_or(Ok(default), |v| v.parse())?;
    ensure!(n >= CHANNELS, "{name} must be at least {CHANNELS}");
    Ok(n)
}

async fn run() -> anyhow::Result<()> {
    let n = env_usize("OUTBOX_N", 2000)?;
    let paced_n = env_usize("OUTBOX_PACED_N", 200)?;
    let dir = tempfile::tempdir()?;
    let log = |name: &str| std::fs::File::create(dir.path().join(name));
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    let _fake = Proc(
        Command::new(std::env::current_exe()?)
            .args(["--fake-slack", &addr])
            .stdin(Stdio::piped())
            .stdout(log("fake.out")?)
            .stderr(log("fake.err")?)
            .spawn()?,
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()?;
    let calls_url = format!("http://{addr}/calls");
    let deadline = Instant::now() + TIMEOUT;
    while !http
        .get(&calls_url)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        ensure!(Instant::now() < deadline, "the fake Slack did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slack = SlackClient::new(
        http.clone(),
        format!("http://{addr}/api/"),
        SecretString::from("xoxb-outbox-bench"),
    );
    let unpaced = DispatcherConfig {
        per_channel_per_sec: 0.0,
        ..DispatcherConfig::default()
    };
    let runs = [
        ("backlog, unpaced", n, false, unpaced.clone()),
        ("live, unpaced", n, true, unpaced),
        (
            "backlog, paced 1/s burst 3",
            paced_n,
            false,
            DispatcherConfig::default(),
        ),
    ];
    println!("\n| run | messages | enqueue s | drain s | msg/s | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut paced_calls = Calls::new();
    for (i, (label, n, live, config)) in runs.into_iter().enumerate() {
        let store = fresh_store(&dir.path().join(format!("run{i}.db"))).await?;
        eprintln!("outbox bench: {label}, {n} messages over {CHANNELS} channels");
        let r = drain(&store, &slack, config, n, live).await?;
        let calls: Calls = http.get(&calls_url).send().await?.json().await?;
        check(&calls, n).with_context(|| format!("{label}: the fake's calls"))?;
        let (enq, wall) = (r.enqueue.as_secs_f64(), r.wall.as_secs_f64());
        let (p50, p99) = (pct(&r.latency, 0.5), pct(&r.latency, 0.99));
        let (max, rate) = (r.latency.last().copied().unwrap_or(0.0), n as f64 / wall);
        println!(
            "| {label} | {n} | {enq:.2} | {wall:.2} | {rate:.0} | {p50:.0} | {p99:.0} | {max:.0} |"
        );
        store.close().await;
        paced_calls = calls;
    }
    pacing_report(&paced_calls, DispatcherConfig::default().burst as usize);

    let store = fresh_store(&dir.path().join("tx.db")).await?;
    tx_latency(&store).await?;
    store.close().await;
    Ok(())
}

async fn fresh_store(path: &std::path::Path) -> anyhow::Result<Store> {
    let store = Store::connect(&format!("sqlite://{}", path.display())).await?;
    store.migrate().await?;
    Ok(store)
}

fn outbound(i: usize) -> anyhow::Result<Outbound> {
    let ch = i % CHANNELS;
    let channel = format!("slack:C{ch:03}")
        .parse()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(Outbound {
        tenant: "acme".into(),
        delivery: Delivery::Post {
            channel,
            key: None,
            fallback: None,
        },
        message: Message {
            text: format!("C{ch:03} #{i:05}"),
            buttons: Vec::new(),
        },
        important: false,
    })
}

struct Drained {
    enqueue: Duration,
    /// From the dispatcher's start (live: the first enqueue) to the last `delivered_ms`.
    wall: Duration,
    /// `delivered_ms − created_ms` of every row, sorted.
    latency: Vec<f64>,
}

/// Enqueues `n` posts and runs a dispatcher until every row is done.
async fn drain(
    store: &Store,
    slack: &SlackClient,
    config: DispatcherConfig,
    n: usize,
    live: bool,
) -> anyhow::Result<Drained> {
    let metrics = Arc::new(Metrics::new());
    let dispatcher = Dispatcher::new(store.clone(), Some(slack.clone()), None, metrics, config);
    let dispatcher = Arc::new(dispatcher);
    let (stop, stopped) = watch::channel(false);
    let mut task = None;
    let mut start_ms = Utc::now().timestamp_millis();
    if live {
        task = Some(tokio::spawn(dispatcher.clone().run(stopped.clone())));
    }
    let started = Instant::now();
    let per_tx = if live { 1 } else { CHANNELS };
    for first in (0..n).step_by(per_tx) {
        let mut tx = store.begin().await?;
        for i in first..(first + per_tx).min(n) {
            tx.enqueue(&outbound(i)?, Utc::now()).await?;
        }
        tx.commit().await?;
    }
    let enqueue = started.elapsed();
    if task.is_none() {
        start_ms = Utc::now().timestamp_millis();
        task = Some(tokio::spawn(dispatcher.run(stopped)));
    }
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let stats = store.outbox_stats(0).await?;
        ensure!(stats.dead == 0, "{} rows dead-lettered", stats.dead);
        if stats.pending == 0 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{} rows undelivered",
            stats.pending
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true)?;
    if let Some(task) = task {
        tokio::time::timeout(TIMEOUT, task).await??;
    }
    let rows = store.outbox_rows(None, n as u32 + 1).await?;
    ensure!(rows.len() == n, "{} rows for {n} messages", rows.len());
    let (mut latency, mut last) = (Vec::with_capacity(n), start_ms);
    for row in rows {
        let done = row.delivered_ms.filter(|_| row.status == "done");
        let done = done.with_context(|| format!("row {} is {}", row.id, row.status))?;
        latency.push((done - row.created_ms) as f64);
        last = last.max(done);
    }
    latency.sort_by(f64::total_cmp);
    let wall = Duration::from_millis((last - start_ms).max(1) as u64);
    Ok(Drained {
        enqueue,
        wall,
        latency,
    })
}

/// Exactly one call per message, and each channel's messages in the order enqueued.
fn check(calls: &Calls, n: usize) -> anyhow::Result<()> {
    ensure!(calls.len() == n, "{} calls for {n} messages", calls.len());
    let mut last: HashMap<&str, &str> = HashMap::new();
    for (channel, text, _) in calls {
        if let Some(previous) = last.insert(channel, text) {
            ensure!(
                previous < text.as_str(),
                "{channel}: {text} after {previous}"
            );
        }
    }
    ensure!(
        last.len() == CHANNELS,
        "{} channels, not {CHANNELS}",
        last.len()
    );
    Ok(())
}

/// Per channel: the rate after the burst, the smallest gap after it, the whole span.
fn pacing_report(calls: &Calls, burst: usize) {
    let mut by_channel: HashMap<&str, Vec<i64>> = HashMap::new();
    for (channel, _, at) in calls {
        by_channel.entry(channel).or_default().push(*at);
    }
    let (mut burst_ms, mut rates, mut gaps, mut spans) = (vec![], vec![], vec![], vec![]);
    for times in by_channel.values_mut() {
        times.sort_unstable();
        let secs = |from: usize, to: usize| (times[to] - times[from]) as f64 / 1e6;
        let last = times.len() - 1;
        spans.push(secs(0, last));
        burst_ms.push(secs(0, last.min(burst - 1)) * 1e3);
        if last >= burst {
            rates.push((last + 1 - burst) as f64 / secs(burst - 1, last));
            let gap = times[burst - 1..].windows(2).map(|w| w[1] - w[0]).min();
            gaps.push(gap.unwrap_or(0) as f64 / 1e6);
        }
    }
    let stat = |v: &[f64]| {
        let (min, max) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
        (min, v.iter().sum::<f64>() / v.len().max(1) as f64, max)
    };
    let per = calls.len() / CHANNELS;
    println!("\nPacing (paced run, {per} messages per channel, per-channel min / mean / max over {} channels):\n", by_channel.len());
    println!("| measure | min | mean | max |");
    println!("|---|---:|---:|---:|");
    let rows = [
        ("first {burst} messages: span ms", burst_ms),
        ("after the burst: messages/s", rates),
        ("after the burst: smallest gap s", gaps),
        ("first to last message: s", spans),
    ];
    for (label, values) in rows {
        let (min, mean, max) = stat(&values);
        let label = label.replace("{burst}", &burst.to_string());
        println!("| {label} | {min:.2} | {mean:.2} | {max:.2} |");
    }
}

/// `begin` + `append_audit` + `enqueue` × k + `commit`, for k = 0, 1, 3, interleaved.
async fn tx_latency(store: &Store) -> anyhow::Result<()> {
    const VARIANTS: [usize; 3] = [0, 1, 3];
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(TX_ITERATIONS); VARIANTS.len()];
    for i in 0..TX_WARMUP + TX_ITERATIONS {
        for (v, k) in VARIANTS.iter().enumerate() {
            let outs = (0..*k)
                .map(|j| outbound(i * 3 + j))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let event = NewEvent {
                tenant: "acme".into(),
                actor: "alice".into(),
                kind: "command.invoked".into(),
                target: "deploy".into(),
                channel: "slack:C000".into(),
                request_id: format!("bench-{i}-{k}"),
                details: json!({ "args": "api", "i": i }),
            };
            let started = Instant::now();
            let mut tx = store.begin().await?;
            tx.append_audit(event, Utc::now());
            for out in &outs {
                tx.enqueue(out, Utc::now()).await?;
            }
            tx.commit().await?;
            if i >= TX_WARMUP {
                samples[v].push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    println!("\nTransaction latency ({TX_ITERATIONS} each after {TX_WARMUP} warm-up, interleaved, sequential, no dispatcher running):\n");
    println!("| transaction | p50 µs | p99 µs | mean µs | p50 ÷ baseline | p99 ÷ baseline |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut base = (0.0, 0.0);
    for (v, k) in VARIANTS.iter().enumerate() {
        let s = &mut samples[v];
        s.sort_by(f64::total_cmp);
        let (p50, p99) = (pct(s, 0.5), pct(s, 0.99));
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        if *k == 0 {
            base = (p50, p99);
        }
        let label = match k {
            0 => "audit event only (baseline)".to_string(),
            k => format!("audit event + {k} enqueue"),
        };
        let (r50, r99) = (p50 / base.0, p99 / base.1);
        println!("| {label} | {p50:.0} | {p99:.0} | {mean:.0} | {r50:.2} | {r99:.2} |");
    }
    if base.0 <= 0.0 {
        bail!("no baseline measured");
    }
    Ok(())
}
