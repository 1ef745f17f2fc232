//! core/v1 Pod and PodTemplate: cases after upstream's
//! pkg/apis/core/v1/defaults_test.go (TestPodDefaults, TestWorkloadDefaults,
//! TestSetDefaultPodSpecHostNetwork, TestSetDefaultsContainersResources...).

use super::common::{defaulted, run, run_at};
use serde_json::{Value, json};

/// The PodSpec-level defaults every pod spec ends up with.
fn spec_defaults() -> Value {
    json!({
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
    })
}

fn container_defaults(image: &str, policy: &str) -> Value {
    json!({
        "name": "c",
        "image": image,
        "imagePullPolicy": policy,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    })
}

fn merge(base: Value, extra: Value) -> Value {
    let mut base = base;
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

#[test]
fn pod_round_trip_minimal_to_full() {
    let input = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    });
    let mut spec = merge(spec_defaults(), json!({"enableServiceLinks": true}));
    spec["containers"] = json!([container_defaults("nginx", "Always")]);
    let expected = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec});
    run("", "v1", "Pod", vec![case!("minimal pod", input, expected)]);
}

#[test]
fn pod_template_round_trip_has_no_pod_only_defaults() {
    // PodTemplate gets SetDefaults_PodSpec but not SetDefaults_Pod: no
    // enableServiceLinks, no requests copied from limits.
    let input = json!({
        "apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
        "template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:1.25", "resources": {"limits": {"cpu": "1"}}}
        ]}}
    });
    let mut c = container_defaults("nginx:1.25", "IfNotPresent");
    c["resources"] = json!({"limits": {"cpu": "1"}});
    let mut spec = spec_defaults();
    spec["containers"] = json!([c]);
    let expected = json!({
        "apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": spec}
    });
    run("", "v1", "PodTemplate", vec![case!("minimal template", input, expected)]);
}

#[test]
fn pod_without_spec_still_gets_spec_defaults() {
    // PodSpec is a value field: upstream defaults it even when absent.
    let got = defaulted("", "v1", "Pod", &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}));
    assert_eq!(got["spec"], merge(spec_defaults(), json!({"enableServiceLinks": true})));
}

#[test]
fn image_pull_policy() {
    let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("docker.io/library/nginx", "Always"),
        ("registry.example.com:5000/team/app:v1", "IfNotPresent"),
        (&format!("nginx@{digest}"), "IfNotPresent"),
        (&format!("nginx:latest@{digest}"), "Always"),
        ("", "IfNotPresent"),
    ]
    .map(|(image, policy)| {
        (image.to_string(), json!({"spec": {"containers": [{"name": "c", "image": image}]}}), json!(policy))
    });
    run_at(
        "",
        "v1",
        "Pod",
        "/spec/containers/0/imagePullPolicy",
        cases.iter().map(|(n, i, w)| (n.as_str(), i.clone(), w.clone())).collect(),
    );
    // An explicit policy is kept.
    let kept = json!({"spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}});
    assert_eq!(defaulted("", "v1", "Pod", &kept)["spec"]["containers"][0]["imagePullPolicy"], "Never");
}

#[test]
fn every_container_list_is_walked() {
    let container = |name: &str| {
        json!({
            "name": name, "image": "busybox:1.36",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "livenessProbe": {"httpGet": {"port": 80}},
            "readinessProbe": {"grpc": {"port": 9000}},
            "startupProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
            "lifecycle": {"postStart": {"httpGet": {"port": 80}}, "preStop": {"httpGet": {"port": 80, "path": "/q"}}},
        })
    };
    let pod = json!({"spec": {
        "initContainers": [container("i")], "containers": [container("c")], "ephemeralContainers": [container("e")]
    }});
    let got = defaulted("", "v1", "Pod", &pod);
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let c = &got["spec"][list][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent", "{list}");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log", "{list}");
        assert_eq!(c["ports"][0], json!({"containerPort": 80, "protocol": "TCP"}), "{list}");
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1", "{list}");
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                   "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}),
            "{list}"
        );
        assert_eq!(c["readinessProbe"]["grpc"], json!({"port": 9000, "service": ""}), "{list}");
        assert_eq!(c["startupProbe"]["periodSeconds"], 5, "{list}");
        assert_eq!(c["startupProbe"]["failureThreshold"], 3, "{list}");
        assert_eq!(c["lifecycle"]["postStart"]["httpGet"], json!({"port": 80, "path": "/", "scheme": "HTTP"}));
        assert_eq!(c["lifecycle"]["preStop"]["httpGet"], json!({"port": 80, "path": "/q", "scheme": "HTTP"}));
    }
}

