//! `controllers-bench`: how fast the controllers bring a large Deployment to full availability,
//! and what the controller-manager weighs. Processes as in a real cluster: `rkube apiserver`,
//! `rkube controller-manager` and `rkube scheduler`; the hollow nodes (default 100) run in this
//! process (the kubelet crate's fleet), so the figures of the controller-manager are its own.
//!
//! 1. Rounds (default 3) of a Deployment of `--replicas` (default 1,000) pods: seconds from its
//!    creation to `status.availableReplicas == replicas` (what `kubectl rollout status` waits
//!    for). It is deleted (foreground) between rounds. The median is the figure; target < 10 s.
//! 2. With `--big N` (e.g. 30,000 on 300 nodes; default 0: skipped): one Deployment of N pods,
//!    time to available and the controller-manager's memory once all are running.
//!
//! ```text
//! cargo build --release -p rkube -p e2e
//! target/release/controllers-bench [--nodes 100] [--replicas 1000] [--rounds 3] [--big 0]
//! target/release/controllers-bench --nodes 300 --rounds 0 --big 30000
//! ```

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e2e::bench::{arg, cpu_seconds, memory_mib};
use e2e::{Backend, Cluster};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::json;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cluster: &Cluster, args: &[&str], log: &str) -> Result<Killed> {
    let log = std::fs::File::create(cluster.dir.path().join(log))?;
    let child = Command::new(e2e::rkube_bin())
        .args(args)
        .args(["--kubeconfig", &cluster.kubeconfig.to_string_lossy()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting rkube {}", args[0]))?;
    Ok(Killed(child))
}

fn free_address() -> Result<String> {
    Ok(format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()))
}

fn deployment(name: &str, replicas: usize) -> Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]},
            },
        },
    }))?)
}

/// Seconds from creating a Deployment of `replicas` to all of them available.
async fn roll_out(api: &Api<Deployment>, name: &str, replicas: usize) -> Result<f64> {
    let started = Instant::now();
    api.create(&PostParams::default(), &deployment(name, replicas)?).await?;
    let available = move |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref()).and_then(|s| s.available_replicas) == Some(replicas as i32)
    };
    tokio::time::timeout(Duration::from_secs(600), await_condition(api.clone(), name, available))
        .await
        .context("the Deployment did not become available within 10 minutes")??;
    Ok(started.elapsed().as_secs_f64())
}

async fn tear_down(api: &Api<Deployment>, pods: &Api<Pod>, name: &str) -> Result<()> {
    api.delete(name, &DeleteParams::foreground()).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !pods.list_metadata(&ListParams::default().labels(&format!("app={name}")).limit(1)).await?.items.is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "the pods of {name} are still there after 5 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let nodes = arg("--nodes", 100) as usize;
    let replicas = arg("--replicas", 1000) as usize;
    let rounds = arg("--rounds", 3) as usize;
    let big = arg("--big", 0) as usize;
    let cluster = Cluster::start_apiserver(Backend::Embedded).await?;
    let client = cluster.client().await?;
    // A /9 gives every node a /24 however many there are.
    let manager_args = ["controller-manager", "--bind-address", &free_address()?, "--cluster-cidr", "10.128.0.0/9"];
    let manager = spawn(&cluster, &manager_args, "controller-manager.log")?;
    let _scheduler = spawn(&cluster, &["scheduler", "--bind-address", &free_address()?], "scheduler.log")?;

    // Enough room per node for the big Deployment, within the 254 addresses of a node's /24.
    let per_node = (big.max(replicas) / nodes.max(1) + 10).max(110) as u32;
    let most = big.max(replicas);
    anyhow::ensure!(per_node <= 254, "{nodes} nodes cannot hold {most} pods in their /24s: pass more --nodes");
    let capacity =
        kubelet::hollow::Capacity { cpu: "64".into(), memory: "256Gi".into(), pods: per_node, ..Default::default() };
    let identities = (0..nodes)
        .map(|i| kubelet::hollow::Identity { name: format!("hollow-{i:04}"), ip: kubelet::hollow::fleet_node_ip(i) })
        .collect();
    let (progress, mut watching) = tokio::sync::watch::channel(kubelet::hollow::Progress::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let fleet_client = client.clone();
    let fleet = tokio::spawn(async move {
        let metrics = std::sync::Arc::new(kubelet::hollow::Metrics::default());
        kubelet::hollow::run(fleet_client, identities, capacity, metrics, progress, async {
            let _ = stopped.await;
        })
        .await
    });
    let started = Instant::now();
    watching.wait_for(|p| p.ready >= nodes).await?;
    println!(
        "{}",
        json!({"figure": "nodes_ready", "nodes": nodes, "seconds": round2(started.elapsed().as_secs_f64())})
    );

    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut times = Vec::new();
    for round in 0..rounds {
        let name = format!("bench-{round}");
        let seconds = roll_out(&api, &name, replicas).await?;
        println!(
            "{}",
            json!({"figure": "deployment_available", "round": round, "replicas": replicas, "nodes": nodes, "seconds": round2(seconds)})
        );
        times.push(seconds);
        tear_down(&api, &pods, &name).await?;
    }
    if !times.is_empty() {
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{}",
            json!({"figure": "deployment_available_median", "replicas": replicas, "nodes": nodes, "seconds": round2(median), "target_seconds": 10})
        );
    }
    if big > 0 {
        let cpu_before = cpu_seconds(manager.0.id());
        let seconds = roll_out(&api, "big", big).await?;
        let (rss, peak) = memory_mib(manager.0.id());
        println!(
            "{}",
            json!({"figure": "big_deployment", "pods": big, "nodes": nodes, "seconds_to_available": round2(seconds),
            "controller_manager_rss_mib": rss, "controller_manager_peak_mib": peak,
            "controller_manager_cpu_seconds": round2(cpu_seconds(manager.0.id()) - cpu_before)})
        );
    }
    let _ = stop.send(());
    let _ = fleet.await;
    Ok(())
}
