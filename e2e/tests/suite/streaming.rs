//! exec, attach and port-forward into real pods, through the apiserver and the kubelet to
//! containerd's streaming server: stock kubectl (SPDY for 1.27–1.29, WebSocket first for 1.30+)
//! and kube-rs (WebSocket), with exit codes, stdin and its end, and forwarded TCP.

use std::io::{BufRead, Read, Write};
use std::process::Stdio;
use std::time::Duration;

use e2e::{Cluster, fails, ok};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: box
spec:
  containers:
  - name: main
    image: IMAGE
    args: ["netexec", "8080"]
  - name: side
    image: IMAGE
  - name: talk
    image: IMAGE
    command: ["/bin/sh", "-c", "while true; do echo tick; sleep 0.2; done"]
"#;

async fn cluster_with_pod() -> Cluster {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    let path = c.dir.path().join("box.yaml");
    std::fs::write(&path, POD.replace("IMAGE", &c.test_image())).expect("manifest");
    ok(c.kubectl("1.33", &["apply", "-f", &path.to_string_lossy()]));
    ok(c.kubectl("1.33", &["wait", "--for=condition=Ready", "pod/box", "--timeout=60s"]));
    c
}

fn exec_with_stdin(c: &Cluster, version: &str, args: &[&str], input: &[u8]) -> (String, Option<i32>) {
    let mut child = c
        .kubectl_cmd(version)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    let out = child.wait_with_output().expect("kubectl ends");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_runs_commands_with_exit_codes_and_stdin() {
    let c = cluster_with_pod().await;
    for version in ["1.29", "1.33"] {
        assert_eq!(
            ok(c.kubectl(version, &["exec", "box", "-c", "main", "--", "echo", "hello", "world"])),
            "hello world\n",
            "kubectl {version}"
        );
        let out = c.kubectl(version, &["exec", "box", "-c", "main", "--", "sh", "-c", "echo partial; exit 3"]);
        assert_eq!(out.status.code(), Some(3), "kubectl {version} exits with the command's code");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "partial\n");
        // stdin reaches the command and its end ends it.
        let (echoed, code) =
            exec_with_stdin(&c, version, &["exec", "-i", "box", "-c", "main", "--", "cat"], b"line one\nline two\n");
        assert_eq!((echoed.as_str(), code), ("line one\nline two\n", Some(0)), "kubectl {version}");
        // The other container, its own file system.
        assert_eq!(ok(c.kubectl(version, &["exec", "box", "-c", "side", "--", "hostname"])), "box\n");
    }
    // kubectl 1.33 speaks WebSocket v5 to the apiserver, which carries it on over SPDY: no
    // fallback to SPDY happens (kubectl logs one at -v=4).
    let out = c.kubectl("1.33", &["-v=4", "exec", "box", "-c", "main", "--", "echo", "direct"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "direct\n");
    let log = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!log.contains("fallback"), "kubectl fell back to SPDY:\n{log}");
    let missing = fails(c.kubectl("1.33", &["exec", "box", "-c", "nope", "--", "true"]));
    assert!(missing.contains("container nope is not valid for pod box"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_exec_and_attach_stream_output_and_status() {
    let c = cluster_with_pod().await;
    let pods: Api<Pod> = Api::default_namespaced(c.client().await.expect("client"));
    let params = AttachParams::default().container("main").stderr(true);
    let mut process = tokio::time::timeout(
        Duration::from_secs(10),
        pods.exec("box", ["sh", "-c", "echo out; echo err >&2; exit 2"], &params),
    )
    .await
    .expect("exec in time")
    .expect("exec");
    let mut stdout = String::new();
    tokio::time::timeout(Duration::from_secs(10), process.stdout().expect("stdout").read_to_string(&mut stdout))
        .await
        .expect("stdout in time")
        .expect("read stdout");
    let mut stderr = String::new();
    tokio::time::timeout(Duration::from_secs(10), process.stderr().expect("stderr").read_to_string(&mut stderr))
        .await
        .expect("stderr in time")
        .expect("read stderr");
    let status = tokio::time::timeout(Duration::from_secs(10), process.take_status().expect("status"))
        .await
        .expect("status in time")
        .expect("a status");
    assert_eq!((stdout.as_str(), stderr.as_str()), ("out\n", "err\n"));
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let causes = status.details.and_then(|d| d.causes).unwrap_or_default();
    assert_eq!(causes.first().and_then(|c| c.message.as_deref()), Some("2"));

    // stdin: written, then closed; cat ends.
    let params = AttachParams::default().container("main").stdin(true).stderr(false);
    let mut process = pods.exec("box", ["cat"], &params).await.expect("exec cat");
    let mut stdin = process.stdin().expect("stdin");
    stdin.write_all(b"ping\n").await.expect("write");
    // The end of stdin (kube-rs sends v5's close signal).
    stdin.shutdown().await.expect("close stdin");
    let mut echoed = String::new();
    tokio::time::timeout(Duration::from_secs(10), process.stdout().expect("stdout").read_to_string(&mut echoed))
        .await
        .expect("echo in time")
        .expect("read");
    assert_eq!(echoed, "ping\n");
    let status = process.take_status().expect("status").await.expect("a status");
    assert_eq!(status.status.as_deref(), Some("Success"));

    // attach: the running container's output as it comes.
    let params = AttachParams::default().container("talk").stderr(false);
    let mut attached = pods.attach("box", &params).await.expect("attach");
    let mut ticks = [0u8; 10];
    let mut output = attached.stdout().expect("stdout");
    tokio::time::timeout(Duration::from_secs(10), output.read_exact(&mut ticks))
        .await
        .expect("output in time")
        .expect("read");
    assert_eq!(&ticks, b"tick\ntick\n");
    attached.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_reaches_the_pod_from_kubectl_and_kube_rs() {
    let c = cluster_with_pod().await;
    for version in ["1.29", "1.33"] {
        let mut child = c
            .kubectl_cmd(version)
            .args(["-v=4", "port-forward", "pod/box", ":8080"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl port-forward");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a line").expect("text");
        // "Forwarding from 127.0.0.1:PORT -> 8080"
        let port: u16 = first
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("kubectl {version}: {first}"));
        for _ in 0..2 {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the forwarded port");
            stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
            stream.write_all(b"GET /hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("request");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("response");
            assert!(response.ends_with("\r\n\r\nbox"), "kubectl {version}: {response}");
        }
        let _ = child.kill();
        let mut log = String::new();
        let _ = child.stderr.take().expect("stderr").read_to_string(&mut log);
        let _ = child.wait();
        // kubectl 1.31+ tunnels SPDY in WebSocket; no fallback to plain SPDY.
        assert!(!log.to_lowercase().contains("fallback"), "kubectl {version} fell back:\n{log}");
    }

    let pods: Api<Pod> = Api::default_namespaced(c.client().await.expect("client"));
    let mut forwarder = pods.portforward("box", &[8080]).await.expect("port-forward");
    let mut stream = forwarder.take_stream(8080).expect("stream");
    stream.write_all(b"GET /echo?msg=through HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("response");
    assert!(response.ends_with("\r\n\r\nthrough"), "{response}");
}
