//! Printers for the remaining groups: policy, autoscaling, rbac, certificates, coordination,
//! scheduling, node, admissionregistration, flowcontrol and apiregistration.

use serde_json::{Value, json};

use super::{
    AGE, Column, NAME, Now, Printer, age, arr_at, at, bool_at, col, desc, human_duration_nanos, int_at, int_or_string,
    name, opt_int_at, or, quantity, str_at,
};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    Some(match (group, kind) {
        ("policy", "PodDisruptionBudget") => (POD_DISRUPTION_BUDGET, pod_disruption_budget_row),
        ("autoscaling", "HorizontalPodAutoscaler") => (HORIZONTAL_POD_AUTOSCALER, horizontal_pod_autoscaler_row),
        ("autoscaling", "Scale") => (SCALE, scale_row),
        ("rbac.authorization.k8s.io", "RoleBinding") => (ROLE_BINDING, role_binding_row),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => (CLUSTER_ROLE_BINDING, role_binding_row),
        ("certificates.k8s.io", "CertificateSigningRequest") => (CERTIFICATE_SIGNING_REQUEST, csr_row),
        ("coordination.k8s.io", "Lease") => (LEASE, lease_row),
        ("scheduling.k8s.io", "PriorityClass") => (PRIORITY_CLASS, priority_class_row),
        ("node.k8s.io", "RuntimeClass") => (RUNTIME_CLASS, runtime_class_row),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration") => {
            (WEBHOOK_CONFIGURATION, webhook_configuration_row)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => (ADMISSION_POLICY, admission_policy_row),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            (ADMISSION_POLICY_BINDING, admission_policy_binding_row)
        }
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => (FLOW_SCHEMA, flow_schema_row),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => (PRIORITY_LEVEL, priority_level_row),
        ("apiregistration.k8s.io", "APIService") => (API_SERVICE, api_service_row),
        _ => return None,
    })
}

static POD_DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    col("Min Available", "string", "The minimum number of pods that must be available.", 0),
    col("Max Unavailable", "string", "The maximum number of pods that may be unavailable.", 0),
    col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time.", 0),
    AGE,
];

fn pod_disruption_budget_row(obj: &Value, now: Now) -> Vec<Value> {
    let bound = |field: &str| Value::from(at(obj, &["spec", field]).map_or_else(|| "N/A".to_string(), int_or_string));
    vec![
        name(obj),
        bound("minAvailable"),
        bound("maxUnavailable"),
        Value::from(int_at(obj, &["status", "disruptionsAllowed"])),
        age(obj, now),
    ]
}

// ---------------------------------------------------------------------------------------------
// Autoscaling

static HORIZONTAL_POD_AUTOSCALER: &[Column] = &[
    NAME,
    col("Reference", "string", desc::HPA_SPEC_SCALE_TARGET_REF, 0),
    col("Targets", "string", desc::HPA_SPEC_METRICS, 0),
    col("MinPods", "string", desc::HPA_SPEC_MIN_REPLICAS, 0),
    col("MaxPods", "string", desc::HPA_SPEC_MAX_REPLICAS, 0),
    col("Replicas", "string", desc::HPA_STATUS_CURRENT_REPLICAS, 0),
    AGE,
];

/// A quantity that upstream holds as a pointer: "<nil>" when absent.
fn quantity_ptr(v: Option<&Value>) -> String {
    match v {
        Some(q) => quantity::canonical(Some(q)),
        None => "<nil>".to_string(),
    }
}

/// The spec and status metric lists in autoscaling/v2 shape. An autoscaling/v1 object only
/// knows a CPU utilization target, which is what upstream converts it to.
fn hpa_metrics(hpa: &Value) -> (Vec<Value>, Vec<Value>) {
    let spec = arr_at(hpa, &["spec", "metrics"]).to_vec();
    if at(hpa, &["spec", "metrics"]).is_some() {
        return (spec, arr_at(hpa, &["status", "currentMetrics"]).to_vec());
    }
    let Some(target) = opt_int_at(hpa, &["spec", "targetCPUUtilizationPercentage"]) else {
        return (spec, arr_at(hpa, &["status", "currentMetrics"]).to_vec());
    };
    let spec = vec![
        json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}),
    ];
    let status = match opt_int_at(hpa, &["status", "currentCPUUtilizationPercentage"]) {
        Some(current) => {
            vec![json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}})]
        }
        None => Vec::new(),
    };
    (spec, status)
}

