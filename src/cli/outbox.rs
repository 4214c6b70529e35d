//! `warden outbox list | retry | drop`: the operators' view of outgoing messages. Reply
//! handles are credentials, so they are never printed; message texts are cut short.

use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Subcommand, ValueEnum};

use crate::config::Settings;
use crate::outbox::StoredMessage;
use crate::storage::{OutboxRow, Store};

/// Outbox subcommands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Print outgoing messages: the oldest pending ones, or the newest of another status.
    ///
    /// Example: warden outbox list --status dead -n 20
    List {
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<Status>,
        /// How many rows.
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: u32,
    },
    /// Put a dead-lettered message back in its queue, with a fresh attempt count.
    ///
    /// Example: warden outbox retry 42
    Retry {
        /// The outbox id (the first column of `warden outbox list`).
        id: i64,
    },
    /// Give up on a pending or dead-lettered message for good.
    ///
    /// Example: warden outbox drop 42
    Drop {
        /// The outbox id.
        id: i64,
    },
}

/// The statuses `list` filters on.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Status {
    /// Not delivered yet, waiting for its turn or its next attempt.
    Pending,
    /// Being delivered right now.
    Sending,
    /// Failed for good (dead-lettered).
    Dead,
    /// Delivered.
    Done,
    /// Given up on by an operator.
    Dropped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Dead => "dead",
            Status::Done => "done",
            Status::Dropped => "dropped",
        }
    }
}

pub(super) async fn run(cmd: OutboxCommand, settings: Settings) -> ExitCode {
    let store = match Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await
    {
        Ok(store) => store,
        Err(error) => return super::fail(error),
    };
    if let Err(error) = store.ready().await {
        return super::fail(error.context("the database is not migrated; run `warden migrate`"));
    }
    let result = match cmd {
        OutboxCommand::List { status, lines } => list(&store, status, lines).await,
        OutboxCommand::Retry { id } => retry(&store, id).await,
        OutboxCommand::Drop { id } => drop_row(&store, id).await,
    };
    result.unwrap_or_else(super::fail)
}

async fn list(store: &Store, status: Option<Status>, lines: u32) -> anyhow::Result<ExitCode> {
    let rows = store.outbox_rows(status.map(Status::as_str), lines).await?;
    let now_ms = Utc::now().timestamp_millis();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>6}  {:>7}  {:<10}  {:<6}  {:<22}  {:>3}  {:<7}  {:<60}  TEXT",
        "ID", "AGE", "TENANT", "KIND", "LANE", "TRY", "STATUS", "LAST ERROR"
    )?;
    for row in rows {
        writeln!(out, "{}", line(&row, now_ms))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of `list`, without the reply handles.
fn line(row: &OutboxRow, now_ms: i64) -> String {
    let text = serde_json::from_str::<StoredMessage>(&row.message)
        .map(|m| m.text)
        .unwrap_or_default();
    let kind = if row.kind == "post" && row.reply_to.is_some() {
        "post>r" // a post answered through its fallback reply handle
    } else {
        row.kind.as_str()
    };
    format!(
        "{:>6}  {:>7}  {:<10}  {:<6}  {:<22}  {:>3}  {:<7}  {:<60}  {}",
        row.id,
        age(now_ms - row.created_ms),
        cut(&row.tenant, 10),
        kind,
        cut(&row.lane, 22),
        row.attempts,
        row.status,
        cut(row.last_error.as_deref().unwrap_or("-"), 60),
        cut(&text, 60),
    )
}

/// `45s`, `12m`, `5h`, `3d`.
fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s}s"),
        120..=7_199 => format!("{}m", s / 60),
        7_200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// At most `max` characters on one line.
fn cut(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

async fn retry(store: &Store, id: i64) -> anyhow::Result<ExitCode> {
    if store
        .outbox_requeue(id, Utc::now().timestamp_millis())
        .await?
    {
        println!("outbox #{id} is pending again; a running dispatcher delivers it in its turn");
        return Ok(ExitCode::SUCCESS);
    }
    refused(store, id, "retry", "only a dead message can be retried").await
}

async fn drop_row(store: &Store, id: i64) -> anyhow::Result<ExitCode> {
    if store.outbox_drop(id).await? {
        println!("outbox #{id} dropped: it will not be delivered");
        return Ok(ExitCode::SUCCESS);
    }
    refused(
        store,
        id,
        "drop",
        "only a pending or dead message can be dropped",
    )
    .await
}

async fn refused(store: &Store, id: i64, what: &str, rule: &str) -> anyhow::Result<ExitCode> {
    match store.outbox_row(id).await? {
        None => eprintln!("warden: cannot {what} outbox #{id}: there is no such message"),
        Some(row) => eprintln!(
            "warden: cannot {what} outbox #{id}: it is {} ({rule})",
            row.status
        ),
    }
    Ok(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_cuts() {
        let cases = [
            (0, "0s"),
            (119_000, "119s"),
            (120_000, "2m"),
            (7_200_000, "2h"),
        ];
        for (ms, expect) in cases {
            assert_eq!(age(ms), expect);
        }
        assert_eq!(age(3 * 86_400_000), "3d");
        assert_eq!(cut("a\nb  c", 10), "a b c");
        assert_eq!(cut("abcdef", 3), "abc…");
    }
}
