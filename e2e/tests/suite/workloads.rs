//! Workloads on three hollow nodes, driven by stock kubectl (issue 5's acceptance): Deployments
//! roll out, scale, update, go back; ReplicaSets and ReplicationControllers keep their pods;
//! the scheduler spreads, filters and reports; cascading deletion in its three modes;
//! EndpointSlices follow a Deployment's pods; a namespace is emptied; a node that dies goes
//! Ready=Unknown and its pods are evicted once their toleration runs out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster, fails, ok};
use serde_json::Value;

const V: &str = "1.33";
const NODES: [&str; 3] = ["hollow-a", "hollow-b", "hollow-c"];

fn json(c: &Cluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&ok(c.kubectl(V, &all))).expect("kubectl prints JSON")
}

fn write(c: &Cluster, name: &str, text: &str) -> String {
    let path = c.dir.path().join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.to_string_lossy().to_string()
}

/// Running pods matching `selector`: name -> node.
fn running(c: &Cluster, selector: &str) -> BTreeMap<String, String> {
    let pods = json(c, &["get", "pods", "-l", selector]);
    let items = pods["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|p| p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap_or("").to_string(),
                p["spec"]["nodeName"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn wait_running(c: &Cluster, selector: &str, n: usize) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pods = running(c, selector);
        let all = json(c, &["get", "pods", "-l", selector])["items"].as_array().map_or(0, Vec::len);
        if pods.len() == n && all == n {
            return pods;
        }
        assert!(
            Instant::now() < deadline,
            "{n} running pods of {selector} expected:\n{}",
            ok(c.kubectl(V, &["get", "pods", "-o", "wide"]))
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn rollout(c: &Cluster, what: &str) {
    let out = ok(c.kubectl(V, &["rollout", "status", what, "--timeout=60s"]));
    assert!(out.contains("successfully rolled out"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_on_hollow_nodes() {
    let cluster =
        Cluster::start_with(Backend::Embedded, &["--node-monitor-grace-period", "8"]).await.expect("cluster starts");
    let c = &cluster;
    let mut kubelets: BTreeMap<&str, e2e::Process> =
        NODES.iter().map(|n| (*n, c.start_hollow_kubelet(n, &[]).expect("hollow kubelet starts"))).collect();
    c.eventually(V, &["get", "nodes", "--no-headers"], |t| t.lines().filter(|l| l.contains(" Ready ")).count() == 3);

    // A Deployment rolls out over all nodes.
    ok(c.kubectl(V, &["create", "deployment", "web", "--image=registry.example/web:1", "--replicas=6", "--port=80"]));
    rollout(c, "deployment/web");
    let pods = wait_running(c, "app=web", 6);
    let used: std::collections::BTreeSet<&String> = pods.values().collect();
    assert_eq!(used.len(), 3, "6 pods spread over the 3 nodes: {pods:?}");
    let d = json(c, &["get", "deployment", "web"]);
    assert_eq!(d["status"]["availableReplicas"], 6, "{d}");
    assert!(
        d["status"]["conditions"].as_array().unwrap().iter().any(|c| c["type"] == "Available" && c["status"] == "True")
    );

    // Scale down, then a new image: a second ReplicaSet, then back with undo.
    ok(c.kubectl(V, &["scale", "deployment", "web", "--replicas=3"]));
    wait_running(c, "app=web", 3);
    ok(c.kubectl(V, &["set", "image", "deployment/web", "web=registry.example/web:2"]));
    rollout(c, "deployment/web");
    let sets = ok(c.kubectl(
        V,
        &[
            "get",
            "rs",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.spec.replicas} {end}",
        ],
    ));
    assert!(sets.contains("registry.example/web:2=3") && sets.contains("registry.example/web:1=0"), "{sets}");
    let history = ok(c.kubectl(V, &["rollout", "history", "deployment/web"]));
    assert!(history.contains("\n1 ") && history.contains("\n2 "), "{history}");
    ok(c.kubectl(V, &["rollout", "undo", "deployment/web"]));
    rollout(c, "deployment/web");
    let image =
        ok(c.kubectl(V, &["get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]));
    assert_eq!(image, "registry.example/web:1");
    let history = ok(c.kubectl(V, &["rollout", "history", "deployment/web"]));
    assert!(history.contains("\n2 ") && history.contains("\n3 ") && !history.contains("\n1 "), "{history}");

    // A deleted pod is replaced.
    let before = wait_running(c, "app=web", 3);
    let victim = before.keys().next().cloned().unwrap();
    ok(c.kubectl(V, &["delete", "pod", &victim, "--wait=false"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = running(c, "app=web");
        if now.len() == 3 && !now.contains_key(&victim) {
            break;
        }
        assert!(Instant::now() < deadline, "{victim} was not replaced: {now:?}");
        std::thread::sleep(Duration::from_millis(300));
    }

    // EndpointSlices follow the Deployment's ready pods.
    ok(c.kubectl(V, &["expose", "deployment", "web", "--port=8080", "--target-port=80"]));
    let ips: std::collections::BTreeSet<String> = json(c, &["get", "pods", "-l", "app=web"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["status"]["podIP"].as_str().unwrap_or("").to_string())
        .collect();
    let slices = c.eventually(
        V,
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            "jsonpath={.items[*].endpoints[*].addresses[0]}",
        ],
        |t| t.split_whitespace().collect::<std::collections::BTreeSet<_>>() == ips.iter().map(String::as_str).collect(),
    );
    assert_eq!(slices.split_whitespace().count(), 3, "{slices}");
    let ports = ok(c.kubectl(
        V,
        &["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "jsonpath={.items[0].ports[0].port}"],
    ));
    assert_eq!(ports, "80");

    // A ReplicationController keeps 3.
    let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: legacy}\nspec:\n  replicas: 3\n  selector: {app: legacy}\n  template:\n    metadata: {labels: {app: legacy}}\n    spec: {containers: [{name: c, image: registry.example/legacy:1}]}\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "rc.yaml", rc)]));
    let pods = wait_running(c, "app=legacy", 3);
    ok(c.kubectl(V, &["delete", "pod", pods.keys().next().unwrap()]));
    wait_running(c, "app=legacy", 3);

    // Scheduling: too big to fit anywhere; pinned by nodeSelector; kept off a cordoned node.
    let big = "apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec: {containers: [{name: c, image: x, resources: {requests: {cpu: '1000'}}}]}\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "big.yaml", big)]));
    c.eventually(
        V,
        &["get", "pod", "big", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}"],
        |t| t == "Unschedulable",
    );
    c.eventually(V, &["get", "events", "--field-selector", "involvedObject.name=big"], |t| {
        t.contains("FailedScheduling") && t.contains("Insufficient cpu")
    });
    let pinned = "apiVersion: v1\nkind: Pod\nmetadata: {name: pinned}\nspec:\n  nodeSelector: {kubernetes.io/hostname: hollow-b}\n  containers: [{name: c, image: x}]\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "pinned.yaml", pinned)]));
    c.eventually(V, &["get", "pod", "pinned", "-o", "jsonpath={.spec.nodeName}"], |t| t == "hollow-b");
    ok(c.kubectl(V, &["cordon", "hollow-c"]));
    ok(c.kubectl(V, &["create", "deployment", "avoid", "--image=x", "--replicas=4"]));
    let placed = wait_running(c, "app=avoid", 4);
    assert!(placed.values().all(|n| n != "hollow-c"), "a cordoned node got pods: {placed:?}");
    ok(c.kubectl(V, &["uncordon", "hollow-c"]));

    // Cascading deletion: background, foreground, orphan.
    ok(c.kubectl(V, &["delete", "deployment", "avoid"]));
    c.eventually(V, &["get", "rs,pods", "-l", "app=avoid", "-o", "name"], |t| t.trim().is_empty());
    ok(c.kubectl(V, &["create", "deployment", "fg", "--image=x", "--replicas=2"]));
    wait_running(c, "app=fg", 2);
    ok(c.kubectl(V, &["delete", "deployment", "fg", "--cascade=foreground"]));
    assert!(
        ok(c.kubectl(V, &["get", "rs,pods", "-l", "app=fg", "-o", "name"])).trim().is_empty(),
        "foreground deletion returns after the dependents are gone"
    );
    ok(c.kubectl(V, &["create", "deployment", "orphan", "--image=x", "--replicas=2"]));
    wait_running(c, "app=orphan", 2);
    ok(c.kubectl(V, &["delete", "deployment", "orphan", "--cascade=orphan"]));
    std::thread::sleep(Duration::from_secs(2));
    let rs = json(c, &["get", "rs", "-l", "app=orphan"]);
    assert_eq!(rs["items"].as_array().unwrap().len(), 1, "the ReplicaSet stays");
    assert!(rs["items"][0]["metadata"]["ownerReferences"].as_array().is_none_or(Vec::is_empty), "{rs}");
    assert_eq!(running(c, "app=orphan").len(), 2);

    // A namespace is emptied, then removed.
    ok(c.kubectl(V, &["create", "namespace", "scratch"]));
    ok(c.kubectl(V, &["create", "deployment", "tmp", "--image=x", "--replicas=2", "-n", "scratch"]));
    c.eventually(V, &["get", "pods", "-n", "scratch", "--no-headers"], |t| {
        t.lines().filter(|l| l.contains("Running")).count() == 2
    });
    ok(c.kubectl(V, &["delete", "namespace", "scratch", "--timeout=60s"]));
    fails(c.kubectl(V, &["get", "namespace", "scratch"]));

    // A node that dies: Ready=Unknown after the grace period, unreachable taints, and its pods
    // evicted once their toleration runs out (the default one is 300 s; this pod asks for 3 s).
    let doomed = "apiVersion: v1\nkind: Pod\nmetadata: {name: doomed}\nspec:\n  nodeSelector: {kubernetes.io/hostname: hollow-a}\n  tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}]\n  containers: [{name: c, image: x}]\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "doomed.yaml", doomed)]));
    c.eventually(V, &["get", "pod", "doomed", "-o", "jsonpath={.status.phase}"], |t| t == "Running");
    let defaults =
        ok(c.kubectl(V, &["get", "pod", "pinned", "-o", "jsonpath={.spec.tolerations[*].tolerationSeconds}"]));
    assert_eq!(defaults, "300 300", "DefaultTolerationSeconds");
    drop(kubelets.remove("hollow-a"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = ok(c.kubectl(
            V,
            &["get", "node", "hollow-a", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"],
        ));
        if ready == "Unknown" {
            break;
        }
        assert!(Instant::now() < deadline, "hollow-a stayed Ready={ready} after its kubelet was killed");
        std::thread::sleep(Duration::from_millis(500));
    }
    c.eventually(V, &["get", "node", "hollow-a", "-o", "jsonpath={.spec.taints[*].key}"], |t| {
        t.contains("node.kubernetes.io/unreachable")
    });
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        // No kubelet will finish the graceful deletion: the pod stays, terminating.
        let terminating = ok(c.kubectl(V, &["get", "pod", "doomed", "-o", "jsonpath={.metadata.deletionTimestamp}"]));
        if !terminating.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "doomed was not evicted from the dead node");
        std::thread::sleep(Duration::from_millis(500));
    }
    let reason = ok(c.kubectl(
        V,
        &["get", "pod", "doomed", "-o", "jsonpath={.status.conditions[?(@.type==\"DisruptionTarget\")].reason}"],
    ));
    assert_eq!(reason, "DeletionByTaintManager", "the eviction is explained on the pod");
    drop(kubelets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_strategies_and_pausing() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    let _kubelets: Vec<e2e::Process> = ["hollow-x", "hollow-y"]
        .iter()
        .map(|n| c.start_hollow_kubelet(n, &[]).expect("hollow kubelet starts"))
        .collect();
    c.eventually(V, &["get", "nodes", "--no-headers"], |t| t.lines().filter(|l| l.contains(" Ready ")).count() == 2);

    // Recreate: the old pods are gone before the new ones come.
    let recreate = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: batch}\nspec:\n  replicas: 3\n  strategy: {type: Recreate}\n  selector: {matchLabels: {app: batch}}\n  template:\n    metadata: {labels: {app: batch}}\n    spec: {containers: [{name: c, image: registry.example/batch:1}]}\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "recreate.yaml", recreate)]));
    rollout(c, "deployment/batch");
    ok(c.kubectl(V, &["set", "image", "deployment/batch", "c=registry.example/batch:2"]));
    rollout(c, "deployment/batch");
    let sets = ok(c.kubectl(
        V,
        &[
            "get",
            "rs",
            "-l",
            "app=batch",
            "-o",
            "jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.spec.replicas} {end}",
        ],
    ));
    assert!(sets.contains("registry.example/batch:2=3") && sets.contains("registry.example/batch:1=0"), "{sets}");
    let events = ok(c.kubectl(
        V,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=batch",
            "-o",
            "jsonpath={range .items[*]}{.message}|{end}",
        ],
    ));
    let down = events.find("Scaled down replica set batch-").expect("a scale-down event");
    let up = events.rfind("Scaled up replica set batch-").expect("a scale-up event");
    assert!(down < up, "Recreate scales the old set down before the new one up: {events}");

    // Paused: template changes wait; resumed: they roll out.
    ok(c.kubectl(V, &["create", "deployment", "paused", "--image=registry.example/p:1", "--replicas=2"]));
    rollout(c, "deployment/paused");
    ok(c.kubectl(V, &["rollout", "pause", "deployment/paused"]));
    ok(c.kubectl(V, &["set", "image", "deployment/paused", "p=registry.example/p:2"]));
    c.eventually(
        V,
        &["get", "deployment", "paused", "-o", "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}"],
        |t| t == "DeploymentPaused",
    );
    std::thread::sleep(Duration::from_secs(1));
    let sets = ok(c.kubectl(V, &["get", "rs", "-l", "app=paused", "-o", "name"]));
    assert_eq!(sets.lines().count(), 1, "no new ReplicaSet while paused: {sets}");
    ok(c.kubectl(V, &["scale", "deployment", "paused", "--replicas=4"]));
    wait_running(c, "app=paused", 4);
    ok(c.kubectl(V, &["rollout", "resume", "deployment/paused"]));
    rollout(c, "deployment/paused");
    // The old pods go as the hollow kubelets finish them.
    c.eventually(V, &["get", "pods", "-l", "app=paused", "-o", "jsonpath={.items[*].spec.containers[0].image}"], |t| {
        t.split_whitespace().all(|i| i == "registry.example/p:2") && t.split_whitespace().count() == 4
    });
}
