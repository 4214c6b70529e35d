//! Assembling and running the server: load and validate everything at start (a misconfiguration
//! stops start-up with `FILE:LINE: problem` lines), open and migrate the database, bind, serve,
//! and shut down gracefully (in-flight requests finish).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ed25519_dalek::VerifyingKey;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::actions::ActionEnv;
use crate::chat::discord::client::DiscordClient;
use crate::chat::slack::client::SlackClient;
use crate::commands::{load as commands_load, Registry};
use crate::config::{self, Directory, Retention, Settings};
use crate::jobs::runner::LinkMaker;
use crate::jobs::{Runner, RunnerConfig};
use crate::metrics::Metrics;
use crate::model::Problem;
use crate::notifier::outbox::{Dispatcher, DispatcherConfig};
use crate::service::Service;
use crate::storage::Store;

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The guard pipeline and the database.
    pub service: Service,
    /// Slack signing secrets, newest and old during a rotation; empty disables Slack.
    pub slack_secrets: Vec<SecretString>,
    /// Dedicated Slack slash commands (`/deploy`) mapped to warden command names.
    pub slack_dedicated: HashMap<String, String>,
    /// Discord's application public key; `None` disables Discord.
    pub discord_key: Option<VerifyingKey>,
    /// The Slack Web API client, when a bot token is configured.
    pub slack_client: Option<SlackClient>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Becomes true when the server starts shutting down: long-lived responses (the live
    /// pages' streams) end then, so shutdown does not wait for them.
    pub stopping: watch::Receiver<bool>,
    /// The alert sources with their credentials, read from the environment at start.
    pub alert_sources: Vec<AlertCredential>,
    /// The outbound transports (Socket Mode, the Gateway) and their states, for `/readyz`.
    pub transports: crate::transport::Transports,
}

/// An alert source and the secret its requests must carry (a bearer token or an HMAC key).
/// `SecretString` prints as redacted, so the derived `Debug` never shows the secret.
#[derive(Debug)]
pub struct AlertCredential {
    /// The source.
    pub source: crate::config::AlertSource,
    /// Its credential.
    pub secret: SecretString,
}

/// Reads every alert source's credential from `environment`; a source whose variable is unset
/// or empty stops the start, naming the variable, since it would refuse every alert.
pub fn alert_credentials(
    directory: &Directory,
    environment: &std::collections::HashMap<String, String>,
) -> anyhow::Result<Vec<AlertCredential>> {
    directory
        .alert_sources
        .values()
        .map(|source| {
            let env = source.auth.env();
            match environment.get(env).filter(|v| !v.trim().is_empty()) {
                Some(value) => Ok(AlertCredential {
                    source: source.clone(),
                    secret: SecretString::from(value.trim().to_string()),
                }),
                None => anyhow::bail!(
                    "alert source `{}`: the environment variable {env} is not set (it holds the {} the source's requests must carry)",
                    source.name,
                    match source.auth {
                        crate::config::AlertAuth::Bearer { .. } => "bearer token",
                        crate::config::AlertAuth::Hmac { .. } => "signing secret",
                    }
                ),
            }
        })
        .collect()
}

impl AppState {
    /// Answers an `app_mention` with an ephemeral message, in the background so the event is
    /// acknowledged at once. A failure is logged; delivery retries arrive with the outbox.
    pub fn answer_mention(&self, channel: String, user: String, text: String) {
        let Some(client) = self.slack_client.clone() else {
            tracing::warn!("app_mention answered with nothing: SLACK_BOT_TOKEN is not set");
            return;
        };
        tokio::spawn(async move {
            if let Err(error) = client.post_ephemeral(&channel, &user, &text).await {
                tracing::warn!("could not answer an app_mention: {error:#}");
            }
        });
    }
}

