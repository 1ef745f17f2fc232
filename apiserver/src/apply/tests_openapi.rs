//! Apply against upstream's own OpenAPI v3 documents (their schemas carry the list and map
//! extensions), read at test time.

use serde_json::{Map, Value, json};

use super::tests::{LATER, NOW, entries, fields, owners};
use super::*;
use crate::patch::strategic::SchemaNode;

const DOCS: &str = "/work/shared/k8s/openapi/v3";

fn load(file: &str) -> Value {
    let path = format!("{DOCS}/{file}");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("these tests need upstream's OpenAPI v3 document {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn schemas(doc: &Value) -> &Map<String, Value> {
    doc["components"]["schemas"].as_object().expect("components.schemas")
}

fn with_kind<R>(file: &str, definition: &str, f: impl FnOnce(Option<&SchemaNode<'_>>) -> R) -> R {
    let doc = load(file);
    let defs = schemas(&doc);
    let node = SchemaNode::definition(definition, defs);
    assert!(node.is_some(), "{definition} is not in {file}");
    f(node.as_ref())
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn containers(obj: &Value) -> Vec<&str> {
    obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn deployment_containers_merge_by_name() {
    with_kind("apis__apps__v1_openapi.json", "io.k8s.api.apps.v1.Deployment", |schema| {
        let mine = deployment(json!({
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}}}));
        let live = apply(None, &mine, "kubectl", false, schema, NOW).unwrap();
        assert_eq!(
            fields(&live, "kubectl", "Apply"),
            json!({"f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );

        let sidecar =
            deployment(json!({"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy:1"}]}}}));
        let live = apply(Some(&live), &sidecar, "injector", false, schema, NOW).unwrap();
        assert_eq!(containers(&live), ["nginx", "proxy"]);
        assert_eq!(live["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1");

        let takeover = deployment(json!({"replicas": 5, "template": {"spec": {"containers": [
            {"name": "proxy", "image": "envoy:1"}, {"name": "nginx", "image": "nginx:2"}]}}}));
        let err = apply(Some(&live), &takeover, "injector", false, schema, NOW).unwrap_err();
        assert_eq!(
            err.message(),
            "Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .spec.replicas\n\
             - .spec.template.spec.containers[name=\"nginx\"].image"
        );
        assert_eq!(err.causes()[1].field, ".spec.template.spec.containers[name=\"nginx\"].image");

        // Forced, the injector's order wins for the items it names.
        let live = apply(Some(&live), &takeover, "injector", true, schema, NOW).unwrap();
        assert_eq!(containers(&live), ["proxy", "nginx"]);
        assert_eq!(live["spec"]["replicas"], 5);
        let kubectl = fields(&live, "kubectl", "Apply");
        assert_eq!(kubectl["f:spec"].get("f:replicas"), None);
        assert_eq!(
            kubectl["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"],
            json!({".": {}, "f:name": {}})
        );

        // The first applier dropping its container leaves it: the injector still owns it.
        let without = deployment(json!({"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}));
        let live = apply(Some(&live), &without, "kubectl", false, schema, LATER).unwrap();
        assert_eq!(containers(&live), ["proxy", "nginx"]);
        assert_eq!(owners(&live), ["injector/Apply", "kubectl/Apply"]);
    });
}

#[test]
fn list_map_order_follows_the_configuration_around_live_items() {
    with_kind("apis__apps__v1_openapi.json", "io.k8s.api.apps.v1.Deployment", |schema| {
        let spec = |names: &[&str]| {
            let list: Vec<Value> = names.iter().map(|n| json!({"name": n, "image": "i"})).collect();
            deployment(json!({"template": {"spec": {"containers": list}}}))
        };
        let cases: [(&[&str], &[&str], &[&str]); 4] = [
            (&["a", "b"], &["c", "a"], &["c", "a", "b"]),
            (&["a", "b", "c"], &["c", "a"], &["b", "c", "a"]),
            (&["a", "b"], &["b", "c"], &["a", "b", "c"]),
            (&["x", "a", "y", "b"], &["b", "a"], &["x", "y", "b", "a"]),
        ];
        for (live, config, want) in cases {
            let live = apply(None, &spec(live), "first", false, schema, NOW).unwrap();
            let merged = apply(Some(&live), &spec(config), "second", false, schema, NOW).unwrap();
            assert_eq!(containers(&merged), want, "{config:?} onto {live}");
        }
    });
}

#[test]
fn service_ports_merge_by_port_and_protocol() {
    with_kind("api__v1_openapi.json", "io.k8s.api.core.v1.Service", |schema| {
        let service = |ports: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": ports}});
        let mut live =
            apply(None, &service(json!([{"port": 80, "targetPort": 8080}])), "a", false, schema, NOW).unwrap();
        // The protocol default keys the item even though the configuration leaves it out.
        assert_eq!(
            fields(&live, "a", "Apply"),
            json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}}}})
        );
        // As stored after defaulting.
        live["spec"]["ports"][0]["protocol"] = json!("TCP");

        let dns = service(json!([{"port": 80, "protocol": "UDP", "targetPort": 53}]));
        let live = apply(Some(&live), &dns, "b", false, schema, NOW).unwrap();
        assert_eq!(
            live["spec"]["ports"],
            json!([{"port": 80, "targetPort": 8080, "protocol": "TCP"}, {"port": 80, "protocol": "UDP", "targetPort": 53}])
        );
        let err = apply(Some(&live), &service(json!([{"port": 80, "targetPort": 9090}])), "b", false, schema, NOW)
            .unwrap_err();
        assert_eq!(
            err.message(),
            r#"Apply failed with 1 conflict: conflict with "a": .spec.ports[port=80,protocol="TCP"].targetPort"#
        );
    });
}

