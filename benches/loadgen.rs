//! Load generator: how fast the real `warden serve` answers signed Slack slash commands, compared
//! with a bare axum route on the same machine.
//!
//! Run it with `cargo bench --bench loadgen` (a release build). Each measured phase lasts 5 s
//! after a 1 s warm-up; `LOADGEN_SECS=2 cargo bench --bench loadgen` shortens it.
//!
//! Two servers run as separate processes, each with tokio's default worker count:
//!
//! - `warden`: the real binary, with a fresh SQLite database and a one-tenant directory. Every
//!   request runs the whole path: signature check, parse, guard, and one write transaction that
//!   claims the replay key and appends the audit event.
//! - `bare`: this very binary re-executed with `--bare-server ADDR`, an axum route that reads
//!   the body and answers 200. It is the ceiling: HTTP, the kernel and the client, nothing else.
//!
//! - `sqlite-ceiling`: no HTTP at all. warden's own store (`Store::record_batch`, the SQLite
//!   writer thread) commits batches of 25 replay keys and `command.invoked` events on a fresh
//!   database with warden's schema, one connection, back to back, for one phase. Its rows/s is
//!   what the disk and SQLite allow for warden's statements: warden's req/s is reported as a
//!   ratio to it.
//!
//! For each concurrency level, `concurrency` client tasks share one keep-alive HTTP client and
//! each sends `/ops help` as alice, in a loop, with a distinct signed body every time (a fresh
//! `trigger_id`), so no request is a replay. Both targets get exactly the same client work. The
//! output is a markdown table, the verdict on the targets (warden p99 < 10 ms at concurrency 50,
//! warden throughput at least half the bare route's) and `warden audit verify` run on the database
//! afterwards, whose event count must equal the number of answered requests. Any failed request,
//! a broken audit chain or a count mismatch makes the process exit non-zero.
//!
//! `LOADGEN_SOAK_SECS=120 cargo bench --bench loadgen` runs one long phase at concurrency 50
//! against warden alone instead, printing the `-wal` file's size and warden's RSS every 10 s
//! (`support/soak.rs`). `WARDEN_SQLITE_WRITER=sqlx` and `WARDEN_SQLITE_CHECKPOINT=auto` are
//! passed to the warden under test only, to measure the write path without the writer thread
//! or without the background checkpointer. `LOADGEN_SOAK_CONCURRENCY=1` soaks at another
//! concurrency (for a profile of one connection, say), and `LOADGEN_SOAK_PAUSE_MS=20` has each
//! client wait that long after every answer, so that every request finds warden idle (the
//! latency one person's command sees, every thread's wake-up included). `WARDEN_BENCH_BINARY=PATH` measures
//! another build of warden (`--features mimalloc`, say) against the same baselines.

use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

#[path = "support/load.rs"]
mod load;
#[path = "support/soak.rs"]
mod soak;

use load::{
    free_addr, load, warden_binary, Clients, Phase, Server, REQUEST_TIMEOUT, SECRET, WARMUP,
};

const LEVELS: [usize; 3] = [1, 10, 50];
const DEFAULT_SECS: f64 = 5.0;

/// The pause between an answer and the next request in the paced phase: long enough for
/// every thread to fall asleep, as between two people's commands.
const PACED_PAUSE: Duration = Duration::from_millis(10);

/// One tenant and one viewer, the shape of `tests/common/mod.rs`'s directory, cut down.
const DIRECTORY: &str = r#"
[tenants.acme]
slack_team = "T0ACME"

[people.alice]
slack = "T0ACME/U0ALICE"

[[bindings]]
subject = "alice"
tenant = "acme"
role = "viewer"
"#;

