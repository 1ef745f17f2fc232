//! Real pods on a real node (`rkube up --nodes 1`: the kubelet on its own containerd), driven
//! with stock kubectl: the test image is pulled from a loopback registry, containers run with
//! their command, environment and limits, report exit codes and termination messages, restart
//! as their policy says, are reachable on their pod IP from the host, and go on deletion.

use std::time::{Duration, Instant};

use e2e::{Cluster, ok};
use serde_json::Value;

const V: &str = "1.33";

fn apply(c: &Cluster, manifest: &str) {
    let path = c.dir.path().join(format!("manifest-{}.yaml", manifest.len()));
    std::fs::write(&path, manifest.replace("IMAGE", &c.test_image())).expect("write manifest");
    ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]));
}

fn pod_json(c: &Cluster, name: &str) -> Value {
    serde_json::from_str(&ok(c.kubectl(V, &["get", "pod", name, "-o", "json"]))).expect("pod JSON")
}

/// Polls the pod until `want` holds; fails with the pod and the server log after `within`.
fn wait_pod(c: &Cluster, name: &str, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let pod = pod_json(c, name);
        if want(&pod) {
            return pod;
        }
        assert!(Instant::now() < deadline, "pod {name} never got there:\n{pod:#}\n--- log ---\n{}", tail(&c.log()));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or_default()
}

fn terminated(pod: &Value) -> &Value {
    &pod["status"]["containerStatuses"][0]["state"]["terminated"]
}

