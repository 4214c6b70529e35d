//! Environment settings: [`Settings`] and the Slack and Discord settings inside it, read and
//! validated by [`Settings::from_env`]. Secrets stay in `SecretString`s and print as
//! `[redacted]` in `Debug` output, as does the password of the database URL.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::redact::{parse_unambiguous, redact_url};
use super::retention::Retention;
use super::server::ServerLimits;
use crate::model::parse_duration;

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
    /// Connections per process to PostgreSQL (`WARDEN_DATABASE_MAX_CONNECTIONS`, default 10).
    /// Size it so that replicas × this stays below the server's `max_connections`.
    pub database_max_connections: u32,
    /// The size in bytes a SQLite database's `-wal` file is kept under by the background
    /// checkpointer (`WARDEN_SQLITE_WAL_LIMIT`, in MiB, default 64).
    pub sqlite_wal_limit: u64,
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
    /// Discord settings, or `None` when Discord is disabled (no public key and no Gateway).
    pub discord: Option<DiscordSettings>,
    /// The log filter (`RUST_LOG`).
    pub log_filter: String,
    /// The log format (`WARDEN_LOG_FORMAT`), or `None` to decide by whether stderr is a terminal.
    pub log_format: Option<LogFormat>,
    /// How long one request may take (`WARDEN_REQUEST_TIMEOUT`).
    pub request_timeout: Duration,
    /// How long a job's lease lasts without renewal (`WARDEN_JOB_LEASE`, default 30s).
    pub job_lease: Duration,
    /// How often an outbound chat connection is pinged (`WARDEN_TRANSPORT_PING`, default 10s);
    /// one that has been silent for two intervals is replaced.
    pub transport_ping: Duration,
    /// How many jobs this process runs at once (`WARDEN_JOB_CONCURRENCY`, default 8).
    pub job_concurrency: usize,
    /// Where alerts go when neither the command nor the tenant names a channel, and where
    /// dead-lettered important messages are reported (`WARDEN_ALERT_CHANNEL`).
    pub alert_channel: Option<crate::model::ChannelRef>,
    /// Messages per second per chat channel the outbox paces itself to
    /// (`WARDEN_CHANNEL_RATE`, default 1; Slack allows about one a second per channel).
    pub channel_rate: f64,
    /// The keys that seal secret argument values and reply capabilities at rest
    /// (`WARDEN_ENCRYPTION_KEYS`, SPEC §16); `None` refuses commands with secret arguments.
    pub encryption: Option<crate::secrets::Keyring>,
    /// How long the purgeable history tables keep their rows (`WARDEN_RETENTION_*`).
    pub retention: Retention,
    /// Connection timeouts and the connection cap of the HTTP server.
    pub server_limits: ServerLimits,
    /// The whole environment as it was at start-up. Actions may only use the variables their
    /// definitions name (`sign_secret_env`, `inherit_env`); `app` picks those out once, so
    /// nothing reads the process environment later. Never printed.
    pub environment: std::sync::Arc<HashMap<String, String>>,
}

/// Slack settings; present when a signing secret or an app token (Socket Mode) is configured.
#[derive(Clone)]
pub struct SlackSettings {
    /// The signing secrets requests are checked against; several during a rotation.
    pub signing_secrets: Vec<SecretString>,
    /// The bot token (`xoxb-…`) used to post messages, if configured.
    pub bot_token: Option<SecretString>,
    /// The Web API base URL, always ending with `/`.
    pub api_url: String,
    /// The app-level token (`xapp-…`, `SLACK_APP_TOKEN`); when set, warden also receives
    /// requests over Socket Mode (SPEC §14).
    pub app_token: Option<SecretString>,
}

/// Discord settings; present when a public key (the HTTP endpoint) or the Gateway is
/// configured.
#[derive(Clone)]
pub struct DiscordSettings {
    /// The application's Ed25519 public key, already checked to be a valid curve point; `None`
    /// when interactions come only over the Gateway (the HTTP route then refuses everything).
    pub public_key: Option<[u8; 32]>,
    /// The application id, if configured.
    pub application_id: Option<String>,
    /// The bot token used to post messages, if configured.
    pub bot_token: Option<SecretString>,
    /// The REST API base URL, without a trailing `/`.
    pub api_url: String,
    /// The Gateway, when `DISCORD_GATEWAY=1` (SPEC §14).
    pub gateway: Option<GatewaySettings>,
}

