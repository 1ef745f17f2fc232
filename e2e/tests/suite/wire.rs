//! Wire details stock clients depend on, each found by a client that broke on it: trailing
//! slashes kr8s asks for, the newline upstream's encoder ends bodies with, client-go's protobuf
//! DeleteOptions (Helm's `uninstall`), deletes that never answer Conflict without a
//! precondition (the Python client), and discovery that lists only what is served.

use std::time::Duration;

use e2e::{Backend, Cluster};
use futures::future::join_all;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn raw(client: &kube::Client, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)
        .expect("request");
    let response = client.send(request.map(kube::client::Body::from)).await.expect("request is answered");
    let code = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    (code, bytes.to_vec())
}

async fn get(client: &kube::Client, path: &str) -> (u16, Vec<u8>) {
    raw(client, "GET", path, "application/json", Vec::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_slashes_are_served_and_json_bodies_end_in_a_newline() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let client = cluster.client().await.expect("client");
    for path in ["/version/", "/healthz/", "/livez/", "/readyz/", "/openapi/v3/"] {
        let (code, body) = get(&client, path).await;
        assert_eq!(code, 200, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let (_, version) = get(&client, "/version/").await;
    assert_eq!(serde_json::from_slice::<Value>(&version).expect("json")["major"], "1");
    let (_, index) = get(&client, "/openapi/v3/").await;
    assert!(serde_json::from_slice::<Value>(&index).expect("json")["paths"]["api/v1"].is_object());

    // Objects (from the cache and from the store), lists, errors, discovery and version: all
    // end with the newline Go's json.Encoder writes.
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = serde_json::from_value(json!({"metadata": {"name": "nl"}, "data": {"a": "b"}})).expect("configmap");
    configmaps.create(&PostParams::default(), &cm).await.expect("create");
    for path in [
        "/api/v1/namespaces/default/configmaps/nl",
        "/api/v1/namespaces/default/configmaps",
        "/api/v1/namespaces/default/configmaps/missing",
        "/api/v1",
        "/apis",
        "/version",
    ] {
        let (_, body) = get(&client, path).await;
        assert_eq!(body.last(), Some(&b'\n'), "{path}: {}", String::from_utf8_lossy(&body));
        assert_ne!(body.get(body.len().saturating_sub(2)), Some(&b'\n'), "{path}: one newline only");
    }
}

/// Protobuf field `number` of length-delimited `bytes`.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2];
    let mut len = bytes.len();
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(bytes);
    out
}

/// A DeleteOptions as client-go's typed clients send it: `k8s\0` and a runtime.Unknown holding
/// the TypeMeta and the message (propagationPolicy is field 4, dryRun field 5).
fn protobuf_delete_options(propagation: &str, dry_run: bool) -> Vec<u8> {
    let type_meta = [field(1, b"v1"), field(2, b"DeleteOptions")].concat();
    let mut options = field(4, propagation.as_bytes());
    if dry_run {
        options.extend(field(5, b"All"));
    }
    let unknown = [field(1, &type_meta), field(2, &options), field(3, b""), field(4, b"")].concat();
    [b"k8s\0".as_slice(), &unknown].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_delete_options_are_decoded_on_delete_and_deletecollection() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let client = cluster.client().await.expect("client");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for name in ["one", "two", "three"] {
        let cm = serde_json::from_value(json!({"metadata": {"name": name, "labels": {"set": "x"}}})).expect("cm");
        configmaps.create(&PostParams::default(), &cm).await.expect("create");
    }
    const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
    let path = "/api/v1/namespaces/default/configmaps/one";
    // A dry run, understood as one: the object stays.
    let (code, body) = raw(&client, "DELETE", path, PROTOBUF, protobuf_delete_options("Background", true)).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(configmaps.get_opt("one").await.expect("get").is_some(), "a dry-run delete deleted");
    let (code, body) = raw(&client, "DELETE", path, PROTOBUF, protobuf_delete_options("Background", false)).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("status")["status"], "Success");
    assert!(configmaps.get_opt("one").await.expect("get").is_none());

    let collection = "/api/v1/namespaces/default/configmaps?labelSelector=set%3Dx";
    let (code, body) = raw(&client, "DELETE", collection, PROTOBUF, protobuf_delete_options("Background", false)).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    for name in ["two", "three"] {
        assert!(configmaps.get_opt(name).await.expect("get").is_none(), "{name} is left");
    }
    // A policy upstream does not know is refused as upstream refuses it.
    let cm = serde_json::from_value(json!({"metadata": {"name": "four"}})).expect("cm");
    configmaps.create(&PostParams::default(), &cm).await.expect("create");
    let four = "/api/v1/namespaces/default/configmaps/four";
    let (code, body) = raw(&client, "DELETE", four, PROTOBUF, protobuf_delete_options("Sideways", false)).await;
    assert_eq!(code, 422, "{}", String::from_utf8_lossy(&body));
    let status: Value = serde_json::from_slice(&body).expect("status");
    assert_eq!(
        status["message"],
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\""
    );
    assert!(configmaps.get_opt("four").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_without_preconditions_never_conflict_with_concurrent_writers() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let client = cluster.client().await.expect("client");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let names: Vec<String> = (0..12).map(|i| format!("busy-{i}")).collect();
    for name in &names {
        // A finalizer keeps each object around, so the writer and the delete race on it.
        let cm = serde_json::from_value(json!({"metadata": {"name": name, "finalizers": ["example.com/hold"]}}))
            .expect("cm");
        configmaps.create(&PostParams::default(), &cm).await.expect("create");
    }
    let writers = names.iter().map(|name| {
        let configmaps = configmaps.clone();
        let name = name.clone();
        async move {
            for i in 0..40 {
                let patch = json!({"metadata": {"labels": {"n": i.to_string()}}});
                // Once the object is deleting, writes still go in; the point is that they race.
                let _ = configmaps.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await;
            }
        }
    });
    let deletes = names.iter().map(|name| {
        let configmaps = configmaps.clone();
        let name = name.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            configmaps.delete(&name, &DeleteParams::default()).await.map(|_| ()).map_err(|e| format!("{name}: {e}"))
        }
    });
    let (_, results) = tokio::join!(join_all(writers), join_all(deletes));
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "deletes without preconditions failed: {failures:?}");
    for name in &names {
        let cm = configmaps.get(name).await.expect("still held by its finalizer");
        assert!(cm.metadata.deletion_timestamp.is_some(), "{name} is not deleting");
    }
}

