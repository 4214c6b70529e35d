//! The shared vocabulary of warden: roles, platforms, subjects, channels, durations and the
//! `Problem` type that every loader reports with a file and a line.
//!
//! Architecture invariant: this module does no IO and imports neither axum nor sqlx. Everything
//! here is plain data with parsing and formatting, so every other module may depend on it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A role in a tenant. The order is meaningful: `Viewer < Operator < Admin`, and holding a role
/// grants everything a lower role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May look: `help`, `whoami`, read-only commands.
    Viewer,
    /// May run operational commands.
    Operator,
    /// May do everything, including granting access.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The lowercase name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}` (expected viewer, operator or admin)"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request came from. The CLI and the demo console are platforms too, so that every
/// entry point builds the same invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// Slack: workspaces are teams (`T…`), users are `U…`.
    Slack,
    /// Discord: workspaces are guilds (snowflakes), users are snowflakes.
    Discord,
    /// The local command line or the demo console.
    Console,
}

impl Platform {
    /// The lowercase name used in subjects and channel references.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Console => "console",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform identity: a user inside a workspace (Slack team or Discord guild).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformUser {
    /// Which platform the identity lives on.
    pub platform: Platform,
    /// The Slack team id or the Discord guild id.
    pub workspace: String,
    /// The user id inside that workspace.
    pub user: String,
}

impl PlatformUser {
    /// Parses `TEAM/USER` as written in `warden.toml` for the given platform.
    pub fn parse(platform: Platform, s: &str) -> Result<Self, String> {
        match s.split_once('/') {
            Some((w, u)) if !w.is_empty() && !u.is_empty() && !u.contains('/') => Ok(Self {
                platform,
                workspace: w.to_string(),
                user: u.to_string(),
            }),
            _ => Err(format!(
                "`{s}` is not a {platform} identity: expected WORKSPACE/USER, e.g. T01/U01ALICE"
            )),
        }
    }
}

impl fmt::Display for PlatformUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.platform, self.workspace, self.user)
    }
}

/// Who a binding or an approver list names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// A person declared under `[people.NAME]`.
    Person(String),
    /// A group declared under `[groups]`, written `group:NAME`.
    Group(String),
    /// A raw platform identity, written `slack:TEAM/USER` or `discord:GUILD/USER`.
    User(PlatformUser),
}

impl std::str::FromStr for Subject {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(g) = s.strip_prefix("group:") {
            return if is_name(g) {
                Ok(Subject::Group(g.to_string()))
            } else {
                Err(format!("`{s}`: a group name is [a-z0-9_-]+"))
            };
        }
        if let Some(rest) = s.strip_prefix("slack:") {
            return PlatformUser::parse(Platform::Slack, rest).map(Subject::User);
        }
        if let Some(rest) = s.strip_prefix("discord:") {
            return PlatformUser::parse(Platform::Discord, rest).map(Subject::User);
        }
        if is_name(s) {
            Ok(Subject::Person(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a subject: expected a person, group:NAME, slack:TEAM/USER or discord:GUILD/USER"
            ))
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Person(p) => f.write_str(p),
            Subject::Group(g) => write!(f, "group:{g}"),
            Subject::User(u) => write!(f, "{u}"),
        }
    }
}

/// True for names of people, groups, tenants: lowercase letters, digits, `_` and `-`.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A chat channel, written `slack:C0ALERTS` or `discord:123456789`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelRef {
    /// The platform the channel lives on.
    pub platform: Platform,
    /// The platform's channel id.
    pub id: String,
}

impl std::str::FromStr for ChannelRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (platform, id) = match s.split_once(':') {
            Some(("slack", id)) => (Platform::Slack, id),
            Some(("discord", id)) => (Platform::Discord, id),
            Some(("console", id)) => (Platform::Console, id),
            _ => {
                return Err(format!(
                    "`{s}` is not a channel: expected slack:CHANNEL_ID or discord:CHANNEL_ID"
                ))
            }
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("`{s}`: the channel id must be letters and digits"));
        }
        Ok(ChannelRef {
            platform,
            id: id.to_string(),
        })
    }
}

impl fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.id)
    }
}

/// Parses a duration written `30s`, `10m`, `2h` or `1d`. Zero is refused: every duration in
/// warden (timeouts, expiries, windows) must be at least one second.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration: write 30s, 10m, 2h or 1d");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(format!("`{s}`: a duration must be at least 1s"));
    }
    Ok(Duration::from_secs(secs))
}

