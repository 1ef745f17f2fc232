//! Tests of the core/v1 printers (kept apart so core.rs stays readable).

use super::*;
use serde_json::json;
use std::time::{Duration, SystemTime};

/// 2024-05-01T10:00:00Z, the reference "now" of every test here.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_557_600)
}

fn row(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    super::super::cells(group, kind, obj, now())
}

fn running(name: &str) -> Value {
    json!({"name": name, "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2024-05-01T09:00:00Z"}}})
}

fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "p", "creationTimestamp": "2024-05-01T09:00:00Z"}, "spec": spec, "status": status})
}

fn two_containers() -> Value {
    json!({"containers": [{"name": "a"}, {"name": "b"}]})
}

#[test]
fn pod_ready_and_status() {
    let one = json!({"containers": [{"name": "a"}]});
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("pending, nothing reported", pod(one.clone(), json!({"phase": "Pending"})), "0/1", "Pending"),
        (
            "running",
            pod(two_containers(), json!({"phase": "Running", "containerStatuses": [running("a"), running("b")]})),
            "2/2",
            "Running",
        ),
        (
            "one not ready",
            pod(
                two_containers(),
                json!({"phase": "Running", "containerStatuses": [running("a"), {"name": "b", "ready": false, "state": {"running": {}}}]}),
            ),
            "1/2",
            "Running",
        ),
        (
            "crash loop",
            pod(
                one.clone(),
                json!({"phase": "Running", "containerStatuses": [
                    {"name": "a", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ]}),
            ),
            "0/1",
            "CrashLoopBackOff",
        ),
        (
            "image pull",
            pod(
                one.clone(),
                json!({"phase": "Pending", "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "ErrImagePull"}}}]}),
            ),
            "0/1",
            "ErrImagePull",
        ),
        (
            "completed",
            pod(
                one.clone(),
                json!({"phase": "Succeeded", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
            ),
            "0/1",
            "Completed",
        ),
        (
            "terminated without reason, by signal",
            pod(
                one.clone(),
                json!({"phase": "Failed", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
            ),
            "0/1",
            "Signal:9",
        ),
        (
            "terminated without reason",
            pod(
                one.clone(),
                json!({"phase": "Failed", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 2}}}]}),
            ),
            "0/1",
            "ExitCode:2",
        ),
        (
            "completed but another still running, ready",
            pod(
                two_containers(),
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [
                    {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}, running("b")
                ]}),
            ),
            "1/2",
            "Running",
        ),
        (
            "completed but another still running, not ready",
            pod(
                two_containers(),
                json!({"phase": "Running", "containerStatuses": [
                    {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}, running("b")
                ]}),
            ),
            "1/2",
            "NotReady",
        ),
        ("evicted", pod(one.clone(), json!({"phase": "Failed", "reason": "Evicted"})), "0/1", "Evicted"),
        (
            "scheduling gated",
            pod(
                one.clone(),
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
            ),
            "0/1",
            "SchedulingGated",
        ),
        (
            "init container running",
            pod(
                json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    {"name": "i2", "state": {"running": {}}}
                ], "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
            ),
            "0/1",
            "Init:1/2",
        ),
        (
            "init container waiting on PodInitializing counts as progress",
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
            ),
            "0/1",
            "Init:0/1",
        ),
        (
            "init container crash looping",
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
            ),
            "0/1",
            "Init:CrashLoopBackOff",
        ),
        (
            "init container failed",
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
            ),
            "0/1",
            "Init:Error",
        ),
        (
            "init container failed without reason",
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "state": {"terminated": {"exitCode": 3}}}]}),
            ),
            "0/1",
            "Init:ExitCode:3",
        ),
        (
            "sidecar started and ready counts as a container",
            pod(
                json!({"initContainers": [{"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                    "initContainerStatuses": [{"name": "side", "started": true, "ready": true, "state": {"running": {}}}],
                    "containerStatuses": [running("a")]}),
            ),
            "2/2",
            "Running",
        ),
        (
            "terminating",
            json!({"metadata": {"name": "p", "deletionTimestamp": "2024-05-01T09:59:00Z"}, "spec": one.clone(),
                "status": {"phase": "Running", "containerStatuses": [running("a")]}}),
            "1/1",
            "Terminating",
        ),
        (
            "terminal pods are not terminating",
            json!({"metadata": {"name": "p", "deletionTimestamp": "2024-05-01T09:59:00Z"}, "spec": one.clone(),
                "status": {"phase": "Succeeded", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}),
            "0/1",
            "Completed",
        ),
        (
            "node lost",
            json!({"metadata": {"name": "p", "deletionTimestamp": "2024-05-01T09:59:00Z"}, "spec": one.clone(),
                "status": {"phase": "Running", "reason": "NodeLost"}}),
            "0/1",
            "Unknown",
        ),
    ];
    for (what, obj, ready, status) in cases {
        let cells = row("", "Pod", &obj);
        assert_eq!(cells.len(), POD.len(), "{what}");
        assert_eq!((cells[1].as_str(), cells[2].as_str()), (Some(ready), Some(status)), "{what}");
    }
}

#[test]
fn pod_restarts() {
    let restarted = |count: i64, finished: Option<&str>| {
        let mut status = json!({"name": "a", "restartCount": count, "state": {"running": {}}});
        if let Some(t) = finished {
            status["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": t}});
        }
        pod(json!({"containers": [{"name": "a"}]}), json!({"phase": "Running", "containerStatuses": [status]}))
    };
    let cases = [
        (restarted(0, None), "0"),
        (restarted(3, None), "3"),
        (restarted(3, Some("2024-05-01T09:55:00Z")), "3 (5m ago)"),
        (restarted(1, Some("2024-04-29T07:00:00Z")), "1 (2d3h ago)"),
        (restarted(0, Some("2024-05-01T09:55:00Z")), "0"),
    ];
    for (obj, want) in cases {
        assert_eq!(row("", "Pod", &obj)[3], json!(want));
    }

    // Restarts of init containers that finished do not count once the pod is initialized;
    // sidecar restarts do.
    let obj = pod(
        json!({"initContainers": [{"name": "init"}, {"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "a"}]}),
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {"name": "init", "restartCount": 5, "state": {"terminated": {"exitCode": 0}}},
                {"name": "side", "restartCount": 2, "started": true, "ready": true, "state": {"running": {}},
                    "lastState": {"terminated": {"finishedAt": "2024-05-01T09:50:00Z"}}}
            ],
            "containerStatuses": [{"name": "a", "restartCount": 1, "ready": true, "state": {"running": {}}}]}),
    );
    assert_eq!(&row("", "Pod", &obj)[1..4], &[json!("2/2"), json!("Running"), json!("3 (10m ago)")]);

    // While initializing, every init container restart counts.
    let obj = pod(
        json!({"initContainers": [{"name": "init"}], "containers": [{"name": "a"}]}),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}),
    );
    assert_eq!(row("", "Pod", &obj)[3], json!("4"));
}

