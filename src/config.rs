//! The one place where configuration is read: environment settings ([`Settings`]) and the
//! directory file `warden.toml` ([`Directory`]: tenants, people, groups, bindings, digests).
//!
//! Architecture invariant: no other module reads environment variables or `warden.toml`. Both
//! loaders collect every problem they find instead of stopping at the first, so that an operator
//! fixes a broken deployment in one pass. Secrets are kept in [`SecretString`] and never appear in
//! error messages or `Debug` output; code that needs one calls `ExposeSecret` at the point of use.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc, Weekday};
use secrecy::SecretString;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::model::{
    is_name, line_of, parse_duration, ChannelRef, Platform, PlatformUser, Problem, Role, Subject,
};

// ---------------------------------------------------------------------------------------------
// Environment settings
// ---------------------------------------------------------------------------------------------

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines, for terminals.
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err(format!("`{s}` is not a log format: write json or pretty")),
        }
    }
}

/// Everything warden reads from its environment, validated.
#[derive(Clone)]
pub struct Settings {
    /// The address the HTTP server listens on (`WARDEN_LISTEN`).
    pub listen: SocketAddr,
    /// The database URL (`WARDEN_DATABASE_URL`); it may contain a password, so it is redacted in
    /// `Debug` output.
    pub database_url: String,
    /// The directory file (`WARDEN_CONFIG`), or `None` when no file is configured.
    pub config_path: Option<PathBuf>,
    /// The folder of command definitions (`WARDEN_COMMANDS_DIR`).
    pub commands_dir: PathBuf,
    /// The public base URL, without a trailing `/` (`WARDEN_PUBLIC_URL`).
    pub public_url: String,
    /// The root Slack slash command, e.g. `/ops` (`WARDEN_SLACK_COMMAND`).
    pub slack_command: String,
    /// Slack settings, or `None` when Slack is disabled (no signing secret).
    pub slack: Option<SlackSettings>,
    /// Discord settings, or `None` when Discord is disabled (no public key).
    pub discord: Option<DiscordSettings>,
    /// The log filter (`RUST_LOG`).
    pub log_filter: String,
    /// The log format (`WARDEN_LOG_FORMAT`), or `None` to decide by whether stderr is a terminal.
    pub log_format: Option<LogFormat>,
    /// How long one request may take (`WARDEN_REQUEST_TIMEOUT`).
    pub request_timeout: Duration,
}

/// Slack settings; present only when a signing secret is configured.
#[derive(Clone)]
pub struct SlackSettings {
    /// The signing secrets requests are checked against; several during a rotation.
    pub signing_secrets: Vec<SecretString>,
    /// The bot token (`xoxb-…`) used to post messages, if configured.
    pub bot_token: Option<SecretString>,
    /// The Web API base URL, always ending with `/`.
    pub api_url: String,
}

/// Discord settings; present only when a public key is configured.
#[derive(Clone)]
pub struct DiscordSettings {
    /// The application's Ed25519 public key, already checked to be a valid curve point.
    pub public_key: [u8; 32],
    /// The application id, if configured.
    pub application_id: Option<String>,
    /// The bot token used to post messages, if configured.
    pub bot_token: Option<SecretString>,
    /// The REST API base URL, without a trailing `/`.
    pub api_url: String,
}

/// Prints as `[redacted]`, standing in for a secret in `Debug` output.
#[derive(Clone, Copy)]
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("config_path", &self.config_path)
            .field("commands_dir", &self.commands_dir)
            .field("public_url", &self.public_url)
            .field("slack_command", &self.slack_command)
            .field("slack", &self.slack)
            .field("discord", &self.discord)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl fmt::Debug for SlackSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackSettings")
            .field(
                "signing_secrets",
                &vec![Redacted; self.signing_secrets.len()],
            )
            .field("bot_token", &self.bot_token.as_ref().map(|_| Redacted))
            .field("api_url", &self.api_url)
            .finish()
    }
}

