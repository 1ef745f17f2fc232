//! The smaller groups: cases after upstream's defaults_test.go of
//! autoscaling/v1 and v2, networking/v1, rbac/v1, storage/v1, scheduling/v1,
//! discovery/v1 and authentication/v1.

use super::common::{defaulted, run, run_at};
use serde_json::json;

fn scale_up_defaults() -> serde_json::Value {
    json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]})
}

fn scale_down_defaults() -> serde_json::Value {
    json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]})
}

#[test]
fn hpa_v1() {
    let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"});
    run(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        vec![
            case!(
                "minReplicas only; the CPU target stays unset",
                json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": target, "maxReplicas": 5}}),
                json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": target, "maxReplicas": 5, "minReplicas": 1}}),
            ),
            case!("minReplicas kept", json!({"spec": {"minReplicas": 3}}), json!({"spec": {"minReplicas": 3}})),
        ],
    );
}

#[test]
fn hpa_v2() {
    let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"});
    let cpu80 = json!([{"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    run(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        vec![
            case!(
                "minimal HPA: minReplicas and the 80% CPU metric, no behavior",
                json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": target, "maxReplicas": 5}}),
                json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": target, "maxReplicas": 5, "minReplicas": 1, "metrics": cpu80}}),
            ),
            case!(
                "empty behavior gets both directions",
                json!({"spec": {"minReplicas": 2, "metrics": [{"type": "Pods"}], "behavior": {}}}),
                json!({"spec": {"minReplicas": 2, "metrics": [{"type": "Pods"}],
                   "behavior": {"scaleUp": scale_up_defaults(), "scaleDown": scale_down_defaults()}}}),
            ),
        ],
    );
    run_at(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "/spec/behavior",
        vec![
            (
                "scale-up window kept, rest defaulted",
                json!({"spec": {"behavior": {"scaleUp": {"stabilizationWindowSeconds": 300}}}}),
                json!({"scaleUp": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                            "policies": scale_up_defaults()["policies"]},
                "scaleDown": scale_down_defaults()}),
            ),
            (
                "scale-down select policy kept, window stays unset",
                json!({"spec": {"behavior": {"scaleDown": {"selectPolicy": "Min"}}}}),
                json!({"scaleUp": scale_up_defaults(),
                "scaleDown": {"selectPolicy": "Min", "policies": scale_down_defaults()["policies"]}}),
            ),
            (
                "given policies replace the defaults as a whole",
                json!({"spec": {"behavior": {"scaleUp": {"policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]},
                                      "scaleDown": {"stabilizationWindowSeconds": 60, "tolerance": "0.05",
                                                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}}}}),
                json!({"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]},
                "scaleDown": {"selectPolicy": "Max", "stabilizationWindowSeconds": 60, "tolerance": "0.05",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}}),
            ),
        ],
    );
}

#[test]
fn networking() {
    run(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        vec![
            case!(
                "ingress only",
                json!({"kind": "NetworkPolicy", "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}}),
                json!({"kind": "NetworkPolicy", "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                   "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}}),
            ),
            case!(
                "egress rules add Egress",
                json!({"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {}]}]}}),
                json!({"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                   "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"protocol": "TCP"}]}]}}),
            ),
            case!(
                "policyTypes kept",
                json!({"spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
                json!({"spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
            ),
        ],
    );
    run(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        vec![
            case!(
                "parameters default to cluster scope",
                json!({"spec": {"controller": "x/y", "parameters": {"kind": "P", "name": "p"}}}),
                json!({"spec": {"controller": "x/y", "parameters": {"kind": "P", "name": "p", "scope": "Cluster"}}}),
            ),
            case!("no parameters", json!({"spec": {"controller": "x/y"}}), json!({"spec": {"controller": "x/y"}})),
        ],
    );
    for kind in ["Ingress", "ServiceCIDR", "IPAddress"] {
        let obj = json!({"kind": kind, "spec": {}});
        run("networking.k8s.io", "v1", kind, vec![case!("no defaulter", obj.clone(), obj)]);
    }
}

#[test]
fn rbac() {
    let subjects_in = json!([{"kind": "User", "name": "u"}, {"kind": "Group", "name": "g"},
        {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}, {"kind": "User", "name": "v", "apiGroup": "x"}]);
    let subjects_out = json!([{"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "Group", "name": "g", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}, {"kind": "User", "name": "v", "apiGroup": "x"}]);
    for kind in ["RoleBinding", "ClusterRoleBinding"] {
        run(
            "rbac.authorization.k8s.io",
            "v1",
            kind,
            vec![case!(
                "subjects and roleRef",
                json!({"kind": kind, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": subjects_in}),
                json!({"kind": kind, "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
                   "subjects": subjects_out}),
            )],
        );
    }
    let role = json!({"kind": "Role", "rules": [{"verbs": ["get"], "resources": ["pods"], "apiGroups": [""]}]});
    run("rbac.authorization.k8s.io", "v1", "Role", vec![case!("no defaulter", role.clone(), role)]);
}

#[test]
fn storage() {
    run(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        vec![
            case!(
                "defaults",
                json!({"kind": "StorageClass", "provisioner": "p"}),
                json!({"kind": "StorageClass", "provisioner": "p", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
            ),
            case!(
                "kept",
                json!({"reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}),
                json!({"reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"})
            ),
        ],
    );
    run(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        vec![
            case!(
                "all defaults",
                json!({"kind": "CSIDriver", "metadata": {"name": "d"}, "spec": {}}),
                json!({"kind": "CSIDriver", "metadata": {"name": "d"}, "spec": {
                  "attachRequired": true, "podInfoOnMount": false, "storageCapacity": false,
                  "fsGroupPolicy": "ReadWriteOnceWithFSType", "volumeLifecycleModes": ["Persistent"],
                  "requiresRepublish": false, "seLinuxMount": false}})
            ),
            case!(
                "kept",
                json!({"spec": {"attachRequired": false, "volumeLifecycleModes": ["Ephemeral"],
                                      "fsGroupPolicy": "File", "seLinuxMount": true}}),
                json!({"spec": {"attachRequired": false, "volumeLifecycleModes": ["Ephemeral"], "fsGroupPolicy": "File",
                  "seLinuxMount": true, "podInfoOnMount": false, "storageCapacity": false, "requiresRepublish": false}})
            ),
        ],
    );
    run(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        vec![
            case!(
                "inline spec",
                json!({"spec": {"attacher": "a", "nodeName": "n", "source": {"inlineVolumeSpec": {
                  "capacity": {"storage": "1.5n"}, "rbd": {"monitors": ["m"], "image": "i"}}}}}),
                json!({"spec": {"attacher": "a", "nodeName": "n", "source": {"inlineVolumeSpec": {
                  "capacity": {"storage": "1m"}, "rbd": {"monitors": ["m"], "image": "i", "pool": "rbd",
                  "user": "admin", "keyring": "/etc/ceph/keyring"}}}}})
            ),
            case!(
                "named PV",
                json!({"spec": {"source": {"persistentVolumeName": "pv"}}}),
                json!({"spec": {"source": {"persistentVolumeName": "pv"}}})
            ),
        ],
    );
}

#[test]
fn scheduling_discovery_authentication() {
    run(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        vec![
            case!(
                "preemption",
                json!({"kind": "PriorityClass", "value": 1000}),
                json!({"kind": "PriorityClass", "value": 1000, "preemptionPolicy": "PreemptLowerPriority"})
            ),
            case!(
                "kept",
                json!({"value": 1, "preemptionPolicy": "Never"}),
                json!({"value": 1, "preemptionPolicy": "Never"})
            ),
        ],
    );
    run(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        vec![case!(
            "ports",
            json!({"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}],
               "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}),
            json!({"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}],
               "ports": [{"name": "", "protocol": "TCP", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}),
        )],
    );
    run(
        "authentication.k8s.io",
        "v1",
        "TokenRequest",
        vec![
            case!(
                "an hour",
                json!({"kind": "TokenRequest", "spec": {"audiences": ["a"]}}),
                json!({"kind": "TokenRequest", "spec": {"audiences": ["a"], "expirationSeconds": 3600}})
            ),
            case!("kept", json!({"spec": {"expirationSeconds": 600}}), json!({"spec": {"expirationSeconds": 600}})),
        ],
    );
    let got = defaulted("authentication.k8s.io", "v1", "TokenReview", &json!({"spec": {"token": "t"}}));
    assert_eq!(got, json!({"spec": {"token": "t"}}));
}
