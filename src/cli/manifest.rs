//! `warden manifest slack|discord`: the Slack app manifest and the Discord application
//! commands, generated from the command registry, as JSON on stdout.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;

/// Manifest subcommands.
#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// The Slack app manifest (paste it into "Create New App → From an app manifest").
    ///
    /// Example: WARDEN_PUBLIC_URL=https://warden.example.com warden manifest slack
    ///
    /// With --socket-mode: an app that needs no public URL (SLACK_APP_TOKEN, Socket Mode).
    Slack {
        /// Print a Socket Mode manifest: `socket_mode_enabled: true`, no request URLs.
        #[arg(long)]
        socket_mode: bool,
    },
    /// The Discord application commands (register them with a bulk overwrite, PUT
    /// /applications/{id}/commands).
    ///
    /// Example: warden manifest discord > discord-commands.json
    Discord,
}

pub(super) fn run(cmd: ManifestCommand, settings: &Settings) -> ExitCode {
    let registry = match crate::commands::load::load_dir(&settings.commands_dir) {
        Ok(registry) => registry,
        Err(problems) => {
            for problem in problems {
                eprintln!("{problem}");
            }
            return ExitCode::FAILURE;
        }
    };
    let json = match cmd {
        ManifestCommand::Slack { socket_mode: true } => {
            crate::chat::slack::manifest::socket_mode_manifest(&registry, &settings.slack_command)
        }
        ManifestCommand::Slack { socket_mode: false } => {
            if crate::chat::slack::manifest::is_loopback(&settings.public_url) {
                eprintln!(
                    "warning: the manifest's URLs point at {}, which Slack cannot reach; set WARDEN_PUBLIC_URL to the address Slack should call (e.g. https://warden.example.com)",
                    settings.public_url
                );
            }
            crate::chat::slack::manifest::app_manifest(
                &registry,
                &settings.public_url,
                &settings.slack_command,
            )
        }
        ManifestCommand::Discord => crate::chat::discord::commands::application_commands(&registry),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&json).expect("JSON values always serialize")
    );
    ExitCode::SUCCESS
}
