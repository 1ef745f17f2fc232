//! Pods, pod specs and containers: the defaulters of core/v1 that every
//! workload reaches through its pod template.

use serde_json::{Value, json};

use super::volumes::set_defaults_volume_and_source;
use crate::defaults::image::default_pull_policy;
use crate::defaults::quantity::{round_list_at, round_requirements_at};
use crate::defaults::util::{Obj, child, child_or_create, each_obj, is_unset, set_default, set_default_zero, str_of};

/// Seconds a pod gets to stop (`DefaultTerminationGracePeriodSeconds`).
const DEFAULT_GRACE_SECONDS: i64 = 30;

/// Mirrors `SetDefaults_Pod`: only for Pod objects, never for templates.
pub fn set_defaults_pod(pod: &mut Obj) {
    let Some(spec) = child_or_create(pod, "spec") else { return };
    for list in ["containers", "initContainers"] {
        each_obj(spec, list, requests_from_limits);
    }
    // PodLevelResources is alpha and off in 1.33: no pod-level request/limit
    // defaulting happens here.
    set_default(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        for list in ["containers", "initContainers"] {
            each_obj(spec, list, host_network_ports);
        }
    }
}

/// Requests missing from a container default to its limits (when it has any).
fn requests_from_limits(container: &mut Obj) {
    let Some(resources) = child(container, "resources") else { return };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else { return };
    let created = is_unset(resources.get("requests"));
    let Some(requests) = child_or_create(resources, "requests") else { return };
    for (name, quantity) in limits {
        requests.entry(name).or_insert(quantity);
    }
    // An empty map is omitted when upstream writes the object back.
    if created && requests.is_empty() {
        resources.shift_remove("requests");
    }
}

/// With host networking a container port's hostPort defaults to its
/// containerPort.
fn host_network_ports(container: &mut Obj) {
    each_obj(container, "ports", |port| {
        let container_port = port.get("containerPort").cloned().unwrap_or(Value::Null);
        if !crate::defaults::util::is_zero(Some(&container_port)) {
            set_default_zero(port, "hostPort", container_port);
        }
    });
}

/// Mirrors `SetDefaults_PodSpec`.
pub fn set_defaults_pod_spec(spec: &mut Obj) {
    set_default_zero(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default_zero(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(DEFAULT_GRACE_SECONDS));
    set_default_zero(spec, "schedulerName", json!("default-scheduler"));
}

/// Mirrors `SetDefaults_Container` (and `SetDefaults_EphemeralContainer`,
/// which applies the same rules to an ephemeral container).
pub fn set_defaults_container(container: &mut Obj) {
    if crate::defaults::util::is_zero(container.get("imagePullPolicy")) {
        let policy = default_pull_policy(str_of(container, "image"));
        container.insert("imagePullPolicy".into(), json!(policy));
    }
    set_default_zero(container, "terminationMessagePath", json!("/dev/termination-log"));
    set_default_zero(container, "terminationMessagePolicy", json!("File"));
}

/// Mirrors `SetDefaults_Probe` plus the walk into its handler.
pub fn set_defaults_probe(probe: &mut Obj) {
    set_default_zero(probe, "timeoutSeconds", json!(1));
    set_default_zero(probe, "periodSeconds", json!(10));
    set_default_zero(probe, "successThreshold", json!(1));
    set_default_zero(probe, "failureThreshold", json!(3));
    if let Some(http) = child(probe, "httpGet") {
        set_defaults_http_get_action(http);
    }
    if let Some(grpc) = child(probe, "grpc") {
        // Declarative default (`+default=""`) on GRPCAction.service.
        set_default(grpc, "service", json!(""));
    }
}

/// Mirrors `SetDefaults_HTTPGetAction`.
pub fn set_defaults_http_get_action(http: &mut Obj) {
    set_default_zero(http, "path", json!("/"));
    set_default_zero(http, "scheme", json!("HTTP"));
}

/// Mirrors `SetDefaults_ObjectFieldSelector`.
pub fn set_defaults_object_field_selector(selector: &mut Obj) {
    set_default_zero(selector, "apiVersion", json!("v1"));
}

/// Everything the generated walker does for one container of any list.
fn walk_container(container: &mut Obj) {
    set_defaults_container(container);
    each_obj(container, "ports", |port| {
        // Declarative default (`+default="TCP"`) on ContainerPort.protocol.
        set_default_zero(port, "protocol", json!("TCP"));
    });
    each_obj(container, "env", |env| {
        if let Some(field_ref) = child(env, "valueFrom").and_then(|v| child(v, "fieldRef")) {
            set_defaults_object_field_selector(field_ref);
        }
    });
    round_requirements_at(container, "resources");
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = child(container, probe) {
            set_defaults_probe(p);
        }
    }
    if let Some(lifecycle) = child(container, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(http) = child(lifecycle, hook).and_then(|h| child(h, "httpGet")) {
                set_defaults_http_get_action(http);
            }
        }
    }
}

/// The part of the generated walkers shared by every PodSpec: the spec
/// itself, its volumes, all three container lists and its resource lists.
pub fn walk_pod_spec(spec: &mut Obj) {
    set_defaults_pod_spec(spec);
    each_obj(spec, "volumes", set_defaults_volume_and_source);
    each_obj(spec, "initContainers", walk_container);
    each_obj(spec, "containers", walk_container);
    each_obj(spec, "ephemeralContainers", walk_container);
    round_list_at(spec, "overhead");
    round_requirements_at(spec, "resources");
}

/// A PodTemplateSpec embedded by value: its spec always exists upstream.
pub fn walk_pod_template_spec(template: &mut Obj) {
    if let Some(spec) = child_or_create(template, "spec") {
        walk_pod_spec(spec);
    }
}

/// Mirrors `SetObjectDefaults_Pod`.
pub fn set_object_defaults_pod(pod: &mut Obj) {
    set_defaults_pod(pod);
    if let Some(spec) = child_or_create(pod, "spec") {
        walk_pod_spec(spec);
    }
    if let Some(status) = child(pod, "status") {
        for list in ["initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"] {
            each_obj(status, list, |s| {
                round_list_at(s, "allocatedResources");
                round_requirements_at(s, "resources");
            });
        }
    }
}

/// Mirrors `SetObjectDefaults_PodTemplate`.
pub fn set_object_defaults_pod_template(obj: &mut Obj) {
    if let Some(template) = child_or_create(obj, "template") {
        walk_pod_template_spec(template);
    }
}
