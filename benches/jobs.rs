//! Job throughput: how many jobs per second the real `warden serve` takes through the whole
//! pipeline (signed slash command → guard → job row in the decision's transaction → runner
//! claim with a lease → action → outcome and its audit event), for three trivial actions:
//! `exec` of `/bin/true`, an `http` POST to a local route answering 200, and the built-in
//! `flags.get` (database work only) as the baseline.
//!
//! Run it with `cargo bench --bench jobs`; `JOBS_N` (default 500) sets the jobs per kind.
//! warden runs as its own process (release, `WARDEN_JOB_CONCURRENCY=8`). A helper process, this
//! binary re-executed with `--fakes ADDR`, is both the fake Slack Web API (it answers every call
//! as Slack does, so each job's message is really posted and updated) and the bare
//! downstream of the http action. For each kind in turn, 20 client tasks submit N commands as
//! alice; the bench polls the database read-only (`Store::job_counts`, every 20 ms) until all
//! are final, then reads every job for its timings. Afterwards warden is stopped with SIGTERM,
//! `warden audit verify` must pass, every job must have exactly one job.queued, job.started and
//! job.succeeded event, and the fakes must have seen one call per job. Any failed job or check
//! makes the bench exit non-zero.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::{DateTime, Utc};
use warden::chat::verify::slack_signature;
use warden::jobs::JobStatus;
use warden::storage::{AuditQuery, Store};

const SECRET: &str = "jobs-bench-signing-secret-91c3";
const CLIENTS: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long one kind's jobs may take to become final, whatever N.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Makes every request's `trigger_id`, hence its body and signature, distinct.
static TRIGGER: AtomicU64 = AtomicU64::new(1);
const POLL: Duration = Duration::from_millis(20);
const DIRECTORY: &str = "[tenants.acme]\nslack_team = \"T0ACME\"\n\n[people.alice]\n\
slack = \"T0ACME/U0ALICE\"\n\n[[bindings]]\nsubject = \"alice\"\ntenant = \"acme\"\nrole = \"viewer\"\n";
/// The kinds, in the order they run: label, command name, its `[action]` table.
const KINDS: [(&str, &str, &str); 3] = [
    ("exec /bin/true", "bench-exec", EXEC),
    ("http POST 200", "bench-http", HTTP),
    ("builtin flags.get", "bench-builtin", BUILTIN),
];
const EXEC: &str = "type = \"exec\"\nprogram = \"/bin/true\"";
const HTTP: &str = "type = \"http\"\nmethod = \"POST\"\nurl = \"http://FAKES/hook\"";
const BUILTIN: &str = "type = \"builtin\"\nname = \"flags.get\"";
const BODY_PREFIX: &str = "token=x&team_id=T0ACME&team_domain=acme&channel_id=C0DEPLOYS\
&channel_name=deploys&user_id=U0ALICE&user_name=alice&command=%2Fops&api_app_id=A0WARDEN\
&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0ACME%2F1%2Fabc";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().position(|a| a == "--fakes") {
        Some(i) => fakes(args.get(i + 1).map_or("", |a| a.as_str())),
        None => tokio::runtime::Runtime::new()
            .context("the client runtime")
            .and_then(|runtime| runtime.block_on(run())),
    };
    result.map_or_else(
        |error| {
            eprintln!("jobs bench: FAILED: {error:#}");
            ExitCode::FAILURE
        },
        |()| ExitCode::SUCCESS,
    )
}

