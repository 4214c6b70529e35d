//! The SQLite writer thread: one long-lived connection that commits "record this event, claim
//! this replay key" units, as many as queued up, in one transaction.
//!
//! Through sqlx every statement of a transaction is a round trip between a tokio worker and
//! the connection's own thread, and a batch runs on whichever pooled connection is idle, whose
//! page cache is then stale. Here a request's record crosses threads twice in all: the
//! request sends it over a channel, this thread takes everything that queued up meanwhile
//! (group commit, up to [`MAX_RECORDS`]), runs `BEGIN IMMEDIATE` … `COMMIT` synchronously
//! with cached prepared statements, and answers each request's own channel. No task sits in
//! between (an earlier version had the service's writer task gather the batch first: two more
//! thread wake-ups per request, most of the latency at one connection). The connection stays
//! open, so its page cache stays warm.
//!
//! One exception, for one person's command: when nothing is queued and either no commit ended
//! in the last millisecond or the last eight commits were lone callers' (one submission,
//! nothing queued behind it when it ended), the caller commits its record on its own runtime
//! worker, holding the same connection (`SqliteWriter::record`). From idle, handing over costs
//! two thread wake-ups (this thread's, then the caller's for the answer), and a commit on the
//! spot took the p50 of a request arriving every 10 ms from 0.73 to 0.61 ms
//! (docs/PERFORMANCE.md, "Fifth sitting").
//! It blocks a worker for one single-record commit only while nothing else arrives, and never
//! for another process's lock: with the file's write lock taken, the record goes to this
//! thread, which waits. It is off where commits still checkpoint
//! (`WARDEN_SQLITE_CHECKPOINT=auto`). Requests that overlap (anything queued behind a
//! commit) all take the batches below.
//!
//! It changes none of the guarantees:
//! - one transaction per batch, opened with `BEGIN IMMEDIATE`, so SQLite's file lock still
//!   serialises writers across processes on one file, and this thread (or the idle caller)
//!   takes the store's in-process writer turn (`writer_turn.rs`) for each batch, as a sqlx
//!   transaction does, always after the connection, so the two paths cannot deadlock;
//! - a record the database refuses (a value it cannot store) fails alone: the batch was
//!   rolled back whole, and each submission in it is committed again on its own;
//! - a replay key is claimed by the first unit that carries it, and a unit whose key was
//!   claimed before writes nothing;
//! - audit events are chained by `audit::link`, the same code the sqlx transaction uses, and
//!   each tenant's head is read and moved inside the transaction;
//! - nothing is answered before `COMMIT` returned; an error rolls the whole batch back.
//!
//! rusqlite links the same `libsqlite3-sys` (bundled) as sqlx, so both speak to one SQLite
//! library, and the schema is the one sqlx's migrations created: this thread never migrates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use super::audit::{chain_time, link_borrowed};
use super::writer_turn::WriterTurn;
use crate::audit::chain::GENESIS;
use crate::audit::NewEvent;

/// The most records committed in one transaction. Submissions are never split, so a batch
/// passes this by at most one submission's records.
const MAX_RECORDS: usize = 256;

/// How long the thread waits for another process's write lock, as the sqlx pool does.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long no batch must have ended, with nothing queued, before a submission is committed
/// on the caller's own thread instead of the writer thread's (see [`SqliteWriter::record`]).
const IDLE_GAP: Duration = Duration::from_millis(1);

/// How many commits in a row must have been lone callers' (one submission, nothing queued
/// behind it) before a submission arriving within [`IDLE_GAP`] of the last commit takes the
/// idle path. One was not enough: at ten connections lone commits happen now and then, and
/// the commits they let onto runtime workers cost 0.84–0.91 of the throughput in two of three
/// runs (docs/PERFORMANCE.md, "Sixth sitting").
const ALONE_STREAK: u32 = 8;

/// One unit of a record batch: an event to append, after claiming its replay key if it has
/// one.
pub struct Record {
    /// The replay key and when it expires (Unix seconds).
    pub replay_key: Option<(String, i64)>,
    pub event: NewEvent,
    pub at: DateTime<Utc>,
}

