//! Hollow (simulated) nodes seen through stock kubectl: `rkube up --hollow-nodes` and
//! `rkube kubelet --hollow` register Ready nodes that renew their Leases; a pod bound to one
//! runs with an IP from the node's podCIDR and is deleted promptly; a killed hollow kubelet stops
//! renewing its Lease.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster, ok};
use serde_json::Value;

const V: &str = "1.33";

fn json(c: &Cluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&ok(c.kubectl(V, &all))).expect("kubectl prints JSON")
}

fn renew_time(c: &Cluster, node: &str) -> String {
    ok(c.kubectl(V, &["get", "lease", node, "-n", "kube-node-lease", "-o", "jsonpath={.spec.renewTime}"]))
}

/// Waits until the Lease of `node` is renewed (its renewTime changes); fails after `within`.
fn lease_advances(c: &Cluster, node: &str, within: Duration) {
    let first = renew_time(c, node);
    let deadline = Instant::now() + within;
    while renew_time(c, node) == first {
        assert!(Instant::now() < deadline, "the Lease of {node} was not renewed within {within:?} (renewTime {first})");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn ready_nodes(c: &Cluster) -> Vec<String> {
    let text = ok(c.kubectl(V, &["get", "nodes", "--no-headers"]));
    text.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// GET `path` over plain HTTP/1.0 on 127.0.0.1:`port`: the body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the healthz port");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read answer");
    assert!(text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"), "{text}");
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_runs_ready_hollow_nodes_that_renew_their_leases() {
    let port = free_port().to_string();
    let args = ["--nodes", "0", "--hollow-nodes", "3", "--healthz-port", &port];
    let cluster = Cluster::start_up(Backend::Embedded, &args).await.expect("rkube up starts");
    let c = &cluster;
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready_nodes(c).len() < 3 {
        assert!(Instant::now() < deadline, "3 Ready nodes expected:\n{}", ok(c.kubectl(V, &["get", "nodes"])));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ready_nodes(c), ["hollow-node-0", "hollow-node-1", "hollow-node-2"]);

    let nodes = json(c, &["get", "nodes"]);
    let mut ips = std::collections::HashSet::new();
    for node in nodes["items"].as_array().expect("items") {
        let name = node["metadata"]["name"].as_str().unwrap_or_default();
        let labels = &node["metadata"]["labels"];
        assert_eq!(labels["kubernetes.io/hostname"], name);
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["kubernetes.io/arch"], if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" });
        assert_eq!(node["metadata"]["annotations"]["rkube.io/hollow-node"], "true", "{node}");
        let status = &node["status"];
        assert_eq!(status["capacity"]["pods"], "110");
        assert_eq!(status["allocatable"]["cpu"], "4");
        assert_eq!(status["nodeInfo"]["kubeletVersion"], "v1.33.0-rkube");
        let ready =
            status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Ready")).expect("Ready");
        assert_eq!((ready["status"].as_str(), ready["reason"].as_str()), (Some("True"), Some("KubeletReady")));
        let internal = status["addresses"].as_array().and_then(|a| a.iter().find(|a| a["type"] == "InternalIP"));
        ips.insert(internal.expect("an InternalIP")["address"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(ips.len(), 3, "one InternalIP per node: {ips:?}");

    // Every node has its Lease, held by itself, renewed every 10 s (plus jitter).
    let leases = ok(c.kubectl(
        V,
        &[
            "get",
            "leases",
            "-n",
            "kube-node-lease",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.spec.holderIdentity}/{.spec.leaseDurationSeconds} {end}",
        ],
    ));
    assert_eq!(
        leases.trim(),
        "hollow-node-0=hollow-node-0/40 hollow-node-1=hollow-node-1/40 hollow-node-2=hollow-node-2/40"
    );
    lease_advances(c, "hollow-node-1", Duration::from_secs(15));

    // The node lifecycle controller marks a node whose Lease expired Ready=Unknown; a live
    // kubelet puts it back at once.
    let unknown = r#"{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}}"#;
    ok(c.kubectl(V, &["patch", "node", "hollow-node-2", "--subresource=status", "-p", unknown]));
    let ready =
        r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}"#;
    c.eventually(V, &["get", "node", "hollow-node-2", "-o", ready], |t| t == "True/KubeletReady");

    assert_eq!(http_get(port.parse().unwrap_or_default(), "/healthz"), "ok");
    let metrics = http_get(port.parse().unwrap_or_default(), "/metrics");
    assert!(metrics.contains("kubelet_hollow_nodes 3"), "{metrics}");
    assert!(metrics.contains("kubelet_lease_renewals_total{result=\"success\"}"), "{metrics}");
}

/// The node's podCIDR: the node IPAM controller's, else (without it) `fallback`, set with
/// kubectl once the test saw that pods wait for it.
fn ensure_pod_cidr(c: &Cluster, node: &str, fallback: &str) -> String {
    let get = || ok(c.kubectl(V, &["get", "node", node, "-o", "jsonpath={.spec.podCIDR}"]));
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let cidr = get();
        if !cidr.is_empty() {
            return cidr;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let pods = ok(c.kubectl(
        V,
        &[
            "get",
            "pods",
            "--field-selector",
            &format!("spec.nodeName={node}"),
            "-o",
            "jsonpath={.items[*].status.podIP}",
        ],
    ));
    assert_eq!(pods.trim(), "", "no pod IP without a podCIDR");
    let patch = format!(r#"{{"spec":{{"podCIDR":"{fallback}","podCIDRs":["{fallback}"]}}}}"#);
    ok(c.kubectl(V, &["patch", "node", node, "-p", &patch]));
    fallback.to_string()
}

fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (Some((net, bits)), Ok(ip)) = (cidr.split_once('/'), ip.parse::<Ipv4Addr>()) else { return false };
    let (Ok(net), Ok(bits)) = (net.parse::<Ipv4Addr>(), bits.parse::<u32>()) else { return false };
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  nodeName: hollow-node-0\n  initContainers: [{name: setup, image: busybox}]\n  containers:\n  - {name: app, image: nginx:1.27, resources: {limits: {cpu: 500m, memory: 64Mi}}}\n  - {name: sidecar, image: busybox}\n";
const HOST_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: host}\nspec:\n  nodeName: hollow-node-0\n  hostNetwork: true\n  containers: [{name: app, image: nginx, resources: {limits: {cpu: 100m, memory: 64Mi}}}]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_bound_to_a_hollow_node_runs_and_is_deleted_promptly() {
    let args = ["--nodes", "0", "--hollow-nodes", "1", "--healthz-port", "0"];
    let cluster = Cluster::start_up(Backend::Embedded, &args).await.expect("rkube up starts");
    let c = &cluster;
    c.eventually(V, &["get", "node", "hollow-node-0", "-o", "name"], |t| t.contains("hollow-node-0"));
    let manifest = c.dir.path().join("pod.yaml");
    std::fs::write(&manifest, POD).expect("write manifest");
    ok(c.kubectl(V, &["apply", "-f", &manifest.to_string_lossy()]));
    // Until the node has a podCIDR, the pod waits without an IP (unless the node IPAM
    // controller gave it one already).
    let cidr = ensure_pod_cidr(c, "hollow-node-0", "10.244.7.0/24");
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/web", "--timeout=30s"]));
    let pod = json(c, &["get", "pod", "web"]);
    let status = &pod["status"];
    assert_eq!(status["phase"], "Running");
    let ip = status["podIP"].as_str().expect("a podIP");
    assert!(in_cidr(ip, &cidr), "{ip} is not in {cidr}");
    assert_eq!(status["podIPs"][0]["ip"], ip);
    let node = json(c, &["get", "node", "hollow-node-0"]);
    let node_ip = node["status"]["addresses"][0]["address"].clone();
    assert_eq!(status["hostIP"], node_ip);
    assert_eq!(status["qosClass"], "Burstable", "the sidecar has no limits");
    for kind in ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"] {
        let condition = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == kind));
        assert_eq!(condition.map(|c| c["status"].clone()), Some("True".into()), "{kind}: {status}");
    }
    let containers = status["containerStatuses"].as_array().expect("containerStatuses");
    assert_eq!(containers.len(), 2);
    for container in containers {
        assert_eq!(container["ready"], true, "{container}");
        assert_eq!(container["restartCount"], 0);
        assert!(container["state"]["running"]["startedAt"].is_string(), "{container}");
        assert!(container["containerID"].as_str().is_some_and(|id| id.starts_with("hollow://")), "{container}");
    }
    assert_eq!(status["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
    // kubectl's own view.
    let row = ok(c.kubectl(V, &["get", "pod", "web", "--no-headers", "-o", "wide"]));
    assert!(row.contains("2/2") && row.contains("Running") && row.contains(ip), "{row}");
    // A hollow node's address is made up: logs and exec are refused without dialling it.
    for args in [&["logs", "web", "-c", "app"][..], &["exec", "web", "-c", "app", "--", "true"]] {
        let out = c.kubectl(V, args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && err.contains("is a hollow node"), "{args:?}: {err}");
    }

    // hostNetwork pods get the node's address; a Guaranteed pod is classed so.
    let host = c.dir.path().join("host.yaml");
    std::fs::write(&host, HOST_POD).expect("write manifest");
    ok(c.kubectl(V, &["apply", "-f", &host.to_string_lossy()]));
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/host", "--timeout=30s"]));
    let host = json(c, &["get", "pod", "host"]);
    assert_eq!(host["status"]["podIP"], node_ip);
    assert_eq!(host["status"]["qosClass"], "Guaranteed");

    // Deleting waits for the kubelet to stop the pod: well under its 30 s grace period.
    let started = Instant::now();
    ok(c.kubectl(V, &["delete", "pod", "web", "--timeout=20s"]));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "deleting took {took:?}");
    let left = ok(c.kubectl(V, &["get", "pods", "-o", "name"]));
    assert_eq!(left.trim(), "pod/host");
}

fn wait_ready(c: &Cluster, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = ready_nodes(c);
        if names.iter().all(|n| ready.iter().any(|r| r == n)) {
            return;
        }
        assert!(Instant::now() < deadline, "{names:?} not Ready:\n{}", ok(c.kubectl(V, &["get", "nodes"])));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_hollow_kubelet_stops_renewing_its_lease() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    let extra = ["--healthz-port", "0"];
    let mut killed = c.start_hollow_kubelet("node-a", &extra).expect("kubelet node-a starts");
    let mut terminated = c.start_hollow_kubelet("node-b", &extra).expect("kubelet node-b starts");
    wait_ready(c, &["node-a", "node-b"]);
    let node = json(c, &["get", "node", "node-a"]);
    assert_eq!(node["metadata"]["annotations"]["rkube.io/hollow-node"], "true");
    lease_advances(c, "node-a", Duration::from_secs(15));

    // kill -9 one (node loss), SIGTERM the other: it exits cleanly at once.
    killed.0.kill().expect("kill node-a");
    let _ = killed.0.wait();
    let pid = terminated.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM").success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(status) = terminated.0.try_wait().expect("wait node-b") {
            break status;
        }
        assert!(Instant::now() < deadline, "node-b did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "node-b exited with {exit}");

    let before = [renew_time(c, "node-a"), renew_time(c, "node-b")];
    // Longer than a renewal period with its jitter.
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!([renew_time(c, "node-a"), renew_time(c, "node-b")], before, "no renewals after the kubelets stopped");
    // The Nodes stay: the node lifecycle controller, not the kubelet, reacts to their loss.
    let names = ok(c.kubectl(V, &["get", "nodes", "-o", "name"]));
    assert_eq!(names.trim(), "node/node-a\nnode/node-b");
}

#[test]
fn help_labels_hollow_nodes_as_simulated_and_a_bad_kubeconfig_is_named() {
    let run = |args: &[&str]| Command::new(e2e::rkube_bin()).args(args).output().expect("rkube runs");
    let out = run(&["kubelet", "--node-name", "n1", "--kubeconfig", "/nonexistent"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("/nonexistent"), "{stderr}");
    let help = String::from_utf8_lossy(&run(&["kubelet", "--help"]).stdout).to_string();
    assert!(help.contains("simulated") && help.contains("no container runs"), "{help}");
    assert!(help.contains("plain-HTTP"), "{help}");
    assert!(help.contains("--container-runtime-endpoint"), "{help}");
}

fn pod_ip(c: &Cluster, name: &str) -> String {
    ok(c.kubectl(V, &["get", "pod", name, "-o", "jsonpath={.status.podIP}"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hollow_kubelet_adopts_its_running_pods() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    let port = free_port().to_string();
    let extra = ["--healthz-port", port.as_str()];
    let kubelet = c.start_hollow_kubelet("node-c", &extra).expect("kubelet starts");
    wait_ready(c, &["node-c"]);
    ensure_pod_cidr(c, "node-c", "10.244.3.0/24");
    let pod = |name: &str| {
        let path = c.dir.path().join(format!("{name}.yaml"));
        let text = POD.replace("name: web", &format!("name: {name}")).replace("hollow-node-0", "node-c");
        std::fs::write(&path, text).expect("write manifest");
        ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]));
        ok(c.kubectl(V, &["wait", "--for=condition=Ready", &format!("pod/{name}"), "--timeout=30s"]));
    };
    pod("first");
    let first = pod_ip(c, "first");
    let started = ok(c.kubectl(V, &["get", "pod", "first", "-o", "jsonpath={.status.startTime}"]));

    drop(kubelet);
    let _kubelet = c.start_hollow_kubelet("node-c", &extra).expect("kubelet restarts");
    pod("second");
    let second = pod_ip(c, "second");
    assert_ne!(first, second, "the restarted kubelet knows the address of the pod it found running");
    assert_eq!(pod_ip(c, "first"), first);
    assert_eq!(ok(c.kubectl(V, &["get", "pod", "first", "-o", "jsonpath={.status.startTime}"])), started);
    // It wrote the status of the new pod only.
    let metrics = http_get(port.parse().unwrap_or_default(), "/metrics");
    assert!(metrics.contains("kubelet_pod_status_updates_total{result=\"success\"} 1\n"), "{metrics}");
    assert!(metrics.contains("kubelet_running_pods 2"), "{metrics}");
}
