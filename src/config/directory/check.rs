//! The semantic checks of `warden.toml`: [`Checker`] and one function per table, turning the raw
//! file into the parts of a [`Directory`](super::Directory) and collecting every problem with its
//! line.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, Utc};
use toml::Spanned;

use super::raw::{OneOrMany, RawBinding, RawDigest, RawPerson, RawSchedule, RawTenant};
use super::{Binding, Digest, Person, Schedule, ScheduledCommand, Tenant};
use crate::model::{is_name, line_of, ChannelRef, Platform, PlatformUser, Problem, Role, Subject};

/// Collects problems with their lines while the raw file is turned into a
/// [`Directory`](super::Directory).
pub(super) struct Checker<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    pub(super) problems: Vec<Problem>,
}

impl Checker<'_> {
    pub(super) fn line(&self, span: Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    pub(super) fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.problems.push(Problem::at(self.path, line, message));
    }
}

/// Sorts map entries by where they appear in the file, so that a duplicate is reported on the
/// later occurrence, the one the reader most likely just added.
fn in_file_order<V>(map: BTreeMap<Spanned<String>, V>) -> Vec<(Spanned<String>, V)> {
    let mut entries: Vec<_> = map.into_iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

pub(super) fn check_people(
    cx: &mut Checker<'_>,
    raw: BTreeMap<Spanned<String>, RawPerson>,
) -> BTreeMap<String, Person> {
    let mut people = BTreeMap::new();
    let mut linked: HashMap<PlatformUser, (String, usize)> = HashMap::new();
    for (name, person) in in_file_order(raw) {
        if !is_name(name.get_ref()) {
            cx.problem(
                name.span(),
                format!(
                    "person name `{}` must be lowercase letters, digits, `_` or `-`",
                    name.get_ref()
                ),
            );
        }
        let mut written: Vec<(Platform, String, Range<usize>)> = Vec::new();
        for (platform, field) in [
            (Platform::Slack, person.slack),
            (Platform::Discord, person.discord),
        ] {
            match field {
                None => {}
                Some(spanned) => {
                    let span = spanned.span();
                    match spanned.into_inner() {
                        OneOrMany::One(s) => written.push((platform, s, span)),
                        OneOrMany::Many(items) => written.extend(
                            items
                                .into_iter()
                                .map(|i| (platform, i.get_ref().clone(), i.span())),
                        ),
                    }
                }
            }
        }
        let mut identities = Vec::new();
        for (platform, s, span) in written {
            let user = match PlatformUser::parse(platform, &s) {
                Ok(user) => user,
                Err(e) => {
                    cx.problem(span, e);
                    continue;
                }
            };
            let numeric = |v: &str| v.chars().all(|c| c.is_ascii_digit());
            if platform == Platform::Discord && !(numeric(&user.workspace) && numeric(&user.user)) {
                cx.problem(
                    span,
                    format!("`{s}`: Discord guild and user ids are numbers"),
                );
                continue;
            }
            let line = cx.line(span.clone());
            if let Some((other, other_line)) = linked.get(&user) {
                cx.problem(
                    span,
                    format!("{user} is already linked to person `{other}` (line {other_line})"),
                );
                continue;
            }
            linked.insert(user.clone(), (name.get_ref().clone(), line));
            identities.push(user);
        }
        let name = name.into_inner();
        let display_name = person.display_name.filter(|d| !d.trim().is_empty());
        people.insert(
            name.clone(),
            Person {
                name,
                display_name,
                identities,
            },
        );
    }
    people
}

pub(super) fn check_groups(
    cx: &mut Checker<'_>,
    raw: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    people: &BTreeMap<String, Person>,
) -> BTreeMap<String, Vec<String>> {
    let mut groups = BTreeMap::new();
    for (name, members) in in_file_order(raw) {
        if !is_name(name.get_ref()) {
            cx.problem(
                name.span(),
                format!(
                    "group name `{}` must be lowercase letters, digits, `_` or `-`",
                    name.get_ref()
                ),
            );
        }
        for member in &members {
            if !people.contains_key(member.get_ref()) {
                cx.problem(
                    member.span(),
                    format!(
                        "group `{}` lists unknown person `{}`",
                        name.get_ref(),
                        member.get_ref()
                    ),
                );
            }
        }
        groups.insert(
            name.into_inner(),
            members.into_iter().map(Spanned::into_inner).collect(),
        );
    }
    groups
}

/// Parses a subject and checks that the person or group it names is declared.
fn check_subject(
    cx: &mut Checker<'_>,
    written: &Spanned<String>,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> Option<Subject> {
    let subject: Subject = match written.get_ref().parse() {
        Ok(s) => s,
        Err(e) => {
            cx.problem(written.span(), e);
            return None;
        }
    };
    match &subject {
        Subject::Person(p) if !people.contains_key(p) => {
            cx.problem(written.span(), format!("unknown person `{p}`"));
            None
        }
        Subject::Group(g) if !groups.contains_key(g) => {
            cx.problem(written.span(), format!("unknown group `{g}`"));
            None
        }
        _ => Some(subject),
    }
}

pub(super) fn check_channel(
    cx: &mut Checker<'_>,
    field: &str,
    written: Option<Spanned<String>>,
) -> Option<ChannelRef> {
    let written = written?;
    written
        .get_ref()
        .parse()
        .map_err(|e| cx.problem(written.span(), format!("{field}: {e}")))
        .ok()
}

pub(super) fn check_tenants(
    cx: &mut Checker<'_>,
    raw: BTreeMap<Spanned<String>, RawTenant>,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Tenant> {
    let mut tenants = BTreeMap::new();
    let mut teams: HashMap<String, (String, usize)> = HashMap::new();
    let mut guilds: HashMap<String, (String, usize)> = HashMap::new();
    for (name, t) in in_file_order(raw) {
        let tenant_name = name.get_ref().clone();
        if !is_name(&tenant_name) {
            cx.problem(
                name.span(),
                format!(
                    "tenant name `{tenant_name}` must be lowercase letters, digits, `_` or `-`"
                ),
            );
        }
        if t.slack_team.is_none() && t.discord_guild.is_none() {
            cx.problem(
                name.span(),
                format!("tenant `{tenant_name}` needs a slack_team, a discord_guild or both"),
            );
        }
        for (field, value, seen) in [
            ("slack_team", &t.slack_team, &mut teams),
            ("discord_guild", &t.discord_guild, &mut guilds),
        ] {
            let Some(value) = value else { continue };
            let id = value.get_ref();
            let well_formed = if field == "discord_guild" {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())
            } else {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
            };
            if !well_formed {
                cx.problem(value.span(), format!("{field} `{id}` is not a valid id"));
                continue;
            }
            if let Some((other, line)) = seen.get(id) {
                cx.problem(
                    value.span(),
                    format!("{field} `{id}` is already used by tenant `{other}` (line {line})"),
                );
                continue;
            }
            let line = cx.line(value.span());
            seen.insert(id.clone(), (tenant_name.clone(), line));
        }
        let alert_channel = check_channel(cx, "alert_channel", t.alert_channel);
        let audit_channel = check_channel(cx, "audit_channel", t.audit_channel);
        let breakglass = t
            .breakglass
            .iter()
            .filter_map(|s| check_subject(cx, s, people, groups))
            .collect();
        tenants.insert(
            tenant_name.clone(),
            Tenant {
                name: tenant_name,
                slack_team: t.slack_team.map(Spanned::into_inner),
                discord_guild: t.discord_guild.map(Spanned::into_inner),
                alert_channel,
                audit_channel,
                breakglass,
            },
        );
    }
    tenants
}

pub(super) fn check_bindings(
    cx: &mut Checker<'_>,
    raw: Vec<Spanned<RawBinding>>,
    tenants: &BTreeMap<String, Tenant>,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> Vec<Binding> {
    let file_name = cx
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| cx.path.display().to_string());
    let mut bindings = Vec::new();
    for spanned in raw {
        let line = cx.line(spanned.span());
        let b = spanned.into_inner();
        let subject = check_subject(cx, &b.subject, people, groups);
        if !tenants.contains_key(b.tenant.get_ref()) {
            cx.problem(
                b.tenant.span(),
                format!("unknown tenant `{}`", b.tenant.get_ref()),
            );
        }
        let role = b
            .role
            .get_ref()
            .parse::<Role>()
            .map_err(|e| cx.problem(b.role.span(), e))
            .ok();
        let environments = match b.environments {
            None => vec!["*".to_string()],
            Some(envs) => {
                if envs.get_ref().is_empty() {
                    cx.problem(
                        envs.span(),
                        "environments is empty; list at least one environment, or \"*\" for all",
                    );
                }
                for env in envs.get_ref() {
                    if env != "*" && !is_name(env) {
                        cx.problem(
                            envs.span(),
                            format!("environment `{env}` must be `*` or lowercase letters, digits, `_` or `-`"),
                        );
                    }
                }
                envs.into_inner()
            }
        };
        let expires = match b.expires {
            None => None,
            Some(value) => {
                let text = match value.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Datetime(d) => d.to_string(),
                    other => other.to_string(),
                };
                match DateTime::parse_from_rfc3339(&text) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(_) => {
                        cx.problem(
                            value.span(),
                            format!("expires: `{text}` is not an RFC 3339 time such as 2026-12-31T00:00:00Z"),
                        );
                        None
                    }
                }
            }
        };
        if let (Some(subject), Some(role)) = (subject, role) {
            bindings.push(Binding {
                subject,
                tenant: b.tenant.into_inner(),
                role,
                environments,
                expires,
                source: format!("{file_name}:{line}"),
            });
        }
    }
    bindings
}

