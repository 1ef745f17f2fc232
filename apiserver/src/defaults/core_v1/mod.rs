//! core/v1 (the legacy group, `apiVersion: v1`): upstream's
//! `pkg/apis/core/v1/defaults.go`, the declarative `+default` tags of
//! `k8s.io/api/core/v1`, and the walks of `zz_generated.defaults.go`.

pub mod pod;
pub mod volumes;

use serde_json::{Value, json};

pub(crate) use pod::{set_object_defaults_pod, set_object_defaults_pod_template, walk_pod_template_spec};
pub(crate) use volumes::{
    set_object_defaults_persistent_volume, set_object_defaults_persistent_volume_claim, walk_persistent_volume_spec,
};

use crate::defaults::quantity::round_list_at;
use crate::defaults::util::{
    Obj, child, child_or_create, copy_labels_if_empty, each_obj, is_empty, is_unset, is_zero, set_default,
    set_default_zero, str_of,
};

/// `DefaultClientIPServiceAffinitySeconds`: three hours.
const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: i64 = 10800;

/// Applies core/v1 defaulting to an object of `kind`; false for a kind this
/// group does not serve.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "Pod" => set_object_defaults_pod(obj),
        "PodTemplate" => set_object_defaults_pod_template(obj),
        "ReplicationController" => set_object_defaults_replication_controller(obj),
        "Service" => set_object_defaults_service(obj),
        "Endpoints" => set_object_defaults_endpoints(obj),
        "Node" => set_object_defaults_node(obj),
        "PersistentVolume" => set_object_defaults_persistent_volume(obj),
        "PersistentVolumeClaim" => set_object_defaults_persistent_volume_claim(obj),
        "Namespace" => set_object_defaults_namespace(obj),
        "Secret" => set_defaults_secret(obj),
        "ConfigMap" => set_defaults_config_map(obj),
        "LimitRange" => set_object_defaults_limit_range(obj),
        "ResourceQuota" => set_object_defaults_resource_quota(obj),
        // Served, but upstream has no defaulter for them.
        "ServiceAccount" | "Event" | "Binding" | "ComponentStatus" | "Eviction" | "Scale" => {}
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_ReplicationController` (selector and labels from the
/// template) plus the declarative `replicas: 1`.
pub fn set_defaults_replication_controller(rc: &mut Obj) {
    let labels = rc
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .cloned();
    if let Some(labels) = labels.filter(|l| !l.is_empty()) {
        if let Some(spec) = child_or_create(rc, "spec")
            && is_empty(spec.get("selector"))
        {
            spec.insert("selector".into(), Value::Object(labels.clone()));
        }
        copy_labels_if_empty(rc, &labels);
    }
    if let Some(spec) = child_or_create(rc, "spec") {
        set_default(spec, "replicas", json!(1));
    }
}

/// Mirrors `SetObjectDefaults_ReplicationController`.
pub fn set_object_defaults_replication_controller(rc: &mut Obj) {
    set_defaults_replication_controller(rc);
    // The template is a pointer: only an existing one is walked.
    if let Some(template) = child_or_create(rc, "spec").and_then(|s| child(s, "template")) {
        walk_pod_template_spec(template);
    }
}

/// Upstream's `service.ExternallyAccessible`.
fn externally_accessible(spec: &Obj) -> bool {
    match str_of(spec, "type") {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => !is_empty(spec.get("externalIPs")),
        _ => false,
    }
}

/// Mirrors `SetDefaults_Service`.
pub fn set_defaults_service(svc: &mut Obj) {
    let Some(spec) = child_or_create(svc, "spec") else { return };
    set_default_zero(spec, "sessionAffinity", json!("None"));
    match str_of(spec, "sessionAffinity") {
        "None" => {
            spec.shift_remove("sessionAffinityConfig");
        }
        "ClientIP" => {
            let timeout =
                spec.get("sessionAffinityConfig").and_then(|c| c.get("clientIP")).and_then(|c| c.get("timeoutSeconds"));
            if is_unset(timeout) {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_AFFINITY_SECONDS}}),
                );
            }
        }
        _ => {}
    }
    set_default_zero(spec, "type", json!("ClusterIP"));
    each_obj(spec, "ports", |port| {
        set_default_zero(port, "protocol", json!("TCP"));
        if is_zero(port.get("targetPort")) {
            let number = port.get("port").filter(|p| p.is_number()).cloned().unwrap_or(json!(0));
            port.insert("targetPort".into(), number);
        }
    });
    if externally_accessible(spec) {
        set_default_zero(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    let service_type = str_of(spec, "type").to_string();
    if matches!(service_type.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
        if let Some(lb) = child(svc, "status").and_then(|s| child(s, "loadBalancer")) {
            each_obj(lb, "ingress", |ingress| {
                if !str_of(ingress, "ip").is_empty() {
                    set_default(ingress, "ipMode", json!("VIP"));
                }
            });
        }
    }
}

/// Mirrors `SetObjectDefaults_Service` (the declarative port protocol is the
/// same rule `SetDefaults_Service` already applied).
pub fn set_object_defaults_service(svc: &mut Obj) {
    set_defaults_service(svc);
}

/// Mirrors `SetDefaults_Endpoints`.
pub fn set_defaults_endpoints(ep: &mut Obj) {
    each_obj(ep, "subsets", |subset| {
        each_obj(subset, "ports", |port| set_default_zero(port, "protocol", json!("TCP")));
    });
}

/// Mirrors `SetObjectDefaults_Endpoints`.
pub fn set_object_defaults_endpoints(ep: &mut Obj) {
    set_defaults_endpoints(ep);
}

/// Mirrors `SetDefaults_Namespace`: the `kubernetes.io/metadata.name` label
/// always equals the name (when there is one; generateName alone is skipped).
pub fn set_defaults_namespace(ns: &mut Obj) {
    let name = ns.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("").to_string();
    if name.is_empty() {
        return;
    }
    if let Some(labels) = child_or_create(ns, "metadata").and_then(|m| child_or_create(m, "labels")) {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
}

/// Mirrors `SetDefaults_NamespaceStatus`.
pub fn set_defaults_namespace_status(status: &mut Obj) {
    set_default_zero(status, "phase", json!("Active"));
}

/// Mirrors `SetObjectDefaults_Namespace`.
pub fn set_object_defaults_namespace(ns: &mut Obj) {
    set_defaults_namespace(ns);
    if let Some(status) = child_or_create(ns, "status") {
        set_defaults_namespace_status(status);
    }
}

/// Mirrors `SetDefaults_NodeStatus`: allocatable defaults to capacity.
pub fn set_defaults_node_status(status: &mut Obj) {
    if is_unset(status.get("allocatable"))
        && let Some(capacity) = status.get("capacity").filter(|c| c.is_object()).cloned()
    {
        status.insert("allocatable".into(), capacity);
    }
}

/// Mirrors `SetObjectDefaults_Node`.
pub fn set_object_defaults_node(node: &mut Obj) {
    if let Some(status) = child(node, "status") {
        set_defaults_node_status(status);
        round_list_at(status, "capacity");
        round_list_at(status, "allocatable");
    }
}

/// Mirrors `SetDefaults_Secret`.
pub fn set_defaults_secret(secret: &mut Obj) {
    set_default_zero(secret, "type", json!("Opaque"));
}

/// Mirrors `SetDefaults_ConfigMap`. Upstream replaces a nil `data` with an
/// empty map, which its encoder then omits, so nothing visible changes and
/// nothing is written here.
pub fn set_defaults_config_map(_config_map: &mut Obj) {}

/// Fills `target[key]` from `source` for keys it lacks.
fn fill_missing(target: &mut Obj, source: Option<&Obj>) {
    for (k, v) in source.into_iter().flatten() {
        target.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// Mirrors `SetDefaults_LimitRangeItem`: for Container items the default
/// limit comes from max, the default request from the default limit, then
/// from min.
pub fn set_defaults_limit_range_item(item: &mut Obj) {
    if str_of(item, "type") != "Container" {
        return;
    }
    let map_of = |item: &Obj, key: &str| item.get(key).and_then(Value::as_object).cloned();
    let max = map_of(item, "max");
    let min = map_of(item, "min");
    let mut default = map_of(item, "default").unwrap_or_default();
    fill_missing(&mut default, max.as_ref());
    let mut default_request = map_of(item, "defaultRequest").unwrap_or_default();
    fill_missing(&mut default_request, Some(&default));
    fill_missing(&mut default_request, min.as_ref());
    // Empty maps are omitted when upstream writes the object back.
    for (key, map) in [("default", default), ("defaultRequest", default_request)] {
        if !map.is_empty() || !is_unset(item.get(key)) {
            item.insert(key.into(), Value::Object(map));
        }
    }
}

/// Mirrors `SetObjectDefaults_LimitRange`.
pub fn set_object_defaults_limit_range(lr: &mut Obj) {
    let Some(spec) = child(lr, "spec") else { return };
    each_obj(spec, "limits", |item| {
        set_defaults_limit_range_item(item);
        for key in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            round_list_at(item, key);
        }
    });
}

/// Mirrors `SetObjectDefaults_ResourceQuota`: only quantity rounding.
pub fn set_object_defaults_resource_quota(rq: &mut Obj) {
    if let Some(spec) = child(rq, "spec") {
        round_list_at(spec, "hard");
    }
    if let Some(status) = child(rq, "status") {
        round_list_at(status, "hard");
        round_list_at(status, "used");
    }
}