/// Answers Slack's `/api/{method}` as Slack does (`warden::demo::fakes::web_api_answer`) and
/// the downstream's `/hook` with `{"ok":true}`, counting calls by path; a GET elsewhere
/// returns the counts. Exits with stdin's EOF.
fn fakes(addr: &str) -> anyhow::Result<()> {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let counts: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let counts = counts.clone();
        async move {
            let (parts, body) = request.into_parts();
            let path = parts.uri.path().to_string();
            let Some(method) = path.strip_prefix("/api/").map(str::to_string) else {
                if parts.method == axum::http::Method::GET {
                    return axum::Json(serde_json::json!(*counts.lock().expect("the counts")));
                }
                let mut counts = counts.lock().expect("the counts");
                *counts.entry(path).or_default() += 1;
                return axum::Json(serde_json::json!({ "ok": true }));
            };
            let raw = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let args = warden::demo::fakes::web_api_body(parts.uri.query(), &raw);
            let n = {
                let mut counts = counts.lock().expect("the counts");
                let n = counts.entry(path).or_default();
                *n += 1;
                *n
            };
            // Slack's answer, with what slack-morphism reads from it.
            axum::Json(warden::demo::fakes::web_api_answer(
                &method,
                &args,
                &format!("1.{n}"),
            ))
        }
    });
    let serve = async { axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await };
    Ok(tokio::runtime::Runtime::new()?.block_on(serve)?)
}

/// A child process, killed if it still runs when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Proc {
    async fn wait_ready(&mut self, client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait()? {
                bail!("{url}: exited before it was ready: {status}");
            }
            let response = client.get(url).send().await;
            if response.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{url}: not ready within {TIMEOUT:?}")
    }
}

/// What one kind measured. Latencies in ms, sorted.
struct Measured {
    label: &'static str,
    ids: Vec<i64>,
    submit: Duration,
    wall: Duration,
    /// finished_at − created_at: queue wait plus run.
    latency: Vec<i64>,
    /// finished_at − started_at: the claimed job's own work.
    run: Vec<i64>,
    failed: usize,
}

/// The nearest-rank percentile of sorted values.
fn pct(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(-1)
}

async fn run() -> anyhow::Result<()> {
    let n: usize = std::env::var("JOBS_N").map_or(Ok(500), |v| v.parse())?;
    ensure!(n > 0, "JOBS_N must be above 0");
    let dir = tempfile::tempdir()?;
    let log = |name: &str| std::fs::File::create(dir.path().join(name));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()?;

    let fakes_addr = free_addr()?;
    let fakes_url = format!("http://{fakes_addr}");
    let mut fakes = Proc(
        Command::new(std::env::current_exe()?)
            .args(["--fakes", &fakes_addr])
            .stdin(Stdio::piped())
            .stdout(log("fakes.out")?)
            .stderr(log("fakes.err")?)
            .spawn()?,
    );
    fakes.wait_ready(&client, &fakes_url).await?;

    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands)?;
    for (_, name, action) in KINDS {
        let action = action.replace("FAKES", &fakes_addr);
        let text = format!("name = \"{name}\"\nsummary = \"Job benchmark\"\nrole = \"viewer\"\nrisk = \"low\"\ntimeout = \"30s\"\nretries = 0\n\n[action]\n{action}\n");
        std::fs::write(commands.join(format!("{name}.toml")), text)?;
    }
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, DIRECTORY)?;
    let database_url = format!("sqlite://{}", dir.path().join("warden.db").display());
    let warden_addr = free_addr()?;
    let warden_url = format!("http://{warden_addr}");
    let mut warden = Proc(
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("serve")
            .env_clear()
            .envs([
                ("WARDEN_LISTEN", warden_addr.as_str()),
                ("WARDEN_DATABASE_URL", &database_url),
                ("WARDEN_CONFIG", &config.display().to_string()),
                ("WARDEN_COMMANDS_DIR", &commands.display().to_string()),
                ("WARDEN_JOB_CONCURRENCY", "8"),
                // Job messages go through the outbox, paced per channel like Slack wants
                // (1/s by default): all 1,500 jobs post in one channel, so pacing is lifted
                // here to measure the jobs, not Slack's per-channel limit.
                ("WARDEN_CHANNEL_RATE", "100000"),
                ("SLACK_SIGNING_SECRET", SECRET),
                ("SLACK_BOT_TOKEN", "xoxb-jobs-bench"),
                ("SLACK_API_URL", &format!("{fakes_url}/api/")),
                ("RUST_LOG", "warn"),
                ("WARDEN_LOG_FORMAT", "json"),
            ])
            .stdout(log("warden.out")?)
            .stderr(log("warden.err")?)
            .spawn()?,
    );
    let tail = || {
        let text = std::fs::read_to_string(dir.path().join("warden.err")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        format!("warden's log ends with:\n{tail}")
    };
    let ready = format!("{warden_url}/readyz");
    warden
        .wait_ready(&client, &ready)
        .await
        .with_context(tail)?;
    let store = Store::connect(&format!("{database_url}?mode=ro")).await?;

    eprintln!("jobs bench: {n} jobs per kind, {CLIENTS} clients, WARDEN_JOB_CONCURRENCY=8");
    let mut results = Vec::new();
    for (label, name, _) in KINDS {
        let before = results.len() * n;
        let url = format!("{warden_url}/slack/commands");
        let m = measure(&client, &store, &url, (label, name), n, before);
        let m = m.await.with_context(tail)?;
        let rate = m.ids.len() as f64 / m.wall.as_secs_f64();
        eprintln!("jobs bench: {label}: {rate:.1} jobs/s");
        results.push(m);
    }
    store.close().await;

    // A graceful stop: the runner finishes its jobs' chat updates before warden exits.
    let pid = warden.0.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status()?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = warden.0.try_wait()? {
            break status;
        }
        ensure!(Instant::now() < deadline, "warden did not stop in time");
        tokio::time::sleep(POLL).await;
    };
    ensure!(status.success(), "warden stopped with {status}");
    let calls: HashMap<String, u64> = client.get(&fakes_url).send().await?.json().await?;
    drop(fakes);
    report(&results, &database_url, &calls, n).await
}

