//! Three replicas on one database, as they run behind a load balancer: requests and clicks are
//! spread over them, and every guarantee of a single process still holds: 60 approve clicks
//! make one job and one downstream call, 500 jobs each run exactly once, and the audit chain
//! verifies afterwards. The suite runs these on PostgreSQL in CI (`.ci/run`); on SQLite the
//! replicas share one database file, which SQLite's own locking serialises.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::*;
use warden::jobs::JobStatus;
use warden::storage::{AuditQuery, Store};

struct Cluster {
    replicas: Vec<TestApp>,
    fake: FakeSlack,
    downstream: FakeDownstream,
    response_url: String,
}

impl Cluster {
    /// Starts `n` replicas on one database, all talking to one fake Slack and one downstream.
    async fn start(n: usize) -> Cluster {
        Self::start_with(n, Vec::new()).await
    }

    /// `start`, with more command definitions beside `ship`.
    async fn start_with(n: usize, extra: Vec<(String, String)>) -> Cluster {
        let fake = FakeSlack::default();
        let api = fake.start().await;
        let downstream = FakeDownstream::default();
        let url = downstream.start(200).await;
        let options = |database: Option<String>| {
            let mut env = vec![("SLACK_API_URL".to_string(), api.clone())];
            if let Some(database) = database {
                env.push(("WARDEN_DATABASE_URL".to_string(), database));
            }
            let mut commands = vec![ship(&url, "30m")];
            commands.extend(extra.iter().cloned());
            Options { env, commands }
        };
        let first = TestApp::spawn_with(options(None)).await;
        let database = first.database_url();
        let mut replicas = vec![first];
        for _ in 1..n {
            replicas.push(TestApp::spawn_with(options(Some(database.clone()))).await);
        }
        Cluster {
            replicas,
            fake,
            downstream,
            response_url: format!("{api}response"),
        }
    }

    /// The test's own view of the shared database.
    fn store(&self) -> &Store {
        &self.replicas[0].server.state.service.store
    }

    /// Stops every replica; the returned directories keep the SQLite file until dropped.
    async fn shutdown(self) -> Vec<tempfile::TempDir> {
        let mut dirs = Vec::new();
        for replica in self.replicas {
            replica.server.shutdown().await.unwrap();
            dirs.push(replica.dir);
        }
        dirs
    }
}