struct Job {
    records: Vec<Record>,
    done: oneshot::Sender<anyhow::Result<Vec<bool>>>,
}

/// The handle to the writer thread. The thread ends, closing its connection, when the last
/// handle is dropped.
#[derive(Debug)]
pub(super) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

/// What the thread and the idle path share.
#[derive(Debug)]
struct Shared {
    /// The one writer connection. The thread holds it for a batch; a caller on the idle path
    /// holds it for its own commit. Always taken before the writer turn, by both, so the two
    /// never wait for each other in opposite orders.
    conn: tokio::sync::Mutex<Connection>,
    turn: WriterTurn,
    /// Submissions sent to the thread and not yet taken by it.
    queued: AtomicUsize,
    /// When the last commit on either path ended, in microseconds since `epoch`.
    last_end_us: AtomicU64,
    /// How many commits in a row, on either path, held one submission and found nothing
    /// queued when they ended: their callers were alone, as one person's commands are, even
    /// when each follows the last within [`IDLE_GAP`].
    alone: AtomicU32,
    epoch: Instant,
    /// Whether the idle path may be taken: only where commits never checkpoint (the
    /// checkpointer thread does), since SQLite's automatic checkpoint inside a commit (two
    /// fsyncs) must not run on a runtime worker.
    idle_path: bool,
    /// Commits made on the idle path and batches the thread committed (for the tests).
    inline_commits: AtomicU64,
    thread_batches: AtomicU64,
}

impl Shared {
    /// Notes the end of a commit of `submissions` submissions, with the connection still
    /// held (so no other commit can end in between).
    fn mark_end(&self, submissions: usize) {
        let us = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_end_us.store(us, Ordering::Relaxed);
        if submissions == 1 && self.queued.load(Ordering::Acquire) == 0 {
            let streak = self.alone.load(Ordering::Relaxed);
            self.alone
                .store(streak.saturating_add(1), Ordering::Relaxed);
        } else {
            self.alone.store(0, Ordering::Relaxed);
        }
    }

    /// True when nothing is queued and either the last [`ALONE_STREAK`] commits were lone
    /// callers' (one submission each, nobody queued behind it) or no commit ended within
    /// [`IDLE_GAP`]: there is no batch to join. Requests that overlap leave submissions
    /// queued behind a commit, which turns the idle path off until they stop for
    /// [`IDLE_GAP`] or [`ALONE_STREAK`] lone commits in a row.
    fn idle(&self) -> bool {
        if !self.idle_path || self.queued.load(Ordering::Acquire) != 0 {
            return false;
        }
        if self.alone.load(Ordering::Relaxed) >= ALONE_STREAK {
            return true;
        }
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let gap = u64::try_from(IDLE_GAP.as_micros()).unwrap_or(u64::MAX);
        now.saturating_sub(self.last_end_us.load(Ordering::Relaxed)) >= gap
    }
}

