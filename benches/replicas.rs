//! Replicas benchmark: signed and audited requests per second, and approval-to-job latency, for
//! warden on SQLite (one process), on PostgreSQL with one replica, and on PostgreSQL with three
//! replicas sharing the load, all measured in the same run on the same machine.
//!
//! Run it with `cargo bench --bench replicas`. PostgreSQL comes from
//! `WARDEN_BENCH_DATABASE_URL` (an administrator's URL; a fresh database is made per target),
//! or else `.ci/postgres` starts a throwaway cluster on loopback for the run.
//! `REPLICAS_SECS=2` shortens each measured phase (5 s by default, after 1 s of warm-up);
//! `WARDEN_BENCH_BINARY=PATH` measures another build of warden (another commit, say).
//!
//! - Throughput: `/ops help` as in the `loadgen` bench (signature check, guard, one write
//!   transaction with the replay key and the audit event), from a closed loop of 10 and of 50
//!   clients spread evenly over the target's replicas.
//! - Approval to job: 40 production deploys one after another, each needing two approvals.
//!   The requester asks on replica i, the approvers click on the two other replicas; the time
//!   is from sending the deciding click until the downstream receives the job's HTTP call
//!   (the vote, the compare-and-set, the job's commit, a claim, the call).
//!
//! Afterwards `warden audit verify` must pass on every target's database, and the number of
//! jobs must equal the number of approvals: the run exits non-zero otherwise.

#[path = "support/load.rs"]
mod load;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use load::{free_addr, load, Clients, Phase, Server, REQUEST_TIMEOUT, SECRET};
use warden::chat::verify::slack_signature;

const LEVELS: [usize; 2] = [10, 50];
const ROUNDS: usize = 40;
const DEFAULT_SECS: f64 = 5.0;
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postgres");

const DIRECTORY: &str = r#"
[tenants.acme]
slack_team = "T0ACME"

[people.alice]
slack = "T0ACME/U0ALICE"
[people.carol]
slack = "T0ACME/U0CAROL"
[people.dave]
slack = "T0ACME/U0DAVE"

[groups]
leads = ["carol", "dave"]

[[bindings]]
subject = "alice"
tenant = "acme"
role = "operator"
environments = ["prod"]
"#;

fn ship(downstream: &str) -> String {
    format!(
        r#"
name = "ship"
summary = "Ship a service"
role = "operator"
environment = "prod"

[[args]]
name = "service"
type = "string"
pattern = '^[a-z0-9-]{{1,30}}$'

[approval]
approvals = 2
approvers = ["group:leads"]
expires_in = "30m"

[action]
type = "http"
url = "{downstream}/ship/{{{{service}}}}"
"#
    )
}

/// A PostgreSQL cluster started for this run, stopped when dropped.
struct OwnCluster(PathBuf);

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop", &self.0.display().to_string()])
            .output();
    }
}

/// The administrator's URL, and the cluster when this run started one.
fn postgres() -> anyhow::Result<(String, Option<OwnCluster>)> {
    if let Ok(url) = std::env::var("WARDEN_BENCH_DATABASE_URL") {
        return Ok((url, None));
    }
    let dir = std::env::temp_dir().join(format!("warden-bench-pg-{}", std::process::id()));
    let port = free_addr()?
        .rsplit(':')
        .next()
        .unwrap_or("55440")
        .to_string();
    let out = Command::new(SCRIPT)
        .args(["start", &dir.display().to_string(), &port])
        .stderr(Stdio::inherit())
        .output()
        .context("running .ci/postgres")?;
    let cluster = OwnCluster(dir);
    if !out.status.success() {
        bail!("could not start PostgreSQL with .ci/postgres");
    }
    Ok((
        String::from_utf8(out.stdout)?.trim().to_string(),
        Some(cluster),
    ))
}

async fn fresh_database(admin: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let (server, _) = admin
        .rsplit_once('/')
        .context("admin URL ends in /DATABASE")?;
    Ok(format!("{server}/{name}"))
}

/// The fake chat API and downstream in one: answers every request like Slack's `ok`, and
/// records when each `/ship/…` call arrived.
async fn start_downstream() -> anyhow::Result<(String, Arc<Mutex<HashMap<String, Instant>>>)> {
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen = arrivals.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            if uri.path().starts_with("/ship/") {
                seen.lock()
                    .unwrap()
                    .insert(uri.path().to_string(), Instant::now());
            }
            axum::Json(
                serde_json::json!({"ok": true, "channel": "C0DEPLOYS", "ts": "1700000000.000100"}),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}"), arrivals))
}

struct Target {
    name: &'static str,
    database_url: String,
    replicas: usize,
}

