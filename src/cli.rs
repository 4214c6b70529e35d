//! The command line: one file per subcommand. Each returns an exit code; problems are printed
//! as one clear line each, never with a secret in them.

mod audit;
mod check;
mod demo;
mod digest;
mod manifest;
mod outbox;
mod policy;
mod schedules;
mod secrets;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;

/// warden: chat-ops commands from Slack and Discord, guarded, audited.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    ///
    /// Example: SLACK_SIGNING_SECRET=… warden serve
    Serve,
    /// Apply pending database migrations and exit; with --copy-from, also move a SQLite
    /// deployment's whole history into a new PostgreSQL database.
    ///
    /// Example: WARDEN_DATABASE_URL=sqlite://warden.db warden migrate
    ///
    /// Example: WARDEN_DATABASE_URL=postgres://warden:PASSWORD@db/warden warden migrate
    /// --copy-from sqlite:///var/lib/warden/warden.db
    Migrate {
        /// Copy every table of this SQLite database (sqlite://PATH, opened read-only) into
        /// WARDEN_DATABASE_URL, which must be a new, empty PostgreSQL database. Stop warden
        /// first (every process using the SQLite file): rows written after the copy starts
        /// are not copied. Ids are preserved, everything is copied in one transaction (all or
        /// nothing), then the audit chain is verified on the new database. Refused when the
        /// source lacks a migration or the target already holds rows.
        #[arg(long, value_name = "SQLITE_URL")]
        copy_from: Option<String>,
    },
    /// Validate warden.toml and every command definition; print FILE:LINE: problem for each
    /// problem and exit non-zero when there is any.
    ///
    /// Example: WARDEN_CONFIG=warden.toml warden check
    Check,
    /// Read, search, summarize and verify the audit log.
    ///
    /// Example: warden audit verify
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Inspect, retry or drop outgoing chat messages.
    ///
    /// Example: warden outbox list --status dead
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Post audit digests.
    ///
    /// Example: warden digest send --tenant acme
    #[command(subcommand)]
    Digest(digest::DigestCommand),
    /// Inspect and rotate the keys that seal secret arguments at rest.
    ///
    /// Example: warden secrets status
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Explain the guard's decisions: what `/ops why` answers a caller, who may run a command.
    ///
    /// Example: warden policy who-can deploy env=prod --tenant acme
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Show, pause and resume the scheduled commands of warden.toml.
    ///
    /// Example: warden schedules pause nightly-restart --by alice
    #[command(subcommand)]
    Schedules(schedules::SchedulesCommand),
    /// Play the whole story against the real server, with a fake Slack on loopback.
    ///
    /// Commands, a refusal, a dry run, two approvals, live progress, a failure alert, the
    /// audit log; needs no network, account or configuration.
    ///
    /// Example: warden demo --keep
    Demo {
        /// Keep the server running afterwards (until Ctrl-C), to poke at with curl.
        #[arg(long)]
        keep: bool,
        /// Show the no-public-URL story instead: Slack requests over a fake Socket Mode
        /// WebSocket, a connection refresh and a re-delivered envelope.
        #[arg(long, conflicts_with = "keep")]
        socket_mode: bool,
    },
    /// Print the Slack app manifest or the Discord application commands, from the commands.
    ///
    /// Example: WARDEN_PUBLIC_URL=https://warden.example.com warden manifest slack
    #[command(subcommand)]
    Manifest(manifest::ManifestCommand),
    /// Print a shell completion script.
    ///
    /// Example: warden completions bash > /etc/bash_completion.d/warden
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo builds its own settings: nothing in the environment may change or break it.
    if let Command::Demo { keep, socket_mode } = cli.command {
        return demo::run(keep, socket_mode);
    }
    // Completions need no configuration either.
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "warden", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env(&std::env::vars().collect()) {
        Ok(settings) => settings,
        Err(problems) => {
            for problem in problems {
                eprintln!("warden: {problem}");
            }
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Check => check::run(&settings),
        Command::Manifest(cmd) => manifest::run(cmd, &settings),
        command => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(error) => {
                    eprintln!("warden: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(async move {
                match command {
                    Command::Serve => serve::serve(settings).await,
                    Command::Migrate { copy_from } => match copy_from {
                        Some(source) => serve::copy(settings, &source).await,
                        None => serve::migrate(settings).await,
                    },
                    Command::Audit(cmd) => audit::run(cmd, settings).await,
                    Command::Outbox(cmd) => outbox::run(cmd, settings).await,
                    Command::Digest(cmd) => digest::run(cmd, settings).await,
                    Command::Secrets(cmd) => secrets::run(cmd, settings).await,
                    Command::Policy(cmd) => policy::run(cmd, settings).await,
                    Command::Schedules(cmd) => schedules::run(cmd, settings).await,
                    Command::Check
                    | Command::Manifest(_)
                    | Command::Demo { .. }
                    | Command::Completions { .. } => {
                        unreachable!("handled above")
                    }
                }
            })
        }
    }
}

/// Prints an error chain on one line and returns a failure code.
fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("warden: {error:#}");
    ExitCode::FAILURE
}
