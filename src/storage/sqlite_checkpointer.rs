//! The SQLite checkpointer: WAL checkpoints off the commit path, and the `-wal` file bounded.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies them into
//! the database file (two fsyncs) so that the log can start over. By default SQLite runs that
//! checkpoint inside the commit that pushes the log past 1000 pages, so about one request in a
//! hundred waited for it: that was the c=1 p99 of issue 17. Here every connection of a store
//! that commits turns the automatic checkpoint off (`PRAGMA wal_autocheckpoint = 0`, on the
//! sqlx pool's connections and on the writer thread's), and this thread, with its own
//! connection on the same file, does the work instead:
//!
//! - every [`TICK`] it reads the log's size (one `stat`) and does nothing else unless needed;
//!   while the log is empty (an idle server), every [`IDLE_TICK`] instead, so that an idle
//!   warden does not wake fifty times a second; a burst of writes after a pause is seen at
//!   most that much later, and writers that find the log past half its bound wake it at once;
//! - every [`INTERVAL`] while the log holds frames, a PASSIVE checkpoint: it copies what it can
//!   without taking the write lock, so commits go on beside it. When it copied every frame,
//!   the next commit starts the log over at its first frame (SQLite does that by itself when
//!   no reader still uses the old frames), so the file is reused, not grown;
//! - under continuous writes that never happens by itself: commits keep arriving while the
//!   PASSIVE checkpoint copies, so its copy ends behind the log's end, and in the first
//!   attempt the log grew without bound (docs/PERFORMANCE.md). So once the log holds a
//!   sixteenth of the limit in frames, the checkpointer copies again what was written during
//!   its last copy ([`CATCH_UP_ROUNDS`] at most) until that is under [`CATCH_UP_FRAMES`], then
//!   takes this process's writer turn (`Store::writer`, queued for like any transaction) and
//!   runs one more PASSIVE checkpoint, which copies the last frames while no commit can add
//!   more. The writers wait for that copy and its two fsyncs (2 ms median, 14 ms at most at
//!   50 connections in the load test), and the next commit starts the log over. This is
//!   SQLite's automatic checkpoint with most of the copying moved out of the commit path: that
//!   one copies the whole log inside the commit that crossed 1000 pages. The file is never
//!   cut under load: a cut file grows again block by block, and on ext4 every fsync then waits
//!   for those new blocks too (cutting at a quarter of the limit made each cut 15–110 ms);
//! - once the file passes half its limit, the log could not start over in time (another
//!   process writes beside this one, a reader holds an old snapshot, or writes outrun the
//!   checkpoints: a debug build committing single records back to back writes tens of MB of
//!   log a second). Then this process's writers wait before their turn
//!   ([`Checkpointer::congested`], checked by `WriterTurn::take` with one `stat`), this
//!   thread is woken at once and runs a TRUNCATE checkpoint in the writer turn: it copies what
//!   is left, waits (at most [`BUSY`]) for readers still using old frames and cuts the file to
//!   zero bytes. The bound is kept by slowing writers down, not by letting the log grow;
//! - after a [`QUIET`] spell in which everything had been copied, a TRUNCATE as well: it has
//!   nothing to copy, and an idle server's log is then empty.
//!
//! The bound: the log stays under its limit as long as a TRUNCATE succeeds. One fails (and is
//! tried again after [`RETRY`]) only while a reader holds a snapshot older than the log's end
//! for longer than [`BUSY`]; warden's read transactions last milliseconds. While that lasts,
//! writers wait at most `WAL_WAIT` (in `writer_turn.rs`) per turn and then write all the same, so a
//! stuck reader slows warden down instead of stopping it, and a warning says, once per
//! episode, that the log is over its limit.
//!
//! Several processes on one file (replicas, a CLI command beside the server) each run their
//! own checkpointer. SQLite lets one checkpoint run at a time; the others are told "busy" and
//! try again at their next tick. A process without a checkpointer (an older warden, the
//! `sqlite3` shell) keeps SQLite's automatic checkpoint, which does no harm beside this one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