/// A name no object has, so every request is answered by routing and lookup, never by a change.
const ABSENT: &str = "rkube-no-such-object";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_and_subresource_discovery_lists_is_served() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let client = cluster.client().await.expect("client");
    let (_, groups) = get(&client, "/apis").await;
    let groups: Value = serde_json::from_slice(&groups).expect("APIGroupList");
    let mut group_versions = vec!["/api/v1".to_string()];
    for group in groups["groups"].as_array().expect("groups") {
        for version in group["versions"].as_array().expect("versions") {
            group_versions.push(format!("/apis/{}", version["groupVersion"].as_str().expect("groupVersion")));
        }
    }
    let mut checked = 0;
    let mut refused = Vec::new();
    for gv in &group_versions {
        let (_, list) = get(&client, gv).await;
        let list: Value = serde_json::from_slice(&list).expect("APIResourceList");
        for resource in list["resources"].as_array().expect("resources") {
            let name = resource["name"].as_str().expect("name");
            let namespaced = resource["namespaced"].as_bool().expect("namespaced");
            let base = if namespaced { format!("{gv}/namespaces/default") } else { gv.clone() };
            let (plural, sub) = name.split_once('/').map_or((name, None), |(p, s)| (p, Some(s)));
            let item = match sub {
                Some(sub) => format!("{base}/{plural}/{ABSENT}/{sub}"),
                None => format!("{base}/{plural}/{ABSENT}"),
            };
            let collection = format!("{base}/{plural}");
            for verb in resource["verbs"].as_array().expect("verbs").iter().filter_map(Value::as_str) {
                // Writes are dry runs, so the walk changes nothing it reaches.
                let (method, path) = match (verb, sub) {
                    ("get", _) => ("GET", item.clone()),
                    ("list", None) => ("GET", collection.clone()),
                    ("watch", None) => ("GET", format!("{collection}?watch=true&timeoutSeconds=1")),
                    ("create", None) => ("POST", format!("{collection}?dryRun=All")),
                    ("create", Some(_)) => ("POST", format!("{item}?dryRun=All")),
                    ("update", _) => ("PUT", format!("{item}?dryRun=All")),
                    ("patch", _) => ("PATCH", format!("{item}?dryRun=All")),
                    ("delete", _) => ("DELETE", format!("{item}?dryRun=All")),
                    ("deletecollection", None) => {
                        ("DELETE", format!("{collection}?dryRun=All&labelSelector=none%3Dnone"))
                    }
                    (other, _) => panic!("{gv} {name}: unexpected verb {other}"),
                };
                let content_type = if method == "PATCH" { "application/merge-patch+json" } else { "application/json" };
                let body = if matches!(method, "POST" | "PUT" | "PATCH") { b"{}".to_vec() } else { Vec::new() };
                let (code, answer) = raw(&client, method, &path, content_type, body).await;
                checked += 1;
                if code == 405 || code == 404 && sub.is_some() && answer_is_routing_miss(&answer) {
                    refused
                        .push(format!("{verb} {name} ({method} {path}): {code} {}", String::from_utf8_lossy(&answer)));
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} resource/verb pairs were listed");
    assert!(refused.is_empty(), "listed but not served:\n{}", refused.join("\n"));
}

/// A 404 that says the path is not served at all, rather than that the object is absent.
fn answer_is_routing_miss(answer: &[u8]) -> bool {
    serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|s| s["message"].as_str().map(|m| m == "the server could not find the requested resource"))
        .unwrap_or(true)
}

/// Objects come back in the shape upstream's Go round trip gives them: absent non-omitempty
/// fields as zero values (so `kubectl create priorityclass`'s protobuf body with value 0 is
/// accepted), `status: {}` on objects created without one, empty omitempty lists gone
/// (an orphaned dependent has no `ownerReferences: []`), quantities printed canonically.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_take_the_shape_of_upstreams_go_round_trip() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let client = cluster.client().await.expect("client");

    // kubectl sends PriorityClass as protobuf, where value 0 is simply not on the wire.
    let created = cluster.kubectl("1.33", &["create", "priorityclass", "zero"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let pc = e2e::ok(cluster.kubectl("1.33", &["get", "priorityclass", "zero", "-o", "jsonpath={.value}"]));
    assert_eq!(pc, "0");

    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shape"},
        "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": {"metadata": {"labels": {"app": "s"}},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"memory": "1024Mi", "cpu": 0.5}}}]}}}
    });
    let (code, body) = raw(
        &client,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        "application/json",
        serde_json::to_vec(&deployment).expect("json"),
    )
    .await;
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let created: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(created["status"], json!({}), "{created}");
    let keys: Vec<&String> = created.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"], "Go's field order");
    let limits = &created["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits, &json!({"cpu": "500m", "memory": "1Gi"}));
    assert_eq!(created["spec"]["template"]["metadata"]["creationTimestamp"], Value::Null, "1.33 prints it as null");

    // Orphaning empties ownerReferences; upstream then leaves the field out.
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let owner = maps
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "owner"}})).expect("cm"))
        .await
        .expect("owner");
    let uid = owner.metadata.uid.clone().expect("uid");
    let dependent = json!({"metadata": {"name": "dependent", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]}});
    maps.create(&PostParams::default(), &serde_json::from_value(dependent).expect("cm")).await.expect("dependent");
    maps.delete(
        "owner",
        &DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Orphan), ..Default::default() },
    )
    .await
    .expect("orphaning delete");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = get(&client, "/api/v1/namespaces/default/configmaps/dependent").await;
        let dependent: Value = serde_json::from_slice(&body).expect("json");
        let meta = &dependent["metadata"];
        if meta.get("ownerReferences").is_none() {
            break;
        }
        assert_ne!(meta["ownerReferences"], json!([]), "an empty list is left out: {dependent}");
        assert!(std::time::Instant::now() < deadline, "never orphaned: {dependent}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Upstream's `SetDefaults_*` on decode, as stock kubectl shows them: a fieldRef's apiVersion
/// (`kubectl describe` prints `(v1:metadata.name)`), an HPA's minReplicas and 80% CPU metric.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_defaults_are_upstreams() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let manifest = cluster.dir.path().join("defaults.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, env: [{name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]}]\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}\n  maxReplicas: 3\n",
    )
    .expect("write manifest");
    e2e::ok(cluster.kubectl("1.33", &["apply", "-f", &manifest.to_string_lossy()]));
    let described = e2e::ok(cluster.kubectl("1.33", &["describe", "pod", "p"]));
    assert!(described.contains("MY_NAME:  p (v1:metadata.name)"), "{described}");
    let spec = e2e::ok(cluster.kubectl("1.33", &["get", "hpa.v2.autoscaling", "h", "-o", "jsonpath={.spec}"]));
    let spec: Value = serde_json::from_str(&spec).expect("json");
    assert_eq!(spec["minReplicas"], 1);
    assert_eq!(
        spec["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    );
    let table = e2e::ok(cluster.kubectl("1.33", &["get", "hpa", "h", "--no-headers"]));
    assert!(table.contains("cpu: <unknown>/80%"), "{table}");
}