#[test]
fn pod_wide_columns() {
    let obj = json!({
        "metadata": {"name": "p", "creationTimestamp": "2024-05-01T09:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}]},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
            "conditions": [{"type": "x", "status": "True"}, {"type": "y", "status": "False"}]}
    });
    assert_eq!(
        row("", "Pod", &obj),
        vec![
            json!("p"),
            json!("0/1"),
            json!("Running"),
            json!("0"),
            json!("60m"),
            json!("10.0.0.5"),
            json!("n1"),
            json!("<none>"),
            json!("1/2")
        ]
    );
    let bare = row("", "Pod", &json!({}));
    assert_eq!(&bare[4..], &[json!("<unknown>"), json!("<none>"), json!("<none>"), json!("<none>"), json!("<none>")]);
}

#[test]
fn services() {
    let svc = |spec: Value, status: Value| json!({"metadata": {"name": "s"}, "spec": spec, "status": status});
    let cases = [
        (
            svc(
                json!({"clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}),
                json!({}),
            ),
            ["ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP"],
        ),
        (
            svc(
                json!({"type": "NodePort", "clusterIP": "10.96.1.1", "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080}]}),
                json!({}),
            ),
            ["NodePort", "10.96.1.1", "1.2.3.4", "80:30080/TCP"],
        ),
        (
            svc(
                json!({"type": "LoadBalancer", "clusterIPs": ["10.96.2.2"], "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
                json!({}),
            ),
            ["LoadBalancer", "10.96.2.2", "<pending>", "443:31443/TCP"],
        ),
        (
            svc(
                json!({"type": "LoadBalancer", "clusterIP": "10.96.2.3", "externalIPs": ["9.9.9.9"]}),
                json!({"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "a-very-long-load-balancer-name.example.com"}]}}),
            ),
            ["LoadBalancer", "10.96.2.3", "5.6.7.8,a-very-long-load-balancer-name.example.com,9.9.9.9", "<none>"],
        ),
        (
            svc(json!({"type": "ExternalName", "externalName": "db.example.com"}), json!({})),
            ["ExternalName", "<none>", "db.example.com", "<none>"],
        ),
        (
            svc(json!({"clusterIP": "None", "ports": [{"port": 80}]}), json!({})),
            ["ClusterIP", "None", "<none>", "80/TCP"],
        ),
    ];
    for (obj, want) in cases {
        let cells = row("", "Service", &obj);
        let got: Vec<&str> = cells[1..5].iter().map(|c| c.as_str().unwrap_or("?")).collect();
        assert_eq!(got, want, "{obj}");
    }
    let selector = svc(json!({"selector": {"app": "web", "tier": "fe"}}), json!({}));
    assert_eq!(row("", "Service", &selector)[6], json!("app=web,tier=fe"));
}

#[test]
fn endpoints() {
    let eps = |subsets: Value| json!({"metadata": {"name": "e"}, "subsets": subsets});
    let cases = [
        (json!([]), "<none>"),
        (json!([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]), "10.0.0.1:80"),
        (json!([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]), "[fd00::1]:80"),
        (json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}]), "10.0.0.1,10.0.0.2"),
        (
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
        ),
        (json!([{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]), ""),
    ];
    for (subsets, want) in cases {
        assert_eq!(row("", "Endpoints", &eps(subsets))[1], json!(want));
    }
}

#[test]
fn node_status_and_roles() {
    let node = |labels: Value, unschedulable: bool, conditions: Value| json!({"metadata": {"name": "n", "labels": labels}, "spec": {"unschedulable": unschedulable}, "status": {"conditions": conditions}});
    let ready = json!([{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]);
    let cases = [
        (node(json!({}), false, ready.clone()), "Ready", "<none>"),
        (node(json!({}), true, ready.clone()), "Ready,SchedulingDisabled", "<none>"),
        (node(json!({}), false, json!([{"type": "Ready", "status": "False"}])), "NotReady", "<none>"),
        (node(json!({}), false, json!([{"type": "Ready", "status": "Unknown"}])), "NotReady", "<none>"),
        (node(json!({}), true, json!([])), "Unknown,SchedulingDisabled", "<none>"),
        (
            node(
                json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true", "node-role.kubernetes.io/": ""}),
                false,
                ready.clone(),
            ),
            "Ready",
            "control-plane,etcd",
        ),
        (
            node(json!({"kubernetes.io/role": "worker", "node-role.kubernetes.io/worker": ""}), false, ready.clone()),
            "Ready",
            "worker",
        ),
        (node(json!({"kubernetes.io/role": ""}), false, ready.clone()), "Ready", "<none>"),
    ];
    for (obj, status, roles) in cases {
        let cells = row("", "Node", &obj);
        assert_eq!((cells[1].as_str(), cells[2].as_str()), (Some(status), Some(roles)), "{obj}");
    }
    let full = json!({
        "metadata": {"name": "n1", "creationTimestamp": "2024-04-01T10:00:00Z"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian", "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://2.0"},
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "192.168.1.10"}]}
    });
    assert_eq!(
        &row("", "Node", &full)[3..],
        &[
            json!("30d"),
            json!("v1.33.1"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian"),
            json!("6.1.0"),
            json!("containerd://2.0")
        ]
    );
}

#[test]
fn events_in_both_apis() {
    let core = json!({
        "metadata": {"name": "p.17a"},
        "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{a}"},
        "reason": "Pulled", "type": "Normal", "message": "  Pulled image  \n",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": "2024-05-01T09:00:00Z", "lastTimestamp": "2024-05-01T09:59:00Z", "count": 3
    });
    assert_eq!(
        row("", "Event", &core),
        vec![
            json!("60s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/p"),
            json!("spec.containers{a}"),
            json!("kubelet, n1"),
            json!("Pulled image"),
            json!("60m"),
            json!(3),
            json!("p.17a")
        ]
    );
    let new_api = json!({
        "metadata": {"name": "e"},
        "regarding": {"kind": "Node", "name": "n1"},
        "reason": "Rebooted", "type": "Warning", "note": "reboot",
        "reportingController": "kubelet", "eventTime": "2024-05-01T09:58:00.000000Z",
        "series": {"count": 7, "lastObservedTime": "2024-05-01T09:59:30.000000Z"}
    });
    assert_eq!(
        row("events.k8s.io", "Event", &new_api),
        vec![
            json!("30s"),
            json!("Warning"),
            json!("Rebooted"),
            json!("node/n1"),
            json!(""),
            json!("kubelet"),
            json!("reboot"),
            json!("2m"),
            json!(7),
            json!("e")
        ]
    );
    let singleton = json!({"regarding": {"kind": "Namespace"}, "eventTime": "2024-05-01T09:59:50.000000Z"});
    let cells = row("events.k8s.io", "Event", &singleton);
    assert_eq!((&cells[0], &cells[3], &cells[8]), (&json!("10s"), &json!("namespace"), &json!(1)));
}

#[test]
fn config_and_accounts() {
    let secret = json!({"metadata": {"name": "s"}, "data": {"a": "", "b": ""}, "stringData": {"b": "x", "c": "y"}});
    assert_eq!(&row("", "Secret", &secret)[1..3], &[json!("Opaque"), json!(3)]);
    let tls = json!({"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
    assert_eq!(&row("", "Secret", &tls)[1..3], &[json!("kubernetes.io/tls"), json!(2)]);
    let cm = json!({"data": {"a": "1"}, "binaryData": {"b": ""}});
    assert_eq!(row("", "ConfigMap", &cm)[1], json!(2));
    assert_eq!(row("", "ServiceAccount", &json!({"secrets": [{"name": "x"}]}))[1], json!(1));
    assert_eq!(row("", "Namespace", &json!({"status": {"phase": "Active"}}))[1], json!("Active"));
    let cs =
        json!({"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
    assert_eq!(row("", "ComponentStatus", &cs), vec![json!("etcd-0"), json!("Healthy"), json!("ok"), json!("")]);
    let template = json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    assert_eq!(row("", "PodTemplate", &template), vec![json!("t"), json!("c"), json!("i"), json!("app=x")]);
}

#[test]
fn resource_quotas() {
    let rq = json!({
        "metadata": {"name": "q"},
        "status": {
            "hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "2Gi", "limits.cpu": "2000m", "requests.memory": "1024Mi"},
            "used": {"pods": "3", "requests.cpu": "500m", "limits.memory": "512Mi"}
        }
    });
    let cells = row("", "ResourceQuota", &rq);
    assert_eq!(cells[1], json!("pods: 3/10, requests.cpu: 500m/1, requests.memory: 0/1Gi"));
    assert_eq!(cells[2], json!("limits.cpu: 0/2, limits.memory: 512Mi/2Gi"));
}

#[test]
fn replication_controllers() {
    let rc = json!({
        "metadata": {"name": "rc"},
        "spec": {"selector": {"app": "x"}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 1, "readyReplicas": 1}
    });
    assert_eq!(
        row("", "ReplicationController", &rc),
        vec![json!("rc"), json!(1), json!(1), json!(1), json!("<unknown>"), json!("c"), json!("i"), json!("app=x")]
    );
}