/// The `-wal` file's bound when nothing else is configured (`WARDEN_SQLITE_WAL_LIMIT` for the
/// server): 64 MiB. In a 2-minute soak at 50 connections on a 2-core machine the log peaked at
/// 23–29 MiB (docs/PERFORMANCE.md), so writers were never held back at half of it.
pub const DEFAULT_SQLITE_WAL_LIMIT: u64 = 64 * 1024 * 1024;

/// How often the checkpointer reads the log's size when no writer woke it: its reaction time
/// to a burst of writes below half the limit.
const TICK: Duration = Duration::from_millis(20);

/// How often it looks while the log is empty. Even at the fastest this machine writes the
/// log (about 120 MiB/s, a debug build's back-to-back single-record commits), it grows by
/// 24 MiB before the first look, under half the default bound; with a smaller bound, writers
/// past its half wake the thread themselves.
const IDLE_TICK: Duration = Duration::from_millis(200);

/// How often a PASSIVE checkpoint runs while the log holds frames not yet copied.
const INTERVAL: Duration = Duration::from_millis(100);

/// At most this many PASSIVE checkpoints in a row catch up with a log that commits keep
/// extending, before the last frames are copied in the writer turn.
const CATCH_UP_ROUNDS: usize = 4;

/// Frames written during one catch-up copy that are few enough to copy in the writer turn
/// (1 MiB with 4 KiB pages).
const CATCH_UP_FRAMES: i64 = 256;

/// How long nothing must be written before an idle log is cut to zero bytes.
const QUIET: Duration = Duration::from_secs(1);

/// How long the checkpointer's connection waits for a lock (the write lock, or readers of old
/// frames) before it gives up and tries again at the next tick. A TRUNCATE checkpoint keeps
/// new writers out while it waits, so this is the longest stall it may add to a commit.
const BUSY: Duration = Duration::from_millis(100);

/// How long the checkpointer waits after a TRUNCATE that could not finish before it tries
/// another, so that a long reader does not turn its attempts into a train of writer stalls.
const RETRY: Duration = Duration::from_millis(250);

/// Why a checkpoint ran (the `kind` label of `warden_sqlite_checkpoints_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// The background PASSIVE copy, every [`INTERVAL`] while the log holds frames, and its
    /// catch-up rounds.
    Passive,
    /// The last PASSIVE copy of a catch-up, in the writer turn.
    CatchUp,
    /// A TRUNCATE because the log passed half its limit (writers were being held back).
    Bound,
    /// A TRUNCATE of an idle log.
    Idle,
}

/// How a checkpoint ended (the `result` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointResult {
    /// Every frame of the log is in the database file.
    Complete,
    /// Some frames were left: commits went on during a PASSIVE copy (normal under load), or
    /// a reader kept a TRUNCATE from finishing (not normal when it lasts).
    Partial,
    /// SQLite returned an error.
    Failed,
}

impl CheckpointKind {
    pub const ALL: [CheckpointKind; 4] = [
        CheckpointKind::Passive,
        CheckpointKind::CatchUp,
        CheckpointKind::Bound,
        CheckpointKind::Idle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Passive => "passive",
            CheckpointKind::CatchUp => "catch_up",
            CheckpointKind::Bound => "bound",
            CheckpointKind::Idle => "idle",
        }
    }
}

impl CheckpointResult {
    pub const ALL: [CheckpointResult; 3] = [
        CheckpointResult::Complete,
        CheckpointResult::Partial,
        CheckpointResult::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointResult::Complete => "complete",
            CheckpointResult::Partial => "partial",
            CheckpointResult::Failed => "failed",
        }
    }
}

/// What the checkpointer has done since it started, and the log's size now: what `/metrics`
/// exports, and what the tests check to tell which path kept the log bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalStats {
    pub wal_bytes: u64,
    pub limit: u64,
    /// Checkpoints by why they ran and how they ended, every combination listed.
    pub checkpoints: Vec<(CheckpointKind, CheckpointResult, u64)>,
    /// Writer turns held back because the log was past half its limit.
    pub writes_delayed: u64,
}

