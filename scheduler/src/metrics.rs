//! Prometheus metrics with upstream's names, served with `/healthz` over plain HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub result: &'static str,
    pub profile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: &'static str,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub attempts: Family<AttemptLabels, Counter>,
    pub attempt_duration: Family<AttemptLabels, Histogram>,
    pub pending: Family<QueueLabel, Gauge>,
    pub preemption_victims: Counter,
}

pub const SCHEDULED: &str = "scheduled";
pub const UNSCHEDULABLE: &str = "unschedulable";
pub const ERROR: &str = "error";

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let attempts = Family::<AttemptLabels, Counter>::default();
        // upstream's buckets: 1 ms doubling 15 times.
        let attempt_duration = Family::<AttemptLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        let pending = Family::<QueueLabel, Gauge>::default();
        let preemption_victims = Counter::default();
        registry.register(
            "scheduler_schedule_attempts",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
            attempts.clone(),
        );
        registry.register(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            attempt_duration.clone(),
        );
        registry.register(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
            pending.clone(),
        );
        registry.register(
            "scheduler_preemption_victims",
            "Number of selected preemption victims",
            preemption_victims.clone(),
        );
        Self { registry: Mutex::new(registry), attempts, attempt_duration, pending, preemption_victims }
    }
}

impl Metrics {
    pub fn observe(&self, result: &'static str, profile: &str, seconds: f64) {
        let labels = AttemptLabels { result, profile: profile.to_string() };
        self.attempts.get_or_create(&labels).inc();
        self.attempt_duration.get_or_create(&labels).observe(seconds);
    }

    pub fn set_pending(&self, pending: &crate::queue::Pending) {
        self.pending.get_or_create(&QueueLabel { queue: "active" }).set(pending.active as i64);
        self.pending.get_or_create(&QueueLabel { queue: "backoff" }).set(pending.backoff as i64);
        self.pending.get_or_create(&QueueLabel { queue: "unschedulable" }).set(pending.unschedulable as i64);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock()
            && let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry)
        {
            tracing::warn!(error = %e, "encoding metrics");
        }
        out
    }
}

/// Serves `/metrics` and `/healthz` on `addr` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding the scheduler's metrics address {addr}: {e}"))?;
    tracing::info!(address = %listener.local_addr().unwrap_or(addr), "serving /metrics and /healthz (plain HTTP)");
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.encode())
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
