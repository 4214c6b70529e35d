//! The Prometheus metrics warden exports on `/metrics`.
//!
//! Names and labels are part of the operator contract (dashboards and alerts use them):
//! - `warden_requests_total{route, outcome}`: every HTTP request by matched route and outcome
//!   (`ok`, `refused`, `replay`, `rejected`, `too_large`, `error`, `not_found`).
//! - `warden_requests_rejected_total{reason}`: chat requests that failed verification.
//! - `warden_request_duration_seconds{route}`: latency histogram.
//! - `warden_guard_refusals_total{step}`: invocations refused by the guard, by step.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

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
        Metrics {
            registry,
            requests,
            rejected,
            latency,
            refusals,
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

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