/// The Discord Gateway's settings.
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// `DISCORD_GATEWAY_URL`, or `None` to ask `GET {DISCORD_API_URL}/gateway`.
    pub url: Option<String>,
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
            .field("sqlite_wal_limit", &self.sqlite_wal_limit)
            .field("config_path", &self.config_path)
            .field("commands_dir", &self.commands_dir)
            .field("public_url", &self.public_url)
            .field("slack_command", &self.slack_command)
            .field("slack", &self.slack)
            .field("discord", &self.discord)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("request_timeout", &self.request_timeout)
            .field("job_lease", &self.job_lease)
            .field("transport_ping", &self.transport_ping)
            .field("job_concurrency", &self.job_concurrency)
            .field("alert_channel", &self.alert_channel)
            .field("channel_rate", &self.channel_rate)
            .field("encryption", &self.encryption)
            .field("retention", &self.retention)
            .field("server_limits", &self.server_limits)
            .field(
                "environment",
                &format_args!("[{} variables]", self.environment.len()),
            )
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
            .field("app_token", &self.app_token.as_ref().map(|_| Redacted))
            .finish()
    }
}

impl fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("public_key", &self.public_key.map(hex::encode))
            .field("application_id", &self.application_id)
            .field("bot_token", &self.bot_token.as_ref().map(|_| Redacted))
            .field("api_url", &self.api_url)
            .field("gateway", &self.gateway)
            .finish()
    }
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

/// Checks that `value` is a `ws://` or `wss://` URL with a host (the Gateway's), and returns
/// it without trailing slashes.
fn ws_base(value: &str) -> Result<String, &'static str> {
    let rest = value
        .strip_prefix("wss://")
        .or_else(|| value.strip_prefix("ws://"))
        .ok_or("must start with wss:// or ws://")?;
    if rest.trim_end_matches('/').is_empty() || value.chars().any(char::is_whitespace) {
        return Err("must be a URL with a host, e.g. wss://gateway.discord.gg");
    }
    Ok(value.trim_end_matches('/').to_string())
}

