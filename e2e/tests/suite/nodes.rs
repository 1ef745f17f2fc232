//! What real nodes report and manage about themselves: the images a node holds
//! (`status.images`), image garbage collection once its image file system is past the high
//! threshold, pulls from a private registry with imagePullSecrets, and several nodes on one
//! machine with their own pod ranges, reaching each other.

use std::time::{Duration, Instant};

use e2e::{Cluster, ok};
use serde_json::Value;

const V: &str = "1.33";

fn node(c: &Cluster) -> Value {
    let nodes: Value = serde_json::from_str(&ok(c.kubectl(V, &["get", "nodes", "-o", "json"]))).expect("NodeList");
    nodes["items"][0].clone()
}

fn image_names(node: &Value) -> Vec<String> {
    let images = node["status"]["images"].as_array().cloned().unwrap_or_default();
    images
        .iter()
        .flat_map(|i| i["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// Polls the node until `want` holds, up to `within` (node status is written every 10 s).
fn wait_node(c: &Cluster, within: Duration, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let n = node(c);
        if want(&n) {
            return n;
        }
        assert!(Instant::now() < deadline, "node never got there ({what}):\n{:#}", n["status"]["images"]);
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_images_are_collected_once_the_image_disk_is_past_the_threshold() {
    // Any usage counts as past a 1% threshold: every image no container uses goes at once.
    let gc = [
        "--image-gc-high-threshold=1",
        "--image-gc-low-threshold=0",
        "--minimum-image-gc-age=0s",
        "--image-gc-period=1s",
    ];
    let c = Cluster::start_nodes(1, &gc).await.expect("cluster with a real node");
    let image = c.test_image();
    ok(c.kubectl(V, &["run", "once", &format!("--image={image}"), "--restart=Never", "--", "exit", "0"]));
    ok(c.kubectl(V, &["wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/once", "--timeout=60s"]));

    // The exited container still holds its image; the node lists it with the sandbox image.
    let listed = wait_node(&c, Duration::from_secs(30), "test image listed", |n| image_names(n).contains(&image));
    assert!(
        image_names(&listed).iter().any(|n| n.starts_with("rkube.local/pause")),
        "{:#}",
        listed["status"]["images"]
    );
    let sized = listed["status"]["images"]
        .as_array()
        .expect("images")
        .iter()
        .all(|i| i["sizeBytes"].as_i64().is_some_and(|s| s > 0));
    assert!(sized, "{:#}", listed["status"]["images"]);

    // Deleting the pod removes its container: the image is unused and collected; the sandbox
    // image stays.
    ok(c.kubectl(V, &["delete", "pod", "once", "--timeout=30s"]));
    let after = wait_node(&c, Duration::from_secs(40), "test image collected", |n| !image_names(n).contains(&image));
    assert!(image_names(&after).iter().any(|n| n.starts_with("rkube.local/pause")), "{:#}", after["status"]["images"]);
    let name = after["metadata"]["name"].as_str().expect("node name").to_string();
    let metrics = ok(c.kubectl(V, &["get", "--raw", &format!("/api/v1/nodes/{name}/proxy/metrics")]));
    let collected = metrics
        .lines()
        .find(|l| l.starts_with("kubelet_image_garbage_collected_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert!(collected.is_some_and(|n| n >= 1.0), "{metrics}");

    // The next pod pulls it again.
    ok(c.kubectl(V, &["run", "again", &format!("--image={image}"), "--restart=Never", "--", "exit", "0"]));
    ok(c.kubectl(V, &["wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/again", "--timeout=60s"]));
    let events = ok(c.kubectl(V, &["get", "events", "--field-selector", "involvedObject.name=again"]));
    assert!(events.contains("Successfully pulled image"), "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_real_nodes_get_their_own_pod_ranges_and_their_pods_reach_each_other() {
    let c = Cluster::start_nodes(2, &[]).await.expect("cluster with two real nodes");
    let nodes: Value = serde_json::from_str(&ok(c.kubectl(V, &["get", "nodes", "-o", "json"]))).expect("NodeList");
    let nodes = nodes["items"].as_array().expect("nodes").clone();
    assert_eq!(nodes.len(), 2);
    let cidrs: Vec<&str> = nodes.iter().map(|n| n["spec"]["podCIDR"].as_str().expect("podCIDR")).collect();
    assert_ne!(cidrs[0], cidrs[1]);
    let ports: Vec<i64> = nodes
        .iter()
        .map(|n| n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"].as_i64().expect("port"))
        .collect();
    assert_ne!(ports[0], ports[1], "each kubelet serves its own API port");

    // One server pod per node, placed by name.
    let mut ips = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let name = node["metadata"]["name"].as_str().expect("name");
        let overrides = serde_json::json!({"spec": {"nodeName": name}}).to_string();
        let pod = format!("web-{i}");
        let image = format!("--image={}", c.test_image());
        ok(c.kubectl(V, &["run", &pod, &image, &format!("--overrides={overrides}"), "--", "netexec"]));
        ok(c.kubectl(V, &["wait", "--for=condition=Ready", &format!("pod/{pod}"), "--timeout=60s"]));
        let ip = ok(c.kubectl(V, &["get", "pod", &pod, "-o", "jsonpath={.status.podIP}"]));
        let net: std::net::Ipv4Addr = ip.parse().expect("pod IP");
        let (base, bits) = cidrs[i].split_once('/').expect("CIDR");
        let base: std::net::Ipv4Addr = base.parse().expect("CIDR base");
        let mask = u32::MAX << (32 - bits.parse::<u32>().expect("prefix"));
        assert_eq!(u32::from(net) & mask, u32::from(base), "{ip} is in its node's range {}", cidrs[i]);
        ips.push(ip);
    }

    // Pod to pod across nodes, both ways; logs and exec reach each node's kubelet.
    for (from, to) in [(0, 1), (1, 0)] {
        // busybox nc (its static wget crashes resolving even numeric hosts).
        let script = format!("printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {} 8080", ips[to]);
        let answer = ok(c.kubectl(V, &["exec", &format!("web-{from}"), "--", "sh", "-c", &script]));
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert_eq!(body.trim(), format!("web-{to}"), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_images_are_pulled_with_the_pods_image_pull_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let private = e2e::testimage::Registry::start_with_auth(dir.path()).await.expect("authenticating registry");
    let c =
        Cluster::start_nodes(1, &["--insecure-registry", &private.address]).await.expect("cluster with a real node");
    let image = private.test_image();

    // Without credentials the registry refuses the pull: the pod waits with the reason.
    ok(c.kubectl(V, &["run", "anonymous", &format!("--image={image}"), "--", "pause"]));
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiting = loop {
        let pod: Value =
            serde_json::from_str(&ok(c.kubectl(V, &["get", "pod", "anonymous", "-o", "json"]))).expect("pod");
        let waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"].clone();
        if matches!(waiting["reason"].as_str(), Some("ErrImagePull" | "ImagePullBackOff")) {
            break waiting;
        }
        assert!(Instant::now() < deadline, "the pull never failed: {:#}", pod["status"]);
        std::thread::sleep(Duration::from_millis(300));
    };
    let message = waiting["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(message.contains("401") || message.contains("unauthorized"), "{waiting:#}");

    // With a docker-registry Secret named in imagePullSecrets it runs.
    ok(c.kubectl(
        V,
        &[
            "create",
            "secret",
            "docker-registry",
            "regcred",
            &format!("--docker-server={}", private.address),
            &format!("--docker-username={}", e2e::testimage::AUTH_USER),
            &format!("--docker-password={}", e2e::testimage::AUTH_PASSWORD),
        ],
    ));
    let overrides = serde_json::json!({"spec": {"imagePullSecrets": [{"name": "regcred"}]}}).to_string();
    ok(c.kubectl(
        V,
        &["run", "authorized", &format!("--image={image}"), &format!("--overrides={overrides}"), "--", "pause"],
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pod: Value =
            serde_json::from_str(&ok(c.kubectl(V, &["get", "pod", "authorized", "-o", "json"]))).expect("pod");
        if pod["status"]["phase"] == "Running" {
            break;
        }
        assert!(Instant::now() < deadline, "the pod never ran: {:#}", pod["status"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let events = ok(c.kubectl(V, &["get", "events", "--field-selector", "involvedObject.name=authorized"]));
    assert!(events.contains("Successfully pulled image"), "{events}");

    // A service account's imagePullSecrets reach the pods that run as it (ServiceAccount
    // admission).
    ok(c.kubectl(V, &["create", "serviceaccount", "builder"]));
    ok(c.kubectl(V, &["patch", "serviceaccount", "builder", "-p", r#"{"imagePullSecrets":[{"name":"regcred"}]}"#]));
    let overrides = serde_json::json!({"spec": {"serviceAccountName": "builder"}}).to_string();
    ok(c.kubectl(
        V,
        &["run", "as-builder", &format!("--image={image}"), &format!("--overrides={overrides}"), "--", "pause"],
    ));
    let secrets = ok(c.kubectl(V, &["get", "pod", "as-builder", "-o", "jsonpath={.spec.imagePullSecrets[*].name}"]));
    assert_eq!(secrets, "regcred");
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/as-builder", "--timeout=60s"]));
}
