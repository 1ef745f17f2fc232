//! `kubelet-bench`: how fast a real node starts pods, and what the kubelet weighs.
//!
//! 1. `up_to_ready`: rounds (default 3) of `rkube up --nodes 1` on a fresh data directory:
//!    seconds from starting the process to its `export KUBECONFIG=...` line (printed once the
//!    node is Ready: containerd started, the Node registered, its pod network configured).
//! 2. `pod_startup`: upstream's pod startup latency SLI — from a pod's creation to the watch
//!    seeing it Running — for `--pods` (default 100) pods on one warm node (the image already
//!    pulled), twice: `paced`, created at `--rate` (default 5) pods/s, as upstream's density
//!    tests create them with an interval; and `burst`, all created at once by 10 clients (the
//!    node's throughput then sets the tail). Target: p99 <= 1 s (upstream's SLO: 5 s).
//!    The control plane runs as `rkube server`, the kubelet as its own `rkube kubelet` process
//!    (with its containerd), so `kubelet_memory` is the kubelet's own resident memory with the
//!    paced pods running.
//!
//! ```text
//! cargo build --release -p rkube -p e2e
//! target/release/kubelet-bench [--pods 100] [--rate 5] [--rounds 3]
//! ```

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use e2e::bench::{Samples, arg, cpu_seconds, memory_mib};
use e2e::{Backend, Cluster, die_with_parent, free_ports, pod_range, rkube_bin, testimage};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher::{self, Event, watcher};
use serde_json::json;

struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        // SIGTERM: the node removes its pods and stops containerd.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Seconds from starting `rkube up --nodes 1` to its `export KUBECONFIG` line.
fn up_to_ready() -> Result<f64> {
    use std::io::BufRead;
    let dir = tempfile::tempdir()?;
    let (_lock, cidr) = pod_range()?;
    let port = free_ports(1)?.to_string();
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let started = Instant::now();
    let mut command = Command::new(rkube_bin());
    command
        .args([
            "up",
            "--data-dir",
            &data,
            "--secure-port",
            "0",
            "--nodes",
            "1",
            "--kubelet-port",
            &port,
            "--cluster-cidr",
            &cidr,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("up.log"))?);
    die_with_parent(&mut command);
    let mut child = Stopped(command.spawn().context("starting rkube up")?);
    let stdout = child.0.stdout.take().context("stdout")?;
    for line in std::io::BufReader::new(stdout).lines() {
        if line?.starts_with("export KUBECONFIG=") {
            return Ok(started.elapsed().as_secs_f64());
        }
    }
    bail!(
        "rkube up ended before a node was Ready: {}",
        std::fs::read_to_string(dir.path().join("up.log")).unwrap_or_default()
    )
}

fn pod(name: &str, image: &str) -> Result<Pod> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "startup"}},
        "spec": {"terminationGracePeriodSeconds": 5, "containers": [{"name": "main", "image": image, "imagePullPolicy": "IfNotPresent"}]}
    }))?)
}

