//! Scheduled commands (`[[schedules]]`, SPEC §17), pure: which slot is due (the digests' slot
//! arithmetic, plus `every DURATION`), the ordinary [`Invocation`] a run is, and the checks
//! that need the command registry as well as the directory.
//!
//! A run is an invocation from the configured principal through the whole guard, like a typed
//! command: a revoked or expired principal is refused. Its replay key names the slot
//! (`schedule:NAME:SLOT_MS`), and the slot is claimed in the transaction that records the run,
//! so a slot acts once however many replicas tick.
//!
//! Architecture invariant: no IO and no clock; `service::schedules` does the IO.

use chrono::{DateTime, Utc};

use crate::chat::{ArgsInput, Invocation};
use crate::commands::{args, registry, Registry};
use crate::config::{Directory, ScheduledCommand};
use crate::model::{Platform, PlatformUser, Problem, Subject};

/// What a schedule should do at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing: its latest slot already fired.
    Nothing,
    /// First seen: record the current slot without firing (a slot from before the schedule
    /// existed is not a missed one).
    Baseline(DateTime<Utc>),
    /// Fire this slot: the latest one, once, however many were missed.
    Fire(DateTime<Utc>),
}

/// What `schedule` should do at `now`, given the latest slot recorded for it.
pub fn due(schedule: &ScheduledCommand, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Due {
    match last {
        None => Due::Baseline(crate::digests::latest_slot(&schedule.schedule, now)),
        Some(_) => match crate::digests::due(&schedule.schedule, last, now) {
            Some(slot) => Due::Fire(slot),
            None => Due::Nothing,
        },
    }
}

/// The replay key of a slot's run.
pub fn replay_key(schedule: &ScheduledCommand, slot: DateTime<Utc>) -> String {
    format!("schedule:{}:{}", schedule.name, slot.timestamp_millis())
}

/// The identity a schedule acts through: a person acts through the console of the tenant
/// (their bindings apply, as for anyone at the console), a raw identity as itself.
pub fn principal_user(schedule: &ScheduledCommand) -> PlatformUser {
    match &schedule.run_as {
        Subject::User(user) => user.clone(),
        Subject::Person(name) | Subject::Group(name) => PlatformUser {
            platform: Platform::Console,
            workspace: schedule.tenant.clone(),
            user: name.clone(),
        },
    }
}

/// The ordinary invocation a slot's run is.
pub fn invocation(schedule: &ScheduledCommand, slot: DateTime<Utc>) -> Invocation {
    let user = principal_user(schedule);
    let (command, rest) = schedule
        .command
        .split_once(char::is_whitespace)
        .unwrap_or((schedule.command.as_str(), ""));
    Invocation {
        request_id: format!("schedule-{}-{}", schedule.name, slot.timestamp_millis()),
        transport: crate::chat::Transport::Local,
        platform: user.platform,
        workspace: user.workspace.clone(),
        user,
        user_name: None,
        channel: Some(schedule.channel.to_string()),
        command: command.to_string(),
        input: ArgsInput::Text(rest.trim().to_string()),
        replay_key: Some(replay_key(schedule, slot)),
        reply: None,
        thread: None,
    }
}

/// The problems of `[[schedules]]` that need the registry: the command must be a registered
/// command (not a built-in) whose arguments parse, and a raw identity must belong to the
/// schedule's tenant. Access is not checked here: it is checked at every run.
pub fn check(directory: &Directory, registry: &Registry) -> Vec<Problem> {
    let mut problems = Vec::new();
    for schedule in &directory.schedules {
        let problem = |message: String| Problem::at(&schedule.file, schedule.line, message);
        let name = schedule
            .command
            .split_whitespace()
            .next()
            .unwrap_or_default();
        let inv = invocation(schedule, DateTime::UNIX_EPOCH);
        match registry.get(name) {
            None if registry::is_reserved(name) => problems.push(problem(format!(
                "schedule `{}`: `{name}` is a built-in; a schedule runs a command from the commands folder",
                schedule.name
            ))),
            None => problems.push(problem(format!(
                "schedule `{}`: there is no command `{name}`",
                schedule.name
            ))),
            Some(spec) => {
                let ArgsInput::Text(text) = &inv.input else {
                    continue;
                };
                let parsed = args::split_command_text(text)
                    .and_then(|tokens| args::parse_raw(&tokens))
                    .map_err(|e| e.to_string())
                    .and_then(|raw| args::parse_args(spec, &raw).map_err(|e| e.to_string()));
                if let Err(error) = parsed {
                    problems.push(problem(format!(
                        "schedule `{}`: `{}`: {error}",
                        schedule.name, schedule.command
                    )));
                }
            }
        }
        if let Subject::User(user) = &schedule.run_as {
            let tenant = crate::policy::tenant_for(directory, user.platform, &user.workspace);
            if tenant.is_none_or(|t| t.name != schedule.tenant) {
                problems.push(problem(format!(
                    "schedule `{}`: run_as `{user}` is not an identity of tenant `{}`",
                    schedule.name, schedule.tenant
                )));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests;
