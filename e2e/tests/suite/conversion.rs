//! Custom resources with several versions: conversion `None` (the same fields under another
//! apiVersion) and `Webhook` (a test-owned HTTPS conversion webhook moving a field), read and
//! written in every version through kubectl and raw watches.

use std::sync::Arc;

use base64::Engine;
use e2e::{Backend, Cluster, fails, ok};
use serde_json::{Value, json};

const V: &str = "1.33";

/// The conversion webhook: v1 keeps `spec.size`, v2 has `spec.dimensions.size`.
fn convert(_path: &str, review: &Value) -> Value {
    let request = &review["request"];
    let desired = request["desiredAPIVersion"].as_str().unwrap_or("");
    let converted: Vec<Value> = request["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let mut o = o.clone();
            let size = o.pointer("/spec/size").or_else(|| o.pointer("/spec/dimensions/size")).cloned();
            o["spec"] = match (desired, size) {
                ("example.com/v2", Some(size)) => json!({"dimensions": {"size": size}}),
                (_, Some(size)) => json!({"size": size}),
                (_, None) => json!({}),
            };
            o["apiVersion"] = json!(desired);
            o
        })
        .collect();
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
        "response": {"uid": request["uid"], "convertedObjects": converted, "result": {"status": "Success"}}})
}

fn apply(c: &Cluster, name: &str, doc: &Value) -> String {
    let path = c.dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("json")).expect("write");
    ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]))
}

fn version(name: &str, storage: bool, spec: Value) -> Value {
    json!({"name": name, "served": true, "storage": storage, "schema": {"openAPIV3Schema": {"type": "object",
        "properties": {"spec": spec}}}})
}

fn get(c: &Cluster, what: &str, path: &str) -> String {
    ok(c.kubectl(V, &["get", what, "-o", &format!("jsonpath={path}")]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_convert_with_none_and_with_a_webhook() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;

    // Conversion None: written as v1beta1, stored as v1, read as either.
    let size = json!({"type": "object", "properties": {"size": {"type": "integer"}}});
    apply(
        c,
        "gadgets.json",
        &json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
        "names": {"plural": "gadgets", "kind": "Gadget"},
        "versions": [version("v1beta1", false, size.clone()), version("v1", true, size.clone())]}}),
    );
    ok(c.kubectl(V, &["wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=20s"]));
    let gadget =
        json!({"apiVersion": "example.com/v1beta1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"size": 2}});
    retry_apply(c, "gadget.json", &gadget);
    assert_eq!(get(c, "gadgets.v1.example.com/g", "{.apiVersion} {.spec.size}"), "example.com/v1 2");
    assert_eq!(get(c, "gadgets.v1beta1.example.com/g", "{.apiVersion} {.spec.size}"), "example.com/v1beta1 2");

    // Conversion Webhook: v2 moves the field; objects are stored as v1.
    let pki = apiserver::pki::Pki::load_or_create(&c.dir.path().join("conversion-pki"), &["127.0.0.1".to_string()])
        .expect("certificates");
    let handler: e2e::https::Handler = Arc::new(convert);
    let (port, calls) =
        e2e::https::serve_json(&pki.serving_cert_pem, &pki.serving_key_pem, handler).await.expect("webhook server");
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(&pki.ca_pem);
    let dimensions = json!({"type": "object", "properties": {"dimensions": {"type": "object",
        "properties": {"size": {"type": "integer"}}}}});
    let gizmos = |url: String| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
        "names": {"plural": "gizmos", "kind": "Gizmo"},
        "versions": [version("v1", true, size.clone()), version("v2", false, dimensions.clone())],
        "conversion": {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
            "clientConfig": {"url": url, "caBundle": ca_bundle}}}}})
    };
    apply(c, "gizmos.json", &gizmos(format!("https://127.0.0.1:{port}/convert")));
    ok(c.kubectl(V, &["wait", "--for=condition=Established", "crd/gizmos.example.com", "--timeout=20s"]));
    let gizmo = json!({"apiVersion": "example.com/v2", "kind": "Gizmo", "metadata": {"name": "z", "labels": {"a": "b"}},
        "spec": {"dimensions": {"size": 3}}});
    retry_apply(c, "gizmo.json", &gizmo);
    assert_eq!(
        get(c, "gizmos.v1.example.com/z", "{.apiVersion} {.spec.size} {.metadata.labels.a}"),
        "example.com/v1 3 b"
    );
    assert_eq!(get(c, "gizmos.v2.example.com/z", "{.apiVersion} {.spec.dimensions.size}"), "example.com/v2 3");
    let listed = ok(c.kubectl(V, &["get", "gizmos.v2.example.com", "-o", "jsonpath={.items[*].spec.dimensions.size}"]));
    assert_eq!(listed, "3");
    ok(c.kubectl(
        V,
        &["patch", "gizmos.v2.example.com", "z", "--type=merge", "-p", r#"{"spec":{"dimensions":{"size":4}}}"#],
    ));
    assert_eq!(get(c, "gizmos.v1.example.com/z", "{.spec.size}"), "4");
    let client = cluster.client().await.expect("client");
    let watched = client
        .request_text(
            http::Request::get("/apis/example.com/v2/namespaces/default/gizmos?watch=true&timeoutSeconds=1")
                .body(Vec::new())
                .expect("request"),
        )
        .await
        .expect("watch");
    assert!(
        watched.contains(r#""dimensions":{"size":4}"#) && watched.contains(r#""apiVersion":"example.com/v2""#),
        "{watched}"
    );
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 5);

    // An unreachable webhook fails reads in the other version, in upstream's words.
    apply(c, "gizmos.json", &gizmos("https://127.0.0.1:1/convert".into()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let out = c.kubectl(V, &["get", "gizmos.v2.example.com", "z"]);
        if !out.status.success() {
            break fails(out);
        }
        assert!(std::time::Instant::now() < deadline, "the new webhook address is never used");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(refused.contains("conversion webhook for example.com/v2, Kind=Gizmo failed"), "{refused}");
    assert_eq!(get(c, "gizmos.v1.example.com/z", "{.spec.size}"), "4");
}

/// A just-established definition may take a moment to serve: retries the first apply.
fn retry_apply(c: &Cluster, name: &str, doc: &Value) {
    let path = c.dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("json")).expect("write");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]);
        if out.status.success() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