/// Submits `n` commands `name` from CLIENTS tasks, waits until the database holds
/// `before + n` jobs, none queued or running, and reads each job's timings.
async fn measure(
    client: &reqwest::Client,
    store: &Store,
    url: &str,
    (label, name): (&'static str, &str),
    n: usize,
    before: usize,
) -> anyhow::Result<Measured> {
    let next = Arc::new(AtomicUsize::new(0));
    let (first_submit, started) = (Utc::now(), Instant::now());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (client, url, next) = (client.clone(), url.to_string(), next.clone());
        let text = name.to_string();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                ids.push(submit(&client, &url, &text).await?);
            }
            anyhow::Ok(ids)
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        ids.extend(joined??);
    }
    let submit = started.elapsed();

    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let counts = store.job_counts().await?;
        let (mut open, mut all) = (0, 0);
        for (status, count) in &counts {
            all += count;
            if matches!(status.as_str(), "queued" | "running") {
                open += count;
            }
        }
        if open == 0 && all as usize >= before + n {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{label}: timed out at {counts:?}"
        );
        tokio::time::sleep(POLL).await;
    }

    let at = |t: Option<&str>| -> anyhow::Result<DateTime<Utc>> {
        Ok(DateTime::parse_from_rfc3339(t.context("a job time is missing")?)?.into())
    };
    let (mut latency, mut run, mut failed, mut last) = (vec![], vec![], 0, first_submit);
    for id in &ids {
        let job = store.job(*id).await?.context("a job is missing")?;
        let finished = at(job.finished_at.as_deref())?;
        latency.push((finished - at(Some(&job.created_at))?).num_milliseconds());
        run.push((finished - at(job.started_at.as_deref())?).num_milliseconds());
        last = last.max(finished);
        if job.status != JobStatus::Succeeded {
            failed += 1;
            eprintln!("jobs bench: J-{id} {}: {:?}", job.status, job.error);
        }
    }
    latency.sort_unstable();
    run.sort_unstable();
    let wall = (last - first_submit).to_std().unwrap_or_default();
    let wall = wall.max(Duration::from_millis(1));
    Ok(Measured {
        label,
        ids,
        submit,
        wall,
        latency,
        run,
        failed,
    })
}

/// Signs and sends one slash command; returns the id `n` of its "J-n queued: …" answer.
async fn submit(client: &reqwest::Client, url: &str, text: &str) -> anyhow::Result<i64> {
    let k = TRIGGER.fetch_add(1, Ordering::Relaxed);
    let body = format!("{BODY_PREFIX}&text={text}&trigger_id={k}.4744562912.803a0bc887a14d10");
    let ts = Utc::now().timestamp().to_string();
    let signature = slack_signature(SECRET, &ts, body.as_bytes());
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await?;
    ensure!(response.status() == 200, "status {}", response.status());
    let json: serde_json::Value = response.json().await?;
    let answer = json["text"].as_str().unwrap_or_default();
    let id = (answer.split_once(" queued").map(|(head, _)| head))
        .and_then(|head| head.rsplit_once("J-")?.1.parse().ok());
    id.with_context(|| format!("no queued job in the answer {answer:?}"))
}