#[test]
fn probe_zero_values_count_as_unset() {
    // The probe's thresholds are value fields: an explicit 0 is replaced too.
    run_at(
        "",
        "v1",
        "Pod",
        "/spec/containers/0/livenessProbe",
        vec![(
            "zeros",
            json!({"spec": {"containers": [{"name": "c", "image": "i:1",
                "livenessProbe": {"tcpSocket": {"port": 1}, "timeoutSeconds": 0, "periodSeconds": 3,
                                  "successThreshold": 0, "failureThreshold": 7}}]}}),
            json!({"tcpSocket": {"port": 1}, "timeoutSeconds": 1, "periodSeconds": 3,
                   "successThreshold": 1, "failureThreshold": 7}),
        )],
    );
}

#[test]
fn requests_default_to_limits_in_pods_only() {
    let containers = json!([
        {"name": "a", "image": "i:1", "resources": {"limits": {"cpu": "100m", "memory": "1Gi"}}},
        {"name": "b", "image": "i:1", "resources": {"limits": {"cpu": "2"}, "requests": {"cpu": "1"}}},
        {"name": "c", "image": "i:1", "resources": {"requests": {"cpu": "1"}}},
        {"name": "d", "image": "i:1", "resources": {"limits": {}}},
    ]);
    let pod = json!({"spec": {"containers": containers.clone(), "initContainers": [containers[0].clone()]}});
    let got = defaulted("", "v1", "Pod", &pod);
    let res = |list: &str, i: usize| got["spec"][list][i]["resources"].clone();
    assert_eq!(res("containers", 0)["requests"], json!({"cpu": "100m", "memory": "1Gi"}));
    assert_eq!(res("containers", 1)["requests"], json!({"cpu": "1"}));
    assert_eq!(res("containers", 2), json!({"requests": {"cpu": "1"}}));
    assert_eq!(res("containers", 3), json!({"limits": {}}), "an empty map is not written back");
    assert_eq!(res("initContainers", 0)["requests"], json!({"cpu": "100m", "memory": "1Gi"}));

    let rc = json!({"spec": {"template": {"spec": {"containers": [containers[0].clone()]}}}});
    let got = defaulted("", "v1", "ReplicationController", &rc);
    assert!(got["spec"]["template"]["spec"]["containers"][0]["resources"].get("requests").is_none());
}

#[test]
fn host_network_ports_default_in_pods_only() {
    let spec = json!({"hostNetwork": true, "containers": [{"name": "c", "image": "i:1",
        "ports": [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 9091}]}],
        "initContainers": [{"name": "i", "image": "i:1", "ports": [{"containerPort": 53, "protocol": "UDP"}]}]});
    let got = defaulted("", "v1", "Pod", &json!({"spec": spec.clone()}));
    assert_eq!(
        got["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"},
               {"containerPort": 9090, "hostPort": 9091, "protocol": "TCP"}])
    );
    assert_eq!(got["spec"]["initContainers"][0]["ports"][0]["hostPort"], 53);
    // Since 1.28 (gate removed in 1.31) templates keep hostPort unset.
    let got = defaulted("apps", "v1", "Deployment", &json!({"spec": {"template": {"spec": spec}}}));
    assert!(got["spec"]["template"]["spec"]["containers"][0]["ports"][0].get("hostPort").is_none());
}

#[test]
fn explicit_pod_spec_values_are_kept() {
    let spec = json!({"dnsPolicy": "Default", "restartPolicy": "Never", "securityContext": {"runAsUser": 1},
        "terminationGracePeriodSeconds": 0, "schedulerName": "mine", "enableServiceLinks": false, "containers": []});
    let got = defaulted("", "v1", "Pod", &json!({"spec": spec.clone()}));
    assert_eq!(got["spec"], spec);
    // A null pointer is unset.
    let got = defaulted("", "v1", "Pod", &json!({"spec": {"terminationGracePeriodSeconds": null, "containers": []}}));
    assert_eq!(got["spec"]["terminationGracePeriodSeconds"], 30);
}