/// Checks the syntax of a database URL. The URL is never echoed, because it may hold a password.
fn check_database_url(url: &str) -> Result<(), &'static str> {
    let ok = if url == "sqlite::memory:" {
        true
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        !path.is_empty()
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if parse_unambiguous(url).is_none() {
            return Err("is not a URL that reads one way only: percent-encode `?` `/` `@` `#` `:` and spaces in the user name and password (`?` as %3F, `/` as %2F, `@` as %40, `#` as %23, `:` as %3A); the value is not shown because it may contain a password");
        }
        true
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
        // The root command obeys the same rules as a command file's `command`: Slack refuses a
        // manifest with a longer or differently shaped slash command.
        if let Some(problem) = crate::commands::load::slash_command_problem(&slack_command) {
            errors.push(format!("WARDEN_SLACK_COMMAND: {problem}"));
        } else if !crate::commands::load::is_slash_command(&slack_command) {
            errors.push(format!(
                "WARDEN_SLACK_COMMAND: `{slack_command}` is not a slash command: write `/` and lowercase letters, digits, `-` or `_`, e.g. /ops"
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
        let app_token = get("SLACK_APP_TOKEN").map(|v| {
            if !v.starts_with("xapp-") {
                errors.push(
                    "SLACK_APP_TOKEN: does not start with `xapp-`; Socket Mode needs the app-level token (Basic Information → App-Level Tokens, scope connections:write)"
                        .to_string(),
                );
            }
            SecretString::from(v)
        });
        let slack = (!signing_secrets.is_empty() || app_token.is_some()).then(|| SlackSettings {
            signing_secrets,
            bot_token: slack_bot_token,
            api_url: slack_api_url,
            app_token,
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
        let gateway = match get("DISCORD_GATEWAY") {
            None | Some("0") | Some("") => None,
            Some("1") => {
                if discord_bot_token.is_none() {
                    errors.push(
                        "DISCORD_GATEWAY: the Gateway needs DISCORD_BOT_TOKEN (the bot's token, Bot → Reset Token)"
                            .to_string(),
                    );
                }
                let url = get("DISCORD_GATEWAY_URL").and_then(|v| match ws_base(v) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        errors.push(format!("DISCORD_GATEWAY_URL: `{v}` {e}"));
                        None
                    }
                });
                Some(GatewaySettings { url })
            }
            Some(v) => {
                errors.push(format!("DISCORD_GATEWAY: `{v}` is neither 1 nor 0"));
                None
            }
        };
        let discord = (public_key.is_some() || gateway.is_some()).then(|| DiscordSettings {
            public_key,
            application_id,
            bot_token: discord_bot_token,
            api_url: discord_api_url,
            gateway,
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
        let job_lease = match get("WARDEN_JOB_LEASE") {
            None => Duration::from_secs(30),
            Some(v) => parse_duration(v).unwrap_or_else(|e| {
                errors.push(format!("WARDEN_JOB_LEASE: {e}"));
                Duration::from_secs(30)
            }),
        };
        let transport_ping = match get("WARDEN_TRANSPORT_PING") {
            None => Duration::from_secs(10),
            Some(v) => match parse_duration(v) {
                Ok(ping) if ping <= Duration::from_secs(15) => ping,
                Ok(_) => {
                    errors.push("WARDEN_TRANSPORT_PING: at most 15s, so that a dead connection is noticed within 30s".to_string());
                    Duration::from_secs(10)
                }
                Err(e) => {
                    errors.push(format!("WARDEN_TRANSPORT_PING: {e}"));
                    Duration::from_secs(10)
                }
            },
        };
        let job_concurrency = match get("WARDEN_JOB_CONCURRENCY") {
            None => 8,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "WARDEN_JOB_CONCURRENCY: `{v}` is not a number from 1 to 256"
                    ));
                    8
                }
            },
        };

        let database_max_connections = match get("WARDEN_DATABASE_MAX_CONNECTIONS") {
            None => 10,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (2..=1000).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "WARDEN_DATABASE_MAX_CONNECTIONS: `{v}` is not a number from 2 to 1000"
                    ));
                    10
                }
            },
        };

        let sqlite_wal_limit = match get("WARDEN_SQLITE_WAL_LIMIT") {
            None => crate::storage::DEFAULT_SQLITE_WAL_LIMIT,
            // At least 4 MiB: below that the checkpointer would truncate the log several
            // times a second under load, each time holding the write lock.
            Some(v) => match v.parse::<u64>() {
                Ok(mib) if (4..=65_536).contains(&mib) => mib * 1024 * 1024,
                _ => {
                    errors.push(format!(
                        "WARDEN_SQLITE_WAL_LIMIT: `{v}` is not a number of MiB from 4 to 65536"
                    ));
                    crate::storage::DEFAULT_SQLITE_WAL_LIMIT
                }
            },
        };

        let channel_rate = match get("WARDEN_CHANNEL_RATE") {
            None => 1.0,
            Some(v) => match v.parse::<f64>() {
                Ok(rate) if rate > 0.0 && rate.is_finite() => rate,
                _ => {
                    errors.push(format!(
                        "WARDEN_CHANNEL_RATE: `{v}` is not a positive number of messages per second"
                    ));
                    1.0
                }
            },
        };
        let alert_channel = get("WARDEN_ALERT_CHANNEL").and_then(|v| {
            v.parse()
                .map_err(|e| errors.push(format!("WARDEN_ALERT_CHANNEL: {e}")))
                .ok()
        });

        let encryption = match get("WARDEN_ENCRYPTION_KEYS") {
            None => None,
            Some(text) => match crate::secrets::Keyring::parse(text) {
                Ok(keys) => Some(keys),
                Err(problem) => {
                    errors.push(problem);
                    None
                }
            },
        };
        let retention = Retention::from_env(get, &mut errors);
        let server_limits = ServerLimits::from_env(get, &mut errors);

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            encryption,
            listen,
            database_url,
            database_max_connections,
            sqlite_wal_limit,
            config_path,
            commands_dir,
            public_url,
            slack_command,
            slack,
            discord,
            log_filter,
            log_format,
            request_timeout,
            job_lease,
            transport_ping,
            job_concurrency,
            alert_channel,
            channel_rate,
            retention,
            server_limits,
            environment: std::sync::Arc::new(vars.clone()),
        })
    }
}

#[cfg(test)]
mod tests;