/// Loads the directory (`warden.toml`) and the command registry, returning every problem found
/// in either.
pub fn load_definitions(settings: &Settings) -> Result<(Directory, Registry), Vec<Problem>> {
    let mut problems = Vec::new();
    let directory = match &settings.config_path {
        Some(path) => match config::load_directory(path) {
            Ok(dir) => Some(dir),
            Err(mut found) => {
                problems.append(&mut found);
                None
            }
        },
        None => Some(Directory::default()),
    };
    let registry = match commands_load::load_dir(&settings.commands_dir) {
        Ok(registry) => Some(registry),
        Err(mut found) => {
            problems.append(&mut found);
            None
        }
    };
    if let (Some(d), Some(r)) = (&directory, &registry) {
        problems.extend(crate::schedules::check(d, r));
        problems.extend(crate::alerts::check::check(d, r));
    }
    match (directory, registry) {
        (Some(d), Some(r)) if problems.is_empty() => Ok((d, r)),
        _ => Err(problems),
    }
}

/// A server that is listening.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The shared state, for tests that inspect the database.
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.context("server task panicked")??;
        self.state.service.store.close().await;
        Ok(())
    }
}

/// Loads everything, opens and migrates the database, binds and starts serving.
pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
    let settings_database_url = settings.database_url.clone();
    let (directory, registry) = load_definitions(&settings).map_err(|problems| {
        anyhow::anyhow!(problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n"))
    })?;
    for warning in directory.warnings(chrono::Utc::now()) {
        tracing::warn!("{warning}");
    }
    let store = Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await?
    .with_keyring(settings.encryption.clone())
    .with_sqlite_wal_limit(settings.sqlite_wal_limit);
    store.migrate().await?;
    if let Some(keyring) = &settings.encryption {
        let sealed = crate::service::seal_legacy(&store, &registry, keyring).await?
            + store.seal_plain_capabilities().await?;
        if sealed > 0 {
            tracing::info!(
                rows = sealed,
                "sealed secret argument values an older warden stored in plaintext"
            );
        }
    }
    let mut metrics = Metrics::new();
    if store.sqlite_wal().is_some() {
        metrics.register_sqlite_wal();
    }
    let metrics = Arc::new(metrics);
    let slack_dedicated = registry
        .iter()
        .filter_map(|spec| {
            spec.slash_command
                .clone()
                .map(|slash| (slash, spec.name.clone()))
        })
        .collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")?;
    let discord_client = settings.discord.as_ref().and_then(|discord| {
        discord.bot_token.clone().map(|token| {
            DiscordClient::new(
                http.clone(),
                discord.api_url.clone(),
                token,
                discord.application_id.clone(),
            )
        })
    });
    let (slack_secrets, slack_client) = match &settings.slack {
        Some(slack) => (
            slack.signing_secrets.clone(),
            slack
                .bot_token
                .clone()
                .map(|t| SlackClient::new(slack.api_url.clone(), t, Duration::from_secs(10))),
        ),
        None => (Vec::new(), None),
    };
    let discord_key = match settings.discord.as_ref().and_then(|d| d.public_key) {
        Some(key) => Some(
            VerifyingKey::from_bytes(&key)
                .map_err(|_| anyhow::anyhow!("DISCORD_PUBLIC_KEY is not a valid Ed25519 key"))?,
        ),
        None => None,
    };
    let websockets = settings
        .slack
        .as_ref()
        .is_some_and(|s| s.app_token.is_some())
        || settings
            .discord
            .as_ref()
            .is_some_and(|d| d.gateway.is_some());
    if slack_secrets.is_empty() && discord_key.is_none() && !websockets {
        tracing::warn!("neither SLACK_SIGNING_SECRET nor DISCORD_PUBLIC_KEY is set: every chat request will be rejected");
    }
    let directory = Arc::new(directory);
    let registry = Arc::new(registry);
    let (action_env, missing) = ActionEnv::capture(&registry, &settings.environment);
    for name in missing {
        tracing::warn!("a command uses the environment variable {name}, which is not set");
    }
    // The job-link key is made once per database and shared by every replica. Two v4 UUIDs
    // give 244 bits from the operating system's random source.
    let mut fresh_key = Vec::with_capacity(32);
    fresh_key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    fresh_key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let link_key = store.server_key("job-links", &fresh_key).await?;
    let link_key_for_digests = link_key.clone();
    let state_directory = directory.clone();
    let runner = Arc::new(
        Runner::new(
            store.clone(),
            registry.clone(),
            directory.clone(),
            Arc::new(action_env),
            settings.alert_channel.clone(),
            LinkMaker {
                public_url: settings.public_url.clone(),
                key: Arc::new(link_key),
            },
            RunnerConfig {
                concurrency: settings.job_concurrency,
                lease: settings.job_lease,
                ..RunnerConfig::default()
            },
        )
        .with_keyring(settings.encryption.clone()),
    );
    let alert_sources = alert_credentials(&directory, &settings.environment)?;
    let (shutdown, mut stop) = watch::channel(false);
    let state = Arc::new(AppState {
        alert_sources,
        stopping: stop.clone(),
        service: Service::new(
            store.clone(),
            directory,
            registry,
            settings.slack_command.clone(),
            metrics.clone(),
            runner.clone(),
        ),
        slack_secrets,
        slack_dedicated,
        discord_key,
        slack_client: slack_client.clone(),
        metrics: metrics.clone(),
        transports: crate::transport::Transports::new(metrics.clone()),
    });
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let router = crate::http::router(state.clone(), settings.request_timeout);
    let server_limits = settings.server_limits;
    let runner_task = tokio::spawn(runner.run(stop.clone()));
    let gateway_client = discord_client.clone();
    let dispatcher = Arc::new(Dispatcher::new(
        store.clone(),
        slack_client.clone(),
        discord_client,
        metrics.clone(),
        DispatcherConfig {
            dead_letter_channel: settings.alert_channel.clone(),
            per_channel_per_sec: settings.channel_rate,
            ..DispatcherConfig::default()
        },
    ));
    let dispatcher_task = tokio::spawn(dispatcher.run(stop.clone()));
    let mut loops: Vec<JoinHandle<()>> = Vec::new();
    if let Some((slack, app_token)) = settings
        .slack
        .as_ref()
        .and_then(|slack| Some((slack, slack.app_token.clone()?)))
    {
        // Socket Mode (SPEC §14): every replica connects; Slack gives each envelope to one
        // connection, and the HTTP routes keep working beside it.
        let config = crate::transport::slack_socket::SocketConfig {
            api_url: slack.api_url.clone(),
            app_token,
            ping: settings.transport_ping,
            backoff_base: Duration::from_secs(1),
        };
        loops.push(tokio::spawn(crate::transport::slack_socket::run(
            state.clone(),
            config,
            stop.clone(),
        )));
    }
    if let (Some(discord), Some(client)) = (settings.discord.as_ref(), gateway_client) {
        if let (Some(gateway), Some(token)) = (&discord.gateway, &discord.bot_token) {
            // The Discord Gateway (SPEC §14): every replica runs the loop, but only the one
            // holding the lease opens a session; the others stand by to take over.
            let config = crate::transport::discord_gateway::GatewayConfig {
                url: gateway.url.clone(),
                token: token.clone(),
                owner: crate::transport::discord_gateway::owner_name(),
                lease: Default::default(),
                backoff_base: Duration::from_secs(1),
            };
            loops.push(tokio::spawn(crate::transport::discord_gateway::run(
                state.clone(),
                client,
                config,
                stop.clone(),
            )));
        }
    }
    {
        // Digests: every tenant's `[[digests]]`, checked once a minute; a slot fires once,
        // whatever the number of replicas, and a missed slot is caught up once after downtime.
        let store = store.clone();
        let directory = state_directory.clone();
        let public_url = settings.public_url.clone();
        let key = link_key_for_digests.clone();
        let mut stop = stop.clone();
        loops.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(error) = crate::digests::tick(&store, &directory, &public_url, &key, chrono::Utc::now()).await {
                            tracing::warn!("sending digests failed: {error:#}");
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        }));
    }
    let expiry_service = state.service.clone();
    let mut stop_expiry = stop.clone();
    loops.push(tokio::spawn(async move {
        // Pending approvals live in the database, so they survive restarts; whichever process
        // sweeps first after one expires marks it (compare-and-set), updates its message and
        // tells the requester.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(error) = expiry_service.expire_approvals(chrono::Utc::now()).await {
                        tracing::warn!("expiring approvals failed: {error:#}");
                    }
                    if let Err(error) = expiry_service.remind_approvals(chrono::Utc::now()).await {
                        tracing::warn!("reminding approvers failed: {error:#}");
                    }
                }
                _ = stop_expiry.changed() => break,
            }
        }
    }));
    let schedule_service = state.service.clone();
    let mut stop_schedules = stop.clone();
    loops.push(tokio::spawn(async move {
        // Scheduled commands (SPEC §17): checked every second (the shortest period is 10 s);
        // each slot is claimed in the transaction that records its run, so it fires once
        // across replicas, and a missed slot is caught up once.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(error) = schedule_service.fire_schedules(chrono::Utc::now()).await {
                        tracing::warn!("running schedules failed: {error:#}");
                    }
                }
                _ = stop_schedules.changed() => break,
            }
        }
    }));
    let mut stop_purge = stop.clone();
    let purge_store = store.clone();
    let retention = settings.retention;
    loops.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => purge(&purge_store, &retention, chrono::Utc::now()).await,
                _ = stop_purge.changed() => break,
            }
        }
    }));
    let task = tokio::spawn(async move {
        crate::http::serve(listener, router, server_limits, async move {
            let _ = stop.changed().await;
        })
        .await?;
        // HTTP has stopped taking requests; now let running jobs finish (or hand them back),
        // then let the outbox deliver what is in flight (the rest waits in the database).
        runner_task.await.context("the job runner panicked")?;
        dispatcher_task
            .await
            .context("the outbox dispatcher panicked")?;
        // The periodic loops (digests, approval expiry, schedules, purge) end at their next
        // turn; waiting for them means no transaction of theirs is still open when shutdown
        // returns and the database is closed.
        for handle in loops {
            handle.await.context("a periodic task panicked")?;
        }
        anyhow::Ok(())
    });
    // What an operator checks first on a new replica: where it listens and which database it
    // writes to (the URL without its password).
    tracing::info!(
        listen = %addr,
        database = %crate::config::redact_url(&settings_database_url),
        "warden is listening"
    );
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        task,
    })
}

