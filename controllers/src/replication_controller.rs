//! The ReplicationController controller: the ReplicaSet controller's code (`replicaset.rs`)
//! applied to core/v1 ReplicationControllers, whose selector is a plain label map.

use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use crate::replicaset::Replicated;

impl Replicated for ReplicationController {
    const CONTROLLER: &'static str = "replication-controller";
    fn selector(&self) -> Option<LabelSelector> {
        let spec = self.spec.as_ref()?;
        // Without a selector, an RC selects its template's labels (upstream's defaulting).
        let labels = spec.selector.clone().or_else(|| spec.template.as_ref()?.metadata.as_ref()?.labels.clone());
        Some(LabelSelector { match_labels: labels, match_expressions: None })
    }
    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0)
    }
    fn status_json(&self) -> Value {
        serde_json::to_value(&self.status).unwrap_or(Value::Null)
    }
}
