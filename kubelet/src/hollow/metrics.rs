//! The hollow kubelet's Prometheus metrics and its plain-HTTP `/healthz` + `/metrics` endpoint
//! (upstream's kubelet healthz port, 10248 by default).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

/// Counters and gauges of every hollow node of this process.
pub struct Metrics {
    registry: Registry,
    /// Nodes registered by this process.
    pub hollow_nodes: Gauge,
    /// Pods this process reports Running.
    pub running_pods: Gauge,
    pub node_status_updates: Family<ResultLabel, Counter>,
    pub lease_renewals: Family<ResultLabel, Counter>,
    pub pod_status_updates: Family<ResultLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let hollow_nodes = Gauge::default();
        let running_pods = Gauge::default();
        let node_status_updates = Family::<ResultLabel, Counter>::default();
        let lease_renewals = Family::<ResultLabel, Counter>::default();
        let pod_status_updates = Family::<ResultLabel, Counter>::default();
        registry.register("kubelet_hollow_nodes", "Hollow nodes registered by this process", hollow_nodes.clone());
        registry.register("kubelet_running_pods", "Pods reported Running by this process", running_pods.clone());
        registry.register(
            "kubelet_node_status_updates",
            "Node status writes (nodes/<name>/status), by result",
            node_status_updates.clone(),
        );
        registry.register("kubelet_lease_renewals", "Node Lease writes, by result", lease_renewals.clone());
        registry.register(
            "kubelet_pod_status_updates",
            "Pod status writes (pods/<name>/status), by result",
            pod_status_updates.clone(),
        );
        Self { registry, hollow_nodes, running_pods, node_status_updates, lease_renewals, pod_status_updates }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        out
    }
}

pub fn result(ok: bool) -> ResultLabel {
    ResultLabel { result: if ok { "success" } else { "error" } }
}

/// The `/healthz` and `/metrics` routes.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" })).route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.encode())
                    .into_response()
            }
        }),
    )
}

/// Binds `address` (plain HTTP) and serves the routes until `shutdown` resolves; returns the
/// bound address once listening.
pub async fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("binding the healthz address {address}: {e}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(metrics)).with_graceful_shutdown(shutdown).await {
            tracing::warn!(error = %e, "healthz server stopped");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_carry_upstream_style_names() {
        let m = Metrics::default();
        m.hollow_nodes.set(3);
        m.lease_renewals.get_or_create(&result(true)).inc();
        m.node_status_updates.get_or_create(&result(false)).inc();
        let text = m.encode();
        assert!(text.contains("kubelet_hollow_nodes 3"), "{text}");
        assert!(text.contains("kubelet_lease_renewals_total{result=\"success\"} 1"), "{text}");
        assert!(text.contains("kubelet_node_status_updates_total{result=\"error\"} 1"), "{text}");
        assert!(text.contains("kubelet_running_pods 0"), "{text}");
    }
}