#[test]
fn volumes() {
    let volumes = json!([
        {"name": "empty"},
        {"name": "hp", "hostPath": {"path": "/x"}},
        {"name": "hp2", "hostPath": {"path": "/x", "type": "Directory"}},
        {"name": "s", "secret": {"secretName": "s"}},
        {"name": "cm", "configMap": {"name": "cm", "defaultMode": 256}},
        {"name": "d", "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"name": "p", "projected": {"sources": [
            {"serviceAccountToken": {"path": "t"}},
            {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"configMap": {"name": "x"}}]}},
        {"name": "rbd", "rbd": {"monitors": ["m"], "image": "i"}},
        {"name": "iscsi", "iscsi": {"targetPortal": "t", "iqn": "q", "lun": 0}},
        {"name": "az", "azureDisk": {"diskName": "d", "diskURI": "u"}},
        {"name": "sio", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "n"}}},
        {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1.5n"}}}}}},
        {"name": "pvc", "persistentVolumeClaim": {"claimName": "c"}},
        {"name": "img", "image": {"reference": "quay.io/x:latest"}},
    ]);
    let got = defaulted("", "v1", "Pod", &json!({"spec": {"volumes": volumes, "containers": []}}));
    let want = json!([
        {"name": "empty", "emptyDir": {}},
        {"name": "hp", "hostPath": {"path": "/x", "type": ""}},
        {"name": "hp2", "hostPath": {"path": "/x", "type": "Directory"}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "cm", "configMap": {"name": "cm", "defaultMode": 256}},
        {"name": "d", "downwardAPI": {"defaultMode": 420,
            "items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"}}]}},
        {"name": "p", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}},
            {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}]}},
            {"configMap": {"name": "x"}}]}},
        {"name": "rbd", "rbd": {"monitors": ["m"], "image": "i", "pool": "rbd", "user": "admin",
            "keyring": "/etc/ceph/keyring"}},
        {"name": "iscsi", "iscsi": {"targetPortal": "t", "iqn": "q", "lun": 0, "iscsiInterface": "default"}},
        {"name": "az", "azureDisk": {"diskName": "d", "diskURI": "u", "cachingMode": "ReadWrite", "fsType": "ext4",
            "readOnly": false, "kind": "Shared"}},
        {"name": "sio", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "n"},
            "storageMode": "ThinProvisioned", "fsType": "xfs"}},
        {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1m"}}, "volumeMode": "Filesystem"}}}},
        {"name": "pvc", "persistentVolumeClaim": {"claimName": "c"}},
        // ImageVolume is off by default in 1.33: no pullPolicy.
        {"name": "img", "image": {"reference": "quay.io/x:latest"}},
    ]);
    assert_eq!(got["spec"]["volumes"], want);
}

#[test]
fn resource_lists_are_rounded_to_milli() {
    let pod = json!({"spec": {
        "containers": [{"name": "c", "image": "i:1",
            "resources": {"limits": {"cpu": "0.0001", "memory": "1Gi"}, "requests": {"cpu": "100u"}}}],
        "overhead": {"cpu": "1n"},
    }, "status": {"containerStatuses": [{"name": "c", "allocatedResources": {"cpu": "0.5001"}}]}});
    let got = defaulted("", "v1", "Pod", &pod);
    assert_eq!(
        got["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "1m", "memory": "1Gi"},
        "requests": {"cpu": "1m", "memory": "1Gi"}})
    );
    assert_eq!(got["spec"]["overhead"], json!({"cpu": "1m"}));
    assert_eq!(got["status"]["containerStatuses"][0]["allocatedResources"], json!({"cpu": "501m"}));
}

#[test]
fn pod_level_resources_are_not_defaulted_in_1_33() {
    // PodLevelResources is alpha (off): pod-level requests stay as sent.
    let pod = json!({"spec": {"resources": {"limits": {"cpu": "2"}},
        "containers": [{"name": "c", "image": "i:1", "resources": {"requests": {"cpu": "1"}}}]}});
    assert_eq!(defaulted("", "v1", "Pod", &pod)["spec"]["resources"], json!({"limits": {"cpu": "2"}}));
}

#[test]
fn ephemeral_containers_get_container_defaults() {
    let pod = json!({"spec": {"containers": [], "ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}});
    let got = defaulted("", "v1", "Pod", &pod);
    assert_eq!(got["spec"]["ephemeralContainers"][0], container_defaults("busybox", "Always").tap_name("dbg"));
}

trait TapName {
    fn tap_name(self, name: &str) -> Value;
}

impl TapName for Value {
    fn tap_name(mut self, name: &str) -> Value {
        self["name"] = json!(name);
        self
    }
}
