//! The SQLite writer thread: one long-lived connection that commits a whole batch of
//! "record this event, claim this replay key" units in one call.
//!
//! Through sqlx every statement of a transaction is a round trip between a tokio worker and
//! the connection's own thread, and a batch runs on whichever pooled connection is idle, whose
//! page cache is then stale. Here the batch crosses threads once: it is sent over a channel,
//! this thread runs `BEGIN IMMEDIATE` … `COMMIT` synchronously with cached prepared
//! statements, and the outcomes go back in one message. The connection stays open, so its
//! page cache stays warm.
//!
//! It changes none of the guarantees:
//! - one transaction per batch, opened with `BEGIN IMMEDIATE`, so SQLite's file lock still
//!   serialises writers across processes on one file, and `Store::record_batch` holds the
//!   store's in-process writer queue while the batch runs, as a sqlx transaction does;
//! - a replay key is claimed by the first unit that carries it, and a unit whose key was
//!   claimed before writes nothing;
//! - audit events are chained by `audit::link`, the same code the sqlx transaction uses, and
//!   each tenant's head is read and moved inside the transaction;
//! - nothing is answered before `COMMIT` returned; an error rolls the whole batch back.
//!
//! rusqlite links the same `libsqlite3-sys` (bundled) as sqlx, so both speak to one SQLite
//! library, and the schema is the one sqlx's migrations created: this thread never migrates.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use super::audit::{link, PendingEvent};
use crate::audit::chain::GENESIS;
use crate::audit::NewEvent;

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
}

impl SqliteWriter {
    /// Opens `path` (which must exist: sqlx created it) and starts the thread. `None` when
    /// the file cannot be opened read-write; the store then writes through sqlx alone. With
    /// `background_checkpoints` its commits never checkpoint (the checkpointer thread does).
    pub(super) fn open(path: &str, background_checkpoints: bool) -> Option<SqliteWriter> {
        let conn = match open_connection(path, background_checkpoints) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!("the SQLite writer thread is off, writing through sqlx: {error:#}");
                return None;
            }
        };
        let (jobs, receiver) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("warden-sqlite-writer".into())
            .spawn(move || run(conn, receiver));
        match spawned {
            Ok(_) => Some(SqliteWriter { jobs }),
            Err(error) => {
                tracing::warn!("cannot start the SQLite writer thread: {error}");
                None
            }
        }
    }

    /// Commits `records` in one transaction and returns, per record, whether it was written
    /// (false: its replay key had been claimed already, nothing was written for it).
    pub(super) async fn record(&self, records: Vec<Record>) -> anyhow::Result<Vec<bool>> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { records, done })
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?;
        outcome
            .await
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?
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
    conn.busy_timeout(Duration::from_secs(5))?;
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

fn run(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(Job { records, done }) = jobs.recv() {
        let _ = done.send(commit(&mut conn, records));
    }
}

/// One batch, one transaction: claim each key in order, chain the events of the units that
/// claimed theirs, move the heads, commit.
pub(super) fn commit(conn: &mut Connection, records: Vec<Record>) -> anyhow::Result<Vec<bool>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut written = Vec::with_capacity(records.len());
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
            let pending = PendingEvent::new(record.event, record.at);
            if !heads.contains_key(pending.tenant()) {
                let head: Option<(i64, String)> = read_head
                    .query_row([pending.tenant()], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                heads.insert(
                    pending.tenant().to_string(),
                    head.unwrap_or((0, GENESIS.to_string())),
                );
            }
            let head = heads.get_mut(pending.tenant()).expect("inserted above");
            let e = link(head, pending)?;
            insert.execute(params![
                e.tenant,
                e.seq,
                e.at,
                e.actor,
                e.kind,
                e.target,
                e.channel,
                e.request_id,
                e.details,
                e.prev_hash,
                e.hash
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
