//! `warden policy explain` and `warden policy who-can` (SPEC §17): the guard's view of a
//! caller or of a command, for admins, from the config and the grants in the database.

use std::process::ExitCode;

use clap::Subcommand;

use crate::app::load_definitions;
use crate::chat::{ArgsInput, Invocation};
use crate::config::Settings;
use crate::guard::{self, Context};
use crate::model::{Platform, PlatformUser};
use crate::policy;

/// Policy subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// What `/ops why` would answer this caller: each guard step's verdict for the command and
    /// arguments, the caller's bindings, and what would let them run it. Runs nothing.
    ///
    /// Example: warden policy explain --as slack:T01/U01ALICE deploy api v1.2.3 env=prod
    Explain {
        /// The caller, PLATFORM:TEAM/USER (slack:T01/U01, discord:GUILD/USER) or
        /// console:TENANT/PERSON.
        #[arg(long = "as", value_name = "PLATFORM:TEAM/USER")]
        caller: String,
        /// The command.
        command: String,
        /// Its arguments, as typed after the command in Slack.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Who may run a command now, through which binding, until when (config and run-time
    /// grants).
    ///
    /// Example: warden policy who-can deploy env=prod --tenant acme
    WhoCan {
        /// The command.
        command: String,
        /// `env=ENV`: the environment to ask about (default: each one the command can run in).
        env: Option<String>,
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub(super) async fn run(cmd: PolicyCommand, settings: Settings) -> ExitCode {
    let (directory, registry) = match load_definitions(&settings) {
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
    let runtime = match crate::service::runtime_bindings(&store, now).await {
        Ok(runtime) => runtime,
        Err(error) => return super::fail(error),
    };
    let ctx = Context {
        directory: &directory,
        registry: &registry,
        root: &settings.slack_command,
        runtime_bindings: &runtime,
        can_seal: settings.encryption.is_some(),
        help_cache: None,
    };
    match cmd {
        PolicyCommand::Explain {
            caller,
            command,
            args,
        } => {
            let Some(user) = parse_caller(&caller) else {
                eprintln!("warden: `{caller}` is not PLATFORM:TEAM/USER, e.g. slack:T01/U01ALICE");
                return ExitCode::from(2);
            };
            let text = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
            let inv = Invocation {
                request_id: format!("cli-{}", uuid::Uuid::new_v4()),
                transport: crate::chat::Transport::Local,
                platform: user.platform,
                workspace: user.workspace.clone(),
                user,
                user_name: None,
                channel: None,
                command: "why".into(),
                input: ArgsInput::Text(format!("{command} {text}")),
                replay_key: None,
                reply: None,
                thread: None,
            };
            // The same path as `/ops why`: the guard's `why`, then the rate-limit count.
            match guard::prepare(&ctx, &inv, now) {
                guard::Prepared::Why(mut why) => {
                    if let Err(error) = crate::service::count_uses(&store, &mut why, now).await {
                        return super::fail(error);
                    }
                    println!("{}", why.render(&settings.slack_command));
                    ExitCode::SUCCESS
                }
                guard::Prepared::Refused(refusal) => {
                    println!("{}", refusal.reply_text());
                    ExitCode::FAILURE
                }
                _ => ExitCode::FAILURE,
            }
        }
        PolicyCommand::WhoCan {
            command,
            env,
            tenant,
        } => who_can(&ctx, &command, env.as_deref(), tenant.as_deref(), now),
    }
}

fn who_can(
    ctx: &Context<'_>,
    command: &str,
    env: Option<&str>,
    only: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> ExitCode {
    let Some(spec) = ctx.registry.get(command) else {
        eprintln!("warden: there is no command `{command}`");
        return ExitCode::from(2);
    };
    let env = match env.map(|e| e.strip_prefix("env=").unwrap_or(e)) {
        Some(e) => Some(vec![e.to_string()]),
        None => spec.possible_environments(),
    };
    if let Some(only) = only {
        if !ctx.directory.tenants.contains_key(only) {
            eprintln!("warden: there is no tenant `{only}`");
            return ExitCode::from(2);
        }
    }
    let environments: Vec<Option<String>> = match env {
        None => vec![None],
        Some(list) => list.into_iter().map(Some).collect(),
    };
    println!(
        "who may run `{command}` (needs `{}`) at {}:",
        spec.role,
        now.format("%Y-%m-%d %H:%M UTC")
    );
    for tenant in ctx.directory.tenants.keys() {
        if only.is_some_and(|o| o != tenant) {
            continue;
        }
        for environment in &environments {
            let where_ = environment
                .as_ref()
                .map(|e| format!(" in `{e}`"))
                .unwrap_or_default();
            let allowed = policy::who_can(
                ctx.directory,
                ctx.runtime_bindings,
                tenant,
                spec.role,
                environment.as_deref(),
                now,
            );
            println!("tenant `{tenant}`{where_}: {} principal(s)", allowed.len());
            for a in allowed {
                let until = a
                    .until
                    .map(|t| format!("until {}", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_else(|| "no expiry".to_string());
                println!(
                    "  {} ({}): {} in {} via {} ({}), {until}",
                    a.who,
                    a.identity,
                    a.role,
                    a.environments.join(", "),
                    a.subject,
                    a.source
                );
            }
        }
    }
    ExitCode::SUCCESS
}

/// `slack:TEAM/USER`, `discord:GUILD/USER` or `console:TENANT/NAME`.
fn parse_caller(s: &str) -> Option<PlatformUser> {
    let (platform, rest) = s.split_once(':')?;
    let platform = match platform {
        "slack" => Platform::Slack,
        "discord" => Platform::Discord,
        "console" => Platform::Console,
        _ => return None,
    };
    PlatformUser::parse(platform, rest).ok()
}

/// Quotes a shell argument again for the chat grammar, so that `/ops why` sees exactly the
/// values given on the command line (an apostrophe, an empty value and Slack's smart quotes
/// included).
fn quote(arg: &str) -> String {
    crate::commands::args::quote_token(arg)
}

#[cfg(test)]
mod tests {
    use super::quote;
    use crate::commands::args::split_command_text;

    /// Every shell argument reaches `/ops why` as the same value: before, `it's` opened a quote
    /// that never closed and an empty value disappeared.
    #[test]
    fn policy_explain_arguments_reach_the_grammar_unchanged() {
        let args = [
            "it's",
            "",
            "reason=it's broken",
            "a\\b",
            "say \"hi\"",
            "“x”",
            "--dry-run",
        ];
        let text = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        assert_eq!(split_command_text(&text).unwrap(), args);
    }
}