/// One metric as "current/target"; statuses pair with specs by position, as upstream pairs them.
fn format_metric(spec: &Value, status: Option<&Value>) -> String {
    // `source` is the spec's per-type field; `current` the matching status block, if reported.
    let typed = |field: &str| -> (&Value, Option<&Value>) {
        (spec.get(field).unwrap_or(&Value::Null), status.and_then(|s| at(s, &[field])))
    };
    match str_at(spec, &["type"]) {
        t @ ("External" | "Object") => {
            let (source, current) = typed(if t == "External" { "external" } else { "object" });
            if let Some(target) = at(source, &["target", "averageValue"]) {
                let current = current
                    .and_then(|c| at(c, &["current", "averageValue"]))
                    .map_or_else(|| "<unknown>".to_string(), |q| quantity::canonical(Some(q)));
                format!("{current}/{} (avg)", quantity::canonical(Some(target)))
            } else {
                let current =
                    current.map_or_else(|| "<unknown>".to_string(), |c| quantity_ptr(at(c, &["current", "value"])));
                format!("{current}/{}", quantity_ptr(at(source, &["target", "value"])))
            }
        }
        "Pods" => {
            let (source, current) = typed("pods");
            let current =
                current.map_or_else(|| "<unknown>".to_string(), |c| quantity_ptr(at(c, &["current", "averageValue"])));
            format!("{current}/{}", quantity_ptr(at(source, &["target", "averageValue"])))
        }
        t @ ("Resource" | "ContainerResource") => {
            let (source, current) = typed(if t == "Resource" { "resource" } else { "containerResource" });
            let resource = str_at(source, &["name"]);
            if let Some(target) = at(source, &["target", "averageValue"]) {
                let current = current
                    .map_or_else(|| "<unknown>".to_string(), |c| quantity_ptr(at(c, &["current", "averageValue"])));
                format!("{resource}: {current}/{}", quantity::canonical(Some(target)))
            } else {
                let current = current
                    .and_then(|c| opt_int_at(c, &["current", "averageUtilization"]))
                    .map_or_else(|| "<unknown>".to_string(), |u| format!("{u}%"));
                let target = opt_int_at(source, &["target", "averageUtilization"])
                    .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                format!("{resource}: {current}/{target}")
            }
        }
        _ => "<unknown type>".to_string(),
    }
}

/// At most two metrics, then "+ N more...".
fn format_hpa_metrics(specs: &[Value], statuses: &[Value]) -> String {
    const MAX: usize = 2;
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let list: Vec<String> =
        specs.iter().enumerate().take(MAX).map(|(i, s)| format_metric(s, statuses.get(i))).collect();
    let joined = list.join(", ");
    if specs.len() > MAX { format!("{joined} + {} more...", specs.len() - MAX) } else { joined }
}

fn horizontal_pod_autoscaler_row(hpa: &Value, now: Now) -> Vec<Value> {
    let (specs, statuses) = hpa_metrics(hpa);
    let target = format!(
        "{}/{}",
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        str_at(hpa, &["spec", "scaleTargetRef", "name"])
    );
    vec![
        name(hpa),
        Value::from(target),
        Value::from(format_hpa_metrics(&specs, &statuses)),
        Value::from(opt_int_at(hpa, &["spec", "minReplicas"]).map_or_else(|| "<unset>".to_string(), |m| m.to_string())),
        Value::from(int_at(hpa, &["spec", "maxReplicas"])),
        Value::from(int_at(hpa, &["status", "currentReplicas"])),
        age(hpa, now),
    ]
}

static SCALE: &[Column] = &[
    // Upstream's Scale table leaves the name column without the "name" format.
    col("Name", "string", desc::META_NAME, 0),
    col("Desired", "integer", desc::SCALE_SPEC_REPLICAS, 0),
    col("Available", "integer", desc::SCALE_STATUS_REPLICAS, 0),
    AGE,
];

fn scale_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(int_at(obj, &["spec", "replicas"])),
        Value::from(int_at(obj, &["status", "replicas"])),
        age(obj, now),
    ]
}

// ---------------------------------------------------------------------------------------------
// RBAC, certificates, coordination, scheduling, node