impl fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("public_key", &hex::encode(self.public_key))
            .field("application_id", &self.application_id)
            .field("bot_token", &self.bot_token.as_ref().map(|_| Redacted))
            .field("api_url", &self.api_url)
            .finish()
    }
}

/// Hides the password of a database URL (`postgres://user:PASSWORD@host/db`) and any query
/// string that carries one, so that the URL can be logged.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:[redacted]@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let query = match query {
        Some(q) if q.to_ascii_lowercase().contains("password") => "?[redacted]".to_string(),
        Some(q) => format!("?{q}"),
        None => String::new(),
    };
    format!("{scheme}://{authority}{path}{query}")
}

/// Checks that `value` is an `http://` or `https://` URL with a host, and returns it without
/// trailing slashes. The error names no value, because callers decide whether it may be shown.
fn http_base(value: &str) -> Result<String, &'static str> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.trim_end_matches('/').is_empty() || value.chars().any(char::is_whitespace) {
        return Err("must be a URL with a host, e.g. https://warden.example.com");
    }
    Ok(value.trim_end_matches('/').to_string())
}

/// Checks the syntax of a database URL. The URL is never echoed, because it may hold a password.
fn check_database_url(url: &str) -> Result<(), &'static str> {
    let ok = if url == "sqlite::memory:" {
        true
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        !path.is_empty()
    } else if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        !rest.is_empty()
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err("expected sqlite://PATH, sqlite::memory: or postgres://… (the value is not shown because it may contain a password)")
    }
}

/// Parses a hex Ed25519 public key and checks that it is a valid curve point, so that a typo is
/// caught at start-up instead of as every Discord request failing verification.
fn parse_public_key(value: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(value).map_err(|_| {
        "is not hexadecimal: expected the 64 hex characters of the application's public key"
            .to_string()
    })?;
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        format!(
            "has {} hex characters; an Ed25519 public key has 64",
            value.len()
        )
    })?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| "is not a valid Ed25519 public key".to_string())?;
    Ok(key)
}

