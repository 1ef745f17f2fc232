//! The scheduler inside `rkube server` (and alone as `rkube scheduler`), seen through stock
//! kubectl: nodes are plain Node objects with capacity and a Ready condition (no kubelet), pods
//! are placed, spread, kept off cordoned or tainted nodes, reported unschedulable with upstream's
//! condition and events, preempted by higher priorities; of two schedulers only the Lease
//! holder binds.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster, ok};

const V: &str = "1.33";

fn write(c: &Cluster, name: &str, text: &str) -> String {
    let path = c.dir.path().join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.to_string_lossy().to_string()
}

/// A Node as a kubelet would register it: labels, then capacity and Ready in its status.
fn add_node(c: &Cluster, name: &str, cpu: &str, labels: &[(&str, &str)]) {
    let mut all = vec![format!("\"kubernetes.io/hostname\": \"{name}\"")];
    all.extend(labels.iter().map(|(k, v)| format!("\"{k}\": \"{v}\"")));
    let node = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Node\", \"metadata\": {{\"name\": \"{name}\", \"labels\": {{{}}}}}}}",
        all.join(", ")
    );
    ok(c.kubectl(V, &["apply", "-f", &write(c, &format!("node-{name}.json"), &node)]));
    let status = format!(
        r#"{{"status": {{"capacity": {{"cpu": "{cpu}", "memory": "8Gi", "pods": "110"}}, "allocatable": {{"cpu": "{cpu}", "memory": "8Gi", "pods": "110"}}, "conditions": [{{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}}]}}}}"#
    );
    ok(c.kubectl(V, &["patch", "node", name, "--subresource=status", "--type=merge", "-p", &status]));
}

/// A pod requesting `cpu`, with extra spec fields (JSON, without braces).
fn add_pod(c: &Cluster, name: &str, cpu: &str, extra_spec: &str) {
    let sep = if extra_spec.is_empty() { "" } else { ", " };
    let pod = format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}", "labels": {{"app": "{name}"}}}}, "spec": {{"containers": [{{"name": "c", "image": "registry.example/app:1.0", "resources": {{"requests": {{"cpu": "{cpu}"}}}}}}]{sep}{extra_spec}}}}}"#
    );
    ok(c.kubectl(V, &["apply", "-f", &write(c, &format!("pod-{name}.json"), &pod)]));
}