/// Deletes what has outlived its retention: expired replay keys, and the history rows of
/// [`Retention`]. Every replica runs it; the deletes are idempotent. A failure is logged and
/// tried again at the next tick.
pub async fn purge(store: &Store, retention: &Retention, now: chrono::DateTime<chrono::Utc>) {
    let ms_before = |keep: Duration| now.timestamp_millis() - keep.as_millis() as i64;
    let removed = [
        (
            "replay keys",
            store.purge_replay_keys(now.timestamp()).await,
        ),
        (
            "outbox rows",
            store.purge_outbox(ms_before(retention.outbox)).await,
        ),
        (
            "job log lines",
            store
                .purge_job_logs(
                    &chrono::DateTime::from_timestamp_millis(ms_before(retention.job_logs))
                        .unwrap_or_default()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                )
                .await,
        ),
        (
            "confirmations",
            store
                .purge_confirmations(ms_before(retention.confirmations))
                .await,
        ),
        (
            "chat message ids",
            store
                .purge_chat_messages(ms_before(retention.chat_messages))
                .await,
        ),
        (
            "secret values and reply capabilities nothing needs any more",
            store.erase_finished_secrets(now.timestamp_millis()).await,
        ),
    ];
    for (what, result) in removed {
        match result {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purge.rows = n, "purged {n} {what} past their retention"),
            Err(error) => tracing::warn!("purging {what} failed: {error:#}"),
        }
    }
}
