//! Printers for core/v1 kinds (pods, services, nodes, events, ...); persistent volumes and claims
//! live with the other storage kinds.

use serde_json::Value;

use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Now, Printer, age, arr_at, at, bool_at, col, container_cells, deleting,
    desc, format_labels, int_at, map_len, name, or, quantity, set_time, since, str_at, time_is_set,
};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    Some(match (group, kind) {
        ("", "Pod") => (POD, pod_row),
        ("", "PodTemplate") => (POD_TEMPLATE, pod_template_row),
        ("", "ReplicationController") => (REPLICATION_CONTROLLER, replication_controller_row),
        ("", "Service") => (SERVICE, service_row),
        ("", "Endpoints") => (ENDPOINTS, endpoints_row),
        ("", "Node") => (NODE, node_row),
        ("", "Event") => (EVENT, core_event_row),
        // events.k8s.io/v1 Events are the same objects, printed by the same printer.
        ("events.k8s.io", "Event") => (EVENT, events_event_row),
        ("", "Namespace") => (NAMESPACE, namespace_row),
        ("", "Secret") => (SECRET, secret_row),
        ("", "ServiceAccount") => (SERVICE_ACCOUNT, service_account_row),
        ("", "ComponentStatus") => (COMPONENT_STATUS, component_status_row),
        ("", "ConfigMap") => (CONFIG_MAP, config_map_row),
        ("", "ResourceQuota") => (RESOURCE_QUOTA, resource_quota_row),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Pods

static POD: &[Column] = &[
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0),
    col("Status", "string", "The aggregate status of the containers in this pod.", 0),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        0,
    ),
    AGE,
    col("IP", "string", desc::POD_STATUS_POD_IP, 1),
    col("Node", "string", desc::POD_SPEC_NODE_NAME, 1),
    col("Nominated Node", "string", desc::POD_STATUS_NOMINATED_NODE_NAME, 1),
    col("Readiness Gates", "string", desc::POD_SPEC_READINESS_GATES, 1),
];

/// Tracks the most recent container termination, for "3 (5m ago)".
#[derive(Default, Clone, Copy)]
struct LastRestart(Option<i128>);

impl LastRestart {
    fn observe(&mut self, status: &Value) {
        let finished = set_time(str_at(status, &["lastState", "terminated", "finishedAt"]));
        if finished.is_some_and(|t| self.0.is_none_or(|last| last < t)) {
            self.0 = finished;
        }
    }
}

/// The reason a terminated container (or init container, with `prefix` "Init:") shows.
fn terminated_reason(terminated: &Value, prefix: &str) -> String {
    let reason = str_at(terminated, &["reason"]);
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let signal = int_at(terminated, &["signal"]);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", int_at(terminated, &["exitCode"]))
    }
}

fn condition_status<'a>(conditions: &'a [Value], type_: &str) -> Option<&'a str> {
    conditions.iter().find(|c| str_at(c, &["type"]) == type_).map(|c| str_at(c, &["status"]))
}

