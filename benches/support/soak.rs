//! The soak mode of `cargo bench --bench loadgen` (`LOADGEN_SOAK_SECS=120`): one long phase at
//! concurrency 50 against warden alone, while the size of the database's `-wal` file and
//! warden's resident memory (`VmRSS` in `/proc/PID/status`) are sampled every 100 ms. It shows
//! what a short phase cannot: whether the WAL stays under its bound and memory stays flat. It
//! also reads warden's CPU time (`/proc/PID/stat`), to report the CPU each request cost: the
//! price of latency work such as the writer thread's spin.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{load, Clients, Phase, WARMUP};

/// The concurrency of the soak: the level at which the WAL grows fastest.
/// `LOADGEN_SOAK_CONCURRENCY` overrides it, for example to profile one connection.
pub fn soak_concurrency() -> usize {
    std::env::var("LOADGEN_SOAK_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|c| *c > 0)
        .unwrap_or(50)
}

/// The pause each client takes after an answer before its next request
/// (`LOADGEN_SOAK_PAUSE_MS`, default none): with a pause every request finds warden idle, as
/// a person's command does, and pays every thread's wake-up.
pub fn soak_pause() -> Duration {
    std::env::var("LOADGEN_SOAK_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::ZERO, Duration::from_millis)
}

/// The RSS target of issue 17.
const RSS_TARGET_KIB: u64 = 64 * 1024;

/// One sample: when (from the start of the soak, warm-up included), the `-wal` file's size,
/// and warden's resident memory.
pub struct Sample {
    pub at: Duration,
    pub wal_bytes: u64,
    pub rss_kib: u64,
    pub anon_kib: u64,
    /// warden's CPU time so far, user and system, in clock ticks.
    pub cpu_ticks: u64,
}

/// Linux's `USER_HZ`, the unit of `/proc/PID/stat`'s times: 100 on every mainstream kernel
/// build (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The user and system CPU time of process `pid` in clock ticks, from `/proc/PID/stat`
/// (fields 14 and 15, counted after the parenthesised command name); 0 when unreadable.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Resident memory of process `pid` in KiB, from `/proc/PID/status`: all of it (`VmRSS`) and
/// the anonymous part (`RssAnon`); 0 when unreadable.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn wal_bytes(wal: &Path) -> u64 {
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// Runs the soak phase against `url` for `measure` (after the usual warm-up) and returns it
/// with the samples.
pub async fn soak(
    client: &reqwest::Client,
    url: String,
    pid: u32,
    wal: PathBuf,
    measure: Duration,
    counter: &Arc<AtomicU64>,
) -> (Phase, Vec<Sample>) {
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn({
        let sampling = sampling.clone();
        async move {
            let start = Instant::now();
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                let (rss_kib, anon_kib) = rss_kib(pid);
                samples.push(Sample {
                    at: start.elapsed(),
                    wal_bytes: wal_bytes(&wal),
                    rss_kib,
                    anon_kib,
                    cpu_ticks: cpu_ticks(pid),
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            samples
        }
    });
    let phase = load(
        client,
        "warden",
        &[url],
        true,
        Clients {
            concurrency: soak_concurrency(),
            pause: soak_pause(),
        },
        measure,
        counter,
    )
    .await;
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.await.unwrap_or_default();
    (phase, samples)
}

/// Prints the samples in 10-second windows, the phase's latencies and the verdicts on the WAL
/// bound and the RSS target; returns whether either was missed or a request failed.
pub fn report(phase: &Phase, samples: &[Sample], wal_limit: u64) -> bool {
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!("\n| from s | to s | WAL max MiB | WAL at end MiB | RSS max MiB | RSS at end MiB | RssAnon max MiB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let window = Duration::from_secs(10);
    for (i, chunk) in samples
        .chunk_by(|a, b| a.at.as_secs() / window.as_secs() == b.at.as_secs() / window.as_secs())
        .enumerate()
    {
        let (Some(last), wal_max, rss_max, anon_max) = (
            chunk.last(),
            chunk.iter().map(|s| s.wal_bytes).max().unwrap_or(0),
            chunk.iter().map(|s| s.rss_kib).max().unwrap_or(0),
            chunk.iter().map(|s| s.anon_kib).max().unwrap_or(0),
        ) else {
            continue;
        };
        let from = i as u64 * window.as_secs();
        println!(
            "| {from} | {:.1} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |",
            last.at.as_secs_f64(),
            mib(wal_max),
            mib(last.wal_bytes),
            rss_max as f64 / 1024.0,
            last.rss_kib as f64 / 1024.0,
            anon_max as f64 / 1024.0
        );
    }
    let wal_max = samples.iter().map(|s| s.wal_bytes).max().unwrap_or(0);
    let rss_max = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let anon_max = samples.iter().map(|s| s.anon_kib).max().unwrap_or(0);
    let (n, rate) = (phase.tally.latencies_us.len(), phase.rate());
    println!(
        "\nwarden x{}{} for {:.0} s: {n} requests, {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors; {} samples",
        soak_concurrency(),
        match soak_pause().as_millis() {
            0 => String::new(),
            ms => format!(" with {ms} ms between requests"),
        },
        phase.elapsed.as_secs_f64(),
        phase.percentile_ms(0.5),
        phase.percentile_ms(0.99),
        phase.percentile_ms(1.0),
        phase.tally.errors,
        samples.len()
    );
    // CPU over the measured part: from the first sample after the warm-up to the last.
    if let (Some(first), Some(last)) = (samples.iter().find(|s| s.at >= WARMUP), samples.last()) {
        let cpu = last.cpu_ticks.saturating_sub(first.cpu_ticks) as f64 / TICKS_PER_SECOND;
        let wall = (last.at - first.at).as_secs_f64().max(f64::EPSILON);
        println!(
            "warden CPU: {cpu:.2} s in {wall:.1} s ({:.2} cores), {:.0} µs per request",
            cpu / wall,
            cpu * 1e6 / (rate * wall).max(1.0)
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!("\nTargets:");
    println!(
        "- WAL <= its bound ({:.0} MiB) throughout: {} (max {:.2} MiB)",
        mib(wal_limit),
        verdict(wal_max <= wal_limit),
        mib(wal_max)
    );
    println!(
        "- RSS <= 64 MiB under load: {} (max {:.1} MiB; RssAnon, without the mapped database pages: {} at max {:.1} MiB)",
        verdict(rss_max <= RSS_TARGET_KIB),
        rss_max as f64 / 1024.0,
        verdict(anon_max <= RSS_TARGET_KIB),
        anon_max as f64 / 1024.0
    );
    if phase.tally.errors > 0 {
        let first = phase.tally.first_error.as_deref().unwrap_or("?");
        println!(
            "\n**ERRORS:** {} requests failed; the first: {first}",
            phase.tally.errors
        );
    }
    wal_max > wal_limit || phase.tally.errors > 0
}