static ROLE_BINDING: &[Column] = &[
    NAME,
    col("Role", "string", desc::ROLE_BINDING_ROLE_REF, 0),
    AGE,
    col("Users", "string", "Users in the roleBinding", 1),
    col("Groups", "string", "Groups in the roleBinding", 1),
    col("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
];

static CLUSTER_ROLE_BINDING: &[Column] = &[
    NAME,
    col("Role", "string", desc::CLUSTER_ROLE_BINDING_ROLE_REF, 0),
    AGE,
    col("Users", "string", "Users in the clusterRoleBinding", 1),
    col("Groups", "string", "Groups in the clusterRoleBinding", 1),
    col("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding", 1),
];

fn role_binding_row(obj: &Value, now: Now) -> Vec<Value> {
    let (mut users, mut groups, mut service_accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr_at(obj, &["subjects"]) {
        let subject_name = str_at(subject, &["name"]).to_string();
        match str_at(subject, &["kind"]) {
            "ServiceAccount" => service_accounts.push(format!("{}/{subject_name}", str_at(subject, &["namespace"]))),
            "User" => users.push(subject_name),
            "Group" => groups.push(subject_name),
            _ => {}
        }
    }
    let role = format!("{}/{}", str_at(obj, &["roleRef", "kind"]), str_at(obj, &["roleRef", "name"]));
    vec![
        name(obj),
        Value::from(role),
        age(obj, now),
        Value::from(users.join(", ")),
        Value::from(groups.join(", ")),
        Value::from(service_accounts.join(", ")),
    ]
}

static CERTIFICATE_SIGNING_REQUEST: &[Column] = &[
    NAME,
    AGE,
    col("SignerName", "string", desc::CSR_SPEC_SIGNER_NAME, 0),
    col("Requestor", "string", desc::CSR_SPEC_REQUEST, 0),
    col("RequestedDuration", "string", desc::CSR_SPEC_EXPIRATION_SECONDS, 0),
    col("Condition", "string", desc::CSR_STATUS_CONDITIONS, 0),
];

/// "Pending", "Approved", "Denied", with ",Failed" and ",Issued" appended as they apply.
fn csr_condition(csr: &Value) -> String {
    let conditions = arr_at(csr, &["status", "conditions"]);
    let has = |t: &str| conditions.iter().any(|c| str_at(c, &["type"]) == t);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !str_at(csr, &["status", "certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

fn csr_row(csr: &Value, now: Now) -> Vec<Value> {
    let duration = opt_int_at(csr, &["spec", "expirationSeconds"])
        .map_or_else(|| "<none>".to_string(), |s| human_duration_nanos(i128::from(s) * 1_000_000_000));
    vec![
        name(csr),
        age(csr, now),
        or(str_at(csr, &["spec", "signerName"]), "<none>"),
        Value::from(str_at(csr, &["spec", "username"])),
        Value::from(duration),
        Value::from(csr_condition(csr)),
    ]
}

static LEASE: &[Column] = &[NAME, col("Holder", "string", desc::LEASE_SPEC_HOLDER_IDENTITY, 0), AGE];

fn lease_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(str_at(obj, &["spec", "holderIdentity"])), age(obj, now)]
}

static PRIORITY_CLASS: &[Column] = &[
    NAME,
    col("Value", "integer", desc::PRIORITY_CLASS_VALUE, 0),
    col("Global-Default", "boolean", desc::PRIORITY_CLASS_GLOBAL_DEFAULT, 0),
    AGE,
    col("PreemptionPolicy", "string", desc::PRIORITY_CLASS_PREEMPTION_POLICY, 0),
];

fn priority_class_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(int_at(obj, &["value"])),
        Value::from(bool_at(obj, &["globalDefault"]).unwrap_or(false)),
        age(obj, now),
        Value::from(str_at(obj, &["preemptionPolicy"])),
    ]
}

// Upstream describes this column with a field ObjectMeta does not have, so the text is empty.
static RUNTIME_CLASS: &[Column] = &[NAME, col("Handler", "string", "", 0), AGE];

fn runtime_class_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(str_at(obj, &["handler"])), age(obj, now)]
}

// ---------------------------------------------------------------------------------------------
// Admission

static WEBHOOK_CONFIGURATION: &[Column] = &[
    NAME,
    col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration", 0),
    AGE,
];

fn webhook_configuration_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(arr_at(obj, &["webhooks"]).len()), age(obj, now)]
}

static ADMISSION_POLICY: &[Column] = &[
    NAME,
    col(
        "Validations",
        "integer",
        "Validations indicates the number of validation rules defined in this configuration",
        0,
    ),
    col("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy", 0),
    AGE,
];

fn admission_policy_row(obj: &Value, now: Now) -> Vec<Value> {
    let param_kind = match at(obj, &["spec", "paramKind"]) {
        Some(p) => format!("{}/{}", str_at(p, &["apiVersion"]), str_at(p, &["kind"])),
        None => "<unset>".to_string(),
    };
    vec![name(obj), Value::from(arr_at(obj, &["spec", "validations"]).len()), Value::from(param_kind), age(obj, now)]
}

static ADMISSION_POLICY_BINDING: &[Column] = &[
    NAME,
    col("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to", 0),
    col("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param", 0),
    AGE,
];

