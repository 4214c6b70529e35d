//! The only module that speaks SQL. `Store` owns the connection pool; `Tx` is one write
//! transaction in which a state change, its audit event and (later) its outgoing messages
//! commit together or not at all.
//!
//! Two databases sit behind one set of queries, through sqlx's `Any` driver: SQLite, the
//! embedded default, and PostgreSQL, for several replicas. The queries use `$n` placeholders
//! and SQL both accept; the few that differ (row locks, `SKIP LOCKED`, JSON paths) ask
//! `Backend` for their dialect. Integers are 64-bit on both, booleans are stored as 0/1.
//!
//! Write transactions are serialised on both: SQLite opens them with `BEGIN IMMEDIATE` (so a
//! read-then-write transaction takes the write lock up front instead of failing with
//! "database is locked" when it upgrades), PostgreSQL with one transaction-scoped advisory
//! lock shared by every replica. The one hot write that does not need it, a job claim, uses
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL so that replicas claim in parallel.

mod alerts;
mod approvals;
mod audit;
mod bindings;
mod confirmations;
mod copy;
mod digests;
mod flags;
mod jobs;
mod leases;
mod maintenance;
mod outbox;
mod outbox_dispatch;
mod pages;
mod rate;
mod replay;
mod schedules;
mod sealed;
mod sqlite_checkpointer;
mod sqlite_writer;
mod writer_turn;

pub use alerts::{AlertRow, NewAlert, StormWindow};
pub use approvals::{ApprovalRecord, NewApproval};
pub use audit::AuditQuery;
pub use bindings::RuntimeBinding;
pub use confirmations::{Confirmation, NewConfirmation};
pub use copy::TableCopy;
pub use flags::Flag;
pub use leases::LeaseHolder;
pub use outbox_dispatch::{CardMessage, OutboxRow, OutboxStats, PaceRule};
pub use pages::DashboardRows;
pub use rate::WindowUses;
pub use schedules::SchedulePause;
pub use sealed::Sealed;
pub use sqlite_checkpointer::{
    CheckpointKind, CheckpointResult, WalStats, DEFAULT_SQLITE_WAL_LIMIT,
};
pub use sqlite_writer::Record;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Notify, OwnedMutexGuard};

/// The migrations embedded in the binary, one set per database.
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of the PostgreSQL advisory lock that every write transaction holds until it ends
/// (an arbitrary constant: "warden" in ASCII). It makes writers take turns across replicas
/// exactly as SQLite's single writer lock does, so every read-then-write transaction (a vote
/// counting the votes before it, a rate limit counting uses, a chain head read before its
/// next link) means the same on both databases.
const WRITE_LOCK_KEY: i64 = 0x7761_7264_656e;

/// Which database a `Store` talks to. Queries are written once, in SQL both accept; the few
/// statements that differ ask for their dialect here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a `WARDEN_DATABASE_URL` names.
    pub fn of_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            anyhow::bail!(
                "WARDEN_DATABASE_URL: `{}` is neither sqlite://PATH nor postgres://…",
                crate::config::redact_url(url)
            )
        }
    }

    /// A row lock for a read that a decision follows (`SELECT … FOR UPDATE`). SQLite has no
    /// row locks and needs none: its writer holds the whole database.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// The database handle shared by every request and task.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// This process's turn to write to SQLite (`writer_turn.rs`), and the thread that
    /// checkpoints a SQLite file's WAL in the background and keeps it under its bound
    /// (`sqlite_checkpointer.rs`; `None` on PostgreSQL, for in-memory and read-only
    /// databases, and with `WARDEN_SQLITE_CHECKPOINT=auto`). Where the checkpointer runs,
    /// every connection of this store that commits has SQLite's automatic checkpoint off.
    turn: writer_turn::WriterTurn,
    /// The SQLite writer thread that commits record batches in one hop (`sqlite_writer.rs`);
    /// `None` on PostgreSQL and for in-memory or read-only SQLite databases.
    sqlite_writer: Option<Arc<sqlite_writer::SqliteWriter>>,
    /// Signalled after a transaction that wrote outbox rows commits, so the dispatcher in this
    /// process delivers them at once instead of at its next poll.
    outbox_wake: Arc<Notify>,
    /// The keys that seal secret argument values as rows are inserted (SPEC §16). Storage only
    /// seals, because the row id it seals to is known only here; it never opens.
    keyring: Option<Arc<crate::secrets::Keyring>>,
}

/// One write transaction. Dropping it without `commit` rolls everything back.
pub struct Tx {
    inner: Transaction<'static, Any>,
    backend: Backend,
    pending_audit: Vec<audit::PendingEvent>,
    /// Whether this transaction added outbox rows (so the dispatcher is woken after commit).
    enqueued: bool,
    outbox_wake: Arc<Notify>,
    keyring: Option<Arc<crate::secrets::Keyring>>,
    _writer: Option<OwnedMutexGuard<()>>,
}