fn pod_row(pod: &Value, now: Now) -> Vec<Value> {
    let spec_init = arr_at(pod, &["spec", "initContainers"]);
    let conditions = arr_at(pod, &["status", "conditions"]);
    // Sidecars (init containers that restart always) count as containers of the pod.
    let is_sidecar = |name: &str| {
        spec_init.iter().any(|c| str_at(c, &["name"]) == name && str_at(c, &["restartPolicy"]) == "Always")
    };
    let total = arr_at(pod, &["spec", "containers"]).len()
        + spec_init.iter().filter(|c| str_at(c, &["restartPolicy"]) == "Always").count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart = LastRestart::default();
    let mut last_sidecar_restart = LastRestart::default();

    let phase = str_at(pod, &["status", "phase"]);
    let mut reason = match str_at(pod, &["status", "reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if conditions.iter().any(|c| str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }

    // Init containers: the first one not done yet decides the status.
    let mut initializing = false;
    for (i, status) in arr_at(pod, &["status", "initContainerStatuses"]).iter().enumerate() {
        let count = int_at(status, &["restartCount"]);
        restarts += count;
        last_restart.observe(status);
        let sidecar = is_sidecar(str_at(status, &["name"]));
        if sidecar {
            sidecar_restarts += count;
            last_sidecar_restart.observe(status);
        }
        let terminated = at(status, &["state", "terminated"]);
        let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int_at(t, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && bool_at(status, &["started"]) == Some(true) {
            if bool_at(status, &["ready"]) == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = match terminated {
            Some(t) => terminated_reason(t, "Init:"),
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                format!("Init:{waiting_reason}")
            }
            None => format!("Init:{i}/{}", spec_init.len()),
        };
        initializing = true;
        break;
    }

    if !initializing || condition_status(conditions, "Initialized") == Some("True") {
        // Regular containers; only sidecar restarts carry over from the init phase.
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in arr_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(status, &["restartCount"]);
            last_restart.observe(status);
            let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
            let terminated = at(status, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t, "");
            } else if bool_at(status, &["ready"]) == Some(true) && at(status, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose last container completed but another still runs is not "Completed".
        if reason == "Completed" && has_running {
            reason = if condition_status(conditions, "Ready") == Some("True") { "Running" } else { "NotReady" }.into();
        }
    }

    if deleting(pod) && str_at(pod, &["status", "reason"]) == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting(pod) && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart.0 {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", super::human_duration_nanos(now.0 - t)),
        _ => restarts.to_string(),
    };

    // Upstream reads the internal form, where status.podIP, when set, wins over status.podIPs.
    let pod_ip = match str_at(pod, &["status", "podIP"]) {
        "" => arr_at(pod, &["status", "podIPs"]).first().map_or("", |ip| str_at(ip, &["ip"])),
        ip => ip,
    };
    let gates = arr_at(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passing = gates
            .iter()
            .filter(|g| condition_status(conditions, str_at(g, &["conditionType"])) == Some("True"))
            .count();
        format!("{passing}/{}", gates.len())
    };

    vec![
        name(pod),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_cell),
        age(pod, now),
        or(pod_ip, "<none>"),
        or(str_at(pod, &["spec", "nodeName"]), "<none>"),
        or(str_at(pod, &["status", "nominatedNodeName"]), "<none>"),
        Value::from(readiness_gates),
    ]
}

static POD_TEMPLATE: &[Column] = &[
    NAME,
    col("Containers", "string", "Names of each container in the template.", 0),
    col("Images", "string", "Images referenced by each container in the template.", 0),
    col("Pod Labels", "string", "The labels for the pod template.", 0),
];

fn pod_template_row(obj: &Value, _now: Now) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, &["template", "spec", "containers"]));
    vec![name(obj), names, images, Value::from(format_labels(at(obj, &["template", "metadata", "labels"])))]
}

static REPLICATION_CONTROLLER: &[Column] = &[
    NAME,
    col("Desired", "integer", desc::RC_SPEC_REPLICAS, 0),
    col("Current", "integer", desc::RC_STATUS_REPLICAS, 0),
    col("Ready", "integer", desc::RC_STATUS_READY_REPLICAS, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", desc::RC_SPEC_SELECTOR, 1),
];

fn replication_controller_row(obj: &Value, now: Now) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, &["spec", "template", "spec", "containers"]));
    vec![
        name(obj),
        // spec.replicas defaults to 1.
        Value::from(super::opt_int_at(obj, &["spec", "replicas"]).unwrap_or(1)),
        Value::from(int_at(obj, &["status", "replicas"])),
        Value::from(int_at(obj, &["status", "readyReplicas"])),
        age(obj, now),
        names,
        images,
        Value::from(format_labels(at(obj, &["spec", "selector"]))),
    ]
}

// ---------------------------------------------------------------------------------------------
// Services and endpoints

static SERVICE: &[Column] = &[
    NAME,
    col("Type", "string", desc::SVC_SPEC_TYPE, 0),
    col("Cluster-IP", "string", desc::SVC_SPEC_CLUSTER_IP, 0),
    col("External-IP", "string", desc::SVC_SPEC_EXTERNAL_IPS, 0),
    col("Port(s)", "string", desc::SVC_SPEC_PORTS, 0),
    AGE,
    col("Selector", "string", desc::SVC_SPEC_SELECTOR, 1),
];