#[test]
fn object_meta_sets_and_container_atomic_lists() {
    with_kind("api__v1_openapi.json", "io.k8s.api.core.v1.Pod", |schema| {
        let pod = |finalizers: Value, args: Value| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": finalizers},
                   "spec": {"containers": [{"name": "c", "args": args}]}})
        };
        let live = apply(None, &pod(json!(["a.io/x"]), json!(["--one", "--two"])), "a", false, schema, NOW).unwrap();
        assert_eq!(
            fields(&live, "a", "Apply"),
            json!({"f:metadata": {"f:finalizers": {"v:\"a.io/x\"": {}}},
                   "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:args": {}, "f:name": {}}}}})
        );
        let other = pod(json!(["b.io/y"]), json!(["--three"]));
        let err = apply(Some(&live), &other, "b", false, schema, NOW).unwrap_err();
        assert_eq!(
            err.message(),
            r#"Apply failed with 1 conflict: conflict with "a": .spec.containers[name="c"].args"#
        );
        let live = apply(Some(&live), &other, "b", true, schema, NOW).unwrap();
        assert_eq!(live["metadata"]["finalizers"], json!(["a.io/x", "b.io/y"]));
        assert_eq!(live["spec"]["containers"][0]["args"], json!(["--three"]));
    });
}

#[test]
fn kubectl_create_records_fields_like_upstream() {
    with_kind("apis__apps__v1_openapi.json", "io.k8s.api.apps.v1.Deployment", |schema| {
        let expected = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}}}}}});
        // As a Go client sends it (empty structs and null times spelled out), and as JSON
        // clients send it: the recorded fields are the same.
        let typed = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "strategy": {},
                     "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}}},
            "status": {}});
        let plain = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}});
        for mut created in [typed, plain] {
            record_update(None, &mut created, "kubectl-create", None, schema, NOW);
            assert_eq!(entries(&created).len(), 1);
            assert_eq!(fields(&created, "kubectl-create", "Update"), expected);
        }
    });
}

#[test]
fn controllers_updating_replicas_conflict_with_the_applier() {
    with_kind("apis__apps__v1_openapi.json", "io.k8s.api.apps.v1.Deployment", |schema| {
        let mine =
            deployment(json!({"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}));
        let live = apply(None, &mine, "kubectl", false, schema, NOW).unwrap();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(4);
        record_update(Some(&live), &mut scaled, "hpa-controller", None, schema, LATER);
        assert_eq!(fields(&scaled, "hpa-controller", "Update"), json!({"f:spec": {"f:replicas": {}}}));
        let err = apply(Some(&scaled), &mine, "kubectl", false, schema, LATER).unwrap_err();
        assert_eq!(
            err.message(),
            r#"Apply failed with 1 conflict: conflict with "hpa-controller" using apps/v1: .spec.replicas"#
        );
        // Leaving replicas to the controller is the way out.
        let mut without = mine.clone();
        without["spec"].as_object_mut().unwrap().shift_remove("replicas");
        let live = apply(Some(&scaled), &without, "kubectl", false, schema, LATER).unwrap();
        assert_eq!(live["spec"]["replicas"], 4, "still owned by the controller");
    });
}
