//! The Prometheus metrics warden exports on `/metrics`.
//!
//! Names and labels are part of the operator contract (dashboards and alerts use them):
//! - `warden_requests_total{route, outcome}`: every HTTP request by matched route and outcome
//!   (`ok`, `refused`, `replay`, `rejected`, `too_large`, `error`, `not_found`).
//! - `warden_requests_rejected_total{reason}`: chat requests that failed verification.
//! - `warden_request_duration_seconds{route}`: latency histogram.
//! - `warden_guard_refusals_total{step}`: invocations refused by the guard, by step.
//! - `warden_explains_total{outcome}`: `why` answers (and `warden policy explain` runs do not
//!   count), by what the real invocation would end in: the refusing step, `builtin`, `run`,
//!   `confirm` or `approval`.
//! - `warden_alerts_total{outcome}`: alerts from monitoring by outcome (`posted`, `folded`,
//!   `repeated`, `resolved`, `reopened`, `unrouted`).
//! - `warden_schedule_runs_total{outcome}`: scheduled runs by outcome (`accepted`, `refused`,
//!   `replay`, `error`).
//! - `warden_outbox_deliveries_total{result}`: outbox delivery attempts by outcome
//!   (`delivered`, `retried`, `dead`).
//! - `warden_outbox_pending`, `warden_outbox_dead`, `warden_outbox_oldest_pending_seconds`:
//!   the outbox backlog, refreshed by the dispatcher about once a second.
//! - `warden_database_connections{state}`: this process's pooled database connections,
//!   `in_use` and `idle`, read at each scrape; with `warden_database_max_connections`, it
//!   shows a pool running out (requests then fail with "database is unavailable").
//! - `warden_sqlite_wal_bytes` and `warden_sqlite_wal_limit_bytes` (these three families
//!   only where the SQLite checkpointer runs, read at each scrape): the `-wal` file's size and its bound
//!   (`WARDEN_SQLITE_WAL_LIMIT`). The size staying above half the bound means writes are being
//!   held back (runbooks/database.md).
//! - `warden_sqlite_checkpoints_total{kind, result}`: the checkpointer's work, by why it ran
//!   (`passive` in the background, `catch_up` in the writer turn under continuous writes,
//!   `bound` when the log passed half its limit, `idle` when writes stopped) and how it ended
//!   (`complete`, `partial`, `failed`). `partial` passive copies are normal under load;
//!   `partial` or `failed` bound checkpoints that keep rising mean a reader is holding an old
//!   snapshot.
//! - `warden_sqlite_writes_delayed_total`: write transactions held back because the log was
//!   past half its limit.
//! - `warden_transport_connected{transport}`: 1 while this process holds a working outbound
//!   chat connection (`slack_socket`, `discord_gateway`), else 0.
//! - `warden_transport_reconnects_total{transport, reason}`: connections replaced, by why
//!   (`refresh` when the platform asked, `closed` when the socket closed, `dead` when pings
//!   went unanswered, `failed` when opening one failed).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::storage::WalStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOutcome {
    route: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Step {
    step: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportReason {
    transport: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionState {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckpointLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryResult {
    result: String,
}

/// The outbox families: deliveries by result and the backlog gauges.
#[derive(Debug, Default)]
struct OutboxMetrics {
    deliveries: Family<DeliveryResult, Counter>,
    pending: Gauge,
    dead: Gauge,
    oldest_pending_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl OutboxMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "warden_outbox_deliveries",
            "Outbox delivery attempts by result (delivered, retried, dead)",
            self.deliveries.clone(),
        );
        registry.register(
            "warden_outbox_pending",
            "Outbox messages not delivered yet",
            self.pending.clone(),
        );
        registry.register(
            "warden_outbox_dead",
            "Dead-lettered outbox messages",
            self.dead.clone(),
        );
        registry.register(
            "warden_outbox_oldest_pending_seconds",
            "Age of the oldest undelivered outbox message",
            self.oldest_pending_seconds.clone(),
        );
    }
}

/// The SQLite log families. The checkpointer keeps its own counters (storage knows nothing of
/// Prometheus); each scrape copies them here.
#[derive(Debug, Default)]
struct WalMetrics {
    bytes: Gauge,
    limit: Gauge,
    checkpoints: Family<CheckpointLabels, Counter>,
    writes_delayed: Counter,
    /// Held while copying, so that two concurrent scrapes do not both add the same increase.
    copying: std::sync::Mutex<()>,
}

impl WalMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "warden_sqlite_wal_bytes",
            "Size of the SQLite -wal file",
            self.bytes.clone(),
        );
        registry.register(
            "warden_sqlite_wal_limit_bytes",
            "The bound the checkpointer keeps the SQLite -wal file under",
            self.limit.clone(),
        );
        registry.register(
            "warden_sqlite_checkpoints",
            "SQLite checkpoints by why they ran (passive, catch_up, bound, idle) and how they ended (complete, partial, failed)",
            self.checkpoints.clone(),
        );
        registry.register(
            "warden_sqlite_writes_delayed",
            "SQLite write transactions held back because the -wal file was past half its bound",
            self.writes_delayed.clone(),
        );
    }

    fn update(&self, stats: &WalStats) {
        let _copying = self.copying.lock().unwrap_or_else(|e| e.into_inner());
        self.bytes
            .set(i64::try_from(stats.wal_bytes).unwrap_or(i64::MAX));
        self.limit
            .set(i64::try_from(stats.limit).unwrap_or(i64::MAX));
        for &(kind, result, n) in &stats.checkpoints {
            let labels = CheckpointLabels {
                kind: kind.as_str(),
                result: result.as_str(),
            };
            catch_up(&self.checkpoints.get_or_create(&labels), n);
        }
        catch_up(&self.writes_delayed, stats.writes_delayed);
    }
}

