//! apiregistration.k8s.io/v1: kube-aggregator's
//! `pkg/apis/apiregistration/v1/defaults.go` and its generated walk.

use serde_json::json;

use crate::defaults::util::{Obj, child, set_default};

/// Applies apiregistration.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "APIService" => {
            if let Some(service) = child(obj, "spec").and_then(|s| child(s, "service")) {
                set_defaults_service_reference(service);
            }
        }
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_ServiceReference`: port 443.
pub fn set_defaults_service_reference(service: &mut Obj) {
    set_default(service, "port", json!(443));
}
