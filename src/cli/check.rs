//! `warden check`: validate the directory and every command definition without starting.

use std::process::ExitCode;

use crate::app::load_definitions;
use crate::config::Settings;

/// Prints each problem as `FILE:LINE: problem` and a one-line summary.
pub(super) fn run(settings: &Settings) -> ExitCode {
    match load_definitions(settings) {
        Ok((directory, registry)) => {
            for binding in &directory.bindings {
                let until = binding
                    .expires
                    .map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default();
                println!(
                    "binding {}: {} is {} in {} for {}{until}",
                    binding.source,
                    binding.subject,
                    binding.role,
                    binding.tenant,
                    binding.environments.join(", "),
                );
            }
            for warning in directory.warnings(chrono::Utc::now()) {
                println!("warning: {warning}");
            }
            let (_, missing) = crate::actions::ActionEnv::capture(&registry, &settings.environment);
            for name in missing {
                println!("warning: a command uses the environment variable {name}, which is not set here");
            }
            let config = settings
                .config_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "no warden.toml".to_string());
            println!(
                "ok: {} commands in {}, {} tenants, {} people, {} bindings ({config})",
                registry.len(),
                settings.commands_dir.display(),
                directory.tenants.len(),
                directory.people.len(),
                directory.bindings.len(),
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems {
                println!("{problem}");
            }
            eprintln!("warden check: {} problem(s)", problems.len());
            ExitCode::FAILURE
        }
    }
}
