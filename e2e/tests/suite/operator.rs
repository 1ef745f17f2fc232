//! The example kube-rs operator (`e2e::greeting`) against `rkube server`: it installs its
//! definition, reconciles Greetings created with kubectl into ConfigMaps with server-side apply,
//! and its status shows through the definition's printer columns.

use e2e::{Backend, Cluster, fails, ok};

const V: &str = "1.33";

/// Polls `kubectl get` until `want` holds for its output (the operator works asynchronously).
fn greeting(name: &str, spec: &str) -> String {
    format!("apiVersion: demo.rkube.dev/v1\nkind: Greeting\nmetadata:\n  name: {name}\nspec: {spec}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_operator_reconciles_greetings() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let client = cluster.client().await.expect("client");
    let operator = tokio::spawn(e2e::greeting::run(client));
    let c = &cluster;
    c.eventually(V, &["get", "crd", "greetings.demo.rkube.dev", "-o", "name"], |t| t.contains("greetings"));
    ok(c.kubectl(V, &["wait", "--for=condition=Established", "crd/greetings.demo.rkube.dev", "--timeout=20s"]));

    // A Greeting created with kubectl: its default applies, the operator writes the ConfigMap
    // and the status, and `kubectl get` prints the status through the printer columns.
    let path = c.dir.path().join("world.yaml");
    std::fs::write(&path, greeting("world", "{name: World}")).expect("manifest");
    let path = path.to_string_lossy().to_string();
    ok(c.kubectl(V, &["apply", "-f", &path]));
    assert_eq!(ok(c.kubectl(V, &["get", "greeting", "world", "-o", "jsonpath={.spec.times}"])), "1");
    let table = c.eventually(V, &["get", "greetings"], |t| t.contains("Hello, World!"));
    let header = table.lines().next().unwrap_or("");
    assert!(header.contains("MESSAGE") && header.contains("CONFIGMAP"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("world") && l.contains("world-greeting")), "{table}");
    let data = ok(c.kubectl(V, &["get", "configmap", "world-greeting", "-o", "jsonpath={.data.message}"]));
    assert_eq!(data, "Hello, World!");
    let owner =
        ok(c.kubectl(V, &["get", "cm", "world-greeting", "-o", "jsonpath={.metadata.ownerReferences[0].kind}"]));
    assert_eq!(owner, "Greeting");
    let managers = ok(c.kubectl(
        V,
        &[
            "get",
            "cm",
            "world-greeting",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ],
    ));
    assert_eq!(managers, e2e::greeting::MANAGER);

    // A spec change reaches the ConfigMap and the status (with the observed generation).
    ok(c.kubectl(V, &["patch", "greeting", "world", "--type=merge", "-p", r#"{"spec":{"times":2}}"#]));
    c.eventually(V, &["get", "cm", "world-greeting", "-o", "jsonpath={.data.message}"], |t| {
        t == "Hello, World! Hello, World!"
    });
    c.eventually(V, &["get", "greeting", "world", "-o", "jsonpath={.status.observedGeneration}"], |t| t == "2");

    // The operator owns its ConfigMaps: a deleted one comes back.
    ok(c.kubectl(V, &["delete", "cm", "world-greeting"]));
    c.eventually(V, &["get", "cm", "world-greeting", "-o", "name"], |t| t.contains("world-greeting"));

    // The derived schema's range and CEL rule are enforced by the server.
    let bad = c.dir.path().join("bad.yaml");
    std::fs::write(&bad, greeting("bad", "{name: '', times: 9}")).expect("manifest");
    let refused = fails(c.kubectl(V, &["create", "-f", &bad.to_string_lossy()]));
    assert!(
        refused.contains("spec.times: Invalid value: 9: spec.times in body should be less than or equal to 5"),
        "{refused}"
    );
    std::fs::write(&bad, greeting("bad", "{name: ''}")).expect("manifest");
    let refused = fails(c.kubectl(V, &["create", "-f", &bad.to_string_lossy()]));
    assert!(refused.contains(r#"spec.name: Invalid value: "string": name must not be empty"#), "{refused}");

    operator.abort();
}
