//! Stock Helm 4 (client-go typed clients: protobuf bodies, server-side apply, kstatus waits)
//! driving the `helm create` scaffold through its life: install with `--wait` (server-side and
//! client-side apply), upgrade, history, rollback, uninstall with the name reusable,
//! `--dry-run=server`, `--create-namespace`, `--rollback-on-failure`, and a chart with CRDs.
//! Hollow nodes run the pods (the scaffold's readiness probe is not exercised), except where an
//! image must fail to pull: that needs a real node.

use std::path::Path;
use std::process::{Command, Output};

use e2e::{Backend, Cluster, fails, helm_path, ok};

const V: &str = "1.33";

/// Runs stock helm against the cluster, with its cache, config and data under the cluster's
/// directory (nothing shared with other tests or the machine).
fn helm(c: &Cluster, args: &[&str]) -> Output {
    let home = c.dir.path().join("helm");
    Command::new(helm_path())
        .args(args)
        .current_dir(c.dir.path())
        .env("KUBECONFIG", &c.kubeconfig)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("running helm")
}

fn get(c: &Cluster, args: &[&str], path: &str) -> String {
    let mut all = vec!["get"];
    all.extend(args);
    let output = format!("jsonpath={path}");
    all.extend(["-o", &output]);
    ok(c.kubectl(V, &all))
}

fn release_secrets(c: &Cluster, ns: &str, name: &str) -> String {
    let selector = format!("owner=helm,name={name}");
    ok(c.kubectl(V, &["get", "secrets", "-n", ns, "-l", &selector, "-o", "name"]))
}