impl SqliteWriter {
    /// Opens `path` (which must exist: sqlx created it) and starts the thread, which takes
    /// `turn` for every batch. `None` when the file cannot be opened read-write; the store
    /// then writes through sqlx alone. With `background_checkpoints` its commits never
    /// checkpoint (the checkpointer thread does).
    pub(super) fn open(
        path: &str,
        background_checkpoints: bool,
        turn: WriterTurn,
    ) -> Option<SqliteWriter> {
        let conn = match open_connection(path, background_checkpoints) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!("the SQLite writer thread is off, writing through sqlx: {error:#}");
                return None;
            }
        };
        let (jobs, receiver) = mpsc::channel::<Job>();
        let shared = Arc::new(Shared {
            conn: tokio::sync::Mutex::new(conn),
            turn,
            idle_path: background_checkpoints,
            queued: AtomicUsize::new(0),
            last_end_us: AtomicU64::new(0),
            alone: AtomicU32::new(0),
            epoch: Instant::now(),
            inline_commits: AtomicU64::new(0),
            thread_batches: AtomicU64::new(0),
        });
        let spawned = std::thread::Builder::new()
            .name("warden-sqlite-writer".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared, receiver)
            });
        match spawned {
            Ok(_) => Some(SqliteWriter { jobs, shared }),
            Err(error) => {
                tracing::warn!("cannot start the SQLite writer thread: {error}");
                None
            }
        }
    }

    /// Commits `records` in one transaction (with whatever else queued up) and returns, per
    /// record, whether it was written (false: its replay key had been claimed already,
    /// nothing was written for it).
    ///
    /// When requests are not overlapping (nothing queued, and no commit in the last
    /// [`IDLE_GAP`] or the last [`ALONE_STREAK`] ones lone callers') and the connection is
    /// free, the caller commits on its own thread: one person's command then pays no thread
    /// wake-up at all, where handing it over costs two from idle (the writer thread's, then
    /// the caller's for the answer; about 0.15 ms of the 0.7 ms such a request takes,
    /// docs/PERFORMANCE.md).
    /// That blocks one runtime worker for one single-record commit (about 0.1 ms), which is
    /// only done when nothing else is arriving. Once requests overlap, they all go to the
    /// thread and its batches.
    pub(super) async fn record(&self, records: Vec<Record>) -> anyhow::Result<Vec<bool>> {
        if self.shared.idle() {
            if let Ok(mut conn) = self.shared.conn.try_lock() {
                // No await between taking the turn and the end of the commit: a caller that
                // gives up (its future dropped) either committed nothing or all of it.
                let _turn = self.shared.turn.take().await;
                if let Some(result) = commit_without_waiting(&mut conn, &records) {
                    self.shared.mark_end(1);
                    self.shared.inline_commits.fetch_add(1, Ordering::Relaxed);
                    return result;
                }
                // Another process holds the file's write lock: waiting for it is the
                // thread's job, not a runtime worker's.
            }
        }
        let (done, outcome) = oneshot::channel();
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        if self.jobs.send(Job { records, done }).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            anyhow::bail!("the SQLite writer thread has stopped");
        }
        outcome
            .await
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?
    }
}

#[cfg(test)]
impl SqliteWriter {
    /// Commits made so far on the idle path, and batches committed by the thread.
    fn paths(&self) -> (u64, u64) {
        (
            self.shared.inline_commits.load(Ordering::Relaxed),
            self.shared.thread_batches.load(Ordering::Relaxed),
        )
    }

    /// How many lone commits in a row have ended most recently.
    fn streak(&self) -> u32 {
        self.shared.alone.load(Ordering::Relaxed)
    }
}

/// The file path of a sqlx SQLite URL (`sqlite://PATH?…` or `sqlite:PATH?…`), or `None` for
/// an in-memory or read-only database, which the writer thread cannot serve.
pub(super) fn file_path(url: &str) -> Option<&str> {
    if url.contains(":memory:") || url.contains("mode=ro") || url.contains("mode=memory") {
        return None;
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains('%')).then_some(path)
}

/// The same settings as the sqlx pool's connections (`connect_sqlite`), but a 16 MiB page
/// cache (the one connection that writes every batch keeps the hot index pages), plus a
/// statement journal in memory: a batch would otherwise create, write and unlink a temp file.
fn open_connection(path: &str, background_checkpoints: bool) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {path}"))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;",
    )?;
    if background_checkpoints {
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    }
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

fn run(shared: &Shared, jobs: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::new();
    while let Ok(first) = jobs.recv() {
        let mut records = first.records.len();
        batch.push(first);
        while records < MAX_RECORDS {
            match jobs.try_recv() {
                Ok(job) => {
                    records += job.records.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let results = {
            let mut conn = shared.conn.blocking_lock();
            shared.queued.fetch_sub(batch.len(), Ordering::AcqRel);
            let _turn = shared.turn.take_blocking();
            let results = commit_jobs(&mut conn, &batch);
            shared.mark_end(batch.len());
            shared.thread_batches.fetch_add(1, Ordering::Relaxed);
            results
        };
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.done.send(result);
        }
    }
}

/// [`commit`] on the idle path, which runs on a runtime worker and so must not wait for
/// another process's write lock (the connection's busy timeout is 5 s): `None`, having
/// written nothing, when the lock is taken.
fn commit_without_waiting(
    conn: &mut Connection,
    records: &[Record],
) -> Option<anyhow::Result<Vec<bool>>> {
    if let Err(error) = conn.busy_timeout(Duration::ZERO) {
        return Some(Err(error.into()));
    }
    let result = commit(conn, records);
    if let Err(error) = conn.busy_timeout(BUSY_TIMEOUT) {
        return Some(Err(error.into()));
    }
    match result {
        Err(error) if is_busy(&error) => None,
        other => Some(other),
    }
}

/// True when `error` is SQLite's "database is locked" (another connection's write lock).
fn is_busy(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
        )
    })
}

