//! warden: a chat-ops bot server. Code map, in reading order:
//!
//! - [`model`]: the shared vocabulary (roles, subjects, channels, durations, `Problem`).
//! - [`config`]: environment variables and `warden.toml`; the only place configuration is read.
//! - [`commands`]: command definitions (`commands/*.toml`), the text grammar, argument validation.
//! - [`policy`]: tenants, principals, bindings, authorization and rate-limit decisions (pure).
//! - [`approvals`]: approval rules, votes, the plan hash, request messages, `access` args (pure).
//! - [`chat`]: signature verification, Slack and Discord wire formats (Socket Mode and Gateway
//!   frames included), the neutral invocation.
//! - [`guard`]: the pipeline tenant → principal → command → args → authorize → rate limit (pure).
//! - [`service`]: applies a guard decision in one transaction with its audit event (group
//!   commit), handles button clicks and the `jobs` built-in.
//! - [`jobs`]: the job record, the runner (claims with a lease), recovery, job messages.
//! - [`actions`]: the http and exec action executors (signed requests, programs), their plans.
//! - [`notifier`]: everything outgoing to chats goes through the `Notifier` trait.
//! - [`outbox`]: the durable outbox's vocabulary (`Outbound`, `Delivery`); rows are written
//!   with `storage::Tx::enqueue` in the transaction of the change that caused them.
//! - [`threads`]: conversations in threads: the card of a piece of work and the replies under
//!   it, as outbox rows (pure).
//! - [`audit`]: the per-tenant hash chain, its verification, search filters and summaries.
//! - [`digests`]: scheduled audit digests: which slot is due (pure), posting it once (IO).
//! - [`alerts`]: alerts from monitoring (Alertmanager, Grafana, generic webhooks): parsing,
//!   routes, the card and its actions, storm summaries (pure); `service` records them.
//! - [`schedules`]: scheduled commands: which slot is due, the invocation a run is, the checks
//!   that need the registry (pure); `service` fires them.
//! - [`links`]: short-lived signed links to job pages (bound to tenant and job) and to tenant
//!   dashboards (bound to tenant and role) (pure).
//! - [`pages`]: the live pages: job page, tenant dashboard, the fragments their streams send
//!   (pure rendering with maud, no IO); `http/live.rs` serves the streams.
//! - [`secrets`]: the envelope for secrets at rest: sealing and opening values (pure).
//! - [`storage`]: the only SQL, one set of queries for SQLite and PostgreSQL (sqlx `Any`), with
//!   embedded migrations for each; `Tx` holds the write lock on both.
//! - [`metrics`]: Prometheus metrics.
//! - [`transport`]: how chat requests arrive besides the HTTP routes: the answers shared with
//!   them (Slack and Discord), Slack Socket Mode's connection loop, the Discord Gateway's
//!   session loop under a database lease, each transport's state (SPEC §14).
//! - [`http`]: the axum router and handlers; the only module that knows axum.
//! - [`app`]: assembling state, starting and stopping the server.
//! - [`cli`]: the `warden` subcommands.
//! - [`demo`]: `warden demo`, the whole story against the real server with a fake Slack.
//! - [`telemetry`]: logging set-up.

pub mod actions;
pub mod alerts;
pub mod app;
pub mod approvals;
pub mod audit;
pub mod chat;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod digests;
pub mod guard;
pub mod http;
pub mod jobs;
pub mod links;
pub mod metrics;
pub mod model;
pub mod notifier;
pub mod outbox;
pub mod pages;
pub mod policy;
pub mod schedules;
pub mod secrets;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod threads;
pub mod transport;
