//! `warden schedules list|pause|resume NAME` (SPEC §17): show and control the scheduled
//! commands of `warden.toml`. Pausing and resuming are audited and take effect on every replica
//! at its next tick (within a second).

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;

/// Schedules subcommands.
#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// Every schedule: when, what as whom, where, paused or not, last and next run.
    ///
    /// Example: warden schedules list --tenant acme
    List {
        /// Only this tenant's schedules.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Stop a schedule from running until it is resumed (audited as `schedule.paused`).
    ///
    /// Example: warden schedules pause nightly-restart --by alice
    Pause {
        /// The schedule's name.
        name: String,
        /// Who pauses it, for the audit log.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Let a paused schedule run again from its next slot (audited as `schedule.resumed`); the
    /// slots missed while it was paused are not caught up.
    ///
    /// Example: warden schedules resume nightly-restart --by alice
    Resume {
        /// The schedule's name.
        name: String,
        /// Who resumes it, for the audit log.
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

pub(super) async fn run(cmd: SchedulesCommand, settings: Settings) -> ExitCode {
    let (directory, _) = match crate::app::load_definitions(&settings) {
        Ok(loaded) => loaded,
        Err(problems) => {
            for problem in problems {
                eprintln!("warden: {problem}");
            }
            return ExitCode::from(2);
        }
    };
    let store = match super::digest::open(&settings).await {
        Ok(store) => store,
        Err(error) => return super::fail(error),
    };
    let now = chrono::Utc::now();
    let (name, by, paused) = match cmd {
        SchedulesCommand::List { tenant } => {
            return match crate::service::list_schedules(
                &store,
                &directory.schedules,
                tenant.as_deref(),
                now,
            )
            .await
            {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => super::fail(error),
            };
        }
        SchedulesCommand::Pause { name, by } => (name, by, true),
        SchedulesCommand::Resume { name, by } => (name, by, false),
    };
    let Some(schedule) = directory.schedules.iter().find(|s| s.name == name) else {
        eprintln!("warden: there is no schedule `{name}` in warden.toml");
        return ExitCode::from(2);
    };
    match crate::service::set_schedule_paused(&store, schedule, &by, paused, now).await {
        Ok(changed) => {
            let (verb, already) = if paused {
                ("paused", "was already paused")
            } else {
                ("resumed", "was not paused")
            };
            if changed {
                println!(
                    "schedule `{name}` {verb} (audited); every replica sees it within a second"
                );
            } else {
                println!("schedule `{name}` {already}; nothing changed");
            }
            ExitCode::SUCCESS
        }
        Err(error) => super::fail(error),
    }
}
