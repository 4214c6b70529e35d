//! Outbox: how fast the dispatcher drains the outbox to a fake Slack Web API, whether pacing
//! holds, and what outbox rows add to a request's transaction. `cargo bench --bench outbox`;
//! `OUTBOX_N` (2000) and `OUTBOX_PACED_N` (200) set the messages, spread over 20 channels.
//!
//! The fake Slack is this binary re-executed with `--fake-slack ADDR` (its own process and
//! runtime): `chat.postMessage` answers `{"ok":true,"ts":…}` and records channel, text and
//! arrival time, which `GET /calls` hands out and clears. The `Dispatcher` runs in this process,
//! driven as `tests/outbox.rs` does, on a fresh SQLite store per run: **backlog** (enqueue all,
//! 20 rows per transaction, then start it), **live** (it runs while the posts are enqueued one
//! per transaction), both unpaced (`per_channel_per_sec = 0`); **paced** is the default config
//! (1/s per channel, burst 3) on a backlog. Then `begin` + `append_audit` + `commit` against the
//! same plus 1 and 3 `enqueue`s, interleaved, 2000 each. Any undelivered row, a wrong call count
//! or per-channel order, or a timeout exits non-zero.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context};
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
        let ts = format!("{}.0001", calls.len());
        axum::Json(warden::demo::fakes::web_api_answer(
            "chat.postMessage",
            &body,
            &ts,
        ))
    };
    let take =
        move || async move { axum::Json(std::mem::take(&mut *taken.lock().expect("the calls"))) };
    let app = axum::Router::new()
        .route("/api/chat.postMessage", axum::routing::post(post))
        .route("/calls", axum::routing::get(take));
    let serve = async { axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await };
    Ok(tokio::runtime::Runtime::new()?.block_on(serve)?)
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
    // The fake exits when its stdin closes: when this process drops `_fake` or dies.
    let _fake = Command::new(std::env::current_exe()?)
        .args(["--fake-slack", &addr])
        .stdin(Stdio::piped())
        .stdout(log("fake.out")?)
        .stderr(log("fake.err")?)
        .spawn()?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()?;
    let calls_url = format!("http://{addr}/calls");
    let deadline = Instant::now() + TIMEOUT;
    let ready = |r: reqwest::Result<reqwest::Response>| r.is_ok_and(|r| r.status() == 200);
    while !ready(http.get(&calls_url).send().await) {
        ensure!(Instant::now() < deadline, "the fake Slack did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slack = SlackClient::new(
        format!("http://{addr}/api/"),
        SecretString::from("xoxb-outbox-bench"),
        TIMEOUT,
    );
    let unpaced = DispatcherConfig {
        per_channel_per_sec: 0.0,
        ..DispatcherConfig::default()
    };
    let paced = DispatcherConfig::default();
    let runs = [
        ("backlog, unpaced", n, false, unpaced.clone()),
        ("live, unpaced", n, true, unpaced),
        ("backlog, paced 1/s burst 3", paced_n, false, paced),
    ];
    println!("\n| run | messages | enqueue s | drain s | msg/s | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut paced_calls = Calls::new();
    for (i, (label, n, live, config)) in runs.into_iter().enumerate() {
        let store = fresh_store(&dir.path().join(format!("run{i}.db"))).await?;
        eprintln!("outbox bench: {label}, {n} messages over {CHANNELS} channels");
        let (enqueue, wall, enqueued_at) = drain(&store, &slack, config, n, live).await?;
        let calls: Calls = http.get(&calls_url).send().await?.json().await?;
        let latency = check(&calls, &enqueued_at).with_context(|| format!("{label}: calls"))?;
        let (enq, wall) = (enqueue.as_secs_f64(), wall.as_secs_f64());
        let (p50, p99) = (pct(&latency, 0.5), pct(&latency, 0.99));
        let (max, rate) = (latency.last().copied().unwrap_or(0.0), n as f64 / wall);
        println!(
            "| {label} | {n} | {enq:.2} | {wall:.2} | {rate:.0} | {p50:.1} | {p99:.1} | {max:.1} |"
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

fn outbound(i: usize) -> Outbound {
    let ch = i % CHANNELS;
    let channel = format!("slack:C{ch:03}").parse().expect("a channel");
    Outbound {
        tenant: "acme".into(),
        delivery: Delivery::Post {
            channel,
            key: None,
            fallback: None,
            thread: None,
        },
        message: Message {
            text: format!("C{ch:03} #{i:05}"),
            buttons: Vec::new(),
        },
        important: false,
    }
}

/// Enqueues `n` posts and runs a dispatcher until every row is done. Returns the time spent
/// enqueuing, the wall time from the dispatcher's start (live: the first enqueue) to the last
/// `delivered_ms`, and when each message was enqueued (µs since the epoch).
async fn drain(
    store: &Store,
    slack: &SlackClient,
    config: DispatcherConfig,
    n: usize,
    live: bool,
) -> anyhow::Result<(Duration, Duration, Vec<i64>)> {
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
    let mut enqueued_at = Vec::with_capacity(n);
    for first in (0..n).step_by(per_tx) {
        let mut tx = store.begin().await?;
        for i in first..(first + per_tx).min(n) {
            enqueued_at.push(micros());
            tx.enqueue(&outbound(i), Utc::now()).await?;
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
        ensure!(Instant::now() < deadline, "{} undelivered", stats.pending);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true)?;
    if let Some(task) = task {
        tokio::time::timeout(TIMEOUT, task).await??;
    }
    let rows = store.outbox_rows(None, n as u32 + 1).await?;
    ensure!(rows.len() == n, "{} rows for {n} messages", rows.len());
    let mut last = start_ms;
    for row in rows {
        let done = row.delivered_ms.filter(|_| row.status == "done");
        last = last.max(done.with_context(|| format!("row {} is {}", row.id, row.status))?);
    }
    let wall = Duration::from_millis((last - start_ms).max(1) as u64);
    Ok((enqueue, wall, enqueued_at))
}

/// Checks one call per message, each channel's in the order enqueued; returns the sorted
/// latencies in ms, from the enqueue call to the fake's receipt.
fn check(calls: &Calls, enqueued_at: &[i64]) -> anyhow::Result<Vec<f64>> {
    let n = enqueued_at.len();
    ensure!(calls.len() == n, "{} calls for {n} messages", calls.len());
    let (mut last, mut latency) = (HashMap::new(), Vec::with_capacity(n));
    for (channel, text, at) in calls {
        let i: usize = text.rsplit_once('#').context("no #")?.1.parse()?;
        latency.push((at - enqueued_at[i]) as f64 / 1e3);
        let previous = last.insert(channel, i);
        ensure!(previous < Some(i), "{channel}: #{i} after {previous:?}");
    }
    ensure!(last.len() == CHANNELS, "{} channels", last.len());
    latency.sort_by(f64::total_cmp);
    Ok(latency)
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
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let per = calls.len() / CHANNELS;
    println!("\nPacing (paced run, {per} messages per channel, per-channel min / mean / max over {} channels):\n", by_channel.len());
    println!("| measure | min | mean | max |");
    println!("|---|---:|---:|---:|");
    let rows = [
        (format!("the burst ({burst} messages): span ms"), burst_ms),
        ("after the burst: messages/s".into(), rates),
        ("after the burst: smallest gap s".into(), gaps),
        ("first to last message: s".into(), spans),
    ];
    for (label, mut v) in rows {
        v.sort_by(f64::total_cmp);
        let (min, max) = (pct(&v, 0.0), pct(&v, 1.0));
        println!("| {label} | {min:.2} | {:.2} | {max:.2} |", mean(&v));
    }
}

/// `begin` + `append_audit` + `enqueue` × k + `commit`, for k = 0, 1, 3, interleaved.
async fn tx_latency(store: &Store) -> anyhow::Result<()> {
    const VARIANTS: [usize; 3] = [0, 1, 3];
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(TX_ITERATIONS); VARIANTS.len()];
    for i in 0..TX_WARMUP + TX_ITERATIONS {
        for (v, k) in VARIANTS.iter().enumerate() {
            let outs: Vec<_> = (0..*k).map(|j| outbound(i * 3 + j)).collect();
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
    println!("| transaction | p50 µs | p99 µs | mean µs | p50 ÷ baseline | p99 ÷ baseline | paired Δ p50 µs |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (mut base, baseline) = ((0.0, 0.0), samples[0].clone());
    for (v, k) in VARIANTS.iter().enumerate() {
        // The same round's baseline subtracted: robust to load that drifts during the run.
        let mut delta: Vec<f64> = samples[v]
            .iter()
            .zip(&baseline)
            .map(|(a, b)| a - b)
            .collect();
        delta.sort_by(f64::total_cmp);
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
        let d50 = pct(&delta, 0.5);
        println!("| {label} | {p50:.0} | {p99:.0} | {mean:.0} | {r50:.2} | {r99:.2} | {d50:+.0} |");
    }
    Ok(())
}
