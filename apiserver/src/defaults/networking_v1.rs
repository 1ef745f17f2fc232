//! networking.k8s.io/v1: upstream's `pkg/apis/networking/v1/defaults.go`.
//! Ingress, IPAddress and ServiceCIDR have no defaulters.

use serde_json::json;

use crate::defaults::util::{Obj, child, child_or_create, each_obj, is_empty, set_default};

/// Applies networking.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "NetworkPolicy" => set_object_defaults_network_policy(obj),
        "IngressClass" => set_defaults_ingress_class(obj),
        "Ingress" | "IPAddress" | "ServiceCIDR" => {}
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_NetworkPolicyPort`.
pub fn set_defaults_network_policy_port(port: &mut Obj) {
    set_default(port, "protocol", json!("TCP"));
}

/// Mirrors `SetDefaults_NetworkPolicy`: no policyTypes means Ingress, plus
/// Egress when egress rules are given.
pub fn set_defaults_network_policy(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    if is_empty(spec.get("policyTypes")) {
        let mut types = vec![json!("Ingress")];
        if !is_empty(spec.get("egress")) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), types.into());
    }
}

/// Mirrors `SetObjectDefaults_NetworkPolicy`.
pub fn set_object_defaults_network_policy(obj: &mut Obj) {
    set_defaults_network_policy(obj);
    if let Some(spec) = child(obj, "spec") {
        for direction in ["ingress", "egress"] {
            each_obj(spec, direction, |rule| each_obj(rule, "ports", set_defaults_network_policy_port));
        }
    }
}

/// Mirrors `SetDefaults_IngressClass`: parameters default to cluster scope.
pub fn set_defaults_ingress_class(obj: &mut Obj) {
    if let Some(params) = child(obj, "spec").and_then(|s| child(s, "parameters")) {
        set_default(params, "scope", json!("Cluster"));
    }
}