/// Formats a duration the way it is written in files: the largest unit that divides it.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s > 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// A rate limit written `COUNT/WINDOW`: `10/hour`, `5/minute`, `100/day`, `30/second`, or with a
/// duration as the window, `3/10m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many uses the window allows.
    pub count: u32,
    /// The sliding window the uses are counted in.
    pub per: Duration,
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("`{s}` is not a rate limit: write 10/hour, 5/minute, 100/day or 3/10m");
        let (count, window) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("`{s}`: a rate limit must allow at least one use"));
        }
        let per = match window.trim() {
            "second" => Duration::from_secs(1),
            "minute" => Duration::from_secs(60),
            "hour" => Duration::from_secs(3600),
            "day" => Duration::from_secs(86_400),
            other => parse_duration(other).map_err(|_| bad())?,
        };
        Ok(RateLimit { count, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, format_duration(self.per))
    }
}

/// One problem found in a file: `FILE:LINE: message`, the format `warden check` prints and
/// start-up stops with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// The 1-based line, when the problem can be pinned to one.
    pub line: Option<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl Problem {
    /// A problem at a known line.
    pub fn at(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: Some(line),
            message: message.into(),
        }
    }

    /// A problem about a whole file.
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Converts a byte offset in `text` into a 1-based line number, for errors that carry a span.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The message of a TOML syntax error, for a [`Problem`]. The TOML parser leaves the message
/// empty for some errors (a control character in a comment, for one), which would print as
/// `FILE:LINE: ` with nothing to act on; those name the character the error points at instead.
pub fn toml_message(err: &toml::de::Error, text: &str) -> String {
    let message = err.message().trim();
    if !message.is_empty() {
        return message.to_string();
    }
    let found = err
        .span()
        .and_then(|span| text.get(span.start..)?.chars().next());
    match found {
        Some(c) if c.is_control() => format!(
            "the control character U+{:04X} is not allowed here (TOML allows only tabs and line breaks)",
            u32::from(c)
        ),
        Some(c) => format!("`{c}` is not allowed here"),
        None => "the file is not valid TOML".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntax error the TOML parser gives no message for still tells what is wrong, so that
    /// `warden check` never prints `FILE:LINE: ` alone.
    #[test]
    fn toml_errors_without_a_message_name_the_character() {
        for (text, want) in [
            (
                "# a\u{6}b\nx = 1\n",
                "the control character U+0006 is not allowed here",
            ),
            (
                "x = 1\n# \u{b}\n",
                "the control character U+000B is not allowed here",
            ),
        ] {
            let err = toml::from_str::<toml::Table>(text).unwrap_err();
            assert!(toml_message(&err, text).starts_with(want), "{text:?}");
        }
        let err = toml::from_str::<toml::Table>("x = \"a\u{b}\"").unwrap_err();
        assert_eq!(toml_message(&err, "x = \"a\u{b}\""), "invalid basic string");
    }

    #[test]
    fn durations() {
        let cases = [
            ("30s", Some(30)),
            ("10m", Some(600)),
            ("2h", Some(7200)),
            ("1d", Some(86_400)),
            ("0s", None),
            ("10", None),
            ("m", None),
            ("5w", None),
            ("-1s", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_duration(input).ok().map(|d| d.as_secs()),
                want,
                "{input}"
            );
        }
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }

    #[test]
    fn subjects_round_trip() {
        for s in ["alice", "group:sre", "slack:T01/U01", "discord:9/1"] {
            let parsed: Subject = s.parse().unwrap();
            assert_eq!(parsed.to_string(), s);
        }
        assert!("group:".parse::<Subject>().is_err());
        assert!("slack:T01".parse::<Subject>().is_err());
        assert!("Alice".parse::<Subject>().is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn channels() {
        let c: ChannelRef = "slack:C0ALERTS".parse().unwrap();
        assert_eq!(c.platform, Platform::Slack);
        assert!("mail:foo".parse::<ChannelRef>().is_err());
        assert!("slack:".parse::<ChannelRef>().is_err());
    }

    #[test]
    fn rate_limits() {
        let r: RateLimit = "10/hour".parse().unwrap();
        assert_eq!((r.count, r.per.as_secs()), (10, 3600));
        let r: RateLimit = "3/10m".parse().unwrap();
        assert_eq!((r.count, r.per.as_secs()), (3, 600));
        for bad in ["0/hour", "ten/hour", "10", "10/fortnight"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lines() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 100), 3);
    }
}