impl WalStats {
    /// The checkpoints of `kind` that ended in `result`.
    pub fn count(&self, kind: CheckpointKind, result: CheckpointResult) -> u64 {
        self.checkpoints
            .iter()
            .find(|(k, r, _)| *k == kind && *r == result)
            .map_or(0, |(_, _, n)| *n)
    }

    /// The checkpoints of `kind`, however they ended.
    pub fn total(&self, kind: CheckpointKind) -> u64 {
        CheckpointResult::ALL
            .iter()
            .map(|&result| self.count(kind, result))
            .sum()
    }
}

/// The counters behind [`WalStats`], shared by the thread and its handle.
#[derive(Debug, Default)]
struct Counts {
    checkpoints: [[AtomicU64; 3]; 4],
    writes_delayed: AtomicU64,
}

impl Counts {
    fn checkpoint(&self, kind: CheckpointKind, result: CheckpointResult) {
        self.checkpoints[kind as usize][result as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// The handle to the checkpointer thread. The thread ends when [`Checkpointer::stop`] is
/// called or the handle is dropped.
#[derive(Debug)]
pub(super) struct Checkpointer {
    wal: PathBuf,
    limit: Arc<AtomicU64>,
    counts: Arc<Counts>,
    /// A message wakes the thread for a look at the log before its next tick; dropping the
    /// sender wakes it and ends it.
    wake: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens its own connection to `path` (which must exist) and starts the thread, which
    /// keeps the `-wal` file under `limit` bytes. `writer` is the store's in-process writer
    /// queue, taken around every checkpoint that needs the write lock.
    pub(super) fn start(
        path: &str,
        limit: u64,
        writer: Arc<tokio::sync::Mutex<()>>,
    ) -> anyhow::Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening {path} for the checkpointer"))?;
        conn.busy_timeout(BUSY)?;
        let wal = PathBuf::from(format!("{path}-wal"));
        let limit = Arc::new(AtomicU64::new(limit));
        let counts = Arc::new(Counts::default());
        let (wake, woken) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("warden-sqlite-checkpointer".into())
            .spawn({
                let (wal, limit, counts) = (wal.clone(), limit.clone(), counts.clone());
                move || {
                    let shared = Shared {
                        wal: &wal,
                        limit: &limit,
                        counts: &counts,
                        writer: &writer,
                    };
                    run(&conn, &shared, &woken)
                }
            })
            .context("starting the SQLite checkpointer thread")?;
        Ok(Checkpointer {
            wal,
            limit,
            counts,
            wake: Mutex::new(Some(wake)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// True when the log is past half its limit: writes are outrunning the checkpoints, and
    /// the caller should wait before it writes more. Wakes the thread, so the wait is short.
    pub(super) fn congested(&self) -> bool {
        let congested = wal_size(&self.wal) >= self.limit.load(Ordering::Relaxed) / 2;
        if congested {
            if let Ok(Some(wake)) = self.wake.lock().as_deref() {
                let _ = wake.send(());
            }
        }
        congested
    }

    /// Counts one writer turn held back because the log was [`congested`](Self::congested).
    pub(super) fn writer_delayed(&self) {
        self.counts.writes_delayed.fetch_add(1, Ordering::Relaxed);
    }

    /// The log's size now, its bound, and the counters.
    pub(super) fn stats(&self) -> WalStats {
        let mut checkpoints = Vec::with_capacity(12);
        for kind in CheckpointKind::ALL {
            for result in CheckpointResult::ALL {
                let n =
                    self.counts.checkpoints[kind as usize][result as usize].load(Ordering::Relaxed);
                checkpoints.push((kind, result, n));
            }
        }
        WalStats {
            wal_bytes: wal_size(&self.wal),
            limit: self.limit.load(Ordering::Relaxed),
            checkpoints,
            writes_delayed: self.counts.writes_delayed.load(Ordering::Relaxed),
        }
    }

    /// Changes the bound; the thread applies it at its next tick.
    pub(super) fn set_limit(&self, bytes: u64) {
        self.limit.store(bytes, Ordering::Relaxed);
    }

    /// Tells the thread to end, and returns it to be joined (`None` when already stopped). It
    /// ends within one checkpoint, which waits at most [`BUSY`] for each lock.
    pub(super) fn stop(&self) -> Option<JoinHandle<()>> {
        drop(self.wake.lock().map(|mut s| s.take()));
        self.thread.lock().ok().and_then(|mut t| t.take())
    }
}

/// What `PRAGMA wal_checkpoint` reports: whether it was kept from finishing, the frames in the
/// log, and how many of them are now in the database file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    busy: bool,
    log: i64,
    copied: i64,
}

impl Outcome {
    /// True when every frame of the log is in the database file.
    fn complete(self) -> bool {
        !self.busy && self.log >= 0 && self.log == self.copied
    }
}

fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Outcome> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(Outcome {
            busy: row.get::<_, i64>(0)? != 0,
            log: row.get(1)?,
            copied: row.get(2)?,
        })
    })
}

/// The log's size in bytes; a missing file (no writes yet, or all connections closed) is
/// empty.
fn wal_size(wal: &Path) -> u64 {
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// What the thread shares with its handle and the store.
struct Shared<'a> {
    wal: &'a Path,
    limit: &'a AtomicU64,
    counts: &'a Counts,
    /// This process's writer queue, taken around every checkpoint that needs the write lock.
    writer: &'a tokio::sync::Mutex<()>,
}

impl Shared<'_> {
    /// Runs one checkpoint of `kind` and counts it. Every kind but the background PASSIVE
    /// copy runs in this process's writer turn, so no commit of this process adds frames
    /// while it copies the last ones.
    fn checkpoint(&self, conn: &Connection, kind: CheckpointKind) -> rusqlite::Result<Outcome> {
        let mode = match kind {
            CheckpointKind::Passive | CheckpointKind::CatchUp => "PASSIVE",
            CheckpointKind::Bound | CheckpointKind::Idle => "TRUNCATE",
        };
        let outcome = if kind != CheckpointKind::Passive {
            let _turn = self.writer.blocking_lock();
            checkpoint(conn, mode)
        } else {
            checkpoint(conn, mode)
        };
        let result = match &outcome {
            Ok(outcome) if outcome.complete() => CheckpointResult::Complete,
            Ok(_) => CheckpointResult::Partial,
            Err(_) => CheckpointResult::Failed,
        };
        self.counts.checkpoint(kind, result);
        outcome
    }
}

fn run(conn: &Connection, shared: &Shared<'_>, wake: &mpsc::Receiver<()>) {
    // A WAL frame is a page and a 24-byte header; the page size is fixed once the database
    // exists, which it does before the checkpointer starts.
    let frame_bytes = conn
        .query_row("PRAGMA page_size", [], |row| row.get::<_, u64>(0))
        .unwrap_or(4096)
        + 24;
    let mut last_passive = Instant::now();
    // The last PASSIVE checkpoint's report, and since when it has not changed: a complete
    // report that stays the same for [`QUIET`] means nothing is being written.
    let mut previous: Option<Outcome> = None;
    let mut unchanged_since = Instant::now();
    let mut last_error: Option<String> = None;
    let mut over_limit = false;
    let mut retry_at = Instant::now();
    let mut report = |result: rusqlite::Result<Outcome>| match result {
        Ok(outcome) => {
            last_error = None;
            Some(outcome)
        }
        Err(error) => {
            // Logged once per distinct error, not at every tick.
            let text = error.to_string();
            if last_error.as_deref() != Some(&text) {
                tracing::warn!("SQLite checkpoint failed, trying again: {text}");
                last_error = Some(text);
            }
            None
        }
    };
    let mut empty = false;
    loop {
        match wake.recv_timeout(if empty { IDLE_TICK } else { TICK }) {
            // Several waiting writers may each have sent a wake-up: one look serves them all.
            Ok(()) => while wake.try_recv().is_ok() {},
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let size = wal_size(shared.wal);
        empty = size == 0;
        if size == 0 {
            over_limit = false;
            continue;
        }
        let limit = shared.limit.load(Ordering::Relaxed);
        if size > limit && !over_limit {
            tracing::warn!(
                wal.bytes = size,
                wal.limit = limit,
                "the SQLite WAL is over its limit: a reader may be holding an old snapshot"
            );
        }
        over_limit = size > limit;
        let now = Instant::now();
        if size >= limit / 2 {
            // The file grew past half its bound: restarts did not keep up (another process
            // writing beside this one, or a reader holding an old snapshot), and this
            // process's writers are waiting already. Cut the file back in the writer turn.
            if now >= retry_at {
                let truncated = report(shared.checkpoint(conn, CheckpointKind::Bound));
                if !truncated.is_some_and(Outcome::complete) {
                    retry_at = now + RETRY;
                }
                last_passive = now;
                previous = None;
            }
            continue;
        }
        if now.duration_since(last_passive) < INTERVAL {
            continue;
        }
        last_passive = now;
        let Some(outcome) = report(shared.checkpoint(conn, CheckpointKind::Passive)) else {
            continue;
        };
        if Some(outcome) != previous {
            previous = Some(outcome);
            unchanged_since = now;
        }
        let unchanged = now != unchanged_since;
        if outcome.complete() && now.duration_since(unchanged_since) >= QUIET {
            // Nothing was written for a while and every frame is in the database file.
            report(shared.checkpoint(conn, CheckpointKind::Idle));
            previous = None;
            continue;
        }
        // `log` counts the frames since the log last started over.
        if unchanged || u64::try_from(outcome.log).unwrap_or(0) * frame_bytes < limit / 16 {
            continue;
        }
        // The log has not started over for a sixteenth of the limit: commits keep arriving
        // while each copy runs. Copy again what was written during the last copy until that
        // is little, then copy the rest with this process's writers held back.
        let mut known = outcome.log;
        let mut restarted = false;
        for _ in 0..CATCH_UP_ROUNDS {
            let Some(next) = report(shared.checkpoint(conn, CheckpointKind::Passive)) else {
                break;
            };
            let written = next.log - known;
            known = next.log;
            restarted = written < 0;
            if restarted || written <= CATCH_UP_FRAMES {
                break;
            }
        }
        if !restarted {
            report(shared.checkpoint(conn, CheckpointKind::CatchUp));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    use super::{wal_size, CheckpointKind, CheckpointResult, WalStats};
    use crate::audit::NewEvent;
    use crate::storage::{Record, Store};

    /// Small enough that the test's writes (about 16 KiB of log per transaction, 4,000
    /// transactions) fill it several times over. The store's connections never checkpoint by
    /// themselves, so without the checkpointer the log grows past it.
    const LIMIT: u64 = 16 * 1024 * 1024;

    /// The WAL header's salts (bytes 16–23): SQLite draws new ones each time the log starts
    /// over at its first frame, whether the file was cut or reused. (The checkpoint sequence
    /// number beside them is kept per connection, so it does not count restarts another
    /// connection made.)
    fn wal_sequence(wal: &std::path::Path) -> Option<[u8; 8]> {
        use std::io::Read;
        let mut header = [0u8; 24];
        std::fs::File::open(wal)
            .ok()?
            .read_exact(&mut header)
            .ok()?;
        header[16..24].try_into().ok()
    }

    fn record(n: usize) -> Record {
        let at = chrono::Utc::now();
        Record {
            replay_key: Some((format!("slack:wal-{n}"), at.timestamp() + 3600)),
            event: NewEvent {
                tenant: "acme".into(),
                actor: "alice".into(),
                kind: "command.invoked".into(),
                target: "help".into(),
                channel: "slack:C0OPS".into(),
                request_id: format!("req-{n}"),
                details: serde_json::json!({"command": "help", "n": n}),
            },
            at,
        }
    }

    async fn open(url: &str) -> Store {
        let store = Store::connect(url)
            .await
            .unwrap()
            .with_sqlite_wal_limit(LIMIT);
        store.migrate().await.unwrap();
        assert!(
            store.turn.checkpointer.is_some(),
            "a SQLite file gets a checkpointer"
        );
        store
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// `stores` stores on one file (as two replicas would be), each with its own writer
    /// thread and checkpointer, write `transactions` single-record transactions in turn
    /// (with a `pause` after each, if any) while a sampler reads the `-wal` file's size every
    /// millisecond. Returns the largest size seen and each store's counters.
    async fn write_continuously(
        stores: usize,
        transactions: usize,
        pause: Option<Duration>,
    ) -> (u64, Vec<WalStats>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let url = format!("sqlite://{}", path.display());
        let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
        let mut open_stores = Vec::new();
        for _ in 0..stores {
            open_stores.push(open(&url).await);
        }

        let writing = std::sync::Arc::new(AtomicBool::new(true));
        let sampler = std::thread::spawn({
            let (wal, writing) = (wal.clone(), writing.clone());
            move || {
                // The largest size seen, and how often the log started over: proof that
                // the checkpoints kept up with the writes, not that the writes were few.
                let (mut max, mut restarts, mut last) = (0u64, 0u32, None);
                let deadline = Instant::now() + Duration::from_secs(120);
                while writing.load(std::sync::atomic::Ordering::Relaxed)
                    && Instant::now() < deadline
                {
                    max = max.max(wal_size(&wal));
                    let sequence = wal_sequence(&wal);
                    if sequence.is_some() && last.is_some() && sequence != last {
                        restarts += 1;
                    }
                    last = sequence.or(last);
                    std::thread::sleep(Duration::from_millis(1));
                }
                (max, restarts)
            }
        });

        // Every loop is bounded in time as well as in count, so a stuck writer fails the
        // test instead of hanging it.
        let deadline = Instant::now() + Duration::from_secs(90);
        for n in 0..transactions {
            assert!(Instant::now() < deadline, "only {n} transactions in 90 s");
            let written = open_stores[n % stores]
                .record_batch(vec![record(n)])
                .await
                .unwrap();
            assert_eq!(written, [true]);
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        let (max, restarts) = sampler.join().unwrap();
        let stats: Vec<WalStats> = open_stores.iter().filter_map(Store::sqlite_wal).collect();
        eprintln!("{stores} store(s), {transactions} transactions: WAL max {max} bytes, started over {restarts} times; {stats:?}");
        assert!(max <= LIMIT, "the WAL reached {max} bytes, over {LIMIT}");
        assert!(
            restarts >= 3,
            "the WAL started over only {restarts} times: the writes did not exercise the bound"
        );

        // Once writes stop, a quiet interval later the log is copied back and emptied.
        let deadline = Instant::now() + Duration::from_secs(10);
        while wal_size(&wal) > 0 {
            assert!(
                Instant::now() < deadline,
                "the idle WAL still has {} bytes after 10 s",
                wal_size(&wal)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Closing stops the checkpointer promptly; every row is there after reopening, and
        // every replay key is still claimed.
        for store in open_stores {
            tokio::time::timeout(Duration::from_secs(5), store.close())
                .await
                .expect("close returns within 5 s");
        }
        let reopened = open(&url).await;
        let want = i64::try_from(transactions).unwrap();
        let events = "SELECT COUNT(*) FROM audit_events WHERE kind = 'command.invoked'";
        assert_eq!(count(&reopened, events).await, want);
        assert_eq!(
            count(&reopened, "SELECT COUNT(*) FROM replay_keys").await,
            want
        );
        assert_eq!(
            count(
                &reopened,
                "SELECT MAX(seq) FROM audit_heads WHERE tenant = 'acme'"
            )
            .await,
            want
        );
        let replayed = reopened.record_batch(vec![record(0)]).await.unwrap();
        assert_eq!(replayed, [false], "a replay key survives the reopen");
        reopened.close().await;
        (max, stats)
    }

    /// A reader holding an old snapshot keeps every checkpoint from finishing, so the log
    /// cannot start over: past half its bound the store's writes are held back and the
    /// checkpointer's TRUNCATEs cannot complete. Once the reader ends, a TRUNCATE cuts the
    /// file, and writes are no longer held back. Nothing written meanwhile is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_reader_holds_writers_back_until_the_bound_checkpoint_cuts_the_log() {
        const SMALL: u64 = 1024 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let url = format!("sqlite://{}", path.display());
        let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
        let store = open(&url).await.with_sqlite_wal_limit(SMALL);
        let stats = |store: &Store| store.sqlite_wal().expect("a checkpointer");
        let mut n = 0;
        let mut write = |store: &Store| {
            n += 1;
            let record = record(n);
            let store = store.clone();
            async move { assert_eq!(store.record_batch(vec![record]).await.unwrap(), [true]) }
        };
        write(&store).await;

        // Another process's reader (a `sqlite3` shell left in a transaction) pins the
        // snapshot that holds the first record.
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let seen: i64 = reader
            .query_row("SELECT COUNT(*) FROM audit_events", [], |row| row.get(0))
            .unwrap();
        assert_eq!(seen, 1);

        let deadline = Instant::now() + Duration::from_secs(60);
        while wal_size(&wal) < SMALL / 2 {
            assert!(
                Instant::now() < deadline,
                "the log never reached half its bound"
            );
            write(&store).await;
        }
        let before = stats(&store).writes_delayed;
        for _ in 0..3 {
            write(&store).await;
        }
        let held = stats(&store);
        assert!(
            held.writes_delayed >= before + 3,
            "writes past half the bound were not held back: {held:?}"
        );
        assert_eq!(
            held.count(CheckpointKind::Bound, CheckpointResult::Complete),
            0,
            "a TRUNCATE completed beside a reader of old frames: {held:?}"
        );
        let blocked = held.count(CheckpointKind::Bound, CheckpointResult::Partial)
            + held.count(CheckpointKind::Bound, CheckpointResult::Failed);
        assert!(blocked >= 1, "no TRUNCATE was tried: {held:?}");

        // The reader ends: the next TRUNCATE cuts the file.
        reader.execute_batch("COMMIT").unwrap();
        drop(reader);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = stats(&store);
            if now.count(CheckpointKind::Bound, CheckpointResult::Complete) >= 1
                && now.wal_bytes < SMALL / 2
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the log was not cut back: {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let before = stats(&store).writes_delayed;
        for _ in 0..3 {
            write(&store).await;
        }
        assert_eq!(
            stats(&store).writes_delayed,
            before,
            "writes were still held back after the log was cut"
        );

        let events = "SELECT COUNT(*) FROM audit_events WHERE kind = 'command.invoked'";
        assert_eq!(count(&store, events).await, i64::try_from(n).unwrap());
        store.close().await;
    }

    /// Back-to-back single-record commits of a debug build write the log faster than the
    /// background copies follow (about 120 MiB/s here): the bound holds all the same, by
    /// holding writers back (the path `a_stuck_reader_…` checks on its own).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn continuous_writes_keep_the_wal_under_its_bound() {
        write_continuously(1, 4000, None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_stores_on_one_file_share_the_bound() {
        write_continuously(2, 3000, None).await;
    }

    /// At a write rate the background copies can follow (here at most about 16 MiB/s of
    /// log, a quarter of what fills half the bound between two PASSIVE checkpoints), the log
    /// starts over again and again without any TRUNCATE and without holding a single write
    /// back: the bound is kept by the PASSIVE copies and the catch-up, not by the fallback.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_the_copies_keep_up_with_are_never_held_back() {
        let (max, stats) = write_continuously(1, 3000, Some(Duration::from_millis(1))).await;
        let [stats] = &stats[..] else {
            panic!("one store, one checkpointer: {stats:?}")
        };
        assert_eq!(stats.writes_delayed, 0, "writes were held back: {stats:?}");
        assert_eq!(
            stats.total(CheckpointKind::Bound),
            0,
            "the fallback TRUNCATE ran: {stats:?}"
        );
        assert!(max < LIMIT / 2, "the log reached {max} bytes");
        let copied_all = stats.count(CheckpointKind::Passive, CheckpointResult::Complete)
            + stats.count(CheckpointKind::CatchUp, CheckpointResult::Complete);
        assert!(
            copied_all >= 3,
            "the log was copied whole only {copied_all} times: {stats:?}"
        );
    }
}