/// `($1, $2, …), (…), …`: the VALUES list of a multi-row insert of `rows` rows of `columns`
/// columns. (sqlx's query builder writes `?` placeholders for the Any driver, which
/// PostgreSQL does not accept.)
pub(crate) fn values_list(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// True when the database refused a statement because of the data it was given: a value it
/// cannot store (PostgreSQL's SQLSTATE class 22, e.g. a NUL byte in text, `22021`), a
/// constraint or a trigger (class 23, PL/pgSQL's `P0001`; SQLite's constraint, mismatch,
/// too-big and range errors). Such an error is specific to what one request wrote, so the
/// writer retries the other units of its batch without it. Connection failures, timeouts and
/// lock waits are not data rejections: retrying unit by unit would only multiply the wait.
pub fn is_data_rejection(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .any(|e| match e {
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                data_rejection_code(&code)
            }
            sqlx::Error::Encode(_) => true,
            _ => false,
        })
        || error
            .chain()
            .filter_map(|e| e.downcast_ref::<rusqlite::Error>())
            .any(|e| match e {
                rusqlite::Error::SqliteFailure(failure, _) => {
                    data_rejection_code(&failure.extended_code.to_string())
                }
                rusqlite::Error::ToSqlConversionFailure(_) => true,
                _ => false,
            })
}

/// The error codes of [`is_data_rejection`]: a PostgreSQL SQLSTATE (always five characters),
/// or a numeric SQLite result code (at most four digits).
fn data_rejection_code(code: &str) -> bool {
    if code.len() == 5 {
        return code.starts_with("22") || code.starts_with("23") || code.starts_with("P0");
    }
    // SQLITE_TOOBIG (18), SQLITE_CONSTRAINT (19, also RAISE in a trigger), SQLITE_MISMATCH
    // (20), SQLITE_RANGE (25); an extended code keeps its primary code in the low byte.
    code.parse::<i32>()
        .is_ok_and(|c| matches!(c & 0xff, 18 | 19 | 20 | 25))
}