struct Measured {
    name: &'static str,
    phases: Vec<Phase>,
    /// Approval-to-job latencies, sorted, in milliseconds.
    approvals_ms: Vec<f64>,
    audit: String,
    failures: Vec<String>,
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("the client runtime starts");
    runtime.block_on(run()).unwrap_or_else(|error| {
        eprintln!("replicas: {error:#}");
        ExitCode::FAILURE
    })
}

async fn run() -> anyhow::Result<ExitCode> {
    let secs: f64 = std::env::var("REPLICAS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(DEFAULT_SECS);
    let dir = tempfile::tempdir()?;
    let (downstream, arrivals) = start_downstream().await?;
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, DIRECTORY)?;
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands)?;
    std::fs::write(commands.join("ship.toml"), ship(&downstream))?;

    let (admin, _cluster) = postgres()?;
    let pid = std::process::id();
    let targets = [
        Target {
            name: "sqlite x1",
            database_url: format!("sqlite://{}", dir.path().join("warden.db").display()),
            replicas: 1,
        },
        Target {
            name: "postgres x1",
            database_url: fresh_database(&admin, &format!("bench_one_{pid}")).await?,
            replicas: 1,
        },
        Target {
            name: "postgres x3",
            database_url: fresh_database(&admin, &format!("bench_three_{pid}")).await?,
            replicas: 3,
        },
    ];
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    eprintln!("replicas: {secs} s per phase, concurrency {LEVELS:?}, {ROUNDS} approvals");

    let mut results = Vec::new();
    for target in &targets {
        let mut servers = Vec::new();
        for i in 0..target.replicas {
            servers.push(spawn(
                dir.path(),
                &config,
                &commands,
                target,
                i,
                &downstream,
            )?);
        }
        for server in &mut servers {
            server.wait_ready(&client, target.name).await?;
        }
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        let mut measured = Measured {
            name: target.name,
            phases: Vec::new(),
            approvals_ms: Vec::new(),
            audit: String::new(),
            failures: Vec::new(),
        };
        let urls: Vec<String> = bases
            .iter()
            .map(|b| format!("{b}/slack/commands"))
            .collect();
        let counter = Arc::new(AtomicU64::new(1));
        for concurrency in LEVELS {
            let phase = load(
                &client,
                target.name,
                &urls,
                true,
                Clients::closed(concurrency),
                Duration::from_secs_f64(secs),
                &counter,
            )
            .await;
            eprintln!(
                "replicas: {} x{concurrency}: {:.0} req/s",
                target.name,
                phase.rate()
            );
            if phase.tally.errors > 0 {
                measured.failures.push(format!(
                    "{} requests failed at concurrency {concurrency}: {}",
                    phase.tally.errors,
                    phase.tally.first_error.as_deref().unwrap_or("?")
                ));
            }
            measured.phases.push(phase);
        }
        match approvals(&client, &bases, &downstream, &arrivals, target.name).await {
            Ok(mut ms) => {
                ms.sort_by(f64::total_cmp);
                measured.approvals_ms = ms;
            }
            Err(error) => measured.failures.push(format!("approvals: {error:#}")),
        }
        for server in &mut servers {
            if let Err(error) = server.terminate().await {
                measured.failures.push(format!("{error:#}"));
            }
        }
        let audit = Command::new(load::warden_binary())
            .args(["audit", "verify"])
            .env_clear()
            .env("WARDEN_DATABASE_URL", &target.database_url)
            .output()?;
        measured.audit = String::from_utf8_lossy(&audit.stdout).trim().to_string();
        if !audit.status.success() {
            measured
                .failures
                .push(format!("audit verify: {}", measured.audit));
        }
        results.push(measured);
    }
    Ok(report(&results))
}

fn spawn(
    dir: &Path,
    config: &Path,
    commands: &Path,
    target: &Target,
    i: usize,
    downstream: &str,
) -> anyhow::Result<Server> {
    let addr = free_addr()?;
    let log = dir.join(format!("{}-{i}.log", target.name.replace(' ', "-")));
    Ok(Server {
        base: format!("http://{addr}"),
        child: Command::new(load::warden_binary())
            .arg("serve")
            .env_clear()
            .env("WARDEN_LISTEN", &addr)
            .env("WARDEN_DATABASE_URL", &target.database_url)
            .env("WARDEN_CONFIG", config)
            .env("WARDEN_COMMANDS_DIR", commands)
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-bench-token")
            .env("SLACK_API_URL", format!("{downstream}/api/"))
            .env("WARDEN_CHANNEL_RATE", "1000")
            .env("RUST_LOG", "warn")
            .env("WARDEN_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()?,
    })
}

/// Signs and posts a Slack body to `path` of `base`; returns the answer's text.
async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: String,
) -> anyhow::Result<String> {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)?
        .as_secs()
        .to_string();
    let signature = slack_signature(SECRET, &ts, body.as_bytes());
    let response = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let json: serde_json::Value = response.json().await.unwrap_or_default();
    if status != 200 {
        bail!("{path} answered {status}");
    }
    Ok(json["text"].as_str().unwrap_or_default().to_string())
}