fn node_of(c: &Cluster, pod: &str) -> String {
    let out = c.kubectl(V, &["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"]);
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Waits until the pod is bound; returns its node.
fn scheduled(c: &Cluster, pod: &str) -> String {
    c.eventually(V, &["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"], |t| !t.is_empty())
}

/// Waits until the pod says PodScheduled=False/Unschedulable; returns the message.
fn unschedulable(c: &Cluster, pod: &str, want: &str) -> String {
    let path = r#"jsonpath={.status.conditions[?(@.type=="PodScheduled")].status}/{.status.conditions[?(@.type=="PodScheduled")].reason}/{.status.conditions[?(@.type=="PodScheduled")].message}"#;
    let text = c.eventually(V, &["get", "pod", pod, "-o", path], |t| t.contains(want));
    assert!(text.starts_with("False/Unschedulable/"), "{text}");
    assert!(node_of(c, pod).is_empty(), "{pod} must stay unbound");
    text.trim_start_matches("False/Unschedulable/").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_are_placed_by_resources_selectors_cordons_and_taints() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    add_node(c, "n1", "2", &[("disk", "ssd")]);
    add_node(c, "n2", "2", &[]);
    add_node(c, "n3", "2", &[]);

    // Equal pods spread evenly: each placement makes its node less attractive.
    for i in 0..6 {
        add_pod(c, &format!("spread-{i}"), "100m", "");
    }
    let mut per_node = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..6 {
        *per_node.entry(scheduled(c, &format!("spread-{i}"))).or_default() += 1;
    }
    assert_eq!(per_node.into_iter().collect::<Vec<_>>(), [("n1".into(), 2), ("n2".into(), 2), ("n3".into(), 2)]);
    let wide = ok(c.kubectl(V, &["get", "pod", "spread-0", "-o", "wide"]));
    assert!(wide.contains(" n1 ") || wide.contains(" n2 ") || wide.contains(" n3 "), "{wide}");
    let events = c.eventually(V, &["events", "--for", "pod/spread-0"], |t| t.contains("Scheduled"));
    assert!(events.contains("Successfully assigned default/spread-0 to n"), "{events}");

    // Too big for any node: the condition and the event say why, as upstream does.
    add_pod(c, "big", "100", "");
    let msg = unschedulable(c, "big", "Insufficient cpu");
    assert_eq!(
        msg,
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    let events = c.eventually(V, &["get", "events", "--field-selector", "involvedObject.name=big"], |t| {
        t.contains("FailedScheduling")
    });
    assert!(events.contains("Warning") && events.contains("0/3 nodes are available: 3 Insufficient cpu"), "{events}");

    // nodeSelector.
    add_pod(c, "on-ssd", "100m", r#""nodeSelector": {"disk": "ssd"}"#);
    assert_eq!(scheduled(c, "on-ssd"), "n1");
    add_pod(c, "nowhere", "100m", r#""nodeSelector": {"disk": "tape"}"#);
    let msg = unschedulable(c, "nowhere", "affinity");
    assert_eq!(
        msg,
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );

    // Cordoned nodes take nothing; a pod waiting for any node goes as soon as one is uncordoned.
    ok(c.kubectl(V, &["cordon", "n1", "n2"]));
    add_pod(c, "avoids-cordoned", "100m", "");
    assert_eq!(scheduled(c, "avoids-cordoned"), "n3");
    ok(c.kubectl(V, &["cordon", "n3"]));
    add_pod(c, "waiter", "100m", "");
    let msg = unschedulable(c, "waiter", "unschedulable");
    assert!(msg.starts_with("0/3 nodes are available: 3 node(s) were unschedulable."), "{msg}");
    ok(c.kubectl(V, &["uncordon", "n2"]));
    assert_eq!(scheduled(c, "waiter"), "n2");
    ok(c.kubectl(V, &["uncordon", "n1", "n3"]));

    // Taints keep off pods without a matching toleration.
    ok(c.kubectl(V, &["taint", "node", "n1", "dedicated=gpu:NoSchedule"]));
    add_pod(c, "intolerant", "100m", r#""nodeSelector": {"disk": "ssd"}"#);
    let msg = unschedulable(c, "intolerant", "taint");
    assert!(msg.contains("1 node(s) had untolerated taint {dedicated: gpu}"), "{msg}");
    assert!(msg.contains("2 node(s) didn't match Pod's node affinity/selector"), "{msg}");
    add_pod(
        c,
        "tolerant",
        "100m",
        r#""nodeSelector": {"disk": "ssd"}, "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]"#,
    );
    assert_eq!(scheduled(c, "tolerant"), "n1");
    // Removing the taint lets the waiting pod in.
    ok(c.kubectl(V, &["taint", "node", "n1", "dedicated=gpu:NoSchedule-"]));
    assert_eq!(scheduled(c, "intolerant"), "n1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_of_other_schedulers_are_left_alone() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    add_node(c, "n1", "2", &[]);
    add_pod(c, "custom", "100m", r#""schedulerName": "my-scheduler""#);
    add_pod(c, "ours", "100m", "");
    assert_eq!(scheduled(c, "ours"), "n1");
    // The default scheduler has placed a pod created after it and taken a decision since;
    // the other one's pod is untouched: not bound, no condition, no event.
    add_pod(c, "ours-too", "100m", "");
    assert_eq!(scheduled(c, "ours-too"), "n1");
    assert_eq!(node_of(c, "custom"), "");
    let conditions = ok(c.kubectl(V, &["get", "pod", "custom", "-o", "jsonpath={.status.conditions}"]));
    assert!(!conditions.contains("PodScheduled"), "{conditions}");
    let events = ok(c.kubectl(V, &["get", "events", "--field-selector", "involvedObject.name=custom", "-o", "name"]));
    assert_eq!(events.trim(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_higher_priority_pod_preempts_a_lower_one() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    add_node(c, "n1", "1", &[]);
    // Priorities come from PriorityClasses (the Priority admission plugin resolves them).
    let classes = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: low}\nvalue: 10\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: polite}\nvalue: 1000\npreemptionPolicy: Never\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "classes.yaml", classes)]));
    add_pod(c, "low", "800m", r#""priorityClassName": "low""#);
    assert_eq!(scheduled(c, "low"), "n1");

    // Never-preempting pods wait.
    add_pod(c, "polite", "800m", r#""priorityClassName": "polite""#);
    let msg = unschedulable(c, "polite", "preemption");
    assert_eq!(
        msg,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    );
    ok(c.kubectl(V, &["delete", "pod", "polite"]));

    let class = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: urgent}\nvalue: 1000\n";
    ok(c.kubectl(V, &["apply", "-f", &write(c, "class.yaml", class)]));
    add_pod(c, "high", "800m", r#""priorityClassName": "urgent""#);
    // The victim is marked and deleted (it terminates gracefully: no kubelet here finishes it).
    let target = c.eventually(
        V,
        &["get", "pod", "low", "-o", r#"jsonpath={.status.conditions[?(@.type=="DisruptionTarget")].reason}"#],
        |t| t == "PreemptionByScheduler",
    );
    assert_eq!(target, "PreemptionByScheduler");
    c.eventually(V, &["get", "pod", "low", "-o", "jsonpath={.metadata.deletionTimestamp}"], |t| !t.is_empty());
    assert_eq!(
        c.eventually(V, &["get", "pod", "high", "-o", "jsonpath={.status.nominatedNodeName}"], |t| !t.is_empty()),
        "n1"
    );
    let events = c.eventually(V, &["events", "--for", "pod/low"], |t| t.contains("Preempted"));
    assert!(events.contains("Preempted by pod"), "{events}");
    assert!(node_of(c, "high").is_empty(), "the victim still holds the node while it terminates");
    // What a kubelet would do once the container stopped: the pod goes, the preemptor follows.
    ok(c.kubectl(V, &["delete", "pod", "low", "--grace-period=0", "--force"]));
    assert_eq!(scheduled(c, "high"), "n1");
}

/// A `rkube scheduler` process, killed when dropped.
struct Scheduler {
    child: Child,
    port: u16,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the scheduler");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("request");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("response");
    body
}

fn holder(c: &Cluster) -> String {
    let out =
        c.kubectl(V, &["get", "lease", "kube-scheduler", "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}"]);
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Who reported the Scheduled event of `pod`.
fn scheduled_by(c: &Cluster, pod: &str) -> String {
    c.eventually(
        V,
        &[
            "get",
            "events.events.k8s.io",
            "--field-selector",
            &format!("regarding.name={pod},reason=Scheduled"),
            "-o",
            "jsonpath={.items[*].reportingInstance}",
        ],
        |t| !t.is_empty(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_binds_and_another_takes_over() {
    let cluster = Cluster::start_apiserver(Backend::Embedded).await.expect("apiserver starts");
    let c = &cluster;
    add_node(c, "n1", "4", &[]);
    let start = |name: &str| {
        let port = free_port();
        let log = std::fs::File::create(c.dir.path().join(name)).expect("log file");
        let child = Command::new(e2e::rkube_bin())
            .args(["scheduler", "--kubeconfig", &c.kubeconfig.to_string_lossy()])
            .args(["--bind-address", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("rkube scheduler starts");
        Scheduler { child, port }
    };
    let mut schedulers = vec![start("sched-a.log"), start("sched-b.log")];
    for i in 0..5 {
        add_pod(c, &format!("first-{i}"), "10m", "");
    }
    for i in 0..5 {
        assert_eq!(scheduled(c, &format!("first-{i}")), "n1");
    }
    let leader = holder(c);
    assert!(!leader.is_empty());
    for i in 0..5 {
        assert_eq!(scheduled_by(c, &format!("first-{i}")), leader, "only the holder binds");
    }
    let pid = |identity: &str| -> Option<u32> {
        let tail = identity.rsplit('_').next()?;
        u32::from_str_radix(tail.get(..tail.len().checked_sub(8)?)?, 16).ok()
    };
    let index = schedulers.iter().position(|s| Some(s.child.id()) == pid(&leader)).expect("the holder is one of ours");
    // The leader's metrics count what it did; the other's count nothing.
    let metrics = http_get(schedulers[index].port, "/metrics");
    assert!(
        metrics.contains("scheduler_schedule_attempts_total{result=\"scheduled\",profile=\"default-scheduler\"} 5"),
        "{metrics}"
    );
    let standby = &schedulers[1 - index];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !http_get(standby.port, "/healthz").ends_with("ok") {
        assert!(Instant::now() < deadline, "the standby never served /healthz");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!http_get(standby.port, "/metrics").contains("scheduler_schedule_attempts_total{"));

    // kill -9 the leader: the other takes the Lease once it expires and schedules.
    drop(schedulers.remove(index));
    add_pod(c, "second", "10m", "");
    let deadline = Instant::now() + Duration::from_secs(30);
    while node_of(c, "second").is_empty() {
        assert!(Instant::now() < deadline, "nobody took over from {leader}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let next = holder(c);
    assert_ne!(next, leader);
    assert_eq!(pid(&next), Some(schedulers[0].child.id()));
    assert_eq!(scheduled_by(c, "second"), next);
}
