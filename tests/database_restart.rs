//! PostgreSQL crashes and comes back while warden is under load. While it is gone, warden says
//! so: `/readyz` answers 503 and a slash command gets a clear ephemeral error, with nothing
//! done. Every command warden acknowledged before the crash is still there and runs, and
//! warden recovers by itself once the database is back, without a restart.
//!
//! The test runs its own throwaway PostgreSQL cluster (with `.ci/postgres`), so it only runs
//! when the suite is pointed at PostgreSQL (`WARDEN_TEST_DATABASE_URL`, set by `.ci/run`),
//! which is also what guarantees the server binaries are installed.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use warden::jobs::JobStatus;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postgres");

/// A PostgreSQL cluster owned by this test, deleted when dropped.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn start() -> (Cluster, String) {
        Self::start_with(&[])
    }

    /// `start`, with more arguments for `.ci/postgres start` (`tls`).
    fn start_with(extra: &[&str]) -> (Cluster, String) {
        // Not inside a tempfile directory: those are private to their owner, and the server
        // runs as the `postgres` user when the suite runs as root.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("warden-restart-{}-{n}", std::process::id()));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = Command::new(SCRIPT)
            .args(["start", dir.to_str().unwrap(), &port.to_string()])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        (Cluster { dir, port }, url)
    }

    fn run(&self, verb: &str) {
        let mut command = Command::new(SCRIPT);
        command.args([verb, self.dir.to_str().unwrap()]);
        if verb == "resume" {
            command.arg(self.port.to_string());
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

fn quick(url: &str) -> (String, String) {
    (
        "quick.toml".into(),
        format!(
            r#"
name = "quick"
summary = "Call the downstream once"
role = "operator"
environment = "staging"

[[args]]
name = "n"
type = "string"
pattern = '^[0-9]{{1,6}}$'

[action]
type = "http"
url = "{url}/quick/{{{{n}}}}"
"#
        ),
    )
}

async fn readyz(app: &TestApp) -> u16 {
    match app.http.get(format!("{}/readyz", app.base)).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_readyz(app: &TestApp, status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while readyz(app).await != status {
        assert!(Instant::now() < deadline, "/readyz never answered {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_load_loses_nothing_acknowledged() {
    if !db::on_postgres() {
        eprintln!("skipped: runs against PostgreSQL only (set WARDEN_TEST_DATABASE_URL)");
        return;
    }
    let (cluster, url) = Cluster::start();
    let downstream = FakeDownstream::default();
    let downstream_url = downstream.start(200).await;
    let app = Arc::new(
        TestApp::spawn_with(Options {
            env: vec![("WARDEN_DATABASE_URL".into(), url.clone())],
            commands: vec![quick(&downstream_url)],
        })
        .await,
    );
    assert_eq!(readyz(&app).await, 200);

    // Load: four clients send commands back to back; every answer is kept.
    let stop = Arc::new(AtomicBool::new(false));
    let answers: Arc<Mutex<Vec<(u16, String, String)>>> = Arc::default();
    let mut clients = Vec::new();
    for client in 0..4 {
        let (app, stop, answers) = (app.clone(), stop.clone(), answers.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let answer = app
                    .slack(
                        "T0ACME",
                        "U0ALICE",
                        &format!("quick {}", client * 100_000 + n),
                    )
                    .await;
                let kind = answer.body["response_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                answers
                    .lock()
                    .unwrap()
                    .push((answer.status, kind, answer.text().to_string()));
                n += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    cluster.run("crash");
    let crashed_at = answers.lock().unwrap().len();
    wait_readyz(&app, 503, Duration::from_secs(15)).await;
    // While the database is gone, a command is refused clearly, to the person who typed it.
    let during = app.slack("T0ACME", "U0ALICE", "quick 999999").await;
    assert_eq!(during.status, 200);
    assert_eq!(
        during.body["response_type"], "ephemeral",
        "{:?}",
        during.body
    );
    assert!(
        during.text().contains("database is unavailable") && during.text().contains("did nothing"),
        "{}",
        during.text()
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;

    cluster.run("resume");
    let resumed = Instant::now();
    wait_readyz(&app, 200, Duration::from_secs(30)).await;
    eprintln!("ready again {:?} after the restart", resumed.elapsed());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    // Every answer was a clear one: acknowledged, or refused with the database error.
    let answers = answers.lock().unwrap().clone();
    assert!(answers.len() > crashed_at, "no load after the restart");
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for (status, _kind, text) in &answers {
        assert_eq!(*status, 200, "{text}");
        if text.contains("queued") {
            acknowledged.push(number_after("J-", text));
        } else {
            assert!(text.contains("database is unavailable"), "{text}");
            refused += 1;
        }
    }
    assert!(refused > 0, "the outage was never noticed");
    eprintln!(
        "{} commands acknowledged, {refused} refused during the outage",
        acknowledged.len()
    );

    // Nothing acknowledged was lost: every job exists and runs to success.
    let store = &app.server.state.service.store;
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &acknowledged {
        loop {
            let job = store.job(*id).await.unwrap();
            let job = job.unwrap_or_else(|| panic!("acknowledged J-{id} is missing"));
            if job.status.is_final() {
                assert_eq!(job.status, JobStatus::Succeeded, "J-{id}: {:?}", job.error);
                break;
            }
            assert!(Instant::now() < deadline, "J-{id} stayed {}", job.status);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // And the one refused during the outage did nothing.
    assert!(!downstream
        .received()
        .iter()
        .any(|r| r.path_and_query == "/quick/999999"));

    assert_audit_verifies(&url);
    let app = Arc::try_unwrap(app).ok().expect("clients finished");
    app.server.shutdown().await.unwrap();
}

/// A job runs while PostgreSQL stays down for longer than the job's lease. The runner cannot
/// renew the lease, so it stops the job's program before the lease runs out; when the database
/// is back, recovery retries the job. The two attempts never overlap: a job never runs twice
/// at the same time, whatever the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_longer_than_the_lease_never_runs_a_job_twice_at_once() {
    if !db::on_postgres() {
        eprintln!("skipped: runs against PostgreSQL only (set WARDEN_TEST_DATABASE_URL)");
        return;
    }
    let (cluster, url) = Cluster::start();
    let scripts = tempfile::tempdir().unwrap();
    let runs = scripts.path().join("runs");
    let marker = scripts.path().join("first-attempt");
    let script = scripts.path().join("job.sh");
    // The first attempt records its pid and hangs; the second records its pid and finishes.
    std::fs::write(
        &script,
        format!(
            "echo $$ >> {r}\nif [ -e {m} ]; then exit 0; fi\ntouch {m}\nsleep 60\n",
            r = runs.display(),
            m = marker.display()
        ),
    )
    .unwrap();
    let command = script_command("slow", &script, 1);
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("WARDEN_DATABASE_URL".into(), url.clone()),
            ("WARDEN_JOB_LEASE".into(), "3s".into()),
        ],
        commands: vec![("slow.toml".into(), command)],
    })
    .await;
    let queued = app.slack("T0ACME", "U0ALICE", "slow").await;
    let id = number_after("J-", queued.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the job did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first: i32 = std::fs::read_to_string(&runs)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    cluster.run("crash");
    // Within the 3 s lease (plus a moment for the kill), the runner gives the job up even
    // though it cannot tell anyone.
    let deadline = Instant::now() + Duration::from_secs(6);
    while alive(first) {
        assert!(
            Instant::now() < deadline,
            "the first attempt kept running after its lease could not be renewed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap().lines().count(),
        1,
        "nothing ran while the database was down"
    );

    cluster.run("resume");
    let job = app.wait_job(id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.attempt, 2);
    let pids: Vec<String> = std::fs::read_to_string(&runs)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    let events = app.audit().await;
    assert!(events
        .iter()
        .any(|e| e.kind == "job.retried" && e.target == format!("J-{id}")));
    assert_audit_verifies(&url);
    app.server.shutdown().await.unwrap();
}

/// Whether process `pid` still runs (a zombie waiting for its parent counts as ended).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

/// Managed PostgreSQL services usually demand TLS. warden connects with `?sslmode=require`
/// (rustls, no OpenSSL), and works end to end; the server here refuses anything else, so the
/// connection that works is certainly encrypted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warden_talks_to_postgres_over_tls() {
    if !db::on_postgres() {
        eprintln!("skipped: runs against PostgreSQL only (set WARDEN_TEST_DATABASE_URL)");
        return;
    }
    let (_cluster, url) = Cluster::start_with(&["tls"]);
    let plain = warden::storage::Store::connect(&format!("{url}?sslmode=disable")).await;
    assert!(
        plain.is_err(),
        "the server accepted a connection without TLS"
    );
    let url = format!("{url}?sslmode=require");
    let app = TestApp::spawn_with(Options {
        env: vec![("WARDEN_DATABASE_URL".into(), url.clone())],
        ..Options::default()
    })
    .await;
    assert_eq!(readyz(&app).await, 200);
    let answer = app.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(answer.text().contains("alice"), "{}", answer.text());
    assert_audit_verifies(&url);
    app.server.shutdown().await.unwrap();
}