impl Settings {
    /// Reads and validates the settings from a map of environment variables (pass
    /// `std::env::vars().collect()`), returning every problem found, one line each. Blank values
    /// count as unset, because container tooling often passes `VAR=` to mean "not configured".
    ///
    /// The only IO is checking whether `warden.toml` exists in the working directory when
    /// `WARDEN_CONFIG` is not set.
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Settings, Vec<String>> {
        let mut errors = Vec::new();
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let default_listen = SocketAddr::from(([127, 0, 0, 1], 8080));
        let listen = match get("WARDEN_LISTEN") {
            None => default_listen,
            Some(v) => v.parse().unwrap_or_else(|_| {
                errors.push(format!(
                    "WARDEN_LISTEN: `{v}` is not a socket address; write HOST:PORT, e.g. 127.0.0.1:8080"
                ));
                default_listen
            }),
        };

        let database_url = get("WARDEN_DATABASE_URL")
            .unwrap_or("sqlite://warden.db")
            .to_string();
        if let Err(e) = check_database_url(&database_url) {
            errors.push(format!("WARDEN_DATABASE_URL: {e}"));
        }

        let config_path = match get("WARDEN_CONFIG") {
            Some(v) => Some(PathBuf::from(v)),
            None => Some(PathBuf::from("warden.toml")).filter(|p| p.is_file()),
        };

        let commands_dir = PathBuf::from(get("WARDEN_COMMANDS_DIR").unwrap_or("commands"));

        let public_url = match get("WARDEN_PUBLIC_URL") {
            None => format!("http://{listen}"),
            Some(v) => http_base(v).unwrap_or_else(|e| {
                errors.push(format!("WARDEN_PUBLIC_URL: `{v}` {e}"));
                String::new()
            }),
        };

        let slack_command = get("WARDEN_SLACK_COMMAND").unwrap_or("/ops").to_string();
        let valid_command = slack_command.strip_prefix('/').is_some_and(|c| {
            !c.is_empty() && !c.contains(|ch: char| ch == '/' || ch.is_whitespace())
        });
        if !valid_command {
            errors.push(format!(
                "WARDEN_SLACK_COMMAND: `{slack_command}` is not a slash command; write e.g. /ops"
            ));
        }

        let signing_secrets: Vec<SecretString> = get("SLACK_SIGNING_SECRET")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(SecretString::from)
                    .collect()
            })
            .unwrap_or_default();
        let slack_bot_token = get("SLACK_BOT_TOKEN").map(|v| {
            if !v.starts_with("xoxb-") {
                errors.push(
                    "SLACK_BOT_TOKEN: does not start with `xoxb-`; warden needs the bot token, not a user or app token"
                        .to_string(),
                );
            }
            SecretString::from(v)
        });
        let slack_api_url = match get("SLACK_API_URL") {
            None => "https://slack.com/api/".to_string(),
            Some(v) => match http_base(v) {
                Ok(base) => format!("{base}/"),
                Err(e) => {
                    errors.push(format!("SLACK_API_URL: `{v}` {e}"));
                    String::new()
                }
            },
        };
        let slack = (!signing_secrets.is_empty()).then(|| SlackSettings {
            signing_secrets,
            bot_token: slack_bot_token,
            api_url: slack_api_url,
        });

        let public_key = get("DISCORD_PUBLIC_KEY").and_then(|v| {
            parse_public_key(v)
                .map_err(|e| errors.push(format!("DISCORD_PUBLIC_KEY: {e}")))
                .ok()
        });
        let application_id = get("DISCORD_APPLICATION_ID").map(|v| {
            if !v.chars().all(|c| c.is_ascii_digit()) {
                errors.push(format!(
                    "DISCORD_APPLICATION_ID: `{v}` is not a Discord id (a number)"
                ));
            }
            v.to_string()
        });
        let discord_bot_token = get("DISCORD_BOT_TOKEN").map(SecretString::from);
        let discord_api_url = match get("DISCORD_API_URL") {
            None => "https://discord.com/api/v10".to_string(),
            Some(v) => http_base(v).unwrap_or_else(|e| {
                errors.push(format!("DISCORD_API_URL: `{v}` {e}"));
                String::new()
            }),
        };
        let discord = public_key.map(|public_key| DiscordSettings {
            public_key,
            application_id,
            bot_token: discord_bot_token,
            api_url: discord_api_url,
        });

        let log_filter = get("RUST_LOG").unwrap_or("info").to_string();
        let log_format = get("WARDEN_LOG_FORMAT").and_then(|v| {
            v.parse()
                .map_err(|e| errors.push(format!("WARDEN_LOG_FORMAT: {e}")))
                .ok()
        });
        let request_timeout = match get("WARDEN_REQUEST_TIMEOUT") {
            None => Duration::from_secs(10),
            Some(v) => parse_duration(v).unwrap_or_else(|e| {
                errors.push(format!("WARDEN_REQUEST_TIMEOUT: {e}"));
                Duration::from_secs(10)
            }),
        };

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            listen,
            database_url,
            config_path,
            commands_dir,
            public_url,
            slack_command,
            slack,
            discord,
            log_filter,
            log_format,
            request_timeout,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The directory: warden.toml
// ---------------------------------------------------------------------------------------------

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

/// When a digest is posted, in UTC: `hourly`, `daily HH:MM` or `weekly mon HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
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
            format!("`{s}` is not a schedule: write hourly, daily HH:MM or weekly mon HH:MM (UTC)")
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

/// The file as written, with spans kept for every value a semantic check may complain about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    #[serde(default)]
    tenants: BTreeMap<Spanned<String>, RawTenant>,
    #[serde(default)]
    people: BTreeMap<Spanned<String>, RawPerson>,
    #[serde(default)]
    groups: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    bindings: Vec<Spanned<RawBinding>>,
    #[serde(default)]
    digests: Vec<Spanned<RawDigest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    slack_team: Option<Spanned<String>>,
    discord_guild: Option<Spanned<String>>,
    alert_channel: Option<Spanned<String>>,
    audit_channel: Option<Spanned<String>>,
    #[serde(default)]
    breakglass: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    slack: Option<Spanned<OneOrMany>>,
    discord: Option<Spanned<OneOrMany>>,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    subject: Spanned<String>,
    tenant: Spanned<String>,
    role: Spanned<String>,
    environments: Option<Spanned<Vec<String>>>,
    /// A `toml::Value` so that both a quoted string and a bare TOML datetime are accepted.
    expires: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    tenant: Spanned<String>,
    channel: Option<Spanned<String>>,
    schedule: Spanned<String>,
}

