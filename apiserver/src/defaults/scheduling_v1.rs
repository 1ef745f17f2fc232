//! scheduling.k8s.io/v1: upstream's `pkg/apis/scheduling/v1/defaults.go`.

use serde_json::json;

use crate::defaults::util::{Obj, set_default};

/// Applies scheduling.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "PriorityClass" => set_defaults_priority_class(obj),
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_PriorityClass`.
pub fn set_defaults_priority_class(obj: &mut Obj) {
    set_default(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
}