pub(super) fn check_digests(
    cx: &mut Checker<'_>,
    raw: Vec<Spanned<RawDigest>>,
    tenants: &BTreeMap<String, Tenant>,
) -> Vec<Digest> {
    let mut digests = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let d = spanned.into_inner();
        let tenant = tenants.get(d.tenant.get_ref());
        if tenant.is_none() {
            cx.problem(
                d.tenant.span(),
                format!("unknown tenant `{}`", d.tenant.get_ref()),
            );
        }
        let channel = match d.channel {
            Some(written) => check_channel(cx, "channel", Some(written)),
            None => match tenant {
                Some(t) if t.audit_channel.is_some() => t.audit_channel.clone(),
                Some(t) => {
                    cx.problem(
                        span,
                        format!(
                            "the digest has no channel and tenant `{}` has no audit_channel to default to",
                            t.name
                        ),
                    );
                    None
                }
                None => None,
            },
        };
        let schedule = match d.schedule.get_ref().parse::<Schedule>() {
            Ok(Schedule::Every(_)) => {
                cx.problem(
                    d.schedule.span(),
                    "a digest is posted hourly, daily HH:MM or weekly mon HH:MM; `every` is for [[schedules]]",
                );
                None
            }
            Ok(schedule) => Some(schedule),
            Err(e) => {
                cx.problem(d.schedule.span(), e);
                None
            }
        };
        if let (Some(channel), Some(schedule)) = (channel, schedule) {
            digests.push(Digest {
                tenant: d.tenant.into_inner(),
                channel,
                schedule,
            });
        }
    }
    digests
}