impl Store {
    /// Opens the database at `url`: `sqlite://PATH` (created if missing), `sqlite::memory:`,
    /// or `postgres://USER:PASSWORD@HOST:PORT/DB`. Does not migrate: call `migrate` (serve
    /// does it at start).
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        Self::connect_with(url, None).await
    }

    /// `connect` with the pool size for PostgreSQL (`WARDEN_DATABASE_MAX_CONNECTIONS`).
    pub async fn connect_with(url: &str, max_connections: Option<u32>) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let shown = crate::config::redact_url(url);
        // The file a SQLite URL names; `None` for PostgreSQL, in-memory and read-only
        // databases, which get neither the writer thread nor the checkpointer.
        let sqlite_file = match backend {
            Backend::Sqlite => sqlite_writer::file_path(url),
            Backend::Postgres => None,
        };
        // `WARDEN_SQLITE_CHECKPOINT=auto` leaves checkpoints to SQLite, inside the commit
        // that fills the log: a switch to compare the two (`cargo bench --bench loadgen`).
        let background_checkpoints = sqlite_file.is_some()
            && std::env::var("WARDEN_SQLITE_CHECKPOINT").map_or(true, |v| v != "auto");
        let pool = match backend {
            Backend::Sqlite => connect_sqlite(url, background_checkpoints).await,
            Backend::Postgres => connect_postgres(url, max_connections.unwrap_or(10)).await,
        }
        .with_context(|| format!("cannot open the database `{shown}`"))?;
        // The pool's connections no longer checkpoint, so without the checkpointer the log
        // would grow without bound: failing to start it fails the whole store.
        let mut turn = writer_turn::WriterTurn::plain();
        turn.checkpointer = match sqlite_file {
            Some(path) if background_checkpoints => Some(Arc::new(
                sqlite_checkpointer::Checkpointer::start(
                    path,
                    DEFAULT_SQLITE_WAL_LIMIT,
                    turn.queue.clone(),
                )
                .with_context(|| format!("cannot checkpoint the database `{shown}`"))?,
            )),
            _ => None,
        };
        // `WARDEN_SQLITE_WRITER=sqlx` keeps every write on the sqlx pool: a switch to compare
        // the two paths (`cargo bench --bench loadgen`) and to fall back if ever needed.
        let thread_wanted = std::env::var("WARDEN_SQLITE_WRITER").map_or(true, |v| v != "sqlx");
        let sqlite_writer = match sqlite_file {
            Some(path) if thread_wanted => {
                sqlite_writer::SqliteWriter::open(path, background_checkpoints, turn.clone())
                    .map(Arc::new)
            }
            _ => None,
        };
        Ok(Store {
            pool,
            backend,
            turn,
            sqlite_writer,
            outbox_wake: Arc::new(Notify::new()),
            keyring: None,
        })
    }

    /// This store, sealing secret argument values with `keyring` as rows are inserted.
    pub fn with_keyring(mut self, keyring: Option<crate::secrets::Keyring>) -> Store {
        self.keyring = keyring.map(Arc::new);
        self
    }

    /// This store, keeping a SQLite file's `-wal` under `bytes` (`WARDEN_SQLITE_WAL_LIMIT`;
    /// [`DEFAULT_SQLITE_WAL_LIMIT`] otherwise). Nothing changes on PostgreSQL.
    pub fn with_sqlite_wal_limit(self, bytes: u64) -> Store {
        if let Some(checkpointer) = &self.turn.checkpointer {
            checkpointer.set_limit(bytes);
        }
        self
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// Applies every pending migration. On PostgreSQL the migrator holds an advisory lock, so
    /// replicas starting together apply each migration once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        // SQLite's migrator takes no lock: when two processes start on one new file, the
        // second may try to apply what the first just applied and fail. Its next attempt
        // finds the migration recorded and skips it.
        let attempts = match self.backend {
            Backend::Sqlite => 5,
            Backend::Postgres => 1,
        };
        let mut attempt = 1;
        loop {
            match self.migrator().run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < attempts => {
                    tracing::warn!("applying migrations failed, trying again: {e}");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(anyhow::Error::new(e).context("applying database migrations")),
            }
        }
    }

    /// True when the database answers and every embedded migration has been applied.
    pub async fn ready(&self) -> anyhow::Result<()> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .context("database unreachable or not migrated")?;
        let expected = self.migrator().iter().count() as i64;
        if applied < expected {
            anyhow::bail!("{applied} of {expected} migrations applied");
        }
        Ok(())
    }

    /// Starts a write transaction that holds the database's write lock from its first
    /// statement: `BEGIN IMMEDIATE` on SQLite, the advisory lock on PostgreSQL.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        let mut writer = None;
        let inner = match self.backend {
            Backend::Sqlite => {
                writer = Some(self.turn.take().await);
                self.pool.begin_with("BEGIN IMMEDIATE").await
            }
            // One round trip: the lock is held from here to the commit, and every round trip
            // inside that span is time every other replica's writer waits. Two limits keep
            // one replica from stalling all the others: a writer gives up after waiting 5 s
            // for the lock (its caller is told the database is unavailable), and a
            // transaction left idle for 10 s (its replica frozen or cut off from the
            // network, which PostgreSQL would otherwise notice only when TCP gives up, hours
            // later) is ended by the server, releasing the lock.
            Backend::Postgres => {
                self.pool
                    .begin_with(format!(
                        "BEGIN; SET LOCAL lock_timeout = '5s'; \
                         SET LOCAL idle_in_transaction_session_timeout = '10s'; \
                         SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"
                    ))
                    .await
            }
        }
        .context("starting a database transaction")?;
        Ok(Tx {
            inner,
            backend: self.backend,
            pending_audit: Vec::new(),
            enqueued: false,
            outbox_wake: self.outbox_wake.clone(),
            keyring: self.keyring.clone(),
            _writer: writer,
        })
    }

    /// Whether `record` and `record_batch` commit on the SQLite writer thread (else callers
    /// write through `begin`).
    pub fn has_writer_thread(&self) -> bool {
        self.sqlite_writer.is_some()
    }

    /// Commits one record on the SQLite writer thread: it claims its replay key, if it has
    /// one, and appends its event. Returns whether it was written (false: a replay, nothing
    /// written). The thread commits the records that queued up together in one transaction,
    /// taking this process's writer turn as a transaction from `begin` does; a record the
    /// database refuses fails alone. Fails when the store has no writer thread (see
    /// `has_writer_thread`).
    pub async fn record(&self, record: Record) -> anyhow::Result<bool> {
        let written = self.record_batch(vec![record]).await?;
        Ok(written.first().copied().unwrap_or(false))
    }

    /// Commits `records` in one transaction on the SQLite writer thread (with other
    /// records queued at the same time): per record, whether it was written. When the
    /// database refuses the transaction, all of `records` fail together.
    pub async fn record_batch(&self, records: Vec<Record>) -> anyhow::Result<Vec<bool>> {
        let Some(thread) = &self.sqlite_writer else {
            anyhow::bail!("this store has no SQLite writer thread");
        };
        // A closed store writes nothing, on either path (the pool refuses `begin` too).
        if self.pool.is_closed() {
            anyhow::bail!("the database pool is closed");
        }
        thread
            .record(records)
            .await
            .context("committing a batch on the SQLite writer thread")
    }

    /// The pool's connections: open, idle, and the most it opens.
    pub fn pool_usage(&self) -> (u32, usize, u32) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        )
    }

    /// The SQLite log's size, bound and checkpoint counters; `None` where no checkpointer
    /// runs (PostgreSQL, in-memory and read-only databases, `WARDEN_SQLITE_CHECKPOINT=auto`).
    pub fn sqlite_wal(&self) -> Option<WalStats> {
        self.turn.checkpointer.as_ref().map(|c| c.stats())
    }

    /// Notified whenever this process committed outbox rows.
    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// Closes the pool, waiting for connections in use to be returned, and stops the
    /// checkpointer, waiting for a checkpoint under way to end.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(thread) = self.turn.checkpointer.as_ref().and_then(|c| c.stop()) {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// SQLite: WAL journal (readers never wait for the writer), `synchronous=NORMAL` (a commit
