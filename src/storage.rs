//! The only module that speaks SQL. `Store` owns the connection pool; `Tx` is one write
//! transaction in which a state change, its audit event and (later) its outgoing messages
//! commit together or not at all.
//!
//! SQLite is the embedded default: WAL journal, a busy timeout, and write transactions opened
//! with `BEGIN IMMEDIATE` so that a read-then-write transaction takes the write lock up front
//! instead of failing with "database is locked" when it tries to upgrade. The queries use `$n`
//! placeholders and portable SQL so that a PostgreSQL backend can sit beside this one.

mod approvals;
mod audit;
mod bindings;
mod confirmations;
mod digests;
mod flags;
mod jobs;
mod maintenance;
mod outbox;
mod outbox_dispatch;
mod rate;
mod replay;

pub use approvals::{ApprovalRecord, NewApproval};
pub use audit::AuditQuery;
pub use bindings::RuntimeBinding;
pub use confirmations::{Confirmation, NewConfirmation};
pub use flags::Flag;
pub use outbox_dispatch::{OutboxRow, OutboxStats};
pub use rate::WindowUses;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

/// The migrations embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The database handle shared by every request and task.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// SQLite has one writer at a time. Writers queue here, in order and without sleeping,
    /// instead of all issuing `BEGIN IMMEDIATE` and then polling SQLite's busy handler, which
    /// sleeps in growing steps and turns contention into multi-millisecond tail latency.
    writer: Arc<Mutex<()>>,
    /// Signalled after a transaction that wrote outbox rows commits, so the dispatcher in this
    /// process delivers them at once instead of at its next poll.
    outbox_wake: Arc<Notify>,
}

/// One write transaction. Dropping it without `commit` rolls everything back.
pub struct Tx {
    inner: Transaction<'static, Sqlite>,
    pending_audit: Vec<audit::PendingEvent>,
    /// Whether this transaction added outbox rows (so the dispatcher is woken after commit).
    enqueued: bool,
    outbox_wake: Arc<Notify>,
    _writer: OwnedMutexGuard<()>,
}

impl Store {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://warden.db` or
    /// `sqlite::memory:`. Does not migrate: call `migrate` (serve does it at start).
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            anyhow::bail!(
                "WARDEN_DATABASE_URL: PostgreSQL is not supported by this build yet; use sqlite://PATH"
            );
        }
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("WARDEN_DATABASE_URL: `{url}` is not a sqlite:// URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            // A 64 MiB page cache and memory-mapped reads keep hot pages (chain heads, recent
            // replay keys, index pages) out of read() system calls on every transaction.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "268435456")
            .foreign_keys(true);
        // An in-memory database exists once per connection, so it must use exactly one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            // A local file does not go stale the way a network connection does; skipping the
            // ping saves a round trip to the connection thread on every acquire.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database `{url}`"))?;
        Ok(Store {
            pool,
            writer: Arc::new(Mutex::new(())),
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying database migrations")?;
        Ok(())
    }

    /// True when the database answers and every embedded migration has been applied.
    pub async fn ready(&self) -> anyhow::Result<()> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.pool)
                .await
                .context("database unreachable or not migrated")?;
        let expected = MIGRATOR.iter().count() as i64;
        if applied < expected {
            anyhow::bail!("{applied} of {expected} migrations applied");
        }
        Ok(())
    }

    /// Starts a write transaction that holds the write lock from its first statement.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        let writer = self.writer.clone().lock_owned().await;
        let inner = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("starting a database transaction")?;
        Ok(Tx {
            inner,
            pending_audit: Vec::new(),
            enqueued: false,
            outbox_wake: self.outbox_wake.clone(),
            _writer: writer,
        })
    }

    /// Notified whenever this process committed outbox rows.
    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
