//! core/v1 kinds other than pods: cases after upstream's
//! pkg/apis/core/v1/defaults_test.go (TestSetDefaultService*,
//! TestSetDefaultReplicationController*, TestSetDefaultNamespace*,
//! TestSetDefaultLimitRangeItem, TestSetDefaultNodeStatusAllocatable...).

use super::common::{defaulted, run, run_at};
use serde_json::json;

#[test]
fn service_round_trip() {
    run(
        "",
        "v1",
        "Service",
        vec![
            case!(
                "minimal ClusterIP",
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                                "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster"}}),
            ),
            case!(
                "LoadBalancer",
                json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}]},
                       "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example"},
                                                               {"ip": "5.6.7.8", "ipMode": "Proxy"}]}}}),
                json!({"spec": {"type": "LoadBalancer",
                                "ports": [{"port": 443, "targetPort": "https", "protocol": "TCP"}],
                                "sessionAffinity": "None", "externalTrafficPolicy": "Cluster",
                                "internalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": true},
                       "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP"},
                                                               {"hostname": "lb.example"},
                                                               {"ip": "5.6.7.8", "ipMode": "Proxy"}]}}}),
            ),
            case!(
                "ExternalName gets neither traffic policy",
                json!({"spec": {"type": "ExternalName", "externalName": "db.example"}}),
                json!({"spec": {"type": "ExternalName", "externalName": "db.example", "sessionAffinity": "None"}}),
            ),
            case!(
                "service without spec",
                json!({"metadata": {"name": "s"}}),
                json!({"metadata": {"name": "s"},
                       "spec": {"sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster"}}),
            ),
        ],
    );
}