/// The Approve button of the request message warden posted for approval `id`.
async fn approve_button(fake: &FakeSlack, id: i64) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let message = loop {
        let found = fake.calls_of("chat.postMessage").into_iter().find(|m| {
            m["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("A-{id}:"))
        });
        if let Some(message) = found {
            break message;
        }
        assert!(Instant::now() < deadline, "no request message");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for block in message["blocks"].as_array().unwrap() {
        for element in block["elements"].as_array().into_iter().flatten() {
            if element["text"]["text"] == "Approve" {
                return (
                    element["action_id"].as_str().unwrap().to_string(),
                    element["value"].as_str().unwrap().to_string(),
                );
            }
        }
    }
    panic!("no Approve button in {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_clicks_across_three_replicas_make_one_job_and_one_downstream_call() {
    let cluster = Cluster::start(3).await;
    let asked = cluster.replicas[1]
        .slack("T0ACME", "U0ALICE", "ship web env=prod")
        .await;
    let id = number_after("A-", asked.text());
    let (action, value) = approve_button(&cluster.fake, id).await;

    // Three approvers click twenty times each, every click to the next replica in turn: a
    // load balancer's worst case, with votes for one request racing on three processes.
    let voters = ["U0CAROL", "U0DAVE", "U0ERIN"];
    let clicks = (0..60).map(|i| {
        cluster.replicas[i % 3].click(
            "T0ACME",
            voters[(i / 3) % 3],
            &action,
            &value,
            &cluster.response_url,
        )
    });
    for response in futures_util::future::join_all(clicks).await {
        assert_eq!(response.status(), 200);
    }

    let store = cluster.store();
    let approval = store.approval(id).await.unwrap().unwrap();
    assert_eq!(approval.status, "approved");
    assert_eq!(approval.votes.len(), 2, "{:?}", approval.votes);
    let jobs = store.recent_jobs("acme", 100).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = cluster.replicas[2].wait_job(jobs[0].id).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    // Give a wrongly duplicated job time to show up before counting calls.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(store.recent_jobs("acme", 100).await.unwrap().len(), 1);
    assert_eq!(cluster.downstream.received().len(), 1);
    let approved = store
        .audit_events(&AuditQuery {
            kind: Some("approval.approved".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(approved.len(), 1, "{approved:?}");

    let database = cluster.replicas[0].database_url();
    let _dirs = cluster.shutdown().await;
    assert_audit_verifies(&database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_jobs_across_three_replicas_each_run_exactly_once() {
    const JOBS: usize = 500;
    let cluster = Cluster::start(3).await;
    // Requests arrive on every replica; each queues a job that any replica may claim.
    let users = ["U0ALICE", "U0CAROL"];
    let mut queued = Vec::with_capacity(JOBS);
    for batch in (0..JOBS).collect::<Vec<_>>().chunks(25) {
        let requests = batch.iter().map(|&i| {
            let replica = &cluster.replicas[i % 3];
            let text = format!("ship svc-{i}");
            async move { replica.slack("T0ACME", users[i % 2], &text).await }
        });
        for answer in futures_util::future::join_all(requests).await {
            assert_eq!(answer.status, 200);
            assert!(answer.text().contains("queued"), "{}", answer.text());
            queued.push(answer.text().to_string());
        }
    }
    assert_eq!(queued.len(), JOBS);

    let store = cluster.store();
    let deadline = Instant::now() + Duration::from_secs(120);
    let jobs = loop {
        let jobs = store.recent_jobs("acme", 10_000).await.unwrap();
        assert_eq!(jobs.len(), JOBS, "one job per request");
        if jobs.iter().all(|j| j.status.is_final()) {
            break jobs;
        }
        assert!(
            Instant::now() < deadline,
            "{} jobs unfinished",
            jobs.iter().filter(|j| !j.status.is_final()).count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        jobs.iter()
            .all(|j| j.status == JobStatus::Succeeded && j.attempt == 1),
        "{:?}",
        jobs.iter()
            .filter(|j| j.status != JobStatus::Succeeded || j.attempt != 1)
            .take(3)
            .collect::<Vec<_>>()
    );

    // Exactly once: the downstream saw each job's idempotency key once, and nothing else.
    let received = cluster.downstream.received();
    assert_eq!(received.len(), JOBS);
    let keys: HashSet<String> = received
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), JOBS, "a job was called twice");
    let paths: HashSet<&str> = received.iter().map(|r| r.path_and_query.as_str()).collect();
    assert_eq!(paths.len(), JOBS);

    // Every job started once, and the work was spread over more than one replica.
    let started = store
        .audit_events(&AuditQuery {
            kind: Some("job.started".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(started.len(), JOBS);
    let mut per_runner: HashMap<String, usize> = HashMap::new();
    for event in &started {
        let details: serde_json::Value = serde_json::from_str(&event.details).unwrap();
        *per_runner
            .entry(details["runner"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(
        per_runner.len() >= 2,
        "one replica ran everything: {per_runner:?}"
    );
    eprintln!(
        "jobs per replica: {:?}",
        per_runner.values().collect::<Vec<_>>()
    );

    let database = cluster.replicas[0].database_url();
    let _dirs = cluster.shutdown().await;
    assert_audit_verifies(&database);
}

/// The lock that makes every replica's writes take turns: while one store (replica) holds a
/// write transaction, another store's transaction waits, and goes ahead at the commit.
#[tokio::test]
async fn a_write_transaction_makes_other_replicas_wait() {
    let dir = tempfile::tempdir().unwrap();
    let url = db::database_url(&dir.path().join("warden.db"));
    let a = Store::connect(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = Store::connect(&url).await.unwrap();

    let held = a.begin().await.unwrap();
    let waiting = tokio::spawn(async move {
        let tx = b.begin().await.unwrap();
        tx.commit().await.unwrap();
        Instant::now()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a second writer did not wait");
    let released = Instant::now();
    held.commit().await.unwrap();
    let went_ahead = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the second writer went ahead after the commit")
        .unwrap();
    assert!(went_ahead >= released);
}

/// A replica that froze in the middle of a write transaction (stopped, or cut off from the
/// network without its connection closing) would hold the write lock for every other
/// replica. PostgreSQL ends such a transaction after 10 s idle, and the others go on.
#[tokio::test]
async fn a_frozen_replica_does_not_stall_the_others() {
    if !db::on_postgres() {
        eprintln!("skipped: PostgreSQL only (SQLite has one process per file in production)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = db::database_url(&dir.path().join("warden.db"));
    let frozen = Store::connect(&url).await.unwrap();
    frozen.migrate().await.unwrap();
    let other = Store::connect(&url).await.unwrap();

    let started = Instant::now();
    let stuck = frozen.begin().await.unwrap();
    // The other replica's writers give up after 5 s each, with a clear error...
    let first = other.begin().await;
    assert!(
        first.is_err(),
        "a writer waited forever for a frozen replica"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    // ...and once the server has ended the frozen transaction, they write again.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(tx) = other.begin().await {
            tx.commit().await.unwrap();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the write lock was never released"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(17));
    // The frozen replica's transaction is gone: its commit fails, and nothing it held remains.
    assert!(stuck.commit().await.is_err());
}

/// A job runs on whichever replica claimed it; asking any other replica to cancel it stops
/// its program within a lease renewal (2 s), and the job ends cancelled, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_is_cancelled_through_another_replica() {
    let scripts = tempfile::tempdir().unwrap();
    let pid_file = scripts.path().join("pid");
    let script = scripts.path().join("wait.sh");
    std::fs::write(
        &script,
        format!("echo $$ > {}\nsleep 60\n", pid_file.display()),
    )
    .unwrap();
    let wait = ("wait.toml".to_string(), script_command("wait", &script, 0));
    let cluster = Cluster::start_with(3, vec![wait]).await;
    let queued = cluster.replicas[0].slack("T0ACME", "U0ALICE", "wait").await;
    assert!(queued.text().contains("queued"), "{}", queued.text());
    let id = number_after("J-", queued.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "the job did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let asked = Instant::now();
    let answer = cluster.replicas[1]
        .slack("T0ACME", "U0ALICE", &format!("jobs cancel J-{id}"))
        .await;
    assert!(answer.text().contains("being stopped"), "{}", answer.text());
    let job = cluster.replicas[2].wait_job(id).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{:?}", job.error);
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "{:?}",
        asked.elapsed()
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "still running: {stat}"
    );
    let cancelled = cluster
        .store()
        .audit_events(&AuditQuery {
            kind: Some("job.cancelled".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");

    let database = cluster.replicas[0].database_url();
    let _dirs = cluster.shutdown().await;
    assert_audit_verifies(&database);
}

/// A rate limit of 2 an hour holds for the deployment, not per replica: twelve concurrent
/// requests by one person spread over three replicas queue exactly two jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_holds_across_replicas() {
    let cluster = Cluster::start(3).await;
    let requests = (0..12)
        .map(|i| cluster.replicas[i % 3].slack("T0ACME", "U0ALICE", "rotate-key web tok_abcdefgh"));
    let answers = futures_util::future::join_all(requests).await;
    let queued = answers
        .iter()
        .filter(|a| a.text().contains("queued"))
        .count();
    let limited = answers
        .iter()
        .filter(|a| a.text().starts_with("Refused at the `rate_limit` step."))
        .count();
    assert_eq!(
        (queued, limited),
        (2, 10),
        "{:?}",
        answers.iter().map(|a| a.text()).collect::<Vec<_>>()
    );
    assert_eq!(
        cluster
            .store()
            .recent_jobs("acme", 100)
            .await
            .unwrap()
            .len(),
        2
    );

    let database = cluster.replicas[0].database_url();
    let _dirs = cluster.shutdown().await;
    assert_audit_verifies(&database);
}

/// Replicas starting together on a new database each apply the migrations at start; every
/// migration is applied once and every replica ends up ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = db::database_url(&dir.path().join("warden.db"));
    let starts = (0..3).map(|_| {
        let url = url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            store.ready().await.unwrap();
            store
        }
    });
    let stores = futures_util::future::join_all(starts).await;
    // `ready` compares the applied migrations with the embedded ones: all there, none twice
    // (a second application of a CREATE TABLE would have failed above).
    for store in &stores {
        store.ready().await.unwrap();
    }
}

/// A revocation through one replica counts at once on the others: while any run-time grant is
/// in force, every decision reads the grants from the database instead of a cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_through_one_replica_counts_at_once_on_another() {
    let cluster = Cluster::start(2).await;
    let (a, b) = (&cluster.replicas[0], &cluster.replicas[1]);
    let before = b.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(!before.text().contains("admin"), "{}", before.text());

    let glass = a
        .slack(
            "T0ACME",
            "U0ALICE",
            "access breakglass admin --for 30m --reason \"prod down\"",
        )
        .await;
    assert!(
        glass.text().contains("Break-glass granted"),
        "{}",
        glass.text()
    );
    // A new grant may take up to 2 s to count on another replica (failing closed)...
    let deadline = Instant::now() + Duration::from_secs(5);
    while !b
        .slack("T0ACME", "U0ALICE", "whoami")
        .await
        .text()
        .contains("admin")
    {
        assert!(Instant::now() < deadline, "the grant never counted on B");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // ...but its revocation counts on the very next request.
    let list = a.slack("T0ACME", "U0ALICE", "access list").await;
    let binding = list
        .text()
        .lines()
        .find(|l| l.contains("alice"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{}", list.text()))
        .to_string();
    let revoked = a
        .slack("T0ACME", "U0ALICE", &format!("access revoke {binding}"))
        .await;
    assert!(revoked.text().contains("Revoked"), "{}", revoked.text());
    let after = b.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(!after.text().contains("admin"), "{}", after.text());

    let database = cluster.replicas[0].database_url();
    let _dirs = cluster.shutdown().await;
    assert_audit_verifies(&database);
}