/// survives a process crash; only a power loss may drop the last transactions), a busy
/// timeout, and memory-mapped reads so hot pages (chain heads, recent replay keys, index
/// pages) stay out of read() system calls. Each pooled connection keeps a page cache of at
/// most 8 MiB: pages of the database file are read through the map and need no copy, so the
/// cache mostly holds pages read back from the WAL, and with 64 MiB per connection (eight
/// of them) the heap under load reached 81 MiB in the 2-minute soak (docs/PERFORMANCE.md). With `background_checkpoints`,
/// the connections never checkpoint: the store's checkpointer thread does.
async fn connect_sqlite(url: &str, background_checkpoints: bool) -> Result<AnyPool, sqlx::Error> {
    let memory = url.contains(":memory:");
    let url = if memory || url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    AnyPoolOptions::new()
        // An in-memory database exists once per connection, so it must use exactly one.
        .max_connections(if memory { 1 } else { 8 })
        // A local file does not go stale the way a network connection does; skipping the
        // ping saves a round trip to the connection thread on every acquire.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // The busy timeout comes first: `journal_mode` needs a lock, and without the
                // timeout already set it fails at once with SQLITE_BUSY while another process
                // (the server, beside a CLI command) checkpoints or writes, which left the new
                // connection broken and the pool timing out.
                conn.execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -8192; PRAGMA mmap_size = 268435456; \
                     PRAGMA temp_store = MEMORY;",
                )
                .await?;
                // Automatic checkpoints are per connection: every connection that commits
                // must turn them off, or the commit that fills the log checkpoints anyway.
                if background_checkpoints {
                    conn.execute("PRAGMA wal_autocheckpoint = 0;").await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
}

/// PostgreSQL: a pool per replica. Connections are checked before use, because a database
/// restart leaves every pooled connection dead, and warden must recover by itself.
async fn connect_postgres(url: &str, max_connections: u32) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(max_connections.max(2))
        .min_connections(1)
        .test_before_acquire(true)
        // While the server is down, sqlx keeps retrying a refused connection until this
        // deadline. Slack wants its answer within 3 s, and the answer during an outage must
        // be warden's own clear error, so a request gives up on the database well before.
        .acquire_timeout(Duration::from_millis(1500))
        .idle_timeout(Duration::from_secs(300))
        .connect(url)
        .await
}

impl Tx {
    /// Writes the buffered audit events, then commits everything written through this
    /// transaction.
    pub async fn commit(mut self) -> anyhow::Result<()> {
        self.flush_audit().await.context("writing audit events")?;
        let wake = self.enqueued.then(|| self.outbox_wake.clone());
        self.inner
            .commit()
            .await
            .context("committing a database transaction")?;
        if let Some(wake) = wake {
            wake.notify_one();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_rejection_codes() {
        let cases = [
            ("22021", true),
            ("22001", true),
            ("23505", true),
            ("P0001", true),
            ("55P03", false),
            ("57P01", false),
            ("08006", false),
            ("25P03", false),
            ("40001", false),
            ("19", true),
            ("1811", true),
            ("2067", true),
            ("5", false),
            ("517", false),
            ("6", false),
            ("", false),
        ];
        for (code, want) in cases {
            assert_eq!(data_rejection_code(code), want, "{code}");
        }
    }

    #[test]
    fn values_lists_number_every_placeholder() {
        assert_eq!(values_list(1, 2), "($1, $2)");
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn the_url_names_the_backend_and_errors_hide_the_password() {
        assert_eq!(
            Backend::of_url("postgres://w:pw@db/w").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://db/w").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("sqlite://warden.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        let error = Backend::of_url("mysql://root:hunter2@db/w")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("postgres://"), "{error}");
    }
}
