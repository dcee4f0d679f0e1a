//! Prometheus metrics and readiness, shared by both modes. One registry per bot, made at start
//! and handed to what records into it (the WSC client, the core, the watcher, the front ends);
//! `/metrics` encodes it.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InteractionLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WscLabels {
    operation: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    interactions: Family<InteractionLabels, Counter>,
    ack_seconds: Histogram,
    wsc_calls: Family<WscLabels, Counter>,
    wsc_seconds: Histograms<OperationLabel>,
    watch_polls: Family<ResultLabel, Counter>,
    key_reloads: Family<ResultLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
    store_errors: Family<OperationLabel, Counter>,
    /// 1 when WSC could be reached at the last call (a refused connection or a failed DNS lookup
    /// cannot), 0 otherwise. Not part of readiness: a replica that cannot reach WSC still answers.
    wsc_reachable: Gauge<i64, AtomicI64>,
    /// The gateway is connected, or the endpoint is listening.
    discord_ready: AtomicBool,
}

fn latency_buckets() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("wsc_bot");
        let interactions = Family::<InteractionLabels, Counter>::default();
        let ack_seconds = latency_buckets();
        let wsc_calls = Family::<WscLabels, Counter>::default();
        let wsc_seconds: Histograms<OperationLabel> = Family::new_with_constructor(latency_buckets);
        let watch_polls = Family::<ResultLabel, Counter>::default();
        let key_reloads = Family::<ResultLabel, Counter>::default();
        let refused = Family::<ReasonLabel, Counter>::default();
        let store_errors = Family::<OperationLabel, Counter>::default();
        let wsc_reachable = Gauge::<i64, AtomicI64>::default();
        // Until a call says otherwise.
        wsc_reachable.set(1);
        registry.register("interactions", "Interactions handled, by kind and outcome", interactions.clone());
        registry.register(
            "ack_latency_seconds",
            "Time from receiving an interaction to acknowledging it",
            ack_seconds.clone(),
        );
        registry.register("wsc_calls", "WSC API calls, by operation and result", wsc_calls.clone());
        registry.register(
            "wsc_call_duration_seconds",
            "WSC API call latency, by operation",
            wsc_seconds.clone(),
        );
        registry.register("watch_polls", "Notification polls, by result", watch_polls.clone());
        registry.register(
            "ncp_key_reloads",
            "NCP key files read again (SIGHUP, or NCP refusing the key), by result",
            key_reloads.clone(),
        );
        registry.register(
            "interactions_refused",
            "Signed or delivered interactions the bot did not act on, by reason",
            refused.clone(),
        );
        registry.register(
            "store_errors",
            "Store operations that failed, by operation; the bot went on without them",
            store_errors.clone(),
        );
        registry.register(
            "wsc_reachable",
            "1 when WSC could be reached at the last call, 0 when it could not",
            wsc_reachable.clone(),
        );
        Metrics {
            registry,
            interactions,
            ack_seconds,
            wsc_calls,
            wsc_seconds,
            watch_polls,
            key_reloads,
            refused,
            store_errors,
            wsc_reachable,
            discord_ready: AtomicBool::new(false),
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn interaction(&self, kind: &str, outcome: &str) {
        self.interactions
            .get_or_create(&InteractionLabels { kind: kind.into(), outcome: outcome.into() })
            .inc();
    }

    pub fn acknowledged(&self, after: Duration) {
        self.ack_seconds.observe(after.as_secs_f64());
    }

    pub fn wsc_call(&self, operation: &str, result: &str, took: Duration, reachable: bool) {
        self.wsc_calls.get_or_create(&WscLabels { operation: operation.into(), result: result.into() }).inc();
        self.wsc_seconds
            .get_or_create(&OperationLabel { operation: operation.into() })
            .observe(took.as_secs_f64());
        self.wsc_reachable.set(i64::from(reachable));
    }

    /// An interaction not acted on: `undecodable`, `unhandled` or `repeat`.
    pub fn refused(&self, reason: &str) {
        self.refused.get_or_create(&ReasonLabel { reason: reason.into() }).inc();
    }

    pub fn store_error(&self, operation: &str) {
        self.store_errors.get_or_create(&OperationLabel { operation: operation.into() }).inc();
    }

    pub fn watch_poll(&self, result: &str) {
        self.watch_polls.get_or_create(&ResultLabel { result: result.into() }).inc();
    }

    pub fn key_reload(&self, result: &str) {
        self.key_reloads.get_or_create(&ResultLabel { result: result.into() }).inc();
    }

    pub fn set_discord_ready(&self, ready: bool) {
        self.discord_ready.store(ready, Ordering::Relaxed);
    }

    /// Whether this process can take interactions; `Err` names why not. WSC's health is not
    /// part of it: a replica taken out of rotation would never make the call that clears it, and
    /// people would get Discord's "interaction failed" instead of the bot's own sentence.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if !self.discord_ready.load(Ordering::Relaxed) {
            return Err("not connected to Discord");
        }
        Ok(())
    }

    /// The Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// `/healthz`, `/readyz` and `/metrics` of `metrics`, for both modes.
pub fn routes<S: Clone + Send + Sync + 'static>(metrics: Arc<Metrics>) -> axum::Router<S> {
    use axum::http::StatusCode;
    use axum::routing::get;
    let ready = metrics.clone();
    axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || async move {
                match ready.readiness() {
                    Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
                    Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
                }
            }),
        )
        .route(
            "/metrics",
            get(move || async move {
                (
                    [("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    metrics.encode(),
                )
            }),
        )
}
