//! `warden demo`: the whole story with no network, no account and no configuration. It starts
//! the real server (`app::start`) on the embedded SQLite database in a fresh temporary directory,
//! with a bundled directory and commands (`demo/assets/`), a fake Slack Web API and a fake
//! deployer on 127.0.0.1, then plays the story through real signed HTTP requests and prints
//! the conversation as a person would see it in the channels. It ends with where the database
//! and logs are and the commands to explore them; `--keep` leaves the server running.
//!
//! - [`story`]: the scenes, in order.
//! - [`people`]: ana, ben, cleo and dan: signed slash commands and button clicks.
//! - [`fakes`]: the fake Slack and deployer, and the feed that prints what they receive.
//! - [`transcript`]: Slack bodies rendered as lines of a conversation (pure).
//! - `socket_mode`: `warden demo --socket-mode`, the same server reached over a fake Slack
//!   Socket Mode WebSocket instead of HTTP.

pub mod fakes;
mod people;
mod socket_mode;
mod story;
mod transcript;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::config::Settings;
use fakes::Feed;
use people::{Chat, ANA};

/// The demo's `warden.toml` and command definitions; `@DEPLOYER@` and `@SCRIPTS@` are filled
/// in when they are written out.
const FILES: [(&str, &str); 6] = [
    ("warden.toml", include_str!("demo/assets/warden.toml")),
    (
        "commands/deploy.toml",
        include_str!("demo/assets/deploy.toml"),
    ),
    (
        "commands/restart.toml",
        include_str!("demo/assets/restart.toml"),
    ),
    (
        "commands/migrate.toml",
        include_str!("demo/assets/migrate.toml"),
    ),
    ("scripts/restart.sh", include_str!("demo/assets/restart.sh")),
    ("scripts/migrate.sh", include_str!("demo/assets/migrate.sh")),
];

/// What `warden demo` was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep the server running after the story, until Ctrl-C.
    pub keep: bool,
    /// Play the Socket Mode story (`socket_mode`) instead of the full one.
    pub socket_mode: bool,
}

/// Plays the demo; returns when it is over (with `keep`, after Ctrl-C).
pub async fn run(options: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = make_dir()?;
    let secret = random_hex();
    let deployer_secret = random_hex();
    let alert_token = random_hex();
    let feed = Feed::default();
    let slack_api = fakes::start_slack(feed.clone()).await?;
    let deployer = fakes::start_deployer(feed.clone(), deployer_secret.clone()).await?;
    write_files(&dir, &deployer)?;
    // Links in messages need warden's address before it listens, so a free port is picked
    // first (and released: app::start binds it a moment later).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env: HashMap<String, String> = [
        ("WARDEN_LISTEN", format!("127.0.0.1:{port}")),
        ("WARDEN_PUBLIC_URL", base.clone()),
        ("WARDEN_DATABASE_URL", database_url(&dir)),
        ("WARDEN_CONFIG", path_str(&dir.join("warden.toml"))),
        ("WARDEN_COMMANDS_DIR", path_str(&dir.join("commands"))),
        ("SLACK_SIGNING_SECRET", secret.clone()),
        ("SLACK_BOT_TOKEN", format!("xoxb-demo-{}", random_hex())),
        ("SLACK_API_URL", slack_api.clone()),
        ("DEMO_DEPLOYER_SECRET", deployer_secret),
        ("DEMO_ALERT_TOKEN", alert_token.clone()),
        // The outbox paces each channel to one message a second, as Slack wants; the fake
        // Slack does not mind, and the demo should not take minutes.
        ("WARDEN_CHANNEL_RATE", "100".to_string()),
        ("RUST_LOG", "info".to_string()),
        ("WARDEN_LOG_FORMAT", "json".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_env(&env).map_err(|p| anyhow::anyhow!(p.join("; ")))?;
    let log = dir.join("warden.log");
    init_logs(&log, &settings)?;
    skip_startup_digest(&settings).await?;
    if options.socket_mode {
        let played = socket_mode::play(env).await;
        println!("warden's log: {}", log.display());
        return played;
    }

    println!("warden demo: the real server on {base}, a fake Slack and a fake deployer, all on 127.0.0.1.");
    println!("  tenant `demo` (Slack workspace T0DEMO), everyone typing in #deploys:");
    println!("  ana, ben and cleo: the SRE team (operators; two of them approve a prod deploy)");
    println!("  ben and cleo also lead (admins) · dan looks on (viewer)");
    println!("  Below: what people type and click (sent to warden as signed Slack requests), what");
    println!(
        "  warden answers them, and every message warden sends to Slack. (Asides in parentheses.)"
    );
    let server = crate::app::start(settings).await?;
    let chat = Chat::new(base.clone(), secret, slack_api)?;
    let stage = story::Stage {
        chat: &chat,
        feed: &feed,
        server: &server,
        public_url: &base,
        alert_token: &alert_token,
    };
    let ending = match stage.play().await {
        Ok(ending) => ending,
        Err(error) => {
            feed.flush();
            let _ = server.shutdown().await;
            return Err(error.context(format!(
                "the demo stopped; warden's log is {}",
                log.display()
            )));
        }
    };
    print_ending(&dir, &log, started, options.keep);
    if options.keep {
        println!(
            "{}",
            transcript::scene("the server keeps running (--keep); Ctrl-C stops it")
        );
        println!("The deploy's job page: {}", ending.job_link);
        println!("The tenant's dashboard: {}", ending.dashboard_link);
        print_curl(&chat);
        feed.print_live();
        tokio::signal::ctrl_c().await?;
        println!("\nstopping…");
    }
    server.shutdown().await
}

/// A fresh directory of its own under the system's temporary directory (kept after the demo,
/// for exploring).
fn make_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("warden-demo-{}", &random_hex()[..8]));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn write_files(dir: &Path, deployer: &str) -> anyhow::Result<()> {
    // The paths land inside TOML strings: escape what TOML would read as an escape or an end.
    let scripts = path_str(&dir.join("scripts"))
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    for sub in ["commands", "scripts"] {
        std::fs::create_dir(dir.join(sub))?;
    }
    for (name, text) in FILES {
        let text = text
            .replace("@DEPLOYER@", deployer)
            .replace("@SCRIPTS@", &scripts);
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

fn database_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("warden.db").display())
}

