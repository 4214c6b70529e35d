//! `warden audit verify | tail | export`.

use std::io::Write;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use crate::audit::verify::Verifier;
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
    let store = match Store::connect(&settings.database_url).await {
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
        AuditCommand::Export { format: _, tenant } => export(&store, tenant).await,
    };
    result.unwrap_or_else(super::fail)
}

async fn verify(store: &Store) -> anyhow::Result<ExitCode> {
    let mut verifier = Verifier::default();
    let mut broken = None;
    store
        .for_each_audit_event(None, |event| {
            if broken.is_none() {
                if let Err(b) = verifier.push(&event) {
                    broken = Some(b);
                }
            }
            Ok(())
        })
        .await?;
    let result = match broken {
        Some(b) => Err(b),
        None => verifier.finish(&store.audit_heads().await?),
    };
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
        })
        .await?;
    let mut out = std::io::stdout().lock();
    for event in events {
        writeln!(out, "{}", event.to_line())?;
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