pub(super) fn check_schedules(
    cx: &mut Checker<'_>,
    raw: Vec<Spanned<RawSchedule>>,
    tenants: &BTreeMap<String, Tenant>,
    people: &BTreeMap<String, Person>,
) -> Vec<ScheduledCommand> {
    let mut schedules: Vec<ScheduledCommand> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for spanned in raw {
        let line = cx.line(spanned.span());
        let s = spanned.into_inner();
        let mut ok = true;
        let name = s.name.get_ref().clone();
        if !is_name(&name) {
            cx.problem(
                s.name.span(),
                format!("schedule name `{name}` must be lowercase letters, digits, `_` or `-`"),
            );
            ok = false;
        } else if let Some(first) = seen.get(&name) {
            cx.problem(
                s.name.span(),
                format!("schedule `{name}` is already declared (line {first})"),
            );
            ok = false;
        }
        seen.entry(name.clone()).or_insert(line);
        if !tenants.contains_key(s.tenant.get_ref()) {
            cx.problem(
                s.tenant.span(),
                format!("unknown tenant `{}`", s.tenant.get_ref()),
            );
            ok = false;
        }
        let run_as = match s.run_as.get_ref().parse::<Subject>() {
            Ok(Subject::Person(p)) if !people.contains_key(&p) => {
                cx.problem(s.run_as.span(), format!("unknown person `{p}`"));
                None
            }
            Ok(Subject::Group(_)) => {
                cx.problem(
                    s.run_as.span(),
                    "a schedule runs as one principal: a person or slack:TEAM/USER, not a group",
                );
                None
            }
            Ok(subject) => Some(subject),
            Err(e) => {
                cx.problem(s.run_as.span(), e);
                None
            }
        };
        if s.command.get_ref().trim().is_empty() {
            cx.problem(s.command.span(), "the command is empty");
            ok = false;
        }
        let schedule = match s.schedule.get_ref().parse::<Schedule>() {
            Ok(schedule) => Some(schedule),
            Err(e) => {
                cx.problem(s.schedule.span(), e);
                None
            }
        };
        let channel = check_channel(cx, "channel", Some(s.channel));
        if let (true, Some(run_as), Some(schedule), Some(channel)) = (ok, run_as, schedule, channel)
        {
            schedules.push(ScheduledCommand {
                name,
                tenant: s.tenant.into_inner(),
                run_as,
                command: s.command.into_inner().trim().to_string(),
                schedule,
                channel,
                file: cx.path.to_path_buf(),
                line,
            });
        }
    }
    schedules
}
