//! The directory file `warden.toml`: the model ([`Directory`] with its tenants, people, groups,
//! bindings and digests, and the digests' [`Schedule`]) and its loading. `raw.rs` holds the file
//! as written and `check.rs` turns it into the model, collecting every problem with its line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc, Weekday};

use crate::model::{line_of, toml_message, ChannelRef, PlatformUser, Problem, Role, Subject};

mod alerts;
mod check;
mod check_alerts;
mod raw;

pub use alerts::{
    AlertAction, AlertActionKind, AlertAuth, AlertRoute, AlertSource, AlertSourceKind, LabelMatch,
    DEFAULT_STORM,
};

use check::{
    check_bindings, check_digests, check_groups, check_people, check_schedules, check_tenants,
    Checker,
};
use check_alerts::{check_alert_routes, check_alert_sources};
use raw::RawDirectory;

/// The directory declared in `warden.toml`: who exists and who may do what. The default value is
/// the empty directory, used when no file is configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    /// Tenants by name.
    pub tenants: BTreeMap<String, Tenant>,
    /// People by name.
    pub people: BTreeMap<String, Person>,
    /// Groups by name, each a list of person names.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Role bindings, in file order.
    pub bindings: Vec<Binding>,
    /// Scheduled audit digests, in file order.
    pub digests: Vec<Digest>,
    /// Scheduled commands (`[[schedules]]`), in file order.
    pub schedules: Vec<ScheduledCommand>,
    /// Where monitoring alerts come from (`[alert_sources.NAME]`), by name.
    pub alert_sources: BTreeMap<String, AlertSource>,
    /// Where alerts go (`[[alert_routes]]`), in file order: the first match wins.
    pub alert_routes: Vec<AlertRoute>,
}

/// A tenant: one Slack workspace and/or one Discord guild, with its channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The tenant's name, as used in bindings.
    pub name: String,
    /// The Slack team id (`T…`) this tenant owns, if any.
    pub slack_team: Option<String>,
    /// The Discord guild id this tenant owns, if any.
    pub discord_guild: Option<String>,
    /// Where alerts are posted, if anywhere.
    pub alert_channel: Option<ChannelRef>,
    /// Where audit records and digests are posted, if anywhere.
    pub audit_channel: Option<ChannelRef>,
    /// Subjects who may use break-glass in this tenant.
    pub breakglass: Vec<Subject>,
}

/// A person: a name tying together platform identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The person's name, as used in bindings and groups.
    pub name: String,
    /// A friendlier name for messages, if declared.
    pub display_name: Option<String>,
    /// The person's Slack and Discord identities.
    pub identities: Vec<PlatformUser>,
}

/// A role granted to a subject in a tenant, for some environments, maybe until some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Who is granted the role.
    pub subject: Subject,
    /// The tenant the role applies in.
    pub tenant: String,
    /// The role granted.
    pub role: Role,
    /// The environments the role applies in; `*` means all.
    pub environments: Vec<String>,
    /// When the binding stops applying, if ever.
    pub expires: Option<DateTime<Utc>>,
    /// Where the binding was declared, `FILE:LINE` (e.g. `warden.toml:12`), for `whoami` and audit.
    pub source: String,
}

/// A scheduled digest of a tenant's audit log posted to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The tenant whose activity is summarised.
    pub tenant: String,
    /// Where the digest is posted.
    pub channel: ChannelRef,
    /// When the digest is posted.
    pub schedule: Schedule,
}

/// A command run on a schedule as a named principal (`[[schedules]]`, SPEC §17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledCommand {
    /// The schedule's name, unique in the file.
    pub name: String,
    /// The tenant it runs in.
    pub tenant: String,
    /// Who it runs as: a person, or a raw `slack:TEAM/USER` / `discord:GUILD/USER` identity.
    pub run_as: Subject,
    /// The command and its arguments, as typed after `/ops`.
    pub command: String,
    /// When it runs.
    pub schedule: Schedule,
    /// Where its cards (job, approval) are posted.
    pub channel: ChannelRef,
    /// The file it was declared in.
    pub file: std::path::PathBuf,
    /// The line of its `[[schedules]]` entry.
    pub line: usize,
}

