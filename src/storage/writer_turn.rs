//! This process's turn to write to SQLite: one queue that the sqlx transactions (from async
//! code) and the SQLite writer thread (from its own OS thread) both wait in, in order.
//!
//! SQLite writers of one process queue here, in order and without sleeping, instead of all
//! issuing `BEGIN IMMEDIATE` and then polling SQLite's busy handler, which sleeps in growing
//! steps and turns contention into multi-millisecond tail latency. PostgreSQL needs no such
//! queue: its advisory lock grants waiters in order, and while the server is down each writer
//! must fail on its own connection attempt rather than wait behind every other writer's.
//!
//! While the WAL is past half its bound (writes outrunning the checkpointer), a turn is handed
//! back and taken again a little later, for at most [`WAL_WAIT`]: the checkpointer needs the
//! turn to cut the log back, and the bound is kept by slowing writers down, never by letting
//! the log grow (see `sqlite_checkpointer.rs`). Checking costs one `stat`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

use super::sqlite_checkpointer::Checkpointer;

/// The longest a SQLite writer waits for the checkpointer to cut a congested WAL back before
/// it writes all the same. A checkpoint that can succeed takes far less; one that cannot (a
/// reader holding an old snapshot) must slow writers, not stop them.
const WAL_WAIT: Duration = Duration::from_millis(200);

/// How long a writer that found the WAL congested waits before it looks again.
const CONGESTED_PAUSE: Duration = Duration::from_millis(2);

/// The queue, and the checkpointer whose log it watches (`None` on PostgreSQL, for in-memory
/// and read-only databases, and with `WARDEN_SQLITE_CHECKPOINT=auto`).
#[derive(Clone, Debug)]
pub(super) struct WriterTurn {
    pub(super) queue: Arc<Mutex<()>>,
    pub(super) checkpointer: Option<Arc<Checkpointer>>,
}

impl WriterTurn {
    /// A queue without a checkpointer.
    pub(super) fn plain() -> WriterTurn {
        WriterTurn {
            queue: Arc::new(Mutex::new(())),
            checkpointer: None,
        }
    }

    /// Takes the turn from async code.
    pub(super) async fn take(&self) -> OwnedMutexGuard<()> {
        let deadline = tokio::time::Instant::now() + WAL_WAIT;
        let mut first = true;
        loop {
            let turn = self.queue.clone().lock_owned().await;
            if tokio::time::Instant::now() >= deadline || !self.congested(first) {
                return turn;
            }
            first = false;
            drop(turn);
            tokio::time::sleep(CONGESTED_PAUSE).await;
        }
    }

    /// Takes the turn from a thread outside the async runtime (the SQLite writer thread); it
    /// must never be called from async code, where it would block a runtime worker.
    pub(super) fn take_blocking(&self) -> MutexGuard<'_, ()> {
        let deadline = Instant::now() + WAL_WAIT;
        let mut first = true;
        loop {
            let turn = self.queue.blocking_lock();
            if Instant::now() >= deadline || !self.congested(first) {
                return turn;
            }
            first = false;
            drop(turn);
            std::thread::sleep(CONGESTED_PAUSE);
        }
    }

    /// Whether the log is congested; the first look of a turn that finds it so counts one
    /// delayed write (`warden_sqlite_writes_delayed_total`).
    fn congested(&self, first: bool) -> bool {
        let Some(checkpointer) = &self.checkpointer else {
            return false;
        };
        let congested = checkpointer.congested();
        if congested && first {
            checkpointer.writer_delayed();
        }
        congested
    }
}