/// The containerd the kubelet supervises (its child).
fn child_pids(pid: u32) -> Vec<u32> {
    let tasks =
        std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    tasks
        .iter()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    let pods = arg("--pods", 100) as usize;
    let rounds = arg("--rounds", 3);

    let mut ups = Vec::new();
    for round in 0..rounds {
        let seconds = up_to_ready()?;
        println!("{}", json!({"figure": "up_to_ready", "round": round + 1, "seconds": seconds}));
        ups.push(seconds);
    }
    if !ups.is_empty() {
        println!("{}", json!({"figure": "up_to_ready_median", "seconds": median(ups), "target_seconds": 5}));
    }

    let (_lock, cidr) = pod_range()?;
    let cluster = Cluster::start_with(Backend::Embedded, &["--cluster-cidr", &cidr]).await?;
    let registry = testimage::Registry::start(&cluster.dir.path().join("registry")).await?;
    let port = free_ports(1)?.to_string();
    let root = cluster.dir.path().join("kubelet");
    let mut command = Command::new(rkube_bin());
    command
        .args(["kubelet", "--kubeconfig", &cluster.kubeconfig.to_string_lossy(), "--node-name", "bench-node"])
        .args(["--root-dir", &root.to_string_lossy(), "--port", &port, "--insecure-registry", &registry.address])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(cluster.dir.path().join("kubelet.log"))?);
    die_with_parent(&mut command);
    let kubelet = Stopped(command.spawn().context("starting rkube kubelet")?);
    let client = cluster.client().await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !nodes
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .any(|n| kubelet::node::ready_status(n) == Some("True"))
    {
        if Instant::now() > deadline {
            bail!("the node was not Ready within 60s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let api: Api<Pod> = Api::default_namespaced(client.clone());
    let image = registry.test_image();
    // Warm: the image pulled, the pod network made.
    api.create(&PostParams::default(), &pod("warm", &image)?).await?;
    while api.get("warm").await?.status.and_then(|s| s.phase).as_deref() != Some("Running") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.delete("warm", &DeleteParams::default()).await?;

    // The watch records when each pod is first seen Running.
    let running: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen = running.clone();
    let config = watcher::Config::default().labels("bench=startup");
    let watch_client = client.clone();
    let watch = tokio::spawn(async move {
        let mut events = watcher(Api::<Pod>::default_namespaced(watch_client), config).boxed();
        while let Some(event) = events.next().await {
            if let Ok(Event::Apply(p) | Event::InitApply(p)) = event
                && p.status.and_then(|s| s.phase).as_deref() == Some("Running")
            {
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(p.metadata.name.unwrap_or_default())
                    .or_insert_with(Instant::now);
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rate = arg("--rate", 5).max(1);
    for (mode, interval) in [("paced", Duration::from_secs_f64(1.0 / rate as f64)), ("burst", Duration::ZERO)] {
        let created = create_pods(&api, &image, mode, pods, interval).await?;
        let started = created.values().min().copied().unwrap_or_else(Instant::now);
        let deadline = Instant::now() + Duration::from_secs(180);
        let count =
            || created.keys().filter(|n| running.lock().unwrap_or_else(|e| e.into_inner()).contains_key(*n)).count();
        while count() < pods {
            if Instant::now() > deadline {
                bail!("{mode}: only {}/{pods} pods Running after 180s", count());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut samples = Samples::default();
        {
            let running = running.lock().unwrap_or_else(|e| e.into_inner());
            for (name, at) in &created {
                if let Some(seen) = running.get(name) {
                    samples.0.push(seen.saturating_duration_since(*at).as_micros() as u64);
                }
            }
        }
        let last =
            created.keys().filter_map(|n| running.lock().unwrap_or_else(|e| e.into_inner()).get(n).copied()).max();
        let rate_figure = if mode == "paced" { json!(rate) } else { json!("all at once") };
        println!(
            "{}",
            json!({"figure": "pod_startup", "mode": mode, "pods": pods, "creation_rate_per_second": rate_figure,
                "p50_ms": samples.quantile(0.5), "p90_ms": samples.quantile(0.9), "p99_ms": samples.quantile(0.99), "max_ms": samples.quantile(1.0),
                "first_created_to_last_running_seconds": last.map(|l| l.duration_since(started).as_secs_f64()), "target_p99_ms": 1000})
        );
        if mode == "paced" {
            report_memory(&kubelet, pods);
            let started = Instant::now();
            api.delete_collection(&DeleteParams::default(), &ListParams::default().labels("bench=startup")).await?;
            while !api.list(&ListParams::default().labels("bench=startup")).await?.items.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            println!("{}", json!({"figure": "pods_deleted", "pods": pods, "seconds": started.elapsed().as_secs_f64()}));
        }
    }
    watch.abort();
    drop(kubelet);
    Ok(())
}

/// Creates `count` pods named `<prefix>-<i>`, one every `interval` (all at once from 10 clients
/// when zero); returns when each create was acknowledged.
async fn create_pods(
    api: &Api<Pod>,
    image: &str,
    prefix: &str,
    count: usize,
    interval: Duration,
) -> Result<HashMap<String, Instant>> {
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    if interval.is_zero() {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let clients: Vec<_> = (0..10)
            .map(|_| {
                let (api, next, created, image, prefix) =
                    (api.clone(), next.clone(), created.clone(), image.to_string(), prefix.to_string());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= count {
                            return Ok::<_, anyhow::Error>(());
                        }
                        let name = format!("{prefix}-{i}");
                        api.create(&PostParams::default(), &pod(&name, &image)?).await?;
                        created.lock().unwrap_or_else(|e| e.into_inner()).insert(name, Instant::now());
                    }
                })
            })
            .collect();
        for client in clients {
            client.await??;
        }
    } else {
        let mut tick = tokio::time::interval(interval);
        for i in 0..count {
            tick.tick().await;
            let name = format!("{prefix}-{i}");
            api.create(&PostParams::default(), &pod(&name, image)?).await?;
            created.lock().unwrap_or_else(|e| e.into_inner()).insert(name, Instant::now());
        }
    }
    let created = created.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(created)
}

fn report_memory(kubelet: &Stopped, pods: usize) {
    let kubelet_pid = kubelet.0.id();
    let (rss, peak) = memory_mib(kubelet_pid);
    let containerd: Vec<u32> = child_pids(kubelet_pid);
    let containerd_rss: f64 = containerd.iter().map(|p| memory_mib(*p).0).sum();
    println!(
        "{}",
        json!({"figure": "kubelet_memory", "pods_running": pods, "kubelet_rss_mib": rss, "kubelet_peak_mib": peak,
            "kubelet_cpu_seconds": cpu_seconds(kubelet_pid), "containerd_rss_mib": containerd_rss})
    );
}