/// Commits every job's records in one transaction and returns one result per job. When the
/// database refused the transaction for the data of some record, each job is committed
/// again alone, so only the job holding it fails; any other failure fails every job.
fn commit_jobs(conn: &mut Connection, jobs: &[Job]) -> Vec<anyhow::Result<Vec<bool>>> {
    if let [job] = jobs {
        return vec![commit(conn, &job.records)];
    }
    let all: Vec<&Record> = jobs.iter().flat_map(|job| &job.records).collect();
    match commit(conn, all.iter().copied()) {
        Ok(mut written) => jobs
            .iter()
            .map(|job| Ok(written.drain(..job.records.len()).collect()))
            .collect(),
        Err(error) if super::is_data_rejection(&error) => {
            tracing::warn!(
                batch.submissions = jobs.len(),
                "the database refused a batch; writing its submissions one by one: {error:#}"
            );
            jobs.iter().map(|job| commit(conn, &job.records)).collect()
        }
        Err(error) => {
            let message = format!("{error:#}");
            jobs.iter()
                .map(|_| Err(anyhow::anyhow!(message.clone())))
                .collect()
        }
    }
}

/// One batch, one transaction: claim each key in order, chain the events of the units that
/// claimed theirs, move the heads, commit.
fn commit<'r>(
    conn: &mut Connection,
    records: impl IntoIterator<Item = &'r Record>,
) -> anyhow::Result<Vec<bool>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let records = records.into_iter();
    let mut written = Vec::with_capacity(records.size_hint().0);
    let mut heads: HashMap<String, (i64, String)> = HashMap::new();
    {
        let mut claim = tx.prepare_cached(
            "INSERT INTO replay_keys (key, expires_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        )?;
        let mut read_head =
            tx.prepare_cached("SELECT seq, hash FROM audit_heads WHERE tenant = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit_events (tenant, seq, at, actor, kind, target, channel, request_id, details, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for record in records {
            if let Some((key, expires_at)) = &record.replay_key {
                if claim.execute(params![key, expires_at])? == 0 {
                    written.push(false);
                    continue;
                }
            }
            let e = &record.event;
            if !heads.contains_key(&e.tenant) {
                let head: Option<(i64, String)> = read_head
                    .query_row([&e.tenant], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                heads.insert(e.tenant.clone(), head.unwrap_or((0, GENESIS.to_string())));
            }
            let head = heads.get_mut(&e.tenant).expect("inserted above");
            let at = chain_time(record.at);
            let linked = link_borrowed(head, e, &at)?;
            insert.execute(params![
                e.tenant,
                linked.seq,
                at,
                e.actor,
                e.kind,
                e.target,
                e.channel,
                e.request_id,
                linked.details,
                linked.prev_hash,
                linked.hash
            ])?;
            written.push(true);
        }
        let mut move_head = tx.prepare_cached(
            "INSERT INTO audit_heads (tenant, seq, hash) VALUES (?1, ?2, ?3) \
             ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )?;
        for (tenant, (seq, hash)) in &heads {
            move_head.execute(params![tenant, seq, hash])?;
        }
    }
    tx.commit()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::file_path;
    use super::Record;
    use crate::audit::NewEvent;
    use crate::storage::Store;

    fn record(target: &str, key: &str) -> Record {
        let at = chrono::Utc::now();
        Record {
            replay_key: Some((key.to_string(), at.timestamp() + 3600)),
            event: NewEvent {
                tenant: "acme".into(),
                actor: "alice".into(),
                kind: "command.invoked".into(),
                target: target.into(),
                channel: "slack:C0OPS".into(),
                request_id: format!("req-{key}"),
                details: serde_json::json!({ "command": target }),
            },
            at,
        }
    }

    /// Submissions that queue up while the thread waits for the writer turn are committed
    /// together; one that the database refuses fails alone, a replay key sent twice is
    /// written once, and the chain verifies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_records_commit_together_and_a_refused_one_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.has_writer_thread());
        store
            .execute_raw(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_events \
                 WHEN NEW.target LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'test poison'); END;",
            )
            .await
            .unwrap();

        // Hold the turn, so that every submission below queues behind the first.
        let turn = store.turn.queue.clone().lock_owned().await;
        let mut sent = Vec::new();
        for n in 0..20 {
            let (target, key) = match n {
                7 => ("poison".to_string(), "k-7".to_string()),
                12 => ("help".to_string(), "k-3".to_string()),
                n => ("help".to_string(), format!("k-{n}")),
            };
            let store = store.clone();
            sent.push(tokio::spawn(async move {
                store.record(record(&target, &key)).await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(turn);

        let mut outcomes = Vec::new();
        for handle in sent {
            outcomes.push(handle.await.unwrap());
        }
        for (n, outcome) in outcomes.iter().enumerate() {
            match n {
                7 => {
                    let error = outcome.as_ref().unwrap_err();
                    assert!(format!("{error:#}").contains("test poison"), "{error:#}");
                }
                3 | 12 => {}
                n => assert!(outcome.as_ref().unwrap(), "record {n} was not written"),
            }
        }
        // Key k-3 was sent twice: exactly one of the two was written.
        let k3: Vec<bool> = [3, 12]
            .iter()
            .map(|&n| *outcomes[n].as_ref().unwrap())
            .collect();
        assert_eq!(k3.iter().filter(|w| **w).count(), 1, "{k3:?}");

        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(events, 18);
        let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM replay_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(keys, 18, "the refused record's key is not kept");
        assert_eq!(store.verify_audit().await.unwrap().unwrap(), 18);
    }

    async fn open(dir: &std::path::Path) -> (Store, String) {
        let path = dir.join("w.db").display().to_string();
        let store = Store::connect(&format!("sqlite://{path}")).await.unwrap();
        store.migrate().await.unwrap();
        (store, path)
    }

    fn paths(store: &Store) -> (u64, u64) {
        store
            .sqlite_writer
            .as_ref()
            .expect("a writer thread")
            .paths()
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// A record that arrives while nothing else is being written commits on the caller's
    /// thread; records arriving together go to the writer thread and its batches. Either
    /// way each key is claimed once and the chain verifies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_isolated_record_commits_at_once_and_a_burst_goes_to_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(dir.path()).await;
        assert!(store.record(record("help", "k-0")).await.unwrap());
        assert_eq!(
            paths(&store),
            (1, 0),
            "an isolated record is committed at once"
        );

        // A burst: the writer turn is held, so the first of them (idle path) waits for it
        // with the connection, and the others queue for the thread meanwhile.
        tokio::time::sleep(super::IDLE_GAP * 3).await;
        let turn = store.turn.queue.clone().lock_owned().await;
        let mut sent = Vec::new();
        for n in 1..=20 {
            let store = store.clone();
            // k-0 again: a replay of the isolated record, on whichever path.
            let key = if n == 20 {
                "k-0".to_string()
            } else {
                format!("k-{n}")
            };
            sent.push(tokio::spawn(async move {
                store.record(record("help", &key)).await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(turn);
        let mut written = 0;
        for handle in sent {
            written += usize::from(handle.await.unwrap().unwrap());
        }
        assert_eq!(written, 19, "the replayed key was written again");
        let (inline, batches) = paths(&store);
        assert_eq!(inline, 2, "one record of the burst took the idle path");
        assert!(batches >= 1, "no record of the burst went to the thread");
        let events = "SELECT COUNT(*) FROM audit_events";
        assert_eq!(count(&store, events).await, 20);
        assert_eq!(store.verify_audit().await.unwrap().unwrap(), 20);
    }

    /// One person's commands, each sent when the previous one was answered, commit on the
    /// idle path however closely they follow each other (after at most a streak of lone
    /// commits): nothing ever queued behind one. (With the one-millisecond gap alone, every
    /// one after the first went to the thread, paying its two wake-ups.)
    #[tokio::test]
    async fn one_callers_records_back_to_back_all_commit_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(dir.path()).await;
        for n in 0..50 {
            assert!(store
                .record(record("help", &format!("k-{n}")))
                .await
                .unwrap());
        }
        let (inline, batches) = paths(&store);
        assert!(
            batches <= u64::from(super::ALONE_STREAK) && inline + batches == 50,
            "a lone caller's records went to the thread: {inline} inline, {batches} batches"
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM audit_events").await, 50);
        assert_eq!(store.verify_audit().await.unwrap().unwrap(), 50);
    }

    /// A burst after a streak of lone commits still goes to the thread's batches (all but the
    /// one record that found the connection free), and what queued behind a commit ends the
    /// streak, so the requests that follow the burst no longer take the idle path until
    /// they are alone again.
    #[tokio::test]
    async fn a_burst_after_a_lone_callers_streak_goes_to_the_thread_and_ends_the_streak() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(dir.path()).await;
        let streak = super::ALONE_STREAK + 2;
        for n in 0..streak {
            assert!(store
                .record(record("help", &format!("lone-{n}")))
                .await
                .unwrap());
        }
        let writer = store.sqlite_writer.as_ref().expect("a writer thread");
        assert!(
            writer.streak() >= super::ALONE_STREAK,
            "no streak was built"
        );
        let (lone_inline, _) = paths(&store);

        // The writer turn is held, so the first of the burst (idle path) waits for it with the
        // connection, and the others queue for the thread meanwhile.
        let turn = store.turn.queue.clone().lock_owned().await;
        let mut sent = Vec::new();
        for n in 0..20 {
            let store = store.clone();
            sent.push(tokio::spawn(async move {
                store.record(record("help", &format!("burst-{n}"))).await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(turn);
        for handle in sent {
            assert!(handle.await.unwrap().unwrap());
        }
        let (inline, batches) = paths(&store);
        assert_eq!(
            inline - lone_inline,
            1,
            "more than one record of the burst took the idle path"
        );
        assert!(batches >= 1, "no record of the burst went to the thread");
        assert!(
            writer.streak() < super::ALONE_STREAK,
            "the burst did not end the streak: {}",
            writer.streak()
        );
        let total = u64::from(streak) + 20;
        let events = count(&store, "SELECT COUNT(*) FROM audit_events").await;
        assert_eq!(u64::try_from(events).unwrap(), total);
        assert_eq!(store.verify_audit().await.unwrap().unwrap(), total);
    }

    /// While another process holds the file's write lock, an isolated record does not wait
    /// for it on a runtime worker (which would stall every task on it, here the only one):
    /// it is handed to the thread, which waits, and commits once the lock is released.
    #[tokio::test(flavor = "current_thread")]
    async fn a_record_blocked_by_another_process_waits_on_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = open(dir.path()).await;
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        let pending = tokio::spawn({
            let store = store.clone();
            async move { store.record(record("help", "k-1")).await }
        });
        // Were the record waiting on this runtime's only thread, this sleep could not end
        // before the lock's busy timeout (5 s).
        let started = std::time::Instant::now();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the runtime was blocked for {:?}",
            started.elapsed()
        );
        assert!(
            !pending.is_finished(),
            "written beside another writer's lock"
        );

        other.execute_batch("COMMIT").unwrap();
        assert!(pending.await.unwrap().unwrap());
        assert_eq!(
            paths(&store),
            (0, 1),
            "the record was committed by the thread"
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM audit_events").await, 1);
    }

    #[test]
    fn only_file_urls_get_a_writer_thread() {
        assert_eq!(file_path("sqlite:///tmp/w.db"), Some("/tmp/w.db"));
        assert_eq!(file_path("sqlite://w.db?mode=rwc"), Some("w.db"));
        assert_eq!(file_path("sqlite:w.db"), Some("w.db"));
        assert_eq!(file_path("sqlite::memory:"), None);
        assert_eq!(file_path("sqlite:///tmp/w.db?mode=ro"), None);
        assert_eq!(file_path("postgres://db/w"), None);
    }
}
