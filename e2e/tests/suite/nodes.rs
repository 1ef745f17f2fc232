//! What a real node reports and manages about itself: the images it holds (`status.images`)
//! and image garbage collection once its image file system is past the high threshold.

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
