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
            for s in &directory.schedules {
                println!(
                    "schedule `{}` {}:{}: `{}` as {} in {}, {} (access is checked at every run)",
                    s.name,
                    s.file.display(),
                    s.line,
                    s.command,
                    s.run_as,
                    s.tenant,
                    s.schedule,
                );
            }
            for r in &directory.alert_routes {
                let actions: Vec<&str> = r.actions.iter().map(|a| a.label.as_str()).collect();
                println!(
                    "alert route {} {}:{}: alerts from `{}` to {} in {} (storm {} a minute), actions: {}",
                    r.index + 1,
                    r.file.file_name().unwrap_or(r.file.as_os_str()).to_string_lossy(),
                    r.line,
                    r.source,
                    r.channel,
                    r.tenant,
                    r.storm,
                    if actions.is_empty() { "none".to_string() } else { actions.join(", ") },
                );
            }
            if let Err(error) = crate::app::alert_credentials(&directory, &settings.environment) {
                println!("warning: {error}; warden serve will not start without it");
            }
            for warning in directory.warnings(chrono::Utc::now()) {
                println!("warning: {warning}");
            }
            let (_, missing) = crate::actions::ActionEnv::capture(&registry, &settings.environment);
            for name in missing {
                println!("warning: a command uses the environment variable {name}, which is not set here");
            }
            // Without a key, commands with secret arguments are refused at run time (SPEC
            // §16): each is a problem to fix before it bites someone.
            let mut unsealable = 0;
            if settings.encryption.is_none() {
                for spec in registry.iter() {
                    let secret: Vec<&str> = spec
                        .args
                        .iter()
                        .filter(|a| a.secret)
                        .map(|a| a.name.as_str())
                        .collect();
                    if !secret.is_empty() {
                        unsealable += 1;
                        println!(
                            "{}:{}: `{}` has secret arguments ({}), but WARDEN_ENCRYPTION_KEYS is not set, so warden refuses it",
                            spec.file.display(),
                            spec.line,
                            spec.name,
                            secret.join(", ")
                        );
                    }
                }
            }
            if unsealable > 0 {
                eprintln!("warden check: {unsealable} problem(s)");
                return ExitCode::FAILURE;
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