/// When a digest is posted or a scheduled command runs, in UTC: `hourly`, `daily HH:MM`,
/// `weekly mon HH:MM`, or (schedules only) `every DURATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every DURATION (10 s at least), in slots counted from the Unix epoch.
    Every(std::time::Duration),
    /// At the start of every hour.
    Hourly,
    /// Every day at a time.
    Daily {
        /// The hour, 0 to 23.
        hour: u32,
        /// The minute, 0 to 59.
        minute: u32,
    },
    /// Every week on a day at a time.
    Weekly {
        /// The day of the week.
        weekday: Weekday,
        /// The hour, 0 to 23.
        hour: u32,
        /// The minute, 0 to 59.
        minute: u32,
    },
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("`{s}` is not a schedule: write hourly, daily HH:MM, weekly mon HH:MM (UTC) or every DURATION")
        };
        let time = |t: &str| -> Result<(u32, u32), String> {
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            let hour: u32 = h.parse().map_err(|_| bad())?;
            let minute: u32 = m.parse().map_err(|_| bad())?;
            if hour > 23 || minute > 59 || m.len() != 2 {
                return Err(format!("`{s}`: the time must be between 00:00 and 23:59"));
            }
            Ok((hour, minute))
        };
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["hourly"] => Ok(Schedule::Hourly),
            ["every", d] => {
                let every = crate::model::parse_duration(d).map_err(|e| format!("`{s}`: {e}"))?;
                if every < std::time::Duration::from_secs(10) {
                    return Err(format!("`{s}`: a schedule runs every 10s at least"));
                }
                Ok(Schedule::Every(every))
            }
            ["daily", t] => time(t).map(|(hour, minute)| Schedule::Daily { hour, minute }),
            ["weekly", day, t] => {
                let weekday: Weekday = day.parse().map_err(|_| {
                    format!("`{s}`: `{day}` is not a weekday (write mon, tue, wed, thu, fri, sat or sun)")
                })?;
                time(t).map(|(hour, minute)| Schedule::Weekly {
                    weekday,
                    hour,
                    minute,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Schedule::Hourly => f.write_str("hourly"),
            Schedule::Every(every) => write!(f, "every {}", crate::model::format_duration(every)),
            Schedule::Daily { hour, minute } => write!(f, "daily {hour:02}:{minute:02}"),
            Schedule::Weekly {
                weekday,
                hour,
                minute,
            } => {
                let day = match weekday {
                    Weekday::Mon => "mon",
                    Weekday::Tue => "tue",
                    Weekday::Wed => "wed",
                    Weekday::Thu => "thu",
                    Weekday::Fri => "fri",
                    Weekday::Sat => "sat",
                    Weekday::Sun => "sun",
                };
                write!(f, "weekly {day} {hour:02}:{minute:02}")
            }
        }
    }
}

impl Directory {
    /// Problems worth telling the operator about that do not stop warden: bindings that have
    /// expired at `now` (they are kept, but grant nothing).
    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<Problem> {
        self.bindings
            .iter()
            .filter_map(|b| {
                let expires = b.expires.filter(|e| *e <= now)?;
                let message = format!(
                    "the binding of `{}` to {} in `{}` expired at {}; it grants nothing until it is renewed or removed",
                    b.role,
                    b.subject,
                    b.tenant,
                    expires.format("%Y-%m-%d %H:%M UTC")
                );
                // The source is `FILE:LINE`; splitting it back avoids keeping the path twice.
                let problem = match b.source.rsplit_once(':') {
                    Some((file, line)) => match line.parse() {
                        Ok(line) => Problem::at(file, line, message),
                        Err(_) => Problem::file(&b.source, message),
                    },
                    None => Problem::file(&b.source, message),
                };
                Some(problem)
            })
            .collect()
    }
}

/// Reads and checks the directory file at `path`.
pub fn load_directory(path: &Path) -> Result<Directory, Vec<Problem>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Problem::file(path, format!("cannot read the file: {e}"))])?;
    parse_directory(path, &text)
}

/// Parses and checks the text of a directory file; `path` is only used in problems and in the
/// `source` of bindings. Syntax, unknown-key and type errors stop at the first (TOML cannot be
/// read further); every semantic problem is collected, sorted by line.
pub fn parse_directory(path: &Path, text: &str) -> Result<Directory, Vec<Problem>> {
    let raw: RawDirectory = toml::from_str(text).map_err(|e| {
        vec![Problem {
            file: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: toml_message(&e, text),
        }]
    })?;
    let mut cx = Checker {
        path,
        text,
        problems: Vec::new(),
    };
    let people = check_people(&mut cx, raw.people);
    let groups = check_groups(&mut cx, raw.groups, &people);
    let tenants = check_tenants(&mut cx, raw.tenants, &people, &groups);
    let bindings = check_bindings(&mut cx, raw.bindings, &tenants, &people, &groups);
    let digests = check_digests(&mut cx, raw.digests, &tenants);
    let schedules = check_schedules(&mut cx, raw.schedules, &tenants, &people);
    let alert_sources = check_alert_sources(&mut cx, raw.alert_sources);
    let alert_routes = check_alert_routes(&mut cx, raw.alert_routes, &alert_sources, &tenants);
    if cx.problems.is_empty() {
        Ok(Directory {
            tenants,
            people,
            groups,
            bindings,
            digests,
            schedules,
            alert_sources,
            alert_routes,
        })
    } else {
        let mut problems = cx.problems;
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