/// Sorted, de-duplicated IPs (or hostnames) of a load balancer status's ingress points.
pub(super) fn load_balancer_addresses(ingress: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = ingress
        .iter()
        .filter_map(|i| match (str_at(i, &["ip"]), str_at(i, &["hostname"])) {
            ("", "") => None,
            ("", host) => Some(host.to_string()),
            (ip, _) => Some(ip.to_string()),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn service_external_ip(svc: &Value, type_: &str) -> String {
    let external: Vec<&str> = arr_at(svc, &["spec", "externalIPs"]).iter().filter_map(Value::as_str).collect();
    match type_ {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".to_string(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            // The server prints wide rows, so the list is never clipped.
            let mut all = load_balancer_addresses(arr_at(svc, &["status", "loadBalancer", "ingress"]));
            all.extend(external.iter().map(|s| s.to_string()));
            if all.is_empty() { "<pending>".to_string() } else { all.join(",") }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// "80/TCP,443:30443/TCP", or "<none>".
pub(super) fn service_ports(ports: &[Value]) -> String {
    let pieces: Vec<String> = ports
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let protocol = match str_at(p, &["protocol"]) {
                "" => "TCP",
                proto => proto,
            };
            match int_at(p, &["nodePort"]) {
                node_port if node_port > 0 => format!("{port}:{node_port}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    if pieces.is_empty() { "<none>".to_string() } else { pieces.join(",") }
}

fn service_row(svc: &Value, now: Now) -> Vec<Value> {
    let type_ = match str_at(svc, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    };
    // As for pods, the singular clusterIP wins over clusterIPs in the internal form.
    let cluster_ip = match str_at(svc, &["spec", "clusterIP"]) {
        "" => arr_at(svc, &["spec", "clusterIPs"]).first().and_then(Value::as_str).unwrap_or(""),
        ip => ip,
    };
    vec![
        name(svc),
        Value::from(type_),
        or(cluster_ip, "<none>"),
        Value::from(service_external_ip(svc, type_)),
        Value::from(service_ports(arr_at(svc, &["spec", "ports"]))),
        age(svc, now),
        Value::from(format_labels(at(svc, &["spec", "selector"]))),
    ]
}

static ENDPOINTS: &[Column] = &[NAME, col("Endpoints", "string", desc::ENDPOINTS_SUBSETS, 0), AGE];

fn host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") }
}

/// Up to three "ip:port" endpoints, then "+ N more...".
fn format_endpoints(subsets: &[Value]) -> String {
    const MAX: usize = 3;
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut count = 0usize;
    for subset in subsets {
        let addresses = arr_at(subset, &["addresses"]);
        let ports = arr_at(subset, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports at all.
            count += addresses.len();
            list.extend(addresses.iter().map(|a| str_at(a, &["ip"]).to_string()).take(MAX - list.len().min(MAX)));
            continue;
        }
        for port in ports {
            count += addresses.len();
            let port = int_at(port, &["port"]);
            let room = MAX - list.len().min(MAX);
            list.extend(addresses.iter().take(room).map(|a| host_port(str_at(a, &["ip"]), port)));
        }
    }
    let joined = list.join(",");
    if count > list.len() { format!("{joined} + {} more...", count - MAX) } else { joined }
}

fn endpoints_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(format_endpoints(arr_at(obj, &["subsets"]))), age(obj, now)]
}

// ---------------------------------------------------------------------------------------------
// Nodes and namespaces

static NODE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node", 0),
    col("Roles", "string", "The roles of the node", 0),
    AGE,
    col("Version", "string", desc::NODE_INFO_KUBELET_VERSION, 0),
    col("Internal-IP", "string", desc::NODE_STATUS_ADDRESSES, 1),
    col("External-IP", "string", desc::NODE_STATUS_ADDRESSES, 1),
    col("OS-Image", "string", desc::NODE_INFO_OS_IMAGE, 1),
    col("Kernel-Version", "string", desc::NODE_INFO_KERNEL_VERSION, 1),
    col("Container-Runtime", "string", desc::NODE_INFO_CONTAINER_RUNTIME_VERSION, 1),
];

/// "Ready", "NotReady", "Unknown", plus ",SchedulingDisabled" when cordoned.
fn node_status(node: &Value) -> String {
    // The last Ready condition wins, as when upstream indexes conditions by type.
    let ready = arr_at(node, &["status", "conditions"]).iter().rev().find(|c| str_at(c, &["type"]) == "Ready");
    let mut status = match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if bool_at(node, &["spec", "unschedulable"]) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// Roles from `node-role.kubernetes.io/<role>` label keys and the `kubernetes.io/role` value.
fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = Vec::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).and_then(Value::as_object) {
        for (key, value) in labels {
            if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.push(role);
                }
            } else if key == "kubernetes.io/role" && value.as_str().is_some_and(|v| !v.is_empty()) {
                roles.push(value.as_str().unwrap_or_default());
            }
        }
    }
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }
}

