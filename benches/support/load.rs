//! The closed-loop load client shared by the load benchmarks: server processes that are
//! killed when dropped, signed `/ops help` requests with a fresh `trigger_id` each, and the
//! phases' latency tallies.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use warden::chat::verify::slack_signature;

pub const SECRET: &str = "loadgen-signing-secret-4b7e";
pub const WARMUP: Duration = Duration::from_secs(1);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
pub const HELP_PREFIX: &str = "Commands you may run";

/// Every field of a slash-command body but the `trigger_id`, form-encoded as Slack sends it.
pub const BODY_PREFIX: &str = "token=deprecated-verification-token&team_id=T0ACME&team_domain=acme\
&channel_id=C0DEPLOYS&channel_name=deploys&user_id=U0ALICE&user_name=alice&command=%2Fops\
&text=help&api_app_id=A0WARDEN&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0ACME%2F1%2Fabc";

/// A server process that is killed if it is still running when dropped, even on an error path.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub async fn wait_ready(&mut self, client: &reqwest::Client, name: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/readyz", self.base);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("{name} exited before it was ready: {status}");
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == 200 {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{name} not ready within {READY_TIMEOUT:?}")
    }

    /// Sends SIGTERM and waits for a graceful exit, killing the process if it overstays.
    pub async fn terminate(&mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("warden exited with {status} after SIGTERM");
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("warden did not stop within {STOP_TIMEOUT:?} of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the client tasks of one phase saw; each task keeps one and they are merged.
#[derive(Default)]
pub struct Tally {
    /// Latencies of the requests sent in the measured window, in microseconds.
    pub latencies_us: Vec<u32>,
    pub last_done: Option<Instant>,
    /// Failed requests, warm-up included, and the first reason.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Correct answers, warm-up included: each one is an audit event for warden.
    pub answered: u64,
}

/// What one (target, concurrency) phase measured; the latencies are sorted.
pub struct Phase {
    pub target: &'static str,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub tally: Tally,
}

impl Phase {
    pub fn rate(&self) -> f64 {
        self.tally.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The nearest-rank percentile, in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        let lat = &self.tally.latencies_us;
        let rank = ((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1));
        lat.get(rank - 1)
            .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
    }
}

/// How a phase's clients behave: how many, each sending its next request `pause` after the
/// last answer (zero: at once, a script's pace; 10 ms: a person's, every request finding the
/// server idle).
#[derive(Clone, Copy, Debug)]
pub struct Clients {
    pub concurrency: usize,
    pub pause: Duration,
}

impl Clients {
    /// `concurrency` clients sending back to back.
    pub fn closed(concurrency: usize) -> Clients {
        Clients {
            concurrency,
            pause: Duration::ZERO,
        }
    }
}

/// One closed-loop phase: each of `clients` sends a request as soon as its last answer
/// arrived (or its pause after). Task `i` sends to `urls[i % urls.len()]`, so several
/// replicas share the load evenly. Requests sent during the warm-up are checked but not
/// timed; answers are checked to be warden's help when `check_help`.
pub async fn load(
    client: &reqwest::Client,
    target: &'static str,
    urls: &[String],
    check_help: bool,
    clients: Clients,
    measure: Duration,
    counter: &Arc<AtomicU64>,
) -> Phase {
    let Clients { concurrency, pause } = clients;
    let measure_from = Instant::now() + WARMUP;
    let until = measure_from + measure;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let url = urls[task % urls.len()].clone();
        let (client, counter) = (client.clone(), counter.clone());
        tasks.spawn(async move {
            let mut t = Tally::default();
            while Instant::now() < until {
                let sent = Instant::now();
                let result = send(&client, &url, &counter, check_help).await;
                let done = Instant::now();
                match result {
                    Ok(()) => t.answered += 1,
                    Err(error) => {
                        t.errors += 1;
                        t.first_error.get_or_insert(error);
                    }
                }
                if sent >= measure_from {
                    let us = done.duration_since(sent).as_micros();
                    t.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                    t.last_done = Some(done);
                }
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            t
        });
    }
    let mut all = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        let t = joined.expect("a load task panicked");
        all.latencies_us.extend(t.latencies_us);
        all.errors += t.errors;
        all.answered += t.answered;
        all.first_error = all.first_error.or(t.first_error);
        all.last_done = all.last_done.max(t.last_done);
    }
    all.latencies_us.sort_unstable();
    // The window ends when the last measured answer arrived, not at the deadline, so that the
    // requests still in flight at the deadline are not counted against too short a window.
    let last = all.last_done.unwrap_or(until);
    let elapsed = last
        .duration_since(measure_from)
        .max(Duration::from_millis(1));
    Phase {
        target,
        concurrency,
        elapsed,
        tally: all,
    }
}

/// Signs and sends one slash command, and checks the answer.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    counter: &AtomicU64,
    check_help: bool,
) -> Result<(), String> {
    // Slack gives every request its own trigger_id, so every body and signature is distinct.
    let n = counter.fetch_add(1, Ordering::Relaxed);
    let body = format!("{BODY_PREFIX}&trigger_id={n}.47445629121.803a0bc887a14d10d2c447fce8b6703c");
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        .to_string();
    let signature = slack_signature(SECRET, &ts, body.as_bytes());
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    if status != 200 {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    if check_help {
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("answer is not JSON: {e}"))?;
        let text = json["text"].as_str().unwrap_or_default();
        if !text.starts_with(HELP_PREFIX) {
            return Err(format!("unexpected answer: {text:?}"));
        }
    }
    Ok(())
}

/// The warden binary under test: this build's, or `WARDEN_BENCH_BINARY` (another build, of
/// another commit or with other features, to compare two builds in one sitting against the
/// same baselines).
pub fn warden_binary() -> String {
    std::env::var("WARDEN_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_warden").to_string())
}

/// A free loopback port, picked by the kernel and released for the server to bind.
pub fn free_addr() -> std::io::Result<String> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string())
}