/// Moves `counter` up to `total`, a count kept elsewhere that only grows.
fn catch_up(counter: &Counter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

/// The metric families, registered once at start.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteOutcome, Counter>,
    rejected: Family<Reason, Counter>,
    latency: Family<Route, Histogram, fn() -> Histogram>,
    refusals: Family<Step, Counter>,
    explains: Family<Outcome, Counter>,
    schedule_runs: Family<Outcome, Counter>,
    alerts: Family<Outcome, Counter>,
    outbox: OutboxMetrics,
    /// Registered only where the SQLite checkpointer runs (`register_sqlite_wal`).
    wal: Option<WalMetrics>,
    connections: Family<ConnectionState, Gauge>,
    max_connections: Gauge,
    transport_connected: Family<TransportLabel, Gauge>,
    transport_reconnects: Family<TransportReason, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every family.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RouteOutcome, Counter>::default();
        let rejected = Family::<Reason, Counter>::default();
        let latency =
            Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let refusals = Family::<Step, Counter>::default();
        registry.register(
            "warden_requests",
            "HTTP requests by route and outcome",
            requests.clone(),
        );
        registry.register(
            "warden_requests_rejected",
            "Chat requests rejected by signature verification, by reason",
            rejected.clone(),
        );
        registry.register(
            "warden_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "warden_guard_refusals",
            "Invocations refused by the guard pipeline, by step",
            refusals.clone(),
        );
        let explains = Family::<Outcome, Counter>::default();
        registry.register(
            "warden_explains",
            "`why` answers, by what the real invocation would end in",
            explains.clone(),
        );
        let schedule_runs = Family::<Outcome, Counter>::default();
        registry.register(
            "warden_schedule_runs",
            "Scheduled runs, by outcome (accepted, refused, replay, error)",
            schedule_runs.clone(),
        );
        let alerts = Family::<Outcome, Counter>::default();
        registry.register(
            "warden_alerts",
            "Alerts received from monitoring, by outcome (posted, folded, repeated, resolved, reopened, unrouted)",
            alerts.clone(),
        );
        let outbox = OutboxMetrics::default();
        outbox.register(&mut registry);
        let connections = Family::<ConnectionState, Gauge>::default();
        let max_connections = Gauge::default();
        registry.register(
            "warden_database_connections",
            "Pooled database connections of this process, by state (in_use, idle)",
            connections.clone(),
        );
        registry.register(
            "warden_database_max_connections",
            "The most database connections this process opens",
            max_connections.clone(),
        );
        let transport_connected = Family::<TransportLabel, Gauge>::default();
        registry.register(
            "warden_transport_connected",
            "1 while this process holds a working outbound chat connection, by transport",
            transport_connected.clone(),
        );
        let transport_reconnects = Family::<TransportReason, Counter>::default();
        registry.register(
            "warden_transport_reconnects",
            "Outbound chat connections replaced, by transport and reason",
            transport_reconnects.clone(),
        );
        Metrics {
            transport_connected,
            transport_reconnects,
            registry,
            requests,
            rejected,
            latency,
            refusals,
            explains,
            schedule_runs,
            alerts,
            outbox,
            wal: None,
            connections,
            max_connections,
        }
    }

    /// Counts one finished HTTP request and its latency.
    pub fn observe_request(&self, route: &str, outcome: &str, seconds: f64) {
        self.requests
            .get_or_create(&RouteOutcome {
                route: route.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&Route {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// Counts one request that failed verification.
    pub fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts one guard refusal.
    pub fn refuse(&self, step: &str) {
        self.refusals
            .get_or_create(&Step {
                step: step.to_string(),
            })
            .inc();
    }

    /// Counts one `why` answer by its predicted outcome.
    pub fn explain(&self, outcome: &str) {
        self.explains
            .get_or_create(&Outcome {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one scheduled run by outcome.
    pub fn schedule_run(&self, outcome: &str) {
        self.schedule_runs
            .get_or_create(&Outcome {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one alert received from monitoring by what became of it.
    pub fn alert(&self, outcome: &str) {
        self.alerts
            .get_or_create(&Outcome {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one outbox delivery attempt: `delivered`, `retried` or `dead`.
    pub fn outbox_delivery(&self, result: &str) {
        self.outbox
            .deliveries
            .get_or_create(&DeliveryResult {
                result: result.to_string(),
            })
            .inc();
    }

    /// Sets the outbox backlog gauges.
    pub fn outbox_backlog(&self, pending: i64, dead: i64, oldest_pending_seconds: f64) {
        self.outbox.pending.set(pending);
        self.outbox.dead.set(dead);
        self.outbox
            .oldest_pending_seconds
            .set(oldest_pending_seconds);
    }

    /// Sets the connection pool gauges: connections open, of which idle, and the maximum.
    pub fn database_pool(&self, open: u32, idle: usize, max: u32) {
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        let in_use = (i64::from(open) - idle).max(0);
        for (state, value) in [("in_use", in_use), ("idle", idle)] {
            self.connections
                .get_or_create(&ConnectionState {
                    state: state.to_string(),
                })
                .set(value);
        }
        self.max_connections.set(i64::from(max));
    }

    /// Adds the SQLite log's families, for a store whose checkpointer runs (elsewhere they
    /// would only show zeros that mean nothing).
    pub fn register_sqlite_wal(&mut self) {
        let wal = WalMetrics::default();
        wal.register(&mut self.registry);
        self.wal = Some(wal);
    }

    /// Copies the SQLite log's size, bound and checkpoint counters (read at each scrape).
    pub fn sqlite_wal(&self, stats: &WalStats) {
        if let Some(wal) = &self.wal {
            wal.update(stats);
        }
    }

    /// Sets whether `transport` (`slack_socket`, `discord_gateway`) is connected.
    pub fn transport_connected(&self, transport: &str, connected: bool) {
        self.transport_connected
            .get_or_create(&TransportLabel {
                transport: transport.to_string(),
            })
            .set(i64::from(connected));
    }

    /// Counts one replaced connection of `transport`, by `reason`.
    pub fn transport_reconnect(&self, transport: &str, reason: &str) {
        self.transport_reconnects
            .get_or_create(&TransportReason {
                transport: transport.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
