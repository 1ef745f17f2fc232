//! Prometheus metrics of the controllers, per controller: reconciles by result, errors,
//! reconcile duration and work-queue depth (the names controller-runtime users know).

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    controller: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    name: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    reconciles: Family<ResultLabels, Counter>,
    errors: Family<ControllerLabel, Counter>,
    duration: Family<ControllerLabel, Histogram>,
    depth: Family<QueueLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<ResultLabels, Counter>::default();
        let errors = Family::<ControllerLabel, Counter>::default();
        let duration = Family::<ControllerLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let depth = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Reconciles per controller and result (success, error, requeue)",
            reconciles.clone(),
        );
        registry.register("controller_runtime_reconcile_errors", "Failed reconciles per controller", errors.clone());
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Time per reconcile, per controller",
            duration.clone(),
        );
        registry.register("workqueue_depth", "Objects waiting to be reconciled, per controller", depth.clone());
        Self { registry: Mutex::new(registry), reconciles, errors, duration, depth }
    }
}

impl Metrics {
    pub(crate) fn reconciled(&self, controller: &str, took: Duration, result: &str) {
        let labels = ResultLabels { controller: controller.into(), result: result.into() };
        self.reconciles.get_or_create(&labels).inc();
        if result == "error" {
            self.errors.get_or_create(&ControllerLabel { controller: controller.into() }).inc();
        }
        self.duration.get_or_create(&ControllerLabel { controller: controller.into() }).observe(took.as_secs_f64());
    }

    pub(crate) fn queue_depth(&self, controller: &str, depth: usize) {
        self.depth.get_or_create(&QueueLabel { name: controller.into() }).set(depth as i64);
    }

    /// The text exposition format served on `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}