/// A string or a list of strings. It is deserialized by hand because serde's untagged enums
/// buffer the value and lose the spans of the list items.
enum OneOrMany {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an identity string or a list of them")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// Collects problems with their lines while the raw file is turned into a [`Directory`].
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.problems.push(Problem::at(self.path, line, message));
    }
}

/// Parses and checks the text of a directory file; `path` is only used in problems and in the
/// `source` of bindings. Syntax, unknown-key and type errors stop at the first (TOML cannot be
/// read further); every semantic problem is collected, sorted by line.
pub fn parse_directory(path: &Path, text: &str) -> Result<Directory, Vec<Problem>> {
    let raw: RawDirectory = toml::from_str(text).map_err(|e| {
        vec![Problem {
            file: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
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
    if cx.problems.is_empty() {
        Ok(Directory {
            tenants,
            people,
            groups,
            bindings,
            digests,
        })
    } else {
        let mut problems = cx.problems;
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

/// Sorts map entries by where they appear in the file, so that a duplicate is reported on the
/// later occurrence, the one the reader most likely just added.
fn in_file_order<V>(map: BTreeMap<Spanned<String>, V>) -> Vec<(Spanned<String>, V)> {
    let mut entries: Vec<_> = map.into_iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn check_people(
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

fn check_groups(
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

fn check_channel(
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

fn check_tenants(
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

fn check_bindings(
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

fn check_digests(
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
        let schedule = d
            .schedule
            .get_ref()
            .parse::<Schedule>()
            .map_err(|e| cx.problem(d.schedule.span(), e))
            .ok();
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn valid_key_hex() -> String {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        hex::encode(signing.verifying_key().to_bytes())
    }

    #[test]
    fn settings_defaults() {
        let s = Settings::from_env(&HashMap::new()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.database_url, "sqlite://warden.db");
        assert_eq!(
            s.config_path,
            Some(PathBuf::from("warden.toml")).filter(|p| p.is_file())
        );
        assert_eq!(s.commands_dir, PathBuf::from("commands"));
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.slack_command, "/ops");
        assert!(s.slack.is_none());
        assert!(s.discord.is_none());
        assert_eq!(s.log_filter, "info");
        assert_eq!(s.log_format, None);
        assert_eq!(s.request_timeout, Duration::from_secs(10));
    }

    #[test]
    fn settings_everything_set() {
        use secrecy::ExposeSecret;
        let key = valid_key_hex();
        let s = Settings::from_env(&vars(&[
            ("WARDEN_LISTEN", "0.0.0.0:9000"),
            ("WARDEN_DATABASE_URL", "postgres://warden:pw@db/warden"),
            ("WARDEN_CONFIG", "/etc/warden/warden.toml"),
            ("WARDEN_COMMANDS_DIR", "/etc/warden/commands"),
            ("WARDEN_PUBLIC_URL", "https://warden.example.com//"),
            ("WARDEN_SLACK_COMMAND", "/acme"),
            ("SLACK_SIGNING_SECRET", "new-secret, ,old-secret,"),
            ("SLACK_BOT_TOKEN", "xoxb-123"),
            ("SLACK_API_URL", "http://127.0.0.1:9999/api"),
            ("DISCORD_PUBLIC_KEY", &key),
            ("DISCORD_APPLICATION_ID", "123456"),
            ("DISCORD_BOT_TOKEN", "discord-token"),
            ("DISCORD_API_URL", "http://127.0.0.1:9998/api/"),
            ("RUST_LOG", "warden=debug"),
            ("WARDEN_LOG_FORMAT", "json"),
            ("WARDEN_REQUEST_TIMEOUT", "2m"),
        ]))
        .unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(
            s.config_path,
            Some(PathBuf::from("/etc/warden/warden.toml"))
        );
        assert_eq!(s.public_url, "https://warden.example.com");
        assert_eq!(s.slack_command, "/acme");
        let slack = s.slack.as_ref().unwrap();
        let secrets: Vec<&str> = slack
            .signing_secrets
            .iter()
            .map(|x| x.expose_secret())
            .collect();
        assert_eq!(secrets, ["new-secret", "old-secret"]);
        assert_eq!(slack.api_url, "http://127.0.0.1:9999/api/");
        let discord = s.discord.as_ref().unwrap();
        assert_eq!(hex::encode(discord.public_key), key);
        assert_eq!(discord.application_id.as_deref(), Some("123456"));
        assert_eq!(discord.api_url, "http://127.0.0.1:9998/api");
        assert_eq!(s.log_filter, "warden=debug");
        assert_eq!(s.log_format, Some(LogFormat::Json));
        assert_eq!(s.request_timeout, Duration::from_secs(120));
    }

    #[test]
    fn slack_disabled_by_blank_secret() {
        for value in ["", "  ", " , ,"] {
            let s = Settings::from_env(&vars(&[("SLACK_SIGNING_SECRET", value)])).unwrap();
            assert!(s.slack.is_none(), "{value:?}");
        }
    }

    #[test]
    fn settings_errors_name_the_variable() {
        // An all-zero-but-one key is 32 bytes of hex that is not on the curve for some byte
        // value; finding one here keeps the test independent of curve internals.
        let off_curve = (0..=255u8)
            .map(|b| [b; 32])
            .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
            .map(hex::encode)
            .unwrap();
        let cases: &[(&str, &str, &str)] = &[
            (
                "WARDEN_LISTEN",
                "localhost",
                "WARDEN_LISTEN: `localhost` is not a socket address",
            ),
            (
                "WARDEN_DATABASE_URL",
                "mysql://u:hunter2@h/db",
                "WARDEN_DATABASE_URL: expected sqlite://PATH",
            ),
            (
                "WARDEN_DATABASE_URL",
                "sqlite://",
                "WARDEN_DATABASE_URL: expected",
            ),
            (
                "WARDEN_PUBLIC_URL",
                "warden.example.com",
                "WARDEN_PUBLIC_URL: `warden.example.com` must start with http:// or https://",
            ),
            (
                "WARDEN_PUBLIC_URL",
                "https://",
                "WARDEN_PUBLIC_URL: `https://` must be a URL with a host",
            ),
            (
                "WARDEN_SLACK_COMMAND",
                "ops",
                "WARDEN_SLACK_COMMAND: `ops` is not a slash command",
            ),
            (
                "SLACK_BOT_TOKEN",
                "xoxp-hunter2",
                "SLACK_BOT_TOKEN: does not start with `xoxb-`",
            ),
            (
                "SLACK_API_URL",
                "slack.com/api",
                "SLACK_API_URL: `slack.com/api` must start with http://",
            ),
            (
                "DISCORD_PUBLIC_KEY",
                "zz",
                "DISCORD_PUBLIC_KEY: is not hexadecimal",
            ),
            (
                "DISCORD_PUBLIC_KEY",
                "abcd",
                "DISCORD_PUBLIC_KEY: has 4 hex characters; an Ed25519 public key has 64",
            ),
            (
                "DISCORD_PUBLIC_KEY",
                &off_curve,
                "DISCORD_PUBLIC_KEY: is not a valid Ed25519 public key",
            ),
            (
                "DISCORD_APPLICATION_ID",
                "app",
                "DISCORD_APPLICATION_ID: `app` is not a Discord id",
            ),
            (
                "DISCORD_API_URL",
                "ftp://x",
                "DISCORD_API_URL: `ftp://x` must start with http://",
            ),
            (
                "WARDEN_LOG_FORMAT",
                "xml",
                "WARDEN_LOG_FORMAT: `xml` is not a log format",
            ),
            (
                "WARDEN_REQUEST_TIMEOUT",
                "10",
                "WARDEN_REQUEST_TIMEOUT: `10` is not a duration",
            ),
        ];
        for (name, value, want) in cases {
            let errors = Settings::from_env(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(errors.len(), 1, "{name}={value}: {errors:?}");
            assert!(errors[0].starts_with(want), "{name}={value}: {}", errors[0]);
            assert!(!errors[0].contains("hunter2"), "{}", errors[0]);
        }
        // All problems are reported at once, not just the first.
        let errors = Settings::from_env(&vars(&[
            ("WARDEN_LISTEN", "x"),
            ("WARDEN_LOG_FORMAT", "x"),
            ("WARDEN_REQUEST_TIMEOUT", "x"),
        ]))
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn secrets_never_in_debug() {
        let key = valid_key_hex();
        let s = Settings::from_env(&vars(&[
            (
                "WARDEN_DATABASE_URL",
                "postgres://warden:hunter2@db/warden?password=hunter3",
            ),
            ("SLACK_SIGNING_SECRET", "sign-one,sign-two"),
            ("SLACK_BOT_TOKEN", "xoxb-bot-token"),
            ("DISCORD_PUBLIC_KEY", &key),
            ("DISCORD_BOT_TOKEN", "discord-bot-token"),
        ]))
        .unwrap();
        for text in [format!("{s:?}"), format!("{s:#?}")] {
            for secret in ["hunter2", "hunter3", "sign-one", "sign-two", "bot-token"] {
                assert!(!text.contains(secret), "{secret} leaked in {text}");
            }
            assert!(text.contains("[redacted]"));
            assert!(text.contains("postgres://warden:[redacted]@db/warden?[redacted]"));
        }
    }

    #[test]
    fn url_redaction() {
        let cases = [
            ("sqlite://warden.db", "sqlite://warden.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://db/warden", "postgres://db/warden"),
            ("postgres://user@db/warden", "postgres://user@db/warden"),
            (
                "postgres://user:p@ss@db/warden",
                "postgres://user:[redacted]@db/warden",
            ),
            (
                "postgres://db/w?sslmode=require",
                "postgres://db/w?sslmode=require",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want);
        }
    }

    #[test]
    fn schedules() {
        let cases = [
            ("hourly", Some(Schedule::Hourly), "hourly"),
            (
                "daily 09:00",
                Some(Schedule::Daily { hour: 9, minute: 0 }),
                "daily 09:00",
            ),
            (
                "daily  7:05",
                Some(Schedule::Daily { hour: 7, minute: 5 }),
                "daily 07:05",
            ),
            (
                "weekly Monday 23:59",
                Some(Schedule::Weekly {
                    weekday: Weekday::Mon,
                    hour: 23,
                    minute: 59,
                }),
                "weekly mon 23:59",
            ),
            ("daily 24:00", None, ""),
            ("daily 9:5", None, ""),
            ("daily", None, ""),
            ("weekly 09:00", None, ""),
            ("weekly funday 09:00", None, ""),
            ("monthly 1 09:00", None, ""),
            ("", None, ""),
        ];
        for (input, want, shown) in cases {
            let got = input.parse::<Schedule>().ok();
            assert_eq!(got, want, "{input}");
            if let Some(s) = got {
                assert_eq!(s.to_string(), shown);
                assert_eq!(shown.parse::<Schedule>(), Ok(s));
            }
        }
    }

    fn problems(text: &str) -> Vec<(Option<usize>, String)> {
        parse_directory(Path::new("warden.toml"), text)
            .unwrap_err()
            .into_iter()
            .map(|p| (p.line, p.message))
            .collect()
    }

    /// Asserts that the problems are exactly `want`: a line and a fragment of the message each.
    fn assert_problems(text: &str, want: &[(usize, &str)]) {
        let got = problems(text);
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for ((line, message), (want_line, fragment)) in got.iter().zip(want) {
            assert_eq!(*line, Some(*want_line), "{message}");
            assert!(
                message.contains(fragment),
                "line {want_line}: `{message}` lacks `{fragment}`"
            );
        }
    }

    #[test]
    fn syntax_and_shape_errors_have_lines() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[tenants.acme]\nslack_team = \"T01\"\nbogus = 1\n",
                3,
                "unknown field `bogus`",
            ),
            (
                "[tenants.acme]\nslack_team = \"T01\"\n\n[widgets]\n",
                4,
                "unknown field `widgets`",
            ),
            (
                "[people.alice]\nslack = \"T01/U1\"\nemail = \"a@b\"\n",
                3,
                "unknown field `email`",
            ),
            (
                "\n[[bindings]]\nsubject = \"x\"\ntenant = \"a\"\nrole = \"viewer\"\nwhen = 1\n",
                6,
                "unknown field `when`",
            ),
            ("[tenants.acme]\nslack_team = 12\n", 2, "invalid type"),
            (
                "[people.alice]\nslack = 3\n",
                2,
                "an identity string or a list",
            ),
            ("[groups]\nsre = \"alice\"\n", 2, "invalid type"),
            (
                "\n\n[[bindings]]\ntenant = \"a\"\nrole = \"viewer\"\n",
                3,
                "missing field `subject`",
            ),
            ("[tenants.acme\n", 1, ""),
            ("a = 1\na = 2\n", 2, ""),
        ];
        for (text, line, fragment) in cases {
            let got = problems(text);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_eq!(got[0].0, Some(*line), "{text}: {got:?}");
            assert!(got[0].1.contains(fragment), "{text}: {got:?}");
        }
    }

    #[test]
    fn every_semantic_problem_with_its_line() {
        let text = r#"
[tenants.acme]
slack_team = "T01"
alert_channel = "mail:ops"
breakglass = ["group:nobody", "Bad Subject"]

[tenants.Acme2]
slack_team = "T01"
discord_guild = "9x"

[tenants.globex]
discord_guild = "900"

[tenants.initech]
discord_guild = "900"

[tenants.empty]

[people.alice]
slack = "T01/UA"
discord = ["900/1", "900/1"]

[people.bob]
slack = ["T01/UB", "T01/UA"]
discord = "guild/user"

[people.Carol]
slack = "T01"

[groups]
sre = ["alice", "zed"]
"Big Group" = []

[[bindings]]
subject = "group:missing"
tenant = "nope"
role = "root"
environments = []
expires = "tomorrow"

[[bindings]]
subject = "mallory"
tenant = "acme"
role = "viewer"
environments = ["prod", "Prod Env"]

[[bindings]]
subject = "slack:T01/U99"
tenant = "acme"
role = "viewer"
expires = "2020-01-01T00:00:00Z"

[[digests]]
tenant = "acme"
schedule = "daily 25:00"

[[digests]]
tenant = "ghost"
channel = "slack:C1"
schedule = "hourly"

[[digests]]
tenant = "globex"
channel = "slack:"
schedule = "hourly"
"#;
        assert_problems(
            text,
            &[
                (4, "alert_channel: `mail:ops` is not a channel"),
                (5, "unknown group `nobody`"),
                (5, "`Bad Subject` is not a subject"),
                (7, "tenant name `Acme2` must be lowercase"),
                (
                    8,
                    "slack_team `T01` is already used by tenant `acme` (line 3)",
                ),
                (9, "discord_guild `9x` is not a valid id"),
                (
                    15,
                    "discord_guild `900` is already used by tenant `globex` (line 12)",
                ),
                (
                    17,
                    "tenant `empty` needs a slack_team, a discord_guild or both",
                ),
                (
                    21,
                    "discord:900/1 is already linked to person `alice` (line 21)",
                ),
                (
                    24,
                    "slack:T01/UA is already linked to person `alice` (line 20)",
                ),
                (25, "Discord guild and user ids are numbers"),
                (27, "person name `Carol` must be lowercase"),
                (28, "`T01` is not a slack identity"),
                (31, "group `sre` lists unknown person `zed`"),
                (32, "group name `Big Group` must be lowercase"),
                (35, "unknown group `missing`"),
                (36, "unknown tenant `nope`"),
                (37, "unknown role `root`"),
                (38, "environments is empty"),
                (39, "expires: `tomorrow` is not an RFC 3339 time"),
                (42, "unknown person `mallory`"),
                (45, "environment `Prod Env` must be `*` or lowercase"),
                (53, "tenant `acme` has no audit_channel to default to"),
                (55, "daily 25:00"),
                (58, "unknown tenant `ghost`"),
                (
                    64,
                    "channel: `slack:`: the channel id must be letters and digits",
                ),
            ],
        );
    }

    #[test]
    fn digest_channel_defaults_to_audit_channel() {
        let text = "[tenants.acme]\nslack_team = \"T01\"\naudit_channel = \"slack:C0AUDIT\"\n\n[tenants.bare]\nslack_team = \"T02\"\n\n[[digests]]\ntenant = \"acme\"\nschedule = \"hourly\"\n";
        let dir = parse_directory(Path::new("warden.toml"), text).unwrap();
        assert_eq!(dir.digests[0].channel.to_string(), "slack:C0AUDIT");
        let bad = format!("{text}\n[[digests]]\ntenant = \"bare\"\nschedule = \"hourly\"\n");
        assert_problems(&bad, &[(12, "tenant `bare` has no audit_channel")]);
    }

    #[test]
    fn expired_bindings_are_warnings_not_errors() {
        let text = "[tenants.acme]\nslack_team = \"T01\"\n\n[[bindings]]\nsubject = \"slack:T01/U1\"\ntenant = \"acme\"\nrole = \"admin\"\nexpires = 2026-01-01T00:00:00Z\n\n[[bindings]]\nsubject = \"slack:T01/U2\"\ntenant = \"acme\"\nrole = \"viewer\"\n";
        let dir = parse_directory(Path::new("/etc/warden/warden.toml"), text).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(dir.bindings[0].expires, Some(at));
        assert_eq!(dir.bindings[0].source, "warden.toml:4");
        assert_eq!(dir.bindings[1].environments, ["*"]);
        assert_eq!(dir.bindings[1].source, "warden.toml:10");
        assert!(dir.warnings(at - chrono::Duration::seconds(1)).is_empty());
        let warnings = dir.warnings(at);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(4));
        assert_eq!(
            warnings[0].to_string(),
            "warden.toml:4: the binding of `admin` to slack:T01/U1 in `acme` expired at 2026-01-01 00:00 UTC; it grants nothing until it is renewed or removed"
        );
    }

    #[test]
    fn empty_file_is_the_empty_directory() {
        assert_eq!(
            parse_directory(Path::new("warden.toml"), ""),
            Ok(Directory::default())
        );
        let missing = load_directory(Path::new("/nonexistent/warden.toml")).unwrap_err();
        assert_eq!(missing[0].line, None);
        assert!(missing[0].message.starts_with("cannot read the file"));
    }

    #[test]
    fn example_file_parses() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/warden.example.toml"));
        let dir = load_directory(path).unwrap_or_else(|problems| {
            panic!(
                "{}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let acme = &dir.tenants["acme"];
        assert_eq!(acme.slack_team.as_deref(), Some("T0ACME"));
        assert_eq!(acme.breakglass, [Subject::Group("oncall".into())]);
        for name in ["alice", "bob", "carol", "dave"] {
            let platforms: Vec<Platform> = dir.people[name]
                .identities
                .iter()
                .map(|u| u.platform)
                .collect();
            assert_eq!(platforms, [Platform::Slack, Platform::Discord], "{name}");
        }
        for group in ["sre", "sre-leads", "oncall"] {
            assert!(dir.groups.contains_key(group), "{group}");
        }
        let roles: Vec<Role> = dir.bindings.iter().map(|b| b.role).collect();
        assert_eq!(
            roles,
            [Role::Viewer, Role::Operator, Role::Admin, Role::Operator]
        );
        assert_eq!(dir.digests[0].channel, acme.audit_channel.clone().unwrap());
        let before_2026_end = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert!(dir.warnings(before_2026_end).is_empty());
    }
}