/// Upstream prints a selector-only paramRef with the Go struct dump of metav1.LabelSelector.
fn label_selector_dump(selector: &Value) -> String {
    let mut labels: Vec<(&String, &str)> = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .map_or_else(Vec::new, |m| m.iter().map(|(k, v)| (k, v.as_str().unwrap_or(""))).collect());
    labels.sort();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = arr_at(selector, &["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = arr_at(e, &["values"]).iter().filter_map(Value::as_str).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                str_at(e, &["key"]),
                str_at(e, &["operator"]),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

fn admission_policy_binding_row(obj: &Value, now: Now) -> Vec<Value> {
    let param = match at(obj, &["spec", "paramRef"]) {
        Some(p) => match (str_at(p, &["name"]), str_at(p, &["namespace"]), at(p, &["selector"])) {
            ("", _, Some(selector)) => label_selector_dump(selector),
            ("", _, None) => "<unset>".to_string(),
            // Without a namespace the param may be cluster-scoped or in any namespace.
            (n, "", _) => format!("*/{n}"),
            (n, ns, _) => format!("{ns}/{n}"),
        },
        None => "<unset>".to_string(),
    };
    vec![name(obj), Value::from(str_at(obj, &["spec", "policyName"])), Value::from(param), age(obj, now)]
}

// ---------------------------------------------------------------------------------------------
// Flow control and aggregation

static FLOW_SCHEMA: &[Column] = &[
    NAME,
    col("PriorityLevel", "string", desc::PL_REFERENCE_NAME, 0),
    col("MatchingPrecedence", "string", desc::FS_SPEC_MATCHING_PRECEDENCE, 0),
    col("DistinguisherMethod", "string", desc::FS_SPEC_DISTINGUISHER_METHOD, 0),
    AGE,
    col("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration", 0),
];

fn flow_schema_row(obj: &Value, now: Now) -> Vec<Value> {
    let distinguisher = match at(obj, &["spec", "distinguisherMethod"]) {
        Some(d) => str_at(d, &["type"]).to_string(),
        None => "<none>".to_string(),
    };
    let dangling = arr_at(obj, &["status", "conditions"]).iter().find(|c| str_at(c, &["type"]) == "Dangling");
    vec![
        name(obj),
        Value::from(str_at(obj, &["spec", "priorityLevelConfiguration", "name"])),
        Value::from(int_at(obj, &["spec", "matchingPrecedence"])),
        Value::from(distinguisher),
        age(obj, now),
        Value::from(dangling.map_or("?", |c| str_at(c, &["status"]))),
    ]
}

static PRIORITY_LEVEL: &[Column] = &[
    NAME,
    col("Type", "string", desc::PL_SPEC_TYPE, 0),
    col("NominalConcurrencyShares", "string", desc::PL_LIMITED_NOMINAL_CONCURRENCY_SHARES, 0),
    col("Queues", "string", desc::PL_QUEUING_QUEUES, 0),
    col("HandSize", "string", desc::PL_QUEUING_HAND_SIZE, 0),
    col("QueueLengthLimit", "string", desc::PL_QUEUING_QUEUE_LENGTH_LIMIT, 0),
    AGE,
];

fn priority_level_row(obj: &Value, now: Now) -> Vec<Value> {
    let none = || Value::from("<none>");
    let (mut shares, mut queues, mut hand_size, mut queue_length) = (none(), none(), none(), none());
    if let Some(limited) = at(obj, &["spec", "limited"]) {
        // Absent values read as the API defaults (30 shares; 64 queues, hand size 8, 50 long).
        let field = |v: &Value, path: &[&str], default: i64| Value::from(opt_int_at(v, path).unwrap_or(default));
        shares = field(limited, &["nominalConcurrencyShares"], 30);
        if let Some(queuing) = at(limited, &["limitResponse", "queuing"]) {
            queues = field(queuing, &["queues"], 64);
            hand_size = field(queuing, &["handSize"], 8);
            queue_length = field(queuing, &["queueLengthLimit"], 50);
        }
    }
    vec![name(obj), Value::from(str_at(obj, &["spec", "type"])), shares, queues, hand_size, queue_length, age(obj, now)]
}

static API_SERVICE: &[Column] = &[
    NAME,
    col("Service", "string", "The reference to the service that hosts this API endpoint.", 0),
    col("Available", "string", "Whether this service is available.", 0),
    AGE,
];

fn api_service_row(obj: &Value, now: Now) -> Vec<Value> {
    let service = match at(obj, &["spec", "service"]) {
        Some(s) => format!("{}/{}", str_at(s, &["namespace"]), str_at(s, &["name"])),
        None => "Local".to_string(),
    };
    let available = arr_at(obj, &["status", "conditions"]).iter().find(|c| str_at(c, &["type"]) == "Available");
    let available = match available {
        None => "Unknown".to_string(),
        Some(c) => match (str_at(c, &["status"]), str_at(c, &["reason"])) {
            ("True", _) => "True".to_string(),
            (status, "") => status.to_string(),
            (status, reason) => format!("{status} ({reason})"),
        },
    };
    vec![name(obj), Value::from(service), Value::from(available), age(obj, now)]
}

#[cfg(test)]
#[path = "other_tests.rs"]
mod tests;