fn scaffold(c: &Cluster, name: &str) {
    ok(helm(c, &["create", name]));
    assert!(Path::new(&c.dir.path().join(name).join("Chart.yaml")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_4_installs_upgrades_rolls_back_and_uninstalls_the_scaffold() {
    let c = Cluster::start_up(Backend::Embedded, &["--nodes", "0", "--hollow-nodes", "1", "--healthz-port", "0"])
        .await
        .expect("cluster with a hollow node");
    c.eventually(V, &["get", "nodes", "--no-headers"], |t| t.contains(" Ready "));
    scaffold(&c, "demo");

    // Install, waiting for readiness; Helm 4 applies server-side.
    ok(helm(&c, &["install", "demo", "./demo", "--wait", "--timeout", "90s"]));
    assert_eq!(get(&c, &["deploy", "demo"], "{.status.readyReplicas}/{.status.availableReplicas}"), "1/1");
    let operations = get(&c, &["deploy", "demo"], "{.metadata.managedFields[*].operation}");
    assert!(operations.split_whitespace().any(|o| o == "Apply"), "{operations}");
    assert!(release_secrets(&c, "default", "demo").contains("sh.helm.release.v1.demo.v1"));

    // Upgrades, server-side then client-side (three-way strategic merge).
    ok(helm(&c, &["upgrade", "demo", "./demo", "--set", "replicaCount=2", "--wait", "--timeout", "60s"]));
    assert_eq!(get(&c, &["deploy", "demo"], "{.status.readyReplicas}"), "2");
    let csa =
        ["upgrade", "demo", "./demo", "--set", "replicaCount=3", "--server-side=false", "--wait", "--timeout", "60s"];
    ok(helm(&c, &csa));
    assert_eq!(get(&c, &["deploy", "demo"], "{.status.readyReplicas}"), "3");
    let history = ok(helm(&c, &["history", "demo"]));
    assert_eq!(history.lines().count(), 4, "a header and three revisions:\n{history}");
    assert!(history.lines().last().is_some_and(|l| l.starts_with('3') && l.contains("deployed")), "{history}");

    // Rollback to the first revision: one replica, and the status says so (no stale counts).
    ok(helm(&c, &["rollback", "demo", "1", "--wait", "--timeout", "60s"]));
    assert_eq!(get(&c, &["deploy", "demo"], "{.spec.replicas}"), "1");
    c.eventually(V, &["get", "deploy", "demo", "--no-headers"], |t| t.split_whitespace().nth(1) == Some("1/1"));
    let history = ok(helm(&c, &["history", "demo"]));
    assert!(history.lines().last().is_some_and(|l| l.contains("Rollback to 1")), "{history}");
    // Scaled to zero, every count goes (upstream writes the whole status; zeros are omitted).
    ok(c.kubectl(V, &["scale", "deploy", "demo", "--replicas=0"]));
    c.eventually(V, &["get", "deploy", "demo", "--no-headers"], |t| t.split_whitespace().nth(1) == Some("0/0"));
    let counts = "jsonpath={.status.replicas}{.status.updatedReplicas}{.status.readyReplicas}{.status.availableReplicas}{.status.unavailableReplicas}";
    c.eventually(V, &["get", "deploy", "demo", "-o", counts], str::is_empty);

    // Uninstall leaves nothing, and the name can be used again.
    ok(helm(&c, &["uninstall", "demo", "--wait", "--timeout", "60s"]));
    assert_eq!(release_secrets(&c, "default", "demo"), "");
    let left = ok(c.kubectl(V, &["get", "deploy,svc,sa", "-l", "app.kubernetes.io/instance=demo", "-o", "name"]));
    assert_eq!(left, "", "uninstall left {left}");
    ok(helm(&c, &["install", "demo", "./demo", "--wait", "--timeout", "60s"]));
    assert!(release_secrets(&c, "default", "demo").contains("sh.helm.release.v1.demo.v1"));

    // A server-side dry run renders and validates, creating nothing.
    let dry = ok(helm(&c, &["install", "dry", "./demo", "--dry-run=server"]));
    assert!(dry.contains("kind: Deployment") && dry.contains("name: dry-demo"), "{dry}");
    fails(c.kubectl(V, &["get", "deploy", "dry-demo"]));
    assert_eq!(release_secrets(&c, "default", "dry"), "");

    // A release in a namespace Helm creates.
    ok(helm(
        &c,
        &["install", "other", "./demo", "-n", "helm-newns", "--create-namespace", "--wait", "--timeout", "60s"],
    ));
    assert_eq!(get(&c, &["deploy", "other-demo", "-n", "helm-newns"], "{.status.readyReplicas}"), "1");
    ok(helm(&c, &["upgrade", "--install", "third", "./demo", "-n", "helm-newns", "--wait", "--timeout", "60s"]));

    // --rollback-on-failure: a release that never becomes ready (nothing fits its request) is
    // removed again, release record included.
    let bad = [
        "install",
        "bad",
        "./demo",
        "--set",
        "resources.requests.cpu=500",
        "--rollback-on-failure",
        "--timeout",
        "15s",
    ];
    let refused = fails(helm(&c, &bad));
    assert!(refused.contains("rollback-on-failure") || refused.contains("uninstalled"), "{refused}");
    fails(c.kubectl(V, &["get", "deploy", "bad-demo"]));
    assert_eq!(release_secrets(&c, "default", "bad"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_a_chart_with_its_crds_and_a_custom_resource() {
    let c = Cluster::start(Backend::Embedded).await.expect("cluster");
    ok(helm(&c, &["create", "widgets"]));
    let chart = c.dir.path().join("widgets");
    std::fs::create_dir_all(chart.join("crds")).expect("crds dir");
    std::fs::write(chart.join("crds/widgets.yaml"), CRD).expect("write CRD");
    // Only the custom resource: the scaffold's Deployment would wait for nodes.
    for entry in std::fs::read_dir(chart.join("templates")).expect("templates") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::remove_file(path).expect("remove template");
        }
    }
    std::fs::remove_dir_all(chart.join("templates/tests")).expect("remove tests");
    std::fs::write(chart.join("templates/widget.yaml"), WIDGET).expect("write CR");
    ok(helm(&c, &["install", "w", "./widgets", "--wait", "--timeout", "30s"]));
    assert_eq!(get(&c, &["widget", "w-widget"], "{.spec.size}"), "3");
    ok(helm(&c, &["upgrade", "w", "./widgets", "--set", "size=5", "--wait"]));
    assert_eq!(get(&c, &["widget", "w-widget"], "{.spec.size}"), "5");
    ok(helm(&c, &["uninstall", "w", "--wait"]));
    fails(c.kubectl(V, &["get", "widget", "w-widget"]));
    // Helm keeps CRDs it installed from crds/.
    ok(c.kubectl(V, &["get", "crd", "widgets.example.com"]));
}

/// Needs a real node: the image must fail to pull.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_rolls_back_an_install_whose_image_cannot_be_pulled() {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    scaffold(&c, "demo");
    let registry = c.registry.as_ref().map(|r| r.address.clone()).expect("the test registry");
    let image = format!("image.repository={registry}/no-such-image");
    let bad = ["install", "bad", "./demo", "--set", &image, "--rollback-on-failure", "--timeout", "20s"];
    let refused = fails(helm(&c, &bad));
    assert!(refused.contains("rollback-on-failure") || refused.contains("uninstalled"), "{refused}");
    fails(c.kubectl(V, &["get", "deploy", "bad-demo"]));
    assert_eq!(release_secrets(&c, "default", "bad"), "");
    // The name is free again.
    let status = helm(&c, &["status", "bad"]);
    assert!(!status.status.success(), "{}", String::from_utf8_lossy(&status.stdout));
    assert!(String::from_utf8_lossy(&status.stderr).contains("release: not found"));
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}}
";

const WIDGET: &str = "apiVersion: example.com/v1
kind: Widget
metadata: {name: \"{{ .Release.Name }}-widget\"}
spec: {size: {{ .Values.size | default 3 }}}
";