async fn approvals(
    client: &reqwest::Client,
    bases: &[String],
    downstream: &str,
    arrivals: &Mutex<HashMap<String, Instant>>,
    name: &str,
) -> anyhow::Result<Vec<f64>> {
    let tag = name.replace(' ', "-");
    let n = bases.len();
    let mut latencies = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let service = format!("{tag}-{round}");
        let body = serde_urlencoded::to_string([
            ("team_id", "T0ACME"),
            ("user_id", "U0ALICE"),
            ("channel_id", "C0DEPLOYS"),
            ("command", "/ops"),
            ("text", &format!("ship {service}")),
            ("response_url", &format!("{downstream}/response")),
            ("trigger_id", &format!("{round}.1.approvals-{tag}")),
        ])?;
        let asked = post(client, &bases[round % n], "/slack/commands", body).await?;
        let id = asked
            .find("A-")
            .map(|i| {
                asked[i..]
                    .chars()
                    .take_while(|c| *c == 'A' || *c == '-' || c.is_ascii_digit())
                    .collect::<String>()
            })
            .with_context(|| format!("no approval id in {asked:?}"))?;
        let first = click(
            client,
            &bases[(round + 1) % n],
            "U0CAROL",
            &id,
            downstream,
            round,
            1,
        );
        first.await?;
        let sent = Instant::now();
        click(
            client,
            &bases[(round + 2) % n],
            "U0DAVE",
            &id,
            downstream,
            round,
            2,
        )
        .await?;
        let path = format!("/ship/{service}");
        let deadline = sent + Duration::from_secs(10);
        loop {
            if let Some(at) = arrivals.lock().unwrap().get(&path) {
                latencies.push(at.duration_since(sent).as_secs_f64() * 1000.0);
                break;
            }
            if Instant::now() > deadline {
                bail!("the job of {id} never called the downstream");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    Ok(latencies)
}

async fn click(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    approval: &str,
    downstream: &str,
    round: usize,
    nth: usize,
) -> anyhow::Result<String> {
    let payload = serde_json::json!({
        "type": "block_actions",
        "team": { "id": "T0ACME", "domain": "acme" },
        "user": { "id": user, "username": user, "team_id": "T0ACME" },
        "api_app_id": "A0WARDEN",
        "container": { "type": "message", "message_ts": "1700000000.000100", "channel_id": "C0DEPLOYS" },
        "trigger_id": format!("{round}.{nth}.click"),
        "channel": { "id": "C0DEPLOYS", "name": "deploys" },
        "response_url": format!("{downstream}/response"),
        "actions": [{
            "action_id": "warden.approve",
            "block_id": "b1",
            "text": { "type": "plain_text", "text": "Approve" },
            "value": approval,
            "type": "button",
            "action_ts": format!("1700000001.{round:04}{nth:02}")
        }]
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())])?;
    post(client, base, "/slack/interactions", body).await
}

fn report(results: &[Measured]) -> ExitCode {
    let baseline = |c: usize| {
        results
            .first()
            .and_then(|m| m.phases.iter().find(|p| p.concurrency == c))
            .map_or(f64::NAN, Phase::rate)
    };
    println!("\nSigned + audited `/ops help`, closed loop, clients spread over the replicas:\n");
    println!("| target | concurrency | req/s | p50 ms | p99 ms | vs sqlite x1 |");
    println!("|---|---:|---:|---:|---:|---:|");
    for m in results {
        for p in &m.phases {
            println!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                p.target,
                p.concurrency,
                p.rate(),
                p.percentile_ms(0.5),
                p.percentile_ms(0.99),
                p.rate() / baseline(p.concurrency)
            );
        }
    }
    let pct = |v: &[f64], q: f64| {
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
        v.get(rank - 1).copied().unwrap_or(f64::NAN)
    };
    let base_p50 = results
        .first()
        .map_or(f64::NAN, |m| pct(&m.approvals_ms, 0.5));
    println!("\nApproval to job ({ROUNDS} two-approval deploys; deciding click sent → downstream called):\n");
    println!("| target | p50 ms | p95 ms | max ms | p50 vs sqlite x1 |");
    println!("|---|---:|---:|---:|---:|");
    for m in results {
        let v = &m.approvals_ms;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} |",
            m.name,
            pct(v, 0.5),
            pct(v, 0.95),
            pct(v, 1.0),
            pct(v, 0.5) / base_p50
        );
    }
    println!("\nAudit (`warden audit verify` per database, after its replicas stopped):");
    let mut failed = false;
    for m in results {
        println!("- {}: {}", m.name, m.audit);
        for failure in &m.failures {
            failed = true;
            println!("  **FAILED:** {failure}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