fn main() -> ExitCode {
    // The bare server is this binary re-executed; cargo's own `--bench` argument is ignored.
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--bare-server") {
        let Some(addr) = args.get(i + 1) else {
            eprintln!("loadgen: --bare-server needs an address");
            return ExitCode::from(2);
        };
        return bare_server(addr).map_or_else(
            |error| {
                eprintln!("bare server: {error}");
                ExitCode::FAILURE
            },
            |()| ExitCode::SUCCESS,
        );
    }
    if let Some(i) = args.iter().position(|a| a == "--bare-sqlite-server") {
        let (Some(addr), Some(db)) = (args.get(i + 1), args.get(i + 2)) else {
            eprintln!("loadgen: --bare-sqlite-server needs an address and a database path");
            return ExitCode::from(2);
        };
        return bare_sqlite_server(addr, db).map_or_else(
            |error| {
                eprintln!("bare sqlite server: {error}");
                ExitCode::FAILURE
            },
            |()| ExitCode::SUCCESS,
        );
    }
    // `WARDEN_SQLITE_WRITER` and `WARDEN_SQLITE_CHECKPOINT` are meant for the warden under
    // test only: the ceiling always uses the writer thread and the checkpointer. They are read
    // and removed before any other thread starts.
    let mut choices = Vec::new();
    for name in ["WARDEN_SQLITE_WRITER", "WARDEN_SQLITE_CHECKPOINT"] {
        choices.push((name, std::env::var(name).unwrap_or_default()));
        std::env::remove_var(name);
    }
    let runtime = tokio::runtime::Runtime::new().expect("the client runtime starts");
    runtime.block_on(run(choices)).unwrap_or_else(|error| {
        eprintln!("loadgen: {error:#}");
        ExitCode::FAILURE
    })
}

/// The baseline: the same runtime flavour as warden's CLI and a route that does nothing.
fn bare_server(addr: &str) -> std::io::Result<()> {
    use axum::routing::{get, post};
    // Exit when the parent closes our stdin, so a killed load generator leaves nothing behind.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    tokio::runtime::Runtime::new()?.block_on(async {
        // The body is read, as warden reads it, so the connection stays reusable.
        let app = axum::Router::new()
            .route(
                "/slack/commands",
                post(|_: axum::body::Bytes| async { "ok" }),
            )
            .route("/readyz", get(|| async { "ready\n" }));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app).await
    })
}

/// A second baseline: the same route, but each request commits one row to SQLite (WAL,
/// synchronous NORMAL, 8 connections, as warden opens it) before answering. It is the floor
/// for any server that makes one durable write per request with sqlx on this machine.
fn bare_sqlite_server(addr: &str, db: &str) -> std::io::Result<()> {
    use axum::routing::{get, post};
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    tokio::runtime::Runtime::new()?.block_on(async {
        let options = SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(std::io::Error::other)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .execute(&pool)
            .await
            .map_err(std::io::Error::other)?;
        let app = axum::Router::new()
            .route(
                "/slack/commands",
                post(move |body: axum::body::Bytes| {
                    let pool = pool.clone();
                    async move {
                        match sqlx::query("INSERT INTO hits (body) VALUES ($1)")
                            .bind(body.to_vec())
                            .execute(&pool)
                            .await
                        {
                            Ok(_) => (axum::http::StatusCode::OK, "ok"),
                            Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy"),
                        }
                    }
                }),
            )
            .route("/readyz", get(|| async { "ready\n" }));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app).await
    })
}

