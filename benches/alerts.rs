//! Alerts: how fast warden answers a grouped Alertmanager payload of 1,000 alerts, and how few
//! chat messages storm folding leaves of it. `cargo bench --bench alerts`; `ALERTS_N` (1000)
//! sets the alerts per payload, `ALERTS_RUNS` (5) the runs.
//!
//! Each run starts the real server in this process (`warden::app::start`) on a fresh SQLite
//! database with one route (storm 20) and a fake Slack Web API on loopback that counts the
//! calls it gets; posts one payload of `ALERTS_N` distinct firing alerts with a bearer token;
//! times the answer (one transaction: every alert row, every audit event, the outbox rows);
//! then waits for the outbox to drain and counts the chat calls. The baseline, in the same
//! run, is a bare axum route on loopback that receives the same body and parses it into JSON:
//! HTTP and parsing, nothing durable. Any non-200, a wrong count or a timeout exits non-zero.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use serde_json::{json, Value};

const TOKEN: &str = "bench-alert-token";

fn payload(n: usize) -> String {
    let alerts: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "status": "firing",
                "labels": { "alertname": format!("Alert{}", i % 7), "team": "web", "service": "web", "env": "prod", "instance": format!("node-{i}") },
                "annotations": { "summary": format!("node-{i} is unhappy"), "runbook_url": "https://runbooks.example/x" },
                "startsAt": "2026-12-02T00:10:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": format!("{i:016x}"),
            })
        })
        .collect();
    json!({ "version": "4", "status": "firing", "receiver": "warden", "alerts": alerts })
        .to_string()
}

/// A fake Slack Web API counting its calls.
async fn fake_slack() -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/api/{method}",
        axum::routing::post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                axum::Json(
                    json!({ "ok": true, "ts": format!("1700000000.{n:06}"), "channel": "C1" }),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}/api/"), calls))
}

/// The baseline: receive the body and parse it, nothing else.
async fn bare() -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route(
            "/alerts/alertmanager",
            axum::routing::post(|body: axum::body::Bytes| async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                axum::Json(json!({ "alerts": v["alerts"].as_array().map_or(0, Vec::len) }))
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(4 << 20));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    body: &str,
) -> anyhow::Result<(Duration, Value)> {
    let started = Instant::now();
    let r = client
        .post(format!("{base}/alerts/alertmanager"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    ensure!(r.status() == 200, "answered {}", r.status());
    let v: Value = r.json().await?;
    Ok((started.elapsed(), v))
}

async fn run_once(
    n: usize,
    body: &str,
    client: &reqwest::Client,
) -> anyhow::Result<(Duration, usize, Duration)> {
    let dir = tempfile::tempdir()?;
    let (api, calls) = fake_slack().await?;
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        r#"
[tenants.acme]
slack_team = "T0ACME"
alert_channel = "slack:C0ALERTS"

[alert_sources.prom]
kind = "alertmanager"
token_env = "PROM_ALERT_TOKEN"

[[alert_routes]]
source = "prom"
tenant = "acme"
"#,
    )?;
    let env: HashMap<String, String> = [
        ("WARDEN_LISTEN", "127.0.0.1:0".to_string()),
        (
            "WARDEN_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("warden.db").display()),
        ),
        ("WARDEN_CONFIG", config.display().to_string()),
        (
            "WARDEN_COMMANDS_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/commands").to_string(),
        ),
        ("SLACK_SIGNING_SECRET", "bench-secret".to_string()),
        ("SLACK_BOT_TOKEN", "xoxb-bench".to_string()),
        ("SLACK_API_URL", api),
        // The bench measures folding, not pacing: the cards leave as fast as Slack takes them.
        ("WARDEN_CHANNEL_RATE", "1000".to_string()),
        ("PROM_ALERT_TOKEN", TOKEN.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings =
        warden::config::Settings::from_env(&env).map_err(|e| anyhow::anyhow!("settings: {e:?}"))?;
    let server = warden::app::start(settings).await?;
    let base = format!("http://{}", server.addr);
    let (took, answer) = post(client, &base, body).await?;
    ensure!(answer["alerts"] == n, "answer {answer}");
    ensure!(
        answer["posted"].as_u64().unwrap_or(0) + answer["folded"].as_u64().unwrap_or(0) == n as u64,
        "answer {answer}"
    );
    let drain_started = Instant::now();
    let deadline = drain_started + Duration::from_secs(60);
    loop {
        let pending = server
            .state
            .service
            .store
            .outbox_rows(Some("pending"), 10)
            .await?
            .len()
            + server
                .state
                .service
                .store
                .outbox_rows(Some("sending"), 10)
                .await?
                .len();
        if pending == 0 {
            break;
        }
        ensure!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = drain_started.elapsed();
    server.shutdown().await?;
    Ok((took, calls.load(Ordering::SeqCst), drained))
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("ALERTS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let runs: usize = std::env::var("ALERTS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let body = payload(n);
        let client = reqwest::Client::new();
        let bare_base = bare().await?;
        println!("payload: {n} alerts, {} KiB", body.len() / 1024);
        println!("| run | warden answer (ms) | bare parse (ms) | ratio | chat calls | outbox drained (ms) |");
        println!("|---|---|---|---|---|---|");
        let mut worst = Duration::ZERO;
        for run in 1..=runs {
            let (bare_took, _) = post(&client, &bare_base, &body).await.context("baseline")?;
            let (took, calls, drained) = run_once(n, &body, &client).await?;
            worst = worst.max(took);
            println!(
                "| {run} | {:.1} | {:.1} | {:.1} | {calls} | {:.0} |",
                took.as_secs_f64() * 1e3,
                bare_took.as_secs_f64() * 1e3,
                took.as_secs_f64() / bare_took.as_secs_f64(),
                drained.as_secs_f64() * 1e3,
            );
            ensure!(calls < 25, "storm folding left {calls} chat calls");
        }
        println!("worst answer: {:.1} ms (target < 1000 ms)", worst.as_secs_f64() * 1e3);
        ensure!(worst < Duration::from_secs(1), "a payload took {worst:?}");
        Ok(())
    })
}
