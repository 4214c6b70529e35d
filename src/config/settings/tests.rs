//! Tests of [`Settings::from_env`]: defaults, every variable, the errors and the redaction of
//! secrets.

use super::*;

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
    assert_eq!(s.sqlite_wal_limit, 64 * 1024 * 1024);
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
        ("WARDEN_SQLITE_WAL_LIMIT", "16"),
    ]))
    .unwrap();
    assert_eq!(s.sqlite_wal_limit, 16 * 1024 * 1024);
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
    assert_eq!(discord.public_key.map(hex::encode), Some(key.to_string()));
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
            "WARDEN_DATABASE_URL",
            "postgres://warden:12/hunter2@db/warden",
            "WARDEN_DATABASE_URL: is not a URL that reads one way only",
        ),
        (
            "WARDEN_DATABASE_URL",
            "postgres://warden:hunter2#?@db/warden",
            "WARDEN_DATABASE_URL: is not a URL that reads one way only",
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
        (
            "WARDEN_SQLITE_WAL_LIMIT",
            "2",
            "WARDEN_SQLITE_WAL_LIMIT: `2` is not a number of MiB from 4 to 65536",
        ),
        (
            "WARDEN_SQLITE_WAL_LIMIT",
            "64MiB",
            "WARDEN_SQLITE_WAL_LIMIT: `64MiB` is not a number of MiB",
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

/// `DISCORD_GATEWAY=1` turns Discord on without a public key, needs the bot token, and takes
/// only a WebSocket URL as `DISCORD_GATEWAY_URL`.
#[test]
fn discord_gateway_settings() {
    let s = Settings::from_env(&vars(&[
        ("DISCORD_GATEWAY", "1"),
        ("DISCORD_BOT_TOKEN", "bot-token-hunter2"),
    ]))
    .unwrap();
    let discord = s.discord.as_ref().unwrap();
    assert_eq!(discord.public_key, None);
    assert_eq!(discord.gateway.as_ref().unwrap().url, None);
    assert!(!format!("{s:?}").contains("hunter2"));

    let s = Settings::from_env(&vars(&[
        ("DISCORD_GATEWAY", "1"),
        ("DISCORD_BOT_TOKEN", "t"),
        ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:5/"),
    ]))
    .unwrap();
    let gateway = s.discord.unwrap().gateway.unwrap();
    assert_eq!(gateway.url.as_deref(), Some("ws://127.0.0.1:5"));

    assert!(Settings::from_env(&vars(&[("DISCORD_GATEWAY", "0")]))
        .unwrap()
        .discord
        .is_none());
    for (pairs, want) in [
        (
            vec![("DISCORD_GATEWAY", "1")],
            "DISCORD_GATEWAY: the Gateway needs DISCORD_BOT_TOKEN",
        ),
        (
            vec![("DISCORD_GATEWAY", "yes")],
            "DISCORD_GATEWAY: `yes` is neither 1 nor 0",
        ),
        (
            vec![
                ("DISCORD_GATEWAY", "1"),
                ("DISCORD_BOT_TOKEN", "t"),
                ("DISCORD_GATEWAY_URL", "https://gateway.discord.gg"),
            ],
            "DISCORD_GATEWAY_URL: `https://gateway.discord.gg` must start with wss:// or ws://",
        ),
    ] {
        let errors = Settings::from_env(&vars(&pairs)).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with(want), "{}", errors[0]);
    }
}