/// GET http://<ip>:<port><path> from the host.
async fn http_get(ip: &str, port: u16, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect((ip, port))).await??;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(3), stream.read_to_string(&mut response)).await??;
    Ok(response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_run_pulls_the_image_and_the_pod_answers_on_its_ip() {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    // The harness's network guard is in place before any pod runs.
    let guard = std::process::Command::new("nft").args(["list", "table", "inet", e2e::guard::TABLE]).output();
    let guard = String::from_utf8_lossy(&guard.expect("nft").stdout).to_string();
    let drops = guard
        .lines()
        .filter(|l| l.contains("ip daddr { 10.96.0.0/12, 10.200.0.0/14, 10.244.0.0/16, 100.64.0.0/10 }"))
        .filter(|l| l.trim_start().starts_with("oifname") && l.trim_end().ends_with("drop"))
        .count();
    assert!(drops >= 2, "one drop rule per default interface in each hook: {guard}");
    assert!(guard.contains("hook output") && guard.contains("hook forward") && guard.contains("drop"), "{guard}");
    let image = format!("--image={}", c.test_image());
    ok(c.kubectl(V, &["run", "web", &image, "--port=8080", "--", "netexec"]));
    let pod = wait_pod(&c, "web", Duration::from_secs(60), |p| phase(p) == "Running");
    let status = &pod["status"];
    let ip = status["podIP"].as_str().expect("pod IP").to_string();
    assert!(ip.starts_with("10.2"), "pod IP from the cluster's pod range: {ip}");
    assert_eq!(status["containerStatuses"][0]["ready"], true);
    assert!(status["containerStatuses"][0]["containerID"].as_str().unwrap_or_default().starts_with("containerd://"));
    assert!(status["containerStatuses"][0]["imageID"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(status["qosClass"], "BestEffort");
    let ready = ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/web", "--timeout=30s"]));
    assert!(ready.contains("condition met"));

    // The pod's own network, reachable from the host; its hostname is the pod's name.
    let mut answer = String::new();
    for _ in 0..50 {
        if let Ok(body) = http_get(&ip, 8080, "/hostname").await {
            answer = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, "web");
    assert_eq!(http_get(&ip, 8080, "/echo?msg=hello").await.expect("echo"), "hello");

    let events = ok(c.kubectl(V, &["get", "events", "--field-selector", "involvedObject.name=web"]));
    for reason in ["Scheduled", "Pulled", "Created", "Started"] {
        assert!(events.contains(reason), "event {reason} missing:\n{events}");
    }
    let wide = ok(c.kubectl(V, &["get", "pod", "web", "-o", "wide"]));
    assert!(wide.contains("Running") && wide.contains(&ip), "{wide}");

    // The kubelet's own endpoints through the apiserver's nodes/proxy.
    let node = pod["spec"]["nodeName"].as_str().expect("node name").to_string();
    let base = format!("/api/v1/nodes/{node}/proxy");
    assert_eq!(ok(c.kubectl(V, &["get", "--raw", &format!("{base}/healthz")])).trim(), "ok");
    let sample = |metrics: &str, name: &str| {
        metrics.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    // The running-pod gauge follows the runtime's relist (every second).
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let metrics = ok(c.kubectl(V, &["get", "--raw", &format!("{base}/metrics")]));
        if sample(&metrics, "kubelet_running_pods ").is_some_and(|n| n >= 1.0) {
            break metrics;
        }
        assert!(Instant::now() < deadline, "kubelet_running_pods never counted the pod:\n{metrics}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let sample = |name: &str| sample(&metrics, name);
    assert!(sample("kubelet_runtime_operations_total{operation_type=\"run_podsandbox\"}").is_some(), "{metrics}");
    assert!(sample("kubelet_pod_start_duration_seconds_count").is_some_and(|n| n >= 1.0), "{metrics}");
    let listed: Value =
        serde_json::from_str(&ok(c.kubectl(V, &["get", "--raw", &format!("{base}/pods")]))).expect("PodList");
    assert!(listed["items"].as_array().expect("items").iter().any(|p| p["metadata"]["name"] == "web"), "{listed:#}");
    let missing = fails_kubectl(&c, &["get", "--raw", "/api/v1/nodes/no-such-node/proxy/metrics"]);
    assert!(missing.contains("not found"), "{missing}");

    // Graceful deletion: SIGTERM ends rktest at once, the pod goes, its address stops answering.
    let started = Instant::now();
    ok(c.kubectl(V, &["delete", "pod", "web", "--timeout=30s"]));
    assert!(started.elapsed() < Duration::from_secs(15), "deletion took {:?}", started.elapsed());
    assert!(http_get(&ip, 8080, "/hostname").await.is_err(), "the deleted pod still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_messages_environment_and_limits_reach_the_status() {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    ok(c.kubectl(V, &["create", "configmap", "settings", "--from-literal=color=blue"]));
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: fails
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: IMAGE
    args: ["exit", "3", "goodbye"]
---
apiVersion: v1
kind: Pod
metadata:
  name: env
  labels: {tier: backend}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: IMAGE
    command: ["/bin/sh", "-c"]
    args: ["echo \"$POD_NAME $POD_NS $TIER $COLOR $NODE $GREETING $MEM_MI\" > /dev/termination-log"]
    resources:
      limits: {memory: 64Mi}
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
    - {name: GREETING, value: "hello-$(COLOR)"}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: cgroup
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: IMAGE
    command: ["/bin/sh", "-c", "(cat /sys/fs/cgroup/memory/memory.limit_in_bytes || cat /sys/fs/cgroup/memory.max) 2>/dev/null > /dev/termination-log"]
    resources:
      requests: {memory: 32Mi, cpu: 100m}
      limits: {memory: 48Mi, cpu: 200m}
---
apiVersion: v1
kind: Pod
metadata:
  name: fallback
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: IMAGE
    command: ["/bin/sh", "-c", "echo last words; exit 7"]
    terminationMessagePolicy: FallbackToLogsOnError
---
apiVersion: v1
kind: Pod
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 3
  containers:
  - name: main
    image: IMAGE
    args: ["pause"]
"#,
    );
    let fails = wait_pod(&c, "fails", Duration::from_secs(60), |p| phase(p) == "Failed");
    let t = terminated(&fails);
    assert_eq!(
        (t["exitCode"].as_i64(), t["reason"].as_str(), t["message"].as_str()),
        (Some(3), Some("Error"), Some("goodbye"))
    );
    assert!(t["finishedAt"].is_string() && t["startedAt"].is_string());
    let printed = ok(c.kubectl(V, &["get", "pod", "fails"]));
    assert!(printed.contains("Error"), "{printed}");

    let node = ok(c.kubectl(V, &["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]));
    let env = wait_pod(&c, "env", Duration::from_secs(60), |p| phase(p) == "Succeeded");
    let t = terminated(&env);
    assert_eq!(t["reason"], "Completed");
    assert_eq!(
        t["message"].as_str().map(str::trim),
        Some(format!("env default backend blue {node} hello-blue 64").as_str())
    );

    let cgroup = wait_pod(&c, "cgroup", Duration::from_secs(60), |p| phase(p) == "Succeeded");
    assert_eq!(terminated(&cgroup)["message"].as_str().map(str::trim), Some((48u64 << 20).to_string().as_str()));
    assert_eq!(cgroup["status"]["qosClass"], "Burstable");

    let fallback = wait_pod(&c, "fallback", Duration::from_secs(60), |p| phase(p) == "Failed");
    assert_eq!(terminated(&fallback)["exitCode"], 7);
    assert_eq!(terminated(&fallback)["message"].as_str().map(str::trim), Some("last words"));

    // Past activeDeadlineSeconds the kubelet kills the pod and fails it.
    let deadline = wait_pod(&c, "deadline", Duration::from_secs(60), |p| phase(p) == "Failed");
    assert_eq!(deadline["status"]["reason"], "DeadlineExceeded");
    assert!(terminated(&deadline).is_object(), "its container was stopped: {:#}", deadline["status"]);
    let started = deadline["status"]["startTime"].as_str().and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok());
    let ended =
        terminated(&deadline)["finishedAt"].as_str().and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok());
    let ran = ended.zip(started).map(|(e, s)| e.duration_since(s).as_secs_f64());
    assert!(ran.is_some_and(|r| (2.0..20.0).contains(&r)), "ran {ran:?}s against a 3 s deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_containers_restart_with_back_off_and_bad_images_wait() {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: crash
spec:
  containers:
  - name: main
    image: IMAGE
    args: ["exit", "1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: missing
spec:
  containers:
  - name: main
    image: 127.0.0.1:1/no/such:image
---
apiVersion: v1
kind: Pod
metadata:
  name: never
spec:
  containers:
  - name: main
    image: IMAGE-not-pulled
    imagePullPolicy: Never
---
apiVersion: v1
kind: Pod
metadata:
  name: init
spec:
  initContainers:
  - name: first
    image: IMAGE
    args: ["sleep", "1"]
  containers:
  - name: main
    image: IMAGE
"#,
    );
    // Restarted at once, then held back: CrashLoopBackOff with the last exit in lastState.
    let crash = wait_pod(&c, "crash", Duration::from_secs(60), |p| {
        let s = &p["status"]["containerStatuses"][0];
        s["restartCount"].as_i64().unwrap_or(0) >= 1 && s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let s = &crash["status"]["containerStatuses"][0];
    assert_eq!(s["lastState"]["terminated"]["exitCode"], 1);
    assert!(
        s["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("back-off 10s restarting failed container=main pod=crash_default(")
    );
    assert_eq!(phase(&crash), "Running", "restartPolicy Always keeps the pod Running");
    let printed = ok(c.kubectl(V, &["get", "pod", "crash"]));
    assert!(printed.contains("CrashLoopBackOff"), "{printed}");

    wait_pod(&c, "missing", Duration::from_secs(60), |p| {
        let reason = p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].as_str().unwrap_or_default();
        reason == "ErrImagePull" || reason == "ImagePullBackOff"
    });
    let never = wait_pod(&c, "never", Duration::from_secs(30), |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImageNeverPull"
    });
    assert!(
        never["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("is not present with pull policy of Never")
    );
    assert_eq!(phase(&never), "Pending");

    // Init containers first: Initialized only once `first` completed, then `main` runs.
    let init = wait_pod(&c, "init", Duration::from_secs(60), |p| phase(p) == "Running");
    let first = &init["status"]["initContainerStatuses"][0];
    assert_eq!(first["state"]["terminated"]["reason"], "Completed");
    let first_done = first["state"]["terminated"]["finishedAt"].as_str().unwrap_or_default().to_string();
    let main_started = init["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(main_started >= first_done, "main started {main_started} before init finished {first_done}");
    let conditions = init["status"]["conditions"].as_array().cloned().unwrap_or_default();
    assert!(conditions.iter().any(|c| c["type"] == "Initialized" && c["status"] == "True"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_runs_three_real_replicas_and_survives_a_kubelet_crash() {
    let mut c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    let image = format!("--image={}", c.test_image());
    ok(c.kubectl(
        V,
        &["create", "deployment", "web", &image, "--replicas=3", "--", "/rktest", "serve-hostname", "8080"],
    ));
    ok(c.kubectl(V, &["rollout", "status", "deployment/web", "--timeout=90s"]));
    let pods: Value =
        serde_json::from_str(&ok(c.kubectl(V, &["get", "pods", "-l", "app=web", "-o", "json"]))).expect("JSON");
    let items = pods["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3);
    let mut ips = Vec::new();
    for pod in &items {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let ip = pod["status"]["podIP"].as_str().unwrap_or_default().to_string();
        assert_eq!(http_get(&ip, 8080, "/").await.expect("pod answers"), name);
        ips.push((name, ip, pod["status"]["containerStatuses"][0]["containerID"].clone()));
    }
    let mut distinct: Vec<&String> = ips.iter().map(|(_, ip, _)| ip).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{ips:?}");

    // kill -9 the whole process: containers keep running in their shims; the restarted
    // kubelet adopts them (same container, no restart) instead of starting duplicates.
    c.crash_and_restart().await.expect("restart");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let nodes = ok(c.kubectl(V, &["get", "nodes", "--no-headers"]));
        if nodes.split_whitespace().nth(1) == Some("Ready") {
            break;
        }
        assert!(Instant::now() < deadline, "node not Ready after the restart: {nodes}");
        std::thread::sleep(Duration::from_millis(200));
    }
    for (name, ip, id) in &ips {
        let pod = wait_pod(&c, name, Duration::from_secs(30), |p| p["status"]["containerStatuses"][0]["ready"] == true);
        let s = &pod["status"]["containerStatuses"][0];
        assert_eq!(&s["containerID"], id, "{name} was restarted instead of adopted");
        assert_eq!(s["restartCount"], 0);
        assert_eq!(http_get(ip, 8080, "/").await.expect("still answers"), *name);
    }
    // Deleting a pod replaces it; the new one runs too.
    ok(c.kubectl(V, &["delete", "pod", &ips[0].0]));
    ok(c.kubectl(V, &["rollout", "status", "deployment/web", "--timeout=60s"]));
    let running = c.eventually(V, &["get", "pods", "-l", "app=web", "--no-headers"], |out| {
        out.lines().filter(|l| l.contains("Running") && l.contains("1/1")).count() == 3 && !out.contains(&ips[0].0)
    });
    assert_eq!(running.lines().count(), 3, "{running}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_read_through_the_kubelet_as_kubectl_and_kube_rs_ask() {
    use futures::{AsyncBufReadExt, StreamExt};
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, LogParams};

    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  containers:
  - name: main
    image: IMAGE
    args: ["lines", "5"]
---
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  containers:
  - name: main
    image: IMAGE
    command: ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
  - name: side
    image: IMAGE
---
apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: main
    image: IMAGE
    args: ["exit", "1", "goodbye"]
---
apiVersion: v1
kind: Pod
metadata:
  name: nowhere
spec:
  nodeSelector: {disk: none}
  containers:
  - name: main
    image: IMAGE
"#,
    );
    wait_pod(&c, "talker", Duration::from_secs(60), |p| phase(p) == "Running");
    let all = c.eventually(V, &["logs", "talker"], |out| out.lines().count() == 5);
    assert_eq!(all, "line 1\nline 2\nline 3\nline 4\nline 5\n");
    assert_eq!(ok(c.kubectl(V, &["logs", "talker", "--tail=2"])), "line 4\nline 5\n");
    assert_eq!(ok(c.kubectl(V, &["logs", "talker", "--limit-bytes=8"])), "line 1\nl");
    let stamped = ok(c.kubectl(V, &["logs", "talker", "--timestamps", "--tail=1"]));
    let (stamp, line) = stamped.trim_end().split_once(' ').expect("a timestamp, then the line");
    assert_eq!(line, "line 5");
    assert!(
        stamp.parse::<k8s_openapi::jiff::Timestamp>().is_ok() && stamp.len() == 30,
        "RFC 3339 with nanoseconds: {stamp}"
    );
    assert_eq!(ok(c.kubectl(V, &["logs", "talker", "--since=1h"])).lines().count(), 5);
    // Older kubectl speaks the same.
    assert_eq!(ok(c.kubectl("1.29", &["logs", "talker", "--tail=1"])), "line 5\n");

    // Follow: lines arrive as they are written.
    wait_pod(&c, "ticker", Duration::from_secs(60), |p| phase(p) == "Running");
    let mut follow = c
        .kubectl_cmd(V)
        .args(["logs", "-f", "ticker", "-c", "main"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl logs -f");
    let stdout = follow.stdout.take().expect("stdout");
    let lines: Vec<String> =
        std::io::BufRead::lines(std::io::BufReader::new(stdout)).take(8).map(|l| l.expect("line")).collect();
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(lines.iter().all(|l| l.starts_with("tick ")), "{lines:?}");
    let numbers: Vec<u64> = lines.iter().filter_map(|l| l[5..].parse().ok()).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "consecutive ticks: {numbers:?}");

    // kube-rs: a followed stream, and the errors upstream gives.
    let pods: Api<Pod> = Api::default_namespaced(c.client().await.expect("client"));
    let params =
        LogParams { follow: true, container: Some("main".into()), tail_lines: Some(1), ..LogParams::default() };
    let mut stream = pods.log_stream("ticker", &params).await.expect("log stream").lines();
    let first =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("a line").expect("line").expect("ok");
    let second =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("a line").expect("line").expect("ok");
    let n = |l: &str| l.trim_start_matches("tick ").parse::<u64>().expect("tick number");
    assert_eq!(n(&second), n(&first) + 1);
    match pods.logs("ticker", &LogParams::default()).await {
        Err(kube::Error::Api(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
            assert_eq!(e.message, "a container name must be specified for pod ticker, choose one of: [main side]");
        }
        other => panic!("several containers need a name: {other:?}"),
    }
    let unscheduled = fails_kubectl(&c, &["logs", "nowhere"]);
    assert!(unscheduled.contains("pod nowhere does not have a host assigned"), "{unscheduled}");

    // --previous: the last terminated instance.
    wait_pod(&c, "crasher", Duration::from_secs(60), |p| {
        p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap_or(0) >= 1
    });
    assert_eq!(ok(c.kubectl(V, &["logs", "crasher", "--previous"])), "goodbye\n");
    let none = fails_kubectl(&c, &["logs", "talker", "--previous"]);
    assert!(none.contains("previous terminated container \"main\" in pod \"talker\" not found"), "{none}");
}

fn fails_kubectl(c: &Cluster, args: &[&str]) -> String {
    e2e::fails(c.kubectl(V, args))
}
