//! `warden audit verify | tail | search | summary | export`.

use std::io::Write;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use chrono::{DateTime, Utc};

use crate::audit::search::{self, SearchFilter};
use crate::config::Settings;
use crate::storage::{AuditQuery, Store};

/// Audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every tenant's hash chain; exit 0, or non-zero naming the first broken event.
    ///
    /// Example: warden audit verify
    Verify,
    /// Print the newest events, oldest first.
    ///
    /// Example: warden audit tail -n 50 --tenant acme
    Tail {
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this kind, e.g. command.refused.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Print the newest events matching every filter given, oldest first.
    ///
    /// Example: warden audit search --tenant acme --command deploy --kind job. --since 24h
    Search {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Events about this command (their target, or the command in their details).
        #[arg(long)]
        command: Option<String>,
        /// Events by this actor.
        #[arg(long)]
        actor: Option<String>,
        /// This kind, or a family: `job.` (or `job`) matches every job.* kind.
        #[arg(long)]
        kind: Option<String>,
        /// From: a duration back from now (24h, 7d), a date (2026-11-01) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Until (excluded), written like --since.
        #[arg(long)]
        until: Option<String>,
        /// How many events, 1 to 500.
        #[arg(short = 'n', long = "last", default_value_t = search::DEFAULT_LAST)]
        last: u32,
    },
    /// Print each tenant's summary (what a digest says) since a time, and whether its chain
    /// verifies.
    ///
    /// Example: warden audit summary --since 24h --tenant acme
    Summary {
        /// From: a duration back from now (24h, 7d), a date (2026-11-01) or an RFC 3339 time.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Only this tenant (default: every tenant with events).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Write every event to stdout, one JSON object a line.
    ///
    /// Example: warden audit export --format jsonl --tenant acme > acme.jsonl
    Export {
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One JSON object a line.
    Jsonl,
}

pub(super) async fn run(cmd: AuditCommand, settings: Settings) -> ExitCode {
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
        AuditCommand::Verify => verify(&store).await,
        AuditCommand::Tail {
            lines,
            tenant,
            kind,
        } => tail(&store, lines, tenant, kind).await,
        AuditCommand::Search {
            tenant,
            command,
            actor,
            kind,
            since,
            until,
            last,
        } => {
            let now = chrono::Utc::now();
            let time = |t: Option<String>| t.map(|t| search::parse_time(&t, now)).transpose();
            match (
                time(since),
                time(until),
                search::parse_last(&last.to_string()),
            ) {
                (Ok(since), Ok(until), Ok(last)) => {
                    let filter = SearchFilter {
                        tenant,
                        command,
                        actor,
                        kind,
                        since,
                        until,
                        last,
                    };
                    search(&store, &filter).await
                }
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    eprintln!("warden: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        AuditCommand::Summary { since, tenant } => {
            let now = chrono::Utc::now();
            match search::parse_time(&since, now) {
                Ok(from) => summary(&store, &settings, from, now, tenant).await,
                Err(e) => {
                    eprintln!("warden: --since {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        AuditCommand::Export { format: _, tenant } => export(&store, tenant).await,
    };
    result.unwrap_or_else(super::fail)
}

async fn verify(store: &Store) -> anyhow::Result<ExitCode> {
    let result = store.verify_audit().await?;
    match result {
        Ok(count) => {
            println!("audit chain verified: {count} events, every tenant intact");
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!("audit chain BROKEN at {broken}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn tail(
    store: &Store,
    lines: u32,
    tenant: Option<String>,
    kind: Option<String>,
) -> anyhow::Result<ExitCode> {
    let events = store
        .audit_events(&AuditQuery {
            tenant,
            kind,
            last: Some(lines),
            ..AuditQuery::default()
        })
        .await?;
    let mut out = std::io::stdout().lock();
    for event in events {
        writeln!(out, "{}", event.to_line())?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn search(store: &Store, filter: &SearchFilter) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for event in store.search_audit(filter).await? {
        writeln!(out, "{}", event.to_line())?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn summary(
    store: &Store,
    settings: &Settings,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    tenant: Option<String>,
) -> anyhow::Result<ExitCode> {
    let tenants = match tenant {
        Some(tenant) => vec![tenant],
        None => store
            .audit_heads()
            .await?
            .into_iter()
            .map(|h| h.tenant)
            .collect(),
    };
    let key = super::digest::link_key(store).await?;
    let mut out = std::io::stdout().lock();
    for (i, tenant) in tenants.iter().enumerate() {
        let link =
            |id| crate::links::job_url(&settings.public_url, &key, tenant, id, now.timestamp());
        let summary = crate::digests::summary_for(store, tenant, from, now, &link).await?;
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", summary.text())?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(store: &Store, tenant: Option<String>) -> anyhow::Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    store
        .for_each_audit_event(tenant.as_deref(), |event| {
            serde_json::to_writer(&mut out, &event.to_export_json())?;
            out.write_all(b"\n")?;
            Ok(())
        })
        .await?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