fn node_address(node: &Value, type_: &str) -> Value {
    let found = arr_at(node, &["status", "addresses"]).iter().find(|a| str_at(a, &["type"]) == type_);
    Value::from(found.map_or("<none>", |a| str_at(a, &["address"])))
}

fn node_row(node: &Value, now: Now) -> Vec<Value> {
    let info = |field: &str| or(str_at(node, &["status", "nodeInfo", field]), "<unknown>");
    vec![
        name(node),
        Value::from(node_status(node)),
        Value::from(node_roles(node)),
        age(node, now),
        Value::from(str_at(node, &["status", "nodeInfo", "kubeletVersion"])),
        node_address(node, "InternalIP"),
        node_address(node, "ExternalIP"),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
}

static NAMESPACE: &[Column] = &[NAME, col("Status", "string", "The status of the namespace", 0), AGE];

fn namespace_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(str_at(obj, &["status", "phase"])), age(obj, now)]
}

// ---------------------------------------------------------------------------------------------
// Events

static EVENT: &[Column] = &[
    col("Last Seen", "string", desc::EVENT_LAST_TIMESTAMP, 0),
    col("Type", "string", desc::EVENT_TYPE, 0),
    col("Reason", "string", desc::EVENT_REASON, 0),
    col("Object", "string", desc::EVENT_INVOLVED_OBJECT, 0),
    col("Subobject", "string", desc::OBJECT_REFERENCE_FIELD_PATH, 1),
    col("Source", "string", desc::EVENT_SOURCE, 1),
    col("Message", "string", desc::EVENT_MESSAGE, 0),
    col("First Seen", "string", desc::EVENT_FIRST_TIMESTAMP, 1),
    col("Count", "string", desc::EVENT_COUNT, 1),
    Column { priority: 1, ..NAME },
];

/// Where each printed field lives: core/v1 and events.k8s.io/v1 name them differently.
struct EventFields {
    regarding: &'static str,
    message: &'static str,
    first: &'static str,
    last: &'static str,
    count: &'static str,
    source: &'static str,
}

const CORE_EVENT: EventFields = EventFields {
    regarding: "involvedObject",
    message: "message",
    first: "firstTimestamp",
    last: "lastTimestamp",
    count: "count",
    source: "source",
};

const EVENTS_EVENT: EventFields = EventFields {
    regarding: "regarding",
    message: "note",
    first: "deprecatedFirstTimestamp",
    last: "deprecatedLastTimestamp",
    count: "deprecatedCount",
    source: "deprecatedSource",
};

fn core_event_row(obj: &Value, now: Now) -> Vec<Value> {
    event_row(obj, now, &CORE_EVENT)
}

fn events_event_row(obj: &Value, now: Now) -> Vec<Value> {
    event_row(obj, now, &EVENTS_EVENT)
}