/// Prints the table and the checks; fails when a job failed or a check does not hold.
async fn report(
    results: &[Measured],
    database_url: &str,
    calls: &HashMap<String, u64>,
    n: usize,
) -> anyhow::Result<()> {
    println!("\n| kind | jobs | submit s | wall s | jobs/s | p50 ms | p99 ms | run p50 ms | run p99 ms | failed |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut problems = Vec::new();
    for m in results {
        let (submit, wall) = (m.submit.as_secs_f64(), m.wall.as_secs_f64());
        let (jobs, rate) = (m.ids.len(), m.ids.len() as f64 / wall);
        let (p50, p99) = (pct(&m.latency, 0.5), pct(&m.latency, 0.99));
        let (r50, r99) = (pct(&m.run, 0.5), pct(&m.run, 0.99));
        let (label, failed) = (m.label, m.failed);
        println!("| {label} | {jobs} | {submit:.2} | {wall:.2} | {rate:.1} | {p50} | {p99} | {r50} | {r99} | {failed} |");
        if failed > 0 {
            problems.push(format!("{label}: {failed} jobs did not succeed"));
        }
    }

    let audit = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["audit", "verify"])
        .env_clear()
        .env("WARDEN_DATABASE_URL", database_url)
        .output()
        .context("running warden audit verify")?;
    let verified = String::from_utf8_lossy(&audit.stdout);
    let verified = verified.trim();
    println!("\nChecks, after warden stopped:\n- `warden audit verify`: {verified}");
    if !audit.status.success() {
        let error = String::from_utf8_lossy(&audit.stderr);
        problems.push(format!("audit verify: {}", error.trim()));
    }
    let store = Store::connect(&format!("{database_url}?mode=ro")).await?;
    let events = store.audit_events(&AuditQuery::default()).await?;
    store.close().await;
    let (mut by_kind, mut by_job) = (HashMap::new(), HashMap::new());
    for e in &events {
        *by_kind.entry(e.kind.as_str()).or_insert(0) += 1;
        *by_job.entry((&*e.target, &*e.kind)).or_insert(0) += 1;
    }
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort();
    println!("- audit events by kind: {kinds:?}");
    let lifecycle = ["job.queued", "job.started", "job.succeeded"];
    let ids: Vec<String> = results
        .iter()
        .flat_map(|m| &m.ids)
        .map(|id| format!("J-{id}"))
        .collect();
    let missing = (ids.iter())
        .flat_map(|id| lifecycle.map(|kind| by_job.get(&(id.as_str(), kind))))
        .filter(|count| *count != Some(&1))
        .count();
    let verdict = if missing == 0 { "PASS" } else { "FAIL" };
    println!("- each job has exactly one job.queued, job.started and job.succeeded: {verdict}");
    if missing > 0 {
        problems.push(format!("{missing} job events missing or repeated"));
    }
    let count = |path: &str| calls.get(path).copied().unwrap_or(0);
    let (posts, updates) = (count("/api/chat.postMessage"), count("/api/chat.update"));
    let (hooks, total) = (count("/hook"), ids.len() as u64);
    // Chat messages are delivered by the outbox after each job's transaction commits, and
    // progress updates of one message are coalesced, so their counts are reported, not
    // required: what is left at shutdown waits in the outbox for the next start.
    println!("- fake Slack: {posts} chat.postMessage and {updates} chat.update for {total} jobs (delivered by the outbox); downstream: {hooks} POSTs for {n} http jobs");
    if posts > total || hooks != n as u64 {
        problems.push("a job message was posted twice, or an http job did not call the downstream exactly once".into());
    }
    ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

/// A free loopback port, picked by the kernel and released for the server to bind.
fn free_addr() -> std::io::Result<String> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string())
}
