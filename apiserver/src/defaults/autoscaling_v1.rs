//! autoscaling/v1: upstream's `pkg/apis/autoscaling/v1/defaults.go`.
//! `targetCPUUtilizationPercentage` is deliberately not defaulted: upstream
//! leaves it unset and the autoscaler falls back to its own 80% target.

use serde_json::json;

use crate::defaults::util::{Obj, child_or_create, set_default};

/// Applies autoscaling/v1 defaulting; false for a kind this group does not serve.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "HorizontalPodAutoscaler" => set_defaults_horizontal_pod_autoscaler(obj),
        "Scale" => {}
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_HorizontalPodAutoscaler`.
pub fn set_defaults_horizontal_pod_autoscaler(obj: &mut Obj) {
    if let Some(spec) = child_or_create(obj, "spec") {
        set_default(spec, "minReplicas", json!(1));
    }
}