fn event_row(ev: &Value, now: Now, f: &EventFields) -> Vec<Value> {
    // Events from the newer API carry eventTime instead of the deprecated timestamps.
    let first = match str_at(ev, &[f.first]) {
        t if time_is_set(t) => since(now, t),
        _ => since(now, str_at(ev, &["eventTime"])),
    };
    let mut last = match str_at(ev, &[f.last]) {
        t if time_is_set(t) => since(now, t),
        _ => first.clone(),
    };
    let mut count = int_at(ev, &[f.count]);
    if let Some(series) = at(ev, &["series"]) {
        last = since(now, str_at(series, &["lastObservedTime"]));
        count = int_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events of the new API have no count.
        count = 1;
    }
    let kind = str_at(ev, &[f.regarding, "kind"]).to_lowercase();
    let target = match str_at(ev, &[f.regarding, "name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = match str_at(ev, &[f.source, "component"]) {
        "" => str_at(ev, &["reportingController"]),
        c => c,
    };
    let instance = match str_at(ev, &[f.source, "host"]) {
        "" => str_at(ev, &["reportingInstance"]),
        h => h,
    };
    let source = if instance.is_empty() { component.to_string() } else { format!("{component}, {instance}") };
    vec![
        Value::from(last),
        Value::from(str_at(ev, &["type"])),
        Value::from(str_at(ev, &["reason"])),
        Value::from(target),
        Value::from(str_at(ev, &[f.regarding, "fieldPath"])),
        Value::from(source),
        Value::from(str_at(ev, &[f.message]).trim()),
        Value::from(first),
        Value::from(count),
        name(ev),
    ]
}

// ---------------------------------------------------------------------------------------------
// Configuration and accounts

static SECRET: &[Column] =
    &[NAME, col("Type", "string", desc::SECRET_TYPE, 0), col("Data", "string", desc::SECRET_DATA, 0), AGE];

fn secret_row(obj: &Value, now: Now) -> Vec<Value> {
    // stringData is folded into data on write upstream; count the union of keys.
    let mut keys: Vec<&String> = ["data", "stringData"]
        .iter()
        .filter_map(|field| at(obj, &[field]).and_then(Value::as_object))
        .flat_map(|m| m.keys())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    vec![name(obj), or(str_at(obj, &["type"]), "Opaque"), Value::from(keys.len()), age(obj, now)]
}

static SERVICE_ACCOUNT: &[Column] = &[NAME, col("Secrets", "string", desc::SA_SECRETS, 0), AGE];

fn service_account_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(arr_at(obj, &["secrets"]).len()), age(obj, now)]
}

static CONFIG_MAP: &[Column] = &[NAME, col("Data", "string", desc::CONFIGMAP_DATA, 0), AGE];

fn config_map_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(map_len(obj, &["data"]) + map_len(obj, &["binaryData"])), age(obj, now)]
}

static COMPONENT_STATUS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the component conditions", 0),
    col("Message", "string", "Message of the component conditions", 0),
    col("Error", "string", "Error of the component conditions", 0),
];

fn component_status_row(obj: &Value, _now: Now) -> Vec<Value> {
    let healthy = arr_at(obj, &["conditions"]).iter().find(|c| str_at(c, &["type"]) == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if str_at(c, &["status"]) == "True" { "Healthy" } else { "Unhealthy" },
            str_at(c, &["message"]),
            str_at(c, &["error"]),
        ),
        None => ("Unknown", "", ""),
    };
    vec![name(obj), Value::from(status), Value::from(message), Value::from(error)]
}

static RESOURCE_QUOTA: &[Column] = &[
    NAME,
    col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume.", 0),
    col(
        "Limit",
        "string",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        0,
    ),
    AGE,
];

fn resource_quota_row(obj: &Value, now: Now) -> Vec<Value> {
    let mut resources: Vec<&String> =
        at(obj, &["status", "hard"]).and_then(Value::as_object).map_or_else(Vec::new, |m| m.keys().collect());
    resources.sort_unstable();
    let mut requests: Vec<String> = Vec::new();
    let mut limits: Vec<String> = Vec::new();
    for resource in resources {
        let used = quantity::canonical(at(obj, &["status", "used", resource]));
        let hard = quantity::canonical(at(obj, &["status", "hard", resource]));
        let entry = format!("{resource}: {used}/{hard}");
        // "limits.cpu" and the like go to the Limit column; everything else is a request.
        match resource.split_once('.') {
            Some(("limits", _)) => limits.push(entry),
            _ => requests.push(entry),
        }
    }
    vec![name(obj), Value::from(requests.join(", ")), Value::from(limits.join(", ")), age(obj, now)]
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
