//! Server-side apply with stock kubectl and kube-rs: managers merge, conflict, force, and
//! drop the fields they stop applying.

use e2e::{Backend, Cluster, fails, ok};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

fn write(cluster: &Cluster, name: &str, text: &str) -> String {
    let path = cluster.dir.path().join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.to_string_lossy().to_string()
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n";

/// The managers that applied to an object.
fn managers(c: &Cluster, v: &str, what: &[&str]) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    // The appliers only: the deployment controller's own updates (revision, status) are there too.
    args.extend_from_slice(&[
        "--show-managed-fields",
        "-o",
        r#"jsonpath={.metadata.managedFields[?(@.operation=="Apply")].manager}"#,
    ]);
    ok(c.kubectl(v, &args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_merges_conflicts_and_forces() {
    let c = Cluster::start(Backend::Embedded).await.unwrap();
    for v in ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"] {
        let ns = format!("ssa-{}", v.replace('.', "-"));
        ok(c.kubectl(v, &["create", "namespace", &ns]));
        let apply = |file: &str, manager: &str, extra: &[&str]| {
            let mut args = vec!["-n", &ns, "apply", "--server-side", "--field-manager", manager, "-f", file];
            args.extend_from_slice(extra);
            c.kubectl(v, &args)
        };
        // Two managers' containers merge by name (a list-map), each keeping its own.
        let alice = write(&c, "alice.yaml", &format!("{DEPLOYMENT}      - {{name: web, image: nginx:1.25}}\n"));
        let bob = write(&c, "bob.yaml", &format!("{DEPLOYMENT}      - {{name: sidecar, image: busybox:1.36}}\n"));
        assert!(ok(apply(&alice, "alice", &[])).contains("serverside-applied"));
        ok(apply(&bob, "bob", &[]));
        let names = ok(c.kubectl(
            v,
            &["-n", &ns, "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[*].name}"],
        ));
        assert_eq!(names, "web sidecar");
        assert_eq!(managers(&c, v, &["-n", &ns, "deploy", "web"]), "alice bob");

        // Bob changing Alice's image conflicts, naming her and the field.
        let grab = write(&c, "grab.yaml", &format!("{DEPLOYMENT}      - {{name: web, image: nginx:1.27}}\n"));
        let refused = fails(apply(&grab, "bob", &[]));
        assert!(refused.contains("conflict with \"alice\"") && refused.contains("image"), "{refused}");
        // Forced, the change lands and the field is Bob's; his sidecar (no longer applied) goes.
        ok(apply(&grab, "bob", &["--force-conflicts"]));
        let images = ok(c.kubectl(
            v,
            &["-n", &ns, "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}"],
        ));
        assert_eq!(images, "nginx:1.27");
        // Alice, applying again what she had, now conflicts with Bob.
        let again = fails(apply(&alice, "alice", &[]));
        assert!(again.contains("conflict with \"bob\""), "{again}");

        // Service ports are keyed by port and protocol; one that leaves protocol out means TCP
        // (the schema's default), so applying it works and a second port merges beside it.
        let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n";
        let one = write(&c, "svc1.yaml", &format!("{svc}  - {{name: http, port: 80}}\n"));
        let two = write(
            &c,
            "svc2.yaml",
            &format!("{svc}  - {{name: http, port: 80}}\n  - {{name: dns, port: 53, protocol: UDP}}\n"),
        );
        ok(apply(&one, "alice", &[]));
        ok(apply(&two, "alice", &[]));
        let ports = ok(c.kubectl(
            v,
            &["-n", &ns, "get", "svc", "web", "-o", "jsonpath={range .spec.ports[*]}{.port}/{.protocol} {end}"],
        ));
        assert_eq!(ports.trim(), "80/TCP 53/UDP");
        let owned = ok(c.kubectl(
            v,
            &["-n", &ns, "get", "svc", "web", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields}"],
        ));
        assert!(owned.contains(r#"k:{\"port\":80,\"protocol\":\"TCP\"}"#), "{owned}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_apply_creates_updates_and_removes_fields() {
    let c = Cluster::start(Backend::Embedded).await.unwrap();
    let client = c.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PatchParams::apply("operator");
    let first =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "1", "b": "2"}});
    let created = cms.patch("owned", &pp, &Patch::Apply(&first)).await.unwrap();
    assert_eq!(created.data.unwrap().len(), 2);
    let managed = created.metadata.managed_fields.unwrap();
    assert_eq!((managed[0].manager.as_deref(), managed[0].operation.as_deref()), (Some("operator"), Some("Apply")));
    // Another writer's update takes ownership of what it changes.
    cms.patch("owned", &PatchParams::default(), &Patch::Merge(json!({"data": {"c": "3"}}))).await.unwrap();
    // The operator stops applying `b`: it goes; `c` (someone else's) stays.
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "1"}});
    let data = cms.patch("owned", &pp, &Patch::Apply(&second)).await.unwrap().data.unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["a", "c"]);
    // managedFields in the request are refused.
    let mut bad = second.clone();
    bad["metadata"]["managedFields"] = json!([]);
    match cms.patch("owned", &pp, &Patch::Apply(&bad)).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 400),
        other => panic!("expected 400, got {other:?}"),
    }
}
