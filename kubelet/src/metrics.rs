//! The real kubelet's Prometheus metrics, named as upstream's kubelet names them (so existing
//! dashboards and alerts read them): served on `/metrics` of the kubelet API, reached through
//! the apiserver as `nodes/<name>/proxy/metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    pub operation_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub container_state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ContainerTypeLabel {
    pub container_type: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets from 5 ms to ~82 s (upstream's kubelet uses similar exponential ones).
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    /// Pods with a ready sandbox (upstream: `kubelet_running_pods`).
    pub running_pods: Gauge,
    /// Containers by runtime state (created, running, exited, unknown).
    pub running_containers: Family<StateLabel, Gauge>,
    /// From the pod's creation to the kubelet seeing all its containers started.
    pub pod_start_duration: Histogram,
    /// One pod worker sync.
    pub pod_worker_duration: Histogram,
    /// One PLEG relist of the runtime.
    pub pleg_relist_duration: Histogram,
    pub started_pods: Counter,
    pub started_pods_errors: Counter,
    pub started_containers: Family<ContainerTypeLabel, Counter>,
    pub started_containers_errors: Family<ContainerTypeLabel, Counter>,
    /// CRI calls by operation: count, errors and latency.
    pub runtime_operations: Family<OperationLabel, Counter>,
    pub runtime_operations_errors: Family<OperationLabel, Counter>,
    pub runtime_operations_duration: Histograms<OperationLabel>,
    /// Images removed to free disk space.
    pub image_garbage_collected: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            running_pods: Gauge::default(),
            running_containers: Family::default(),
            pod_start_duration: latency(),
            pod_worker_duration: latency(),
            pleg_relist_duration: latency(),
            started_pods: Counter::default(),
            started_pods_errors: Counter::default(),
            started_containers: Family::default(),
            started_containers_errors: Family::default(),
            runtime_operations: Family::default(),
            runtime_operations_errors: Family::default(),
            runtime_operations_duration: Family::new_with_constructor(latency),
            image_garbage_collected: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("kubelet_running_pods", "Pods that have a running pod sandbox", m.running_pods.clone());
        registry.register("kubelet_running_containers", "Containers by container state", m.running_containers.clone());
        registry.register(
            "kubelet_pod_start_duration_seconds",
            "Seconds from a pod's creation to all its containers started",
            m.pod_start_duration.clone(),
        );
        registry.register(
            "kubelet_pod_worker_duration_seconds",
            "Seconds one sync of a pod worker takes",
            m.pod_worker_duration.clone(),
        );
        registry.register(
            "kubelet_pleg_relist_duration_seconds",
            "Seconds one relist of the container runtime takes",
            m.pleg_relist_duration.clone(),
        );
        registry.register("kubelet_started_pods", "Pod sandboxes started", m.started_pods.clone());
        registry.register(
            "kubelet_started_pods_errors",
            "Pod sandboxes that failed to start",
            m.started_pods_errors.clone(),
        );
        registry.register("kubelet_started_containers", "Containers started, by type", m.started_containers.clone());
        registry.register(
            "kubelet_started_containers_errors",
            "Containers that failed to start, by type",
            m.started_containers_errors.clone(),
        );
        registry.register(
            "kubelet_runtime_operations",
            "CRI operations, by operation type",
            m.runtime_operations.clone(),
        );
        registry.register(
            "kubelet_runtime_operations_errors",
            "Failed CRI operations, by operation type",
            m.runtime_operations_errors.clone(),
        );
        registry.register(
            "kubelet_runtime_operations_duration_seconds",
            "Seconds CRI operations take, by operation type",
            m.runtime_operations_duration.clone(),
        );
        registry.register(
            "kubelet_image_garbage_collected",
            "Images removed by image garbage collection",
            m.image_garbage_collected.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Records one CRI call.
    pub fn runtime_operation(&self, operation: &str, took: Duration, ok: bool) {
        let label = OperationLabel { operation_type: operation.to_string() };
        self.runtime_operations.get_or_create(&label).inc();
        if !ok {
            self.runtime_operations_errors.get_or_create(&label).inc();
        }
        self.runtime_operations_duration.get_or_create(&label).observe(took.as_secs_f64());
    }

    /// Sets the container gauges from the runtime's states (CRI `ContainerState` values).
    pub fn set_container_states(&self, states: impl IntoIterator<Item = i32>) {
        let mut counts = [0i64; 4];
        for state in states {
            counts[usize::try_from(state).unwrap_or(3).min(3)] += 1;
        }
        for (state, count) in ["created", "running", "exited", "unknown"].into_iter().zip(counts) {
            self.running_containers.get_or_create(&StateLabel { container_state: state }).set(count);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_carry_upstream_names() {
        let m = Metrics::default();
        m.running_pods.set(2);
        m.runtime_operation("run_pod_sandbox", Duration::from_millis(120), true);
        m.runtime_operation("pull_image", Duration::from_millis(10), false);
        m.set_container_states([1, 1, 2, 7]);
        m.started_containers.get_or_create(&ContainerTypeLabel { container_type: "container" }).inc();
        let text = m.encode();
        for expected in [
            "kubelet_running_pods 2",
            "kubelet_runtime_operations_total{operation_type=\"run_pod_sandbox\"} 1",
            "kubelet_runtime_operations_errors_total{operation_type=\"pull_image\"} 1",
            "kubelet_runtime_operations_duration_seconds_count{operation_type=\"run_pod_sandbox\"} 1",
            "kubelet_running_containers{container_state=\"running\"} 2",
            "kubelet_running_containers{container_state=\"exited\"} 1",
            "kubelet_running_containers{container_state=\"unknown\"} 1",
            "kubelet_started_containers_total{container_type=\"container\"} 1",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }
}