#[test]
fn service_external_traffic_policy() {
    let policy = |spec: serde_json::Value| {
        defaulted("", "v1", "Service", &json!({ "spec": spec }))["spec"]["externalTrafficPolicy"].clone()
    };
    assert_eq!(policy(json!({"type": "NodePort"})), "Cluster");
    assert_eq!(policy(json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local"})), "Local");
    // A ClusterIP service is externally accessible through externalIPs.
    assert_eq!(policy(json!({"externalIPs": ["192.0.2.1"]})), "Cluster");
    assert_eq!(policy(json!({})), json!(null));
    assert_eq!(policy(json!({"externalIPs": []})), json!(null));
}

#[test]
fn service_session_affinity_config() {
    run_at(
        "",
        "v1",
        "Service",
        "/spec/sessionAffinityConfig",
        vec![
            (
                "None clears the config",
                json!({"spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 1}}}}),
                json!(null),
            ),
            (
                "ClientIP without config",
                json!({"spec": {"sessionAffinity": "ClientIP"}}),
                json!({"clientIP": {"timeoutSeconds": 10800}}),
            ),
            (
                "ClientIP with empty clientIP",
                json!({"spec": {"sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {}}}}),
                json!({"clientIP": {"timeoutSeconds": 10800}}),
            ),
            (
                "ClientIP with timeout",
                json!({"spec": {"sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}}),
                json!({"clientIP": {"timeoutSeconds": 60}}),
            ),
        ],
    );
}

#[test]
fn service_ports() {
    run_at(
        "",
        "v1",
        "Service",
        "/spec/ports",
        vec![(
            "targetPort 0 and empty string mean unset",
            json!({"spec": {"ports": [{"port": 1, "targetPort": 0}, {"port": 2, "targetPort": ""},
                                       {"port": 3, "targetPort": 30, "protocol": "UDP"}]}}),
            json!([{"port": 1, "targetPort": 1, "protocol": "TCP"}, {"port": 2, "targetPort": 2, "protocol": "TCP"},
                    {"port": 3, "targetPort": 30, "protocol": "UDP"}]),
        )],
    );
    // internalTrafficPolicy is a pointer: an explicit value is kept.
    let got = defaulted("", "v1", "Service", &json!({"spec": {"type": "NodePort", "internalTrafficPolicy": "Local"}}));
    assert_eq!(got["spec"]["internalTrafficPolicy"], "Local");
}

#[test]
fn replication_controller() {
    let template =
        json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
    let mut full_template = template.clone();
    full_template["spec"] = json!({
        "containers": [{"name": "c", "image": "i:1", "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
        "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
    });
    run(
        "",
        "v1",
        "ReplicationController",
        vec![
            case!(
                "selector, labels and replicas from the template",
                json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
                       "spec": {"template": template.clone()}}),
                json!({"apiVersion": "v1", "kind": "ReplicationController",
                       "metadata": {"name": "rc", "labels": {"app": "x"}},
                       "spec": {"template": full_template.clone(), "selector": {"app": "x"}, "replicas": 1}}),
            ),
            case!(
                "own selector, labels and replicas are kept",
                json!({"metadata": {"labels": {"own": "l"}},
                       "spec": {"selector": {"app": "x", "tier": "t"}, "replicas": 0, "template": template.clone()}}),
                json!({"metadata": {"labels": {"own": "l"}},
                       "spec": {"selector": {"app": "x", "tier": "t"}, "replicas": 0, "template": full_template}}),
            ),
            case!("no template: only replicas", json!({"spec": {}}), json!({"spec": {"replicas": 1}}),),
        ],
    );
}

#[test]
fn namespace() {
    run(
        "",
        "v1",
        "Namespace",
        vec![
            case!(
                "name label and phase",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
                json!({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
                       "status": {"phase": "Active"}}),
            ),
            case!(
                "the name label is overwritten, other labels kept",
                json!({"metadata": {"name": "b", "labels": {"kubernetes.io/metadata.name": "wrong", "x": "y"}},
                       "status": {"phase": "Terminating"}}),
                json!({"metadata": {"name": "b", "labels": {"kubernetes.io/metadata.name": "b", "x": "y"}},
                       "status": {"phase": "Terminating"}}),
            ),
            case!(
                "generateName only: no label",
                json!({"metadata": {"generateName": "ns-"}}),
                json!({"metadata": {"generateName": "ns-"}, "status": {"phase": "Active"}}),
            ),
        ],
    );
}

#[test]
fn persistent_volumes_and_claims() {
    run(
        "",
        "v1",
        "PersistentVolume",
        vec![case!(
            "minimal PV",
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
                   "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d"}, "accessModes": ["ReadWriteOnce"]}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
                   "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d", "type": ""},
                            "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                            "volumeMode": "Filesystem"},
                   "status": {"phase": "Pending"}}),
        )],
    );
    run(
        "",
        "v1",
        "PersistentVolumeClaim",
        vec![
            case!(
                "minimal PVC",
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                "volumeMode": "Filesystem"},
                       "status": {"phase": "Pending"}}),
            ),
            case!(
                "Block mode and a phase are kept",
                json!({"spec": {"volumeMode": "Block"}, "status": {"phase": "Bound"}}),
                json!({"spec": {"volumeMode": "Block"}, "status": {"phase": "Bound"}}),
            ),
        ],
    );
}

#[test]
fn node_allocatable_defaults_to_capacity() {
    run(
        "",
        "v1",
        "Node",
        vec![
            case!(
                "allocatable copied",
                json!({"status": {"capacity": {"cpu": "4", "memory": "8Gi"}}}),
                json!({"status": {"capacity": {"cpu": "4", "memory": "8Gi"}, "allocatable": {"cpu": "4", "memory": "8Gi"}}}),
            ),
            case!(
                "allocatable kept",
                json!({"status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "3"}}}),
                json!({"status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "3"}}}),
            ),
            case!("no status", json!({"metadata": {"name": "n"}}), json!({"metadata": {"name": "n"}})),
        ],
    );
}

#[test]
fn limit_range_items() {
    run(
        "",
        "v1",
        "LimitRange",
        vec![case!(
            "container defaults from max, default and min",
            json!({"spec": {"limits": [
                {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m", "ephemeral-storage": "1Mi"},
                 "default": {"memory": "512Mi"}},
                {"type": "Pod", "max": {"cpu": "4"}},
                {"type": "Container"},
            ]}}),
            json!({"spec": {"limits": [
                {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m", "ephemeral-storage": "1Mi"},
                 "default": {"memory": "512Mi", "cpu": "2"},
                 "defaultRequest": {"memory": "512Mi", "cpu": "2", "ephemeral-storage": "1Mi"}},
                {"type": "Pod", "max": {"cpu": "4"}},
                {"type": "Container"},
            ]}}),
        )],
    );
}

#[test]
fn small_kinds() {
    run(
        "",
        "v1",
        "Secret",
        vec![
            case!(
                "type Opaque",
                json!({"kind": "Secret", "data": {"a": "Yg=="}}),
                json!({"kind": "Secret", "data": {"a": "Yg=="}, "type": "Opaque"})
            ),
            case!("empty type", json!({"type": ""}), json!({"type": "Opaque"})),
            case!("type kept", json!({"type": "kubernetes.io/tls"}), json!({"type": "kubernetes.io/tls"})),
        ],
    );
    run(
        "",
        "v1",
        "Endpoints",
        vec![case!(
            "port protocol",
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}]}),
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}],
                            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}]}),
        )],
    );
    run(
        "",
        "v1",
        "ResourceQuota",
        vec![case!(
            "quantities rounded",
            json!({"spec": {"hard": {"cpu": "0.0001", "pods": "10"}}, "status": {"used": {"cpu": "1u"}}}),
            json!({"spec": {"hard": {"cpu": "1m", "pods": "10"}}, "status": {"used": {"cpu": "1m"}}}),
        )],
    );
    // ConfigMap's data default is an empty map upstream never writes back.
    for kind in ["ConfigMap", "ServiceAccount", "Event"] {
        let obj = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}});
        run("", "v1", kind, vec![case!("unchanged", obj.clone(), obj)]);
    }
}
