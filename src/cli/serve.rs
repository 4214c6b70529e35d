//! `warden serve` and `warden migrate` (with `--copy-from`, the move from SQLite to
//! PostgreSQL).

use std::process::ExitCode;

use anyhow::Context;

use crate::config::{redact_url, Settings};
use crate::storage::{Backend, Store, TableCopy};

/// Runs the server until SIGTERM or Ctrl-C, then shuts down gracefully.
pub(super) async fn serve(settings: Settings) -> ExitCode {
    crate::telemetry::init(&settings);
    let server = match crate::app::start(settings).await {
        Ok(server) => server,
        Err(error) => return super::fail(error),
    };
    wait_for_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    match server.shutdown().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => super::fail(error),
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::warn!("cannot listen for SIGTERM: {error}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Applies pending migrations and exits.
pub(super) async fn migrate(settings: Settings) -> ExitCode {
    let store = match Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await
    {
        Ok(store) => store,
        Err(error) => return super::fail(error),
    };
    match store.migrate().await {
        Ok(()) => {
            println!(
                "migrations applied to {}",
                crate::config::redact_url(&settings.database_url)
            );
            ExitCode::SUCCESS
        }
        Err(error) => super::fail(error),
    }
}

/// `warden migrate --copy-from SQLITE_URL`: migrates the PostgreSQL database of
/// WARDEN_DATABASE_URL, copies every table of the SQLite source into it in one transaction,
/// prints each table's counts, and verifies the audit chain on the copy.
pub(super) async fn copy(settings: Settings, source_url: &str) -> ExitCode {
    if !matches!(
        Backend::of_url(&settings.database_url),
        Ok(Backend::Postgres)
    ) {
        eprintln!(
            "warden: --copy-from copies into PostgreSQL: set WARDEN_DATABASE_URL to the new \
             postgres://… database (it is `{}`)",
            redact_url(&settings.database_url)
        );
        return ExitCode::from(2);
    }
    if !matches!(Backend::of_url(source_url), Ok(Backend::Sqlite)) {
        eprintln!(
            "warden: --copy-from takes the old database as sqlite://PATH, not `{}`",
            redact_url(source_url)
        );
        return ExitCode::from(2);
    }
    copy_and_verify(&settings, source_url)
        .await
        .unwrap_or_else(super::fail)
}

async fn copy_and_verify(settings: &Settings, source_url: &str) -> anyhow::Result<ExitCode> {
    let target_shown = redact_url(&settings.database_url);
    let source = Store::open_copy_source(source_url).await?;
    let target = Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await?;
    target.migrate().await?;
    println!("migrations applied to {target_shown}");
    // Migrations are committed one by one, so a failed copy leaves the target migrated but
    // without a single copied row: it can be run again once the cause is fixed.
    let tables = target
        .copy_from(&source)
        .await
        .context("nothing was copied (rolled back)")?;
    source.close().await;
    println!(
        "copied {} into {target_shown} in one transaction:",
        redact_url(source_url)
    );
    print_counts(&tables);
    let copied_events = tables
        .iter()
        .find(|t| t.table == "audit_events")
        .map_or(0, |t| t.target_rows);
    let verified = target.verify_audit().await;
    target.close().await;
    match verified? {
        Ok(count) if count == copied_events => {
            println!("audit chain verified: {count} events, every tenant intact");
            Ok(ExitCode::SUCCESS)
        }
        Ok(count) => {
            println!("audit chain verified {count} events, but {copied_events} were copied");
            Ok(ExitCode::FAILURE)
        }
        // The copy is committed and holds exactly the source's rows, so the break was
        // already in the source: `warden audit verify` on the old file names the same event.
        Err(broken) => {
            println!("audit chain BROKEN at {broken}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// One line per table; the copy has already failed unless every pair of counts is equal.
fn print_counts(tables: &[TableCopy]) {
    let width = tables
        .iter()
        .map(|t| t.table.len())
        .chain(["total".len()])
        .max()
        .unwrap_or(0);
    println!("  {:<width$} {:>10} {:>10}", "table", "source", "target");
    for t in tables {
        println!(
            "  {:<width$} {:>10} {:>10}",
            t.table, t.source_rows, t.target_rows
        );
    }
    let source: u64 = tables.iter().map(|t| t.source_rows).sum();
    let target: u64 = tables.iter().map(|t| t.target_rows).sum();
    println!("  {:<width$} {source:>10} {target:>10}", "total");
}
