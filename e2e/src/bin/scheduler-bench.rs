//! `scheduler-bench`: scheduling throughput of `rkube scheduler`, after upstream's scheduler_perf
//! SchedulingBasic: an apiserver-only cluster gets N nodes (4 CPU, 32 GiB, 110 pods each, no
//! kubelet), a `rkube scheduler` process runs against it, then M pods (100m CPU, 500 MiB each)
//! are created by many concurrent clients while it schedules. Bindings are observed through a
//! metadata watch of bound pods (`spec.nodeName!=`); the figure is pods/s from the first to the
//! last binding. Also printed: the creation rate, CPU seconds the apiserver and the scheduler
//! spent during the run (where the time goes), and their memory.
//!
//! ```text
//! cargo build --release -p rkube -p e2e
//! target/release/scheduler-bench [--nodes 5000] [--pods 30000] [--clients 64]
//! ```

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e2e::bench::{arg, cpu_seconds, memory_mib as memory_mb};
use e2e::{Backend, Cluster};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

/// upstream's published SchedulingBasic 5000 nodes / throughput range (pods/s) to compare with.
const UPSTREAM_FLOOR: &str = "~680-810 pods/s (kube-scheduler, scheduler_perf SchedulingBasic 5000 nodes)";

fn emit(figure: &str, fields: serde_json::Value) {
    let mut line = json!({"figure": figure});
    if let (Some(l), Some(f)) = (line.as_object_mut(), fields.as_object()) {
        l.extend(f.clone());
    }
    println!("{line}");
}

struct Scheduler(Child);

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn node(name: &str, i: usize) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": format!("zone-{}", i % 10)}}}))
    .unwrap_or_default()
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}}))
    .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let nodes = arg("--nodes", 5000) as usize;
    let pods = arg("--pods", 30000) as usize;
    let clients = arg("--clients", 64) as usize;
    let cluster = Cluster::start_apiserver(Backend::Embedded).await?;
    let client = cluster.client().await?;

    let started = Instant::now();
    let node_api: Api<Node> = Api::all(client.clone());
    let status = json!({"status": {
        "capacity": {"cpu": "4", "memory": "32Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "hollow"}]}});
    futures::stream::iter(0..nodes)
        .map(|i| {
            let (api, status) = (node_api.clone(), status.clone());
            async move {
                let name = format!("node-{i:05}");
                api.create(&PostParams::default(), &node(&name, i)).await?;
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(clients)
        .try_collect::<Vec<_>>()
        .await?;
    emit(
        "nodes_created",
        json!({"nodes": nodes, "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0}),
    );

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "bench"}}))?).await?;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "bench");

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log = std::fs::File::create(cluster.dir.path().join("scheduler.log"))?;
    let scheduler = Scheduler(
        Command::new(e2e::rkube_bin())
            .args(["scheduler", "--kubeconfig", &cluster.kubeconfig.to_string_lossy(), "--leader-elect=false"])
            .args(["--bind-address", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting rkube scheduler")?,
    );
    let scheduler_pid = scheduler.0.id();

    // Bound pods as they appear: a metadata-only watch filtered to pods with a node.
    let watched = Api::<PartialObjectMeta<Pod>>::namespaced(client.clone(), "bench");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let observer = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut bound = HashSet::new();
        let (mut first, mut last) = (None, None);
        let stream = watcher(watched, watcher::Config::default().fields("spec.nodeName!=")).default_backoff();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let name = match event {
                Ok(watcher::Event::Apply(m) | watcher::Event::InitApply(m)) => m.metadata.name.unwrap_or_default(),
                Ok(watcher::Event::InitDone) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    continue;
                }
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("watch: {e}");
                    continue;
                }
            };
            if name.starts_with("pod-") && bound.insert(name) {
                let now = Instant::now();
                first.get_or_insert(now);
                last = Some(now);
                if bound.len() == pods {
                    break;
                }
            }
        }
        (bound.len(), first, last)
    });
    let _ = ready_rx.await;

    // One pod first: once it is bound the scheduler has its caches synced.
    pod_api.create(&PostParams::default(), &pod("warmup")).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while pod_api.get("warmup").await?.spec.and_then(|s| s.node_name).is_none() {
        anyhow::ensure!(Instant::now() < deadline, "the scheduler never bound the warm-up pod");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let own_pid = std::process::id();
    let bench_cpu0 = cpu_seconds(own_pid);
    let apiserver_cpu0 = cpu_seconds(cluster.pid());
    let scheduler_cpu0 = cpu_seconds(scheduler_pid);

    let created_at = Instant::now();
    futures::stream::iter(0..pods)
        .map(|i| {
            let api = pod_api.clone();
            async move { api.create(&PostParams::default(), &pod(&format!("pod-{i:05}"))).await }
        })
        .buffer_unordered(clients)
        .try_collect::<Vec<_>>()
        .await?;
    let create_secs = created_at.elapsed().as_secs_f64();

    let (bound, first, last) = tokio::time::timeout(Duration::from_secs(600), observer).await??;
    let wall = created_at.elapsed().as_secs_f64();
    let apiserver_cpu = cpu_seconds(cluster.pid()) - apiserver_cpu0;
    let scheduler_cpu = cpu_seconds(scheduler_pid) - scheduler_cpu0;
    let bench_cpu = cpu_seconds(own_pid) - bench_cpu0;
    let span = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_secs_f64(),
        _ => 0.0,
    };
    let (sched_rss, sched_peak) = memory_mb(scheduler_pid);
    let (api_rss, api_peak) = memory_mb(cluster.pid());
    emit(
        "pods_created",
        json!({"pods": pods, "clients": clients, "seconds": (create_secs * 100.0).round() / 100.0,
               "creates_per_sec": (pods as f64 / create_secs).round()}),
    );
    emit(
        "scheduling_throughput",
        json!({"nodes": nodes, "pods": pods, "bound": bound,
               "pods_per_sec": if span > 0.0 { (bound as f64 / span).round() } else { 0.0 },
               "first_to_last_binding_seconds": (span * 100.0).round() / 100.0,
               "create_start_to_last_binding_seconds": (wall * 100.0).round() / 100.0,
               "upstream_floor": UPSTREAM_FLOOR}),
    );
    emit(
        "cpu_seconds",
        json!({"apiserver": (apiserver_cpu * 100.0).round() / 100.0, "scheduler": (scheduler_cpu * 100.0).round() / 100.0,
               "bench_clients": (bench_cpu * 100.0).round() / 100.0,
               "apiserver_us_per_pod": (apiserver_cpu / pods as f64 * 1e6).round(),
               "scheduler_us_per_pod": (scheduler_cpu / pods as f64 * 1e6).round(),
               "wall": (wall * 100.0).round() / 100.0}),
    );
    emit(
        "memory",
        json!({"scheduler_rss_mb": sched_rss, "scheduler_peak_rss_mb": sched_peak,
               "apiserver_rss_mb": api_rss, "apiserver_peak_rss_mb": api_peak}),
    );
    // Scheduled events are written off the hot path and dropped when their queue is full.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = Api::<PartialObjectMeta<k8s_openapi::api::events::v1::Event>>::namespaced(client.clone(), "bench")
        .list_metadata(&kube::api::ListParams::default())
        .await?;
    let recorded =
        events.items.iter().filter(|e| e.metadata.name.as_deref().is_some_and(|n| n.starts_with("pod-"))).count();
    emit("events", json!({"scheduled_events_recorded": recorded, "pods_bound": bound}));
    anyhow::ensure!(bound == pods, "only {bound} of {pods} pods were bound");
    drop(scheduler);
    Ok(())
}
