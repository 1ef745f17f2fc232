//! Probes and lifecycle hooks on a real node: a failing liveness probe restarts the container,
//! a failing readiness probe keeps the pod unready, a startup probe holds the others back until
//! it passes; postStart runs before the container counts as started, preStop before it is
//! stopped on deletion.

use std::time::{Duration, Instant};

use e2e::{Cluster, fails, ok};
use serde_json::Value;

const V: &str = "1.33";

fn pod_json(c: &Cluster, name: &str) -> Value {
    serde_json::from_str(&ok(c.kubectl(V, &["get", "pod", name, "-o", "json"]))).expect("pod JSON")
}

fn condition(pod: &Value, kind: &str) -> String {
    let conditions = pod["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.iter().find(|c| c["type"] == kind).and_then(|c| c["status"].as_str()).unwrap_or_default().to_string()
}

fn wait(c: &Cluster, name: &str, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let pod = pod_json(c, name);
        if want(&pod) {
            return pod;
        }
        assert!(Instant::now() < deadline, "pod {name} never got there:\n{:#}", pod["status"]);
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_restart_hold_back_and_mark_readiness() {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    let host_dir = c.dir.path().join("hooks");
    std::fs::create_dir_all(&host_dir).expect("hooks dir");
    let manifest = r#"
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  containers:
  - name: main
    image: IMAGE
    args: ["liveness", "8080", "3"]
    ports: [{name: http, containerPort: 8080}]
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: unready}
spec:
  containers:
  - name: main
    image: IMAGE
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  containers:
  - name: main
    image: IMAGE
    args: ["netexec", "8080"]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: hooks}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: main
    image: IMAGE
    lifecycle:
      postStart:
        exec: {command: ["/bin/sh", "-c", "echo started > /hooks/post-start"]}
      preStop:
        exec: {command: ["/bin/sh", "-c", "echo stopping > /hooks/pre-stop"]}
    volumeMounts: [{name: hooks, mountPath: /hooks}]
  volumes:
  - name: hooks
    hostPath: {path: HOOKS}
"#
    .replace("IMAGE", &c.test_image())
    .replace("HOOKS", &host_dir.to_string_lossy());
    let path = c.dir.path().join("probes.yaml");
    std::fs::write(&path, manifest).expect("manifest");
    ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]));

    // Liveness: healthy for 3 s, then failing: restarted, with an Unhealthy event.
    let live = wait(&c, "live", Duration::from_secs(60), |p| {
        p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap_or(0) >= 1
    });
    assert!(live["status"]["containerStatuses"][0]["lastState"]["terminated"].is_object());
    let events = ok(c.kubectl(V, &["get", "events", "--field-selector", "involvedObject.name=live"]));
    assert!(events.contains("Unhealthy") && events.contains("Liveness probe failed"), "{events}");
    assert!(events.contains("failed liveness probe, will be restarted"), "{events}");

    // Readiness: a failing probe keeps the pod Running but not Ready; a passing one, Ready.
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/ready", "--timeout=60s"]));
    let unready = wait(&c, "unready", Duration::from_secs(60), |p| p["status"]["phase"] == "Running");
    std::thread::sleep(Duration::from_secs(3));
    let unready = pod_json(&c, "unready").as_object().cloned().map(Value::Object).unwrap_or(unready);
    assert_eq!(
        (condition(&unready, "Ready"), condition(&unready, "ContainersReady")),
        ("False".to_string(), "False".to_string())
    );
    assert_eq!(unready["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(unready["status"]["containerStatuses"][0]["restartCount"], 0, "readiness never restarts");
    fails(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/unready", "--timeout=2s"]));
    ok(c.kubectl(V, &["exec", "unready", "--", "touch", "/tmp/ready"]));
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/unready", "--timeout=30s"]));

    // Startup: not started (nor ready) until its probe passes after ~3 s.
    let slow = r#"
apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  containers:
  - name: main
    image: IMAGE
    command: ["/bin/sh", "-c", "sleep 3; touch /tmp/started; exec /rktest pause"]
    startupProbe:
      exec: {command: ["test", "-f", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 30
"#
    .replace("IMAGE", &c.test_image());
    let path = c.dir.path().join("slow.yaml");
    std::fs::write(&path, slow).expect("manifest");
    ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]));
    let early = wait(&c, "slow", Duration::from_secs(60), |p| p["status"]["phase"] == "Running");
    assert_eq!(early["status"]["containerStatuses"][0]["started"], false);
    assert_eq!(condition(&early, "Ready"), "False");
    let late = wait(&c, "slow", Duration::from_secs(30), |p| p["status"]["containerStatuses"][0]["started"] == true);
    assert_eq!(condition(&late, "Ready"), "True");

    // Hooks: postStart ran; preStop runs on deletion, before the container is stopped.
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/hooks", "--timeout=60s"]));
    assert_eq!(std::fs::read_to_string(host_dir.join("post-start")).expect("postStart wrote"), "started\n");
    ok(c.kubectl(V, &["delete", "pod", "hooks", "--timeout=30s"]));
    assert_eq!(std::fs::read_to_string(host_dir.join("pre-stop")).expect("preStop wrote"), "stopping\n");
}