/// Writes warden's logs (JSON, one object a line) to `path`, so they stay off the transcript.
fn init_logs(path: &Path, settings: &Settings) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .try_init();
    Ok(())
}

/// A fresh database has never sent its digests, so the scheduler would post the latest slot's
/// digest the moment the server starts. The demo records the current slot as done instead, so
/// that the digest appears where the story sends it.
async fn skip_startup_digest(settings: &Settings) -> anyhow::Result<()> {
    let Some(path) = &settings.config_path else {
        return Ok(());
    };
    let directory = crate::config::load_directory(path).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(lines.join("\n"))
    })?;
    let store = crate::storage::Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await?;
    store.migrate().await?;
    let now = chrono::Utc::now();
    let mut tx = store.begin().await?;
    for digest in &directory.digests {
        let slot = crate::digests::latest_slot(&digest.schedule, now);
        tx.claim_digest_slot(&digest.tenant, &digest.channel.to_string(), slot, now)
            .await?;
    }
    tx.commit().await?;
    store.close().await;
    Ok(())
}

/// Quotes `s` for a POSIX shell when it needs it.
fn shell(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:=+,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn print_ending(dir: &Path, log: &Path, started: Instant, keep: bool) {
    let exe = std::env::current_exe()
        .map(|p| path_str(&p))
        .unwrap_or_else(|_| "warden".to_string());
    let exe = shell(&exe);
    let db = format!("WARDEN_DATABASE_URL={}", shell(&database_url(dir)));
    println!("{}", transcript::scene("explore what happened"));
    println!(
        "The story took {:.1} s. Everything is in {}:",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    println!("  database  {}  (SQLite)", dir.join("warden.db").display());
    println!("  logs      {}  (JSON, one object a line)", log.display());
    println!(
        "  config    {}, {}/",
        dir.join("warden.toml").display(),
        dir.join("commands").display()
    );
    println!("  {db} {exe} audit tail -n 40");
    println!("  {db} {exe} audit verify");
    println!("  {db} {exe} audit summary --since 1h");
    println!("  {db} {exe} outbox list --status done");
    println!(
        "  WARDEN_CONFIG={} WARDEN_COMMANDS_DIR={} {exe} check",
        shell(&path_str(&dir.join("warden.toml"))),
        shell(&path_str(&dir.join("commands")))
    );
    println!("  rm -rf {}   # when you are done", shell(&path_str(dir)));
    if !keep {
        println!(
            "The server has stopped; `warden demo --keep` leaves it running, job pages included."
        );
    }
}

/// A ready-to-paste `curl`: ana's `/ops help`, signed with this demo's secret.
fn print_curl(chat: &Chat) {
    let body = chat.slash_body(ANA, "help");
    let ts = chrono::Utc::now().timestamp();
    println!(
        "Try it: ana's `/ops help`, signed with this demo's secret. The signature is valid for"
    );
    println!("5 minutes (Slack's window), and for one request: warden acts on a signature once.");
    println!("  curl -sS {}/slack/commands \\", chat.base);
    println!("    -H 'Content-Type: application/x-www-form-urlencoded' \\");
    println!("    -H 'X-Slack-Request-Timestamp: {ts}' \\");
    println!("    -H 'X-Slack-Signature: {}' \\", chat.sign(&body, ts));
    println!("    --data-raw {}", shell(&body));
    println!("To type other commands, sign them yourself with this demo's throwaway secret:");
    println!("  SECRET={}; TS=$(date +%s)", chat.secret);
    println!("  BODY='team_id=T0DEMO&channel_id=C0DEPLOYS&user_id=U0ANA&command=%2Fops&text=deploy+api+v3.2.0+--dry-run'");
    println!("  SIG=v0=$(printf 'v0:%s:%s' \"$TS\" \"$BODY\" | openssl dgst -sha256 -hmac \"$SECRET\" -r | cut -d' ' -f1)");
    println!(
        "  curl -sS {}/slack/commands -H \"X-Slack-Request-Timestamp: $TS\" -H \"X-Slack-Signature: $SIG\" --data-raw \"$BODY\"",
        chat.base
    );
}