async fn run(choices: Vec<(&str, String)>) -> anyhow::Result<ExitCode> {
    let secs = match std::env::var("LOADGEN_SECS") {
        Ok(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0)
            .context("LOADGEN_SECS: seconds > 0")?,
        Err(_) => DEFAULT_SECS,
    };
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, DIRECTORY)?;
    let database_url = format!("sqlite://{}", dir.path().join("warden.db").display());
    let log = |name: &str| File::create(dir.path().join(name));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()?;

    // The environment is cleared so that nothing from the caller's shell changes the server.
    let warden_addr = free_addr()?;
    let mut warden = Server {
        base: format!("http://{warden_addr}"),
        child: Command::new(warden_binary())
            .arg("serve")
            .env_clear()
            .env("WARDEN_LISTEN", &warden_addr)
            .env("WARDEN_DATABASE_URL", &database_url)
            .env("WARDEN_CONFIG", &config)
            .env(
                "WARDEN_COMMANDS_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/commands"),
            )
            .env("SLACK_SIGNING_SECRET", SECRET)
            // `WARDEN_SQLITE_WRITER=sqlx` measures the write path without the writer thread,
            // `WARDEN_SQLITE_CHECKPOINT=auto` without the background checkpointer.
            .envs(choices)
            .env("RUST_LOG", "warn")
            .env("WARDEN_LOG_FORMAT", "json")
            .stdout(log("warden.out")?)
            .stderr(log("warden.err")?)
            .spawn()?,
    };
    if let Err(error) = warden.wait_ready(&client, "warden").await {
        eprintln!("{}", log_tail(dir.path()));
        return Err(error);
    }
    let counter = Arc::new(AtomicU64::new(1));
    if let Ok(v) = std::env::var("LOADGEN_SOAK_SECS") {
        let soak_secs = v
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0)
            .context("LOADGEN_SOAK_SECS: seconds > 0")?;
        eprintln!(
            "loadgen: soak, warden x{} for {soak_secs} s",
            soak::soak_concurrency()
        );
        let (phase, samples) = soak::soak(
            &client,
            format!("{}/slack/commands", warden.base),
            warden.child.id(),
            dir.path().join("warden.db-wal"),
            Duration::from_secs_f64(soak_secs),
            &counter,
        )
        .await;
        let stopped = warden.terminate().await;
        let audit = audit_verify(&database_url)?;
        let mut failed = soak::report(&phase, &samples, warden::storage::DEFAULT_SQLITE_WAL_LIMIT);
        failed |= audit_check(phase.tally.answered, &audit);
        if let Err(error) = stopped {
            println!("\n**FAILED:** {error:#}");
            failed = true;
        }
        if failed {
            eprintln!("loadgen: the soak FAILED\n{}", log_tail(dir.path()));
            return Ok(ExitCode::FAILURE);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let bare_addr = free_addr()?;
    let mut bare = Server {
        base: format!("http://{bare_addr}"),
        child: Command::new(std::env::current_exe()?)
            .args(["--bare-server", &bare_addr])
            .stdin(Stdio::piped())
            .stdout(log("bare.out")?)
            .stderr(log("bare.err")?)
            .spawn()?,
    };
    bare.wait_ready(&client, "bare").await?;
    let sqlite_addr = free_addr()?;
    let mut bare_sqlite = Server {
        base: format!("http://{sqlite_addr}"),
        child: Command::new(std::env::current_exe()?)
            .args([
                "--bare-sqlite-server",
                &sqlite_addr,
                &dir.path().join("bare.db").display().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(log("bare-sqlite.out")?)
            .stderr(log("bare-sqlite.err")?)
            .spawn()?,
    };
    bare_sqlite.wait_ready(&client, "bare+sqlite").await?;

    eprintln!("loadgen: {secs} s per phase after {WARMUP:?} of warm-up, concurrency {LEVELS:?}");
    let measure = Duration::from_secs_f64(secs);
    let ceiling = sqlite_ceiling(&dir.path().join("ceiling.db"), measure).await?;
    eprintln!("loadgen: sqlite-ceiling: {ceiling:.0} rows/s");
    let mut phases = Vec::new();
    for concurrency in LEVELS {
        for (target, base) in [
            ("bare", &bare.base),
            ("bare+sqlite", &bare_sqlite.base),
            ("warden", &warden.base),
        ] {
            let url = format!("{base}/slack/commands");
            let check_help = target == "warden";
            let phase = load(
                &client,
                target,
                &[url],
                check_help,
                Clients::closed(concurrency),
                measure,
                &counter,
            )
            .await;
            eprintln!(
                "loadgen: {target} x{concurrency}: {:.0} req/s",
                phase.rate()
            );
            phases.push(phase);
        }
    }

    // One person's pace: every request finds the server idle and pays every wake-up, which
    // the closed loop above hides (its next request is already there when a thread looks).
    let mut paced = Vec::new();
    for (target, base) in [
        ("bare", &bare.base),
        ("bare+sqlite", &bare_sqlite.base),
        ("warden", &warden.base),
    ] {
        let url = format!("{base}/slack/commands");
        let phase = load(
            &client,
            target,
            &[url],
            target == "warden",
            Clients {
                concurrency: 1,
                pause: PACED_PAUSE,
            },
            measure,
            &counter,
        )
        .await;
        eprintln!(
            "loadgen: {target} x1 paced: p50 {:.2} ms",
            phase.percentile_ms(0.5)
        );
        paced.push(phase);
    }

    drop(bare);
    drop(bare_sqlite);
    let stopped = warden.terminate().await;
    let audit = audit_verify(&database_url)?;
    let paced_failed = report_paced(&paced);
    let answered_paced: u64 = paced
        .iter()
        .filter(|p| p.target == "warden")
        .map(|p| p.tally.answered)
        .sum();
    let mut failed = report(&phases, ceiling, answered_paced, &audit) | paced_failed;
    if let Err(error) = stopped {
        println!("\n**FAILED:** {error:#}");
        failed = true;
    }
    if failed {
        eprintln!("loadgen: the run FAILED\n{}", log_tail(dir.path()));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `warden audit verify` on the run's database (after warden stopped).
fn audit_verify(database_url: &str) -> anyhow::Result<std::process::Output> {
    Command::new(warden_binary())
        .args(["audit", "verify"])
        .env_clear()
        .env("WARDEN_DATABASE_URL", database_url)
        .output()
        .context("running warden audit verify")
}

/// Rows per batch in the `sqlite-ceiling` baseline.
const CEILING_BATCH: usize = 25;

/// The physical ceiling for warden's durable write: warden's own store and statements on a
/// fresh database, batches of `CEILING_BATCH` records committed back to back on the SQLite
/// writer thread for `measure` (after a short warm-up), no HTTP. Returns rows per second.
async fn sqlite_ceiling(path: &Path, measure: Duration) -> anyhow::Result<f64> {
    use warden::audit::NewEvent;
    use warden::storage::{Record, Store};
    let store = Store::connect(&format!("sqlite://{}", path.display())).await?;
    store.migrate().await?;
    anyhow::ensure!(
        store.has_writer_thread(),
        "the ceiling needs the SQLite writer thread"
    );
    let mut n = 0u64;
    let mut batch = || {
        (0..CEILING_BATCH)
            .map(|_| {
                n += 1;
                let now = chrono::Utc::now();
                Record {
                    replay_key: Some((format!("slack:ceiling-{n}"), now.timestamp() + 3600)),
                    event: NewEvent {
                        tenant: "acme".into(),
                        actor: "alice".into(),
                        kind: "command.invoked".into(),
                        target: "help".into(),
                        channel: "slack:C0OPS".into(),
                        request_id: format!("req-{n:016x}"),
                        details: serde_json::json!({"command": "help", "args": [], "platform": "slack"}),
                    },
                    at: now,
                }
            })
            .collect::<Vec<_>>()
    };
    let warm_until = std::time::Instant::now() + WARMUP;
    while std::time::Instant::now() < warm_until {
        store.record_batch(batch()).await?;
    }
    let (start, mut rows) = (std::time::Instant::now(), 0usize);
    while start.elapsed() < measure {
        let written = store.record_batch(batch()).await?;
        rows += written.iter().filter(|w| **w).count();
    }
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    store.close().await;
    Ok(rate)
}

/// Prints the paced phases: each target's latency when every request finds it idle, and
/// what warden adds to the bare route's. Returns whether a request failed.
fn report_paced(paced: &[Phase]) -> bool {
    let bare_p50 = paced
        .iter()
        .find(|p| p.target == "bare")
        .map_or(f64::NAN, |p| p.percentile_ms(0.5));
    println!(
        "\nOne person's pace: one connection, {} ms between an answer and the next request\n",
        PACED_PAUSE.as_millis()
    );
    println!("| target | requests | p50 ms | p99 ms | max ms | errors | p50 over bare ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for p in paced {
        let (n, p50) = (p.tally.latencies_us.len(), p.percentile_ms(0.5));
        let over = if p.target == "bare" {
            String::new()
        } else {
            format!("{:.2}", p50 - bare_p50)
        };
        println!(
            "| {} | {n} | {p50:.2} | {:.2} | {:.2} | {} | {over} |",
            p.target,
            p.percentile_ms(0.99),
            p.percentile_ms(1.0),
            p.tally.errors
        );
    }
    let mut failed = false;
    for p in paced.iter().filter(|p| p.tally.errors > 0) {
        failed = true;
        let first = p.tally.first_error.as_deref().unwrap_or("?");
        println!(
            "\n**ERRORS:** {} paced: {} requests failed; the first: {first}",
            p.target, p.tally.errors
        );
    }
    failed
}

/// Prints the table, the verdict on the targets and the audit check; returns whether it failed.
/// `answered_paced` counts warden's answers in the paced phase, which wrote events too.
fn report(
    phases: &[Phase],
    ceiling: f64,
    answered_paced: u64,
    audit: &std::process::Output,
) -> bool {
    let bare_rate = |c: usize| {
        let bare = phases
            .iter()
            .find(|p| p.target == "bare" && p.concurrency == c);
        bare.map_or(f64::NAN, Phase::rate)
    };
    let wardens = || phases.iter().filter(|p| p.target == "warden");
    let sqlite_rate = |c: usize| {
        phases
            .iter()
            .find(|p| p.target == "bare+sqlite" && p.concurrency == c)
            .map_or(f64::NAN, Phase::rate)
    };
    println!("\n| target | concurrency | requests | req/s | p50 ms | p99 ms | max ms | errors | vs bare | vs bare+sqlite | vs sqlite-ceiling |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| sqlite-ceiling | batches of {CEILING_BATCH} | | {ceiling:.0} rows/s | | | | | | | 1.000 |"
    );
    for p in phases {
        let (ratio, ratio_sqlite) = if p.target == "bare" {
            (String::new(), String::new())
        } else if p.target == "bare+sqlite" {
            (
                format!("{:.3}", p.rate() / bare_rate(p.concurrency)),
                String::new(),
            )
        } else {
            (
                format!("{:.3}", p.rate() / bare_rate(p.concurrency)),
                format!("{:.3}", p.rate() / sqlite_rate(p.concurrency)),
            )
        };
        let ratio_ceiling = format!("{:.3}", p.rate() / ceiling);
        let (n, rate) = (p.tally.latencies_us.len(), p.rate());
        let (p50, p99, max) = (
            p.percentile_ms(0.5),
            p.percentile_ms(0.99),
            p.percentile_ms(1.0),
        );
        let (target, c, errors) = (p.target, p.concurrency, p.tally.errors);
        println!("| {target} | {c} | {n} | {rate:.0} | {p50:.2} | {p99:.2} | {max:.2} | {errors} | {ratio} | {ratio_sqlite} | {ratio_ceiling} |");
    }

    let mut failed = false;
    for p in phases.iter().filter(|p| p.tally.errors > 0) {
        failed = true;
        let first = p.tally.first_error.as_deref().unwrap_or("?");
        let (target, c, errors) = (p.target, p.concurrency, p.tally.errors);
        println!("\n**ERRORS:** {target} x{c}: {errors} requests failed; the first: {first}");
    }

    println!("\nTargets:");
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    if let Some(w) = wardens().find(|p| p.concurrency == 50) {
        let p99 = w.percentile_ms(0.99);
        println!(
            "- warden p99 < 10 ms at concurrency 50: {} ({p99:.2} ms)",
            verdict(p99 < 10.0)
        );
    }
    if let Some(w) = wardens().find(|p| p.concurrency == 50) {
        let (ratio, p99) = (w.rate() / ceiling, w.percentile_ms(0.99));
        println!(
            "- warden req/s >= 0.6 x sqlite-ceiling rows/s at concurrency 50: {} ({:.0} vs {ceiling:.0}: {ratio:.3}); p99 <= 8 ms: {} ({p99:.2} ms)",
            verdict(ratio >= 0.6),
            w.rate(),
            verdict(p99 <= 8.0)
        );
    }
    if let Some(w) = wardens().find(|p| p.concurrency == 1) {
        let (p50, p99) = (w.percentile_ms(0.5), w.percentile_ms(0.99));
        println!(
            "- warden at concurrency 1: p50 <= 0.25 ms: {} ({p50:.2} ms); p99 <= 2 ms: {} ({p99:.2} ms)",
            verdict(p50 <= 0.25),
            verdict(p99 <= 2.0)
        );
    }
    for w in wardens() {
        let (c, rate, bare) = (w.concurrency, w.rate(), bare_rate(w.concurrency));
        let ratio = rate / bare;
        let ok = verdict(ratio >= 0.5);
        println!("- warden req/s >= 0.5 x bare at concurrency {c}: {ok} ({rate:.0} vs {bare:.0}: {ratio:.3})");
    }

    // Every correct warden answer wrote exactly one audit event (`command.invoked`), so the
    // verified chain must hold exactly that many, warm-up included.
    let answered: u64 = wardens().map(|p| p.tally.answered).sum::<u64>() + answered_paced;
    failed | audit_check(answered, audit)
}

/// Prints the audit check and returns whether it failed: the verified chain must hold exactly
/// one event per answered warden request.
fn audit_check(answered: u64, audit: &std::process::Output) -> bool {
    let stdout = String::from_utf8_lossy(&audit.stdout);
    println!("\nAudit (`warden audit verify` on the run's database, after warden stopped):");
    println!("    {}", stdout.trim());
    for line in String::from_utf8_lossy(&audit.stderr).lines() {
        println!("    {line}");
    }
    let events = stdout
        .split("verified: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok());
    if audit.status.success() && events == Some(answered) {
        println!("- {answered} audit events for {answered} answered warden requests: PASS");
        false
    } else {
        let status = audit.status;
        println!("- **FAILED:** expected {answered} events in an intact chain ({status})");
        true
    }
}

/// The end of warden's log, which is where the reason for a failure usually is.
fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("warden.err")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(10)..].join("\n");
    format!("warden's log ends with:\n{tail}")
}
