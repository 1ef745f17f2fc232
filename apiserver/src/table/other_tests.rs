//! Tests of the printers in other.rs.

use super::*;
use serde_json::json;
use std::time::{Duration, SystemTime};

fn row(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    super::super::cells(group, kind, obj, SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_557_600))
}

#[test]
fn horizontal_pod_autoscalers() {
    let v2 = json!({
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1024Mi"}}},
                {"type": "Pods", "pods": {"target": {"averageValue": "1k"}}}
            ]
        },
        "status": {"currentReplicas": 3, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}
        ]}
    });
    assert_eq!(
        &row("autoscaling", "HorizontalPodAutoscaler", &v2)[1..6],
        &[
            json!("Deployment/web"),
            json!("cpu: 45%/80%, memory: <unknown>/1Gi + 1 more..."),
            json!("2"),
            json!(10),
            json!(3)
        ]
    );
    let v1 = json!({
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50},
        "status": {"currentReplicas": 1}
    });
    assert_eq!(
        &row("autoscaling", "HorizontalPodAutoscaler", &v1)[1..5],
        &[json!("Deployment/api"), json!("cpu: <unknown>/50%"), json!("<unset>"), json!(4)]
    );
    let external = json!({"spec": {"metrics": [
        {"type": "External", "external": {"target": {"type": "Value", "value": "100"}}},
        {"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "500m"}}}
    ]}, "status": {"currentMetrics": [{"type": "External", "external": {"current": {"value": "20"}}}]}});
    assert_eq!(row("autoscaling", "HorizontalPodAutoscaler", &external)[2], json!("20/100, <unknown>/500m (avg)"));
    assert_eq!(row("autoscaling", "HorizontalPodAutoscaler", &json!({}))[2], json!("<none>"));
}

#[test]
fn disruption_budgets() {
    let pdb = json!({"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(&row("policy", "PodDisruptionBudget", &pdb)[1..4], &[json!("50%"), json!("N/A"), json!(1)]);
    let pdb = json!({"spec": {"maxUnavailable": 1}});
    assert_eq!(&row("policy", "PodDisruptionBudget", &pdb)[1..4], &[json!("N/A"), json!("1"), json!(0)]);
}

#[test]
fn role_bindings() {
    let rb = json!({
        "metadata": {"name": "rb"},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "default", "namespace": "ns"}
        ]
    });
    for kind in ["RoleBinding", "ClusterRoleBinding"] {
        let cells = row("rbac.authorization.k8s.io", kind, &rb);
        assert_eq!(cells[1], json!("ClusterRole/view"));
        assert_eq!(&cells[3..], &[json!("alice, bob"), json!("devs"), json!("ns/default")]);
    }
}

#[test]
fn certificate_signing_requests() {
    let csr = |conditions: Value, certificate: &str| {
        json!({"spec": {"signerName": "kubernetes.io/kubelet-serving", "username": "system:node:n1", "expirationSeconds": 86400},
            "status": {"conditions": conditions, "certificate": certificate}})
    };
    let cases = [
        (csr(json!([]), ""), "Pending"),
        (csr(json!([{"type": "Approved", "status": "True"}]), "Y2VydA=="), "Approved,Issued"),
        (csr(json!([{"type": "Approved"}, {"type": "Denied"}]), ""), "Denied"),
        (csr(json!([{"type": "Approved"}, {"type": "Failed"}]), ""), "Approved,Failed"),
    ];
    for (obj, want) in cases {
        let cells = row("certificates.k8s.io", "CertificateSigningRequest", &obj);
        assert_eq!(
            &cells[2..],
            &[json!("kubernetes.io/kubelet-serving"), json!("system:node:n1"), json!("24h"), json!(want)]
        );
    }
    let bare = row("certificates.k8s.io", "CertificateSigningRequest", &json!({}));
    assert_eq!(&bare[2..], &[json!("<none>"), json!(""), json!("<none>"), json!("Pending")]);
}

#[test]
fn flow_control() {
    let fs = json!({"spec": {"priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 9000,
        "distinguisherMethod": {"type": "ByUser"}}, "status": {"conditions": [{"type": "Dangling", "status": "False"}]}});
    let cells = row("flowcontrol.apiserver.k8s.io", "FlowSchema", &fs);
    assert_eq!(
        (&cells[1], &cells[2], &cells[3], &cells[5]),
        (&json!("workload-low"), &json!(9000), &json!("ByUser"), &json!("False"))
    );
    assert_eq!(row("flowcontrol.apiserver.k8s.io", "FlowSchema", &json!({}))[5], json!("?"));

    let limited = json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 100,
        "limitResponse": {"type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}});
    assert_eq!(
        &row("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", &limited)[1..6],
        &[json!("Limited"), json!(100), json!(128), json!(6), json!(50)]
    );
    let exempt = json!({"spec": {"type": "Exempt", "exempt": {}}});
    assert_eq!(
        &row("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", &exempt)[1..6],
        &[json!("Exempt"), json!("<none>"), json!("<none>"), json!("<none>"), json!("<none>")]
    );
}

#[test]
fn admission() {
    let vap = json!({"spec": {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}, "validations": [{}, {}]}});
    assert_eq!(
        &row("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", &vap)[1..3],
        &[json!(2), json!("v1/ConfigMap")]
    );
    let binding = |param: Value| json!({"spec": {"policyName": "p", "paramRef": param}});
    let cases = [
        (json!({"name": "cfg", "namespace": "ns"}), "ns/cfg"),
        (json!({"name": "cfg"}), "*/cfg"),
        (
            json!({"selector": {"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]}}),
            "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}",
        ),
        (Value::Null, "<unset>"),
    ];
    for (param, want) in cases {
        let cells = row("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", &binding(param));
        assert_eq!(&cells[1..3], &[json!("p"), json!(want)]);
    }
    let hooks = json!({"webhooks": [{}, {}, {}]});
    assert_eq!(row("admissionregistration.k8s.io", "MutatingWebhookConfiguration", &hooks)[1], json!(3));
}

#[test]
fn api_services() {
    let local =
        json!({"metadata": {"name": "v1.apps"}, "status": {"conditions": [{"type": "Available", "status": "True"}]}});
    assert_eq!(&row("apiregistration.k8s.io", "APIService", &local)[1..3], &[json!("Local"), json!("True")]);
    let remote = json!({"spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
        "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}});
    assert_eq!(
        &row("apiregistration.k8s.io", "APIService", &remote)[1..3],
        &[json!("kube-system/metrics-server"), json!("False (MissingEndpoints)")]
    );
    assert_eq!(row("apiregistration.k8s.io", "APIService", &json!({}))[2], json!("Unknown"));
}

#[test]
fn scheduling_node_coordination() {
    let pc = json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": true, "preemptionPolicy": "Never"});
    let cells = row("scheduling.k8s.io", "PriorityClass", &pc);
    assert_eq!((&cells[1], &cells[2], &cells[4]), (&json!(1000), &json!(true), &json!("Never")));
    assert_eq!(row("node.k8s.io", "RuntimeClass", &json!({"handler": "runc"}))[1], json!("runc"));
    assert_eq!(row("coordination.k8s.io", "Lease", &json!({"spec": {"holderIdentity": "n1"}}))[1], json!("n1"));
    assert_eq!(
        &row("autoscaling", "Scale", &json!({"spec": {"replicas": 3}, "status": {"replicas": 2}}))[1..3],
        &[json!(3), json!(2)]
    );
}
