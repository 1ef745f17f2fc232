//! `apiserver-bench`: drives a real `rkube server` over HTTPS and prints one JSON line per
//! figure, side by side in one run:
//!
//! - `healthz` vs `get_pod`: requests/s of the HTTP stack alone vs a GET of one pod;
//! - `create_pods` vs `etcd_raw_puts`: pod creates/s through the API vs raw durable puts/s of a
//!   local etcd 3.4 with values of the same size (the issue's yardstick);
//! - `list_pods`: latency of listing 10,000 pods in one namespace;
//! - `watch_fanout`: 1,000 watchers of pods, every one must receive every event;
//! - `idle_rss`: the server's resident memory before the load.
//!
//! ```text
//! cargo build --release -p rkube -p e2e
//! target/release/apiserver-bench [--store embedded|etcd] [--clients 64] [--seconds 5] [--pods 10000] [--watchers 1000]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e2e::bench::{Samples, load};
use e2e::{Backend, Cluster};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

struct Args {
    backend: Backend,
    clients: usize,
    seconds: u64,
    pods: usize,
    watchers: usize,
}

fn args() -> Result<Args> {
    let mut a = Args { backend: Backend::Embedded, clients: 64, seconds: 5, pods: 10_000, watchers: 1_000 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--store" => a.backend = if value == "etcd" { Backend::Etcd } else { Backend::Embedded },
            "--clients" => a.clients = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            "--pods" => a.pods = value.parse()?,
            "--watchers" => a.watchers = value.parse()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "backend"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0", "ports": [{"containerPort": 8080}],
                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
    }))
    .unwrap_or_default()
}

fn emit(figure: &str, fields: serde_json::Value) {
    let mut line = json!({"figure": figure});
    if let (Some(l), Some(f)) = (line.as_object_mut(), fields.as_object()) {
        l.extend(f.clone());
    }
    println!("{line}");
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (kb / 1024.0 * 10.0).round() / 10.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let cluster = Cluster::start(a.backend).await?;
    let store = format!("{:?}", a.backend).to_lowercase();
    tokio::time::sleep(Duration::from_secs(1)).await;
    emit("idle_rss", json!({"store": store, "rss_mb": rss_mb(cluster.pid())}));

    let client = cluster.client().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("target")).await?;

    let c = client.clone();
    let (healthz, mut h) = load(a.clients, a.seconds, move |_, _| {
        let c = c.clone();
        async move {
            c.request_text(http::Request::get("/healthz").body(Vec::new())?).await?;
            Ok(())
        }
    })
    .await;
    // Both measured as raw bytes, so the figures are the server's, not the client's decoding.
    let c = client.clone();
    let (get_pod, mut g) = load(a.clients, a.seconds, move |_, _| {
        let c = c.clone();
        async move {
            c.request_text(http::Request::get("/api/v1/namespaces/default/pods/target").body(Vec::new())?).await?;
            Ok(())
        }
    })
    .await;
    emit(
        "healthz",
        json!({"store": store, "clients": a.clients, "req_per_sec": healthz.round(), "p50_ms": h.quantile(0.5), "p99_ms": h.quantile(0.99)}),
    );
    emit(
        "get_pod",
        json!({"store": store, "clients": a.clients, "req_per_sec": get_pod.round(), "p50_ms": g.quantile(0.5), "p99_ms": g.quantile(0.99), "ratio_to_healthz": (get_pod / healthz * 100.0).round() / 100.0}),
    );

    // Pod creates through the API, then the same number of raw puts of a pod-sized value to a
    // local etcd, in the same run.
    let c = client.clone();
    let (creates, mut cr) = load(a.clients, a.seconds, move |_, n| {
        let c = c.clone();
        async move {
            let body = serde_json::to_vec(&pod(&format!("create-{n}")))?;
            let req = http::Request::post("/api/v1/namespaces/default/pods")
                .header("Content-Type", "application/json")
                .body(body)?;
            c.request_text(req).await?;
            Ok(())
        }
    })
    .await;
    let pod_bytes = serde_json::to_vec(&pods.get("target").await?)?.len();
    emit(
        "create_pods",
        json!({"store": store, "clients": a.clients, "creates_per_sec": creates.round(), "p50_ms": cr.quantile(0.5), "p99_ms": cr.quantile(0.99), "pod_bytes": pod_bytes}),
    );
    let etcd_dir = tempfile::tempdir()?;
    let etcd = store::testing::EtcdServer::start(etcd_dir.path()).await?;
    let raw: Arc<dyn store::Store> = Arc::new(etcd.connect().await?);
    let value = bytes::Bytes::from(vec![b'x'; pod_bytes]);
    let (puts, mut pu) = load(a.clients, a.seconds, move |_, n| {
        let (raw, value) = (raw.clone(), value.clone());
        async move {
            raw.create(&format!("/bench/{n}"), value).await?;
            Ok(())
        }
    })
    .await;
    drop(etcd);
    emit(
        "etcd_raw_puts",
        json!({"clients": a.clients, "puts_per_sec": puts.round(), "p50_ms": pu.quantile(0.5), "p99_ms": pu.quantile(0.99), "value_bytes": pod_bytes, "api_creates_to_etcd_puts": (creates / puts * 100.0).round() / 100.0}),
    );

    // 10,000 pods in one namespace, listed whole.
    let ns = "listing";
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns}}))?).await?;
    let listing: Api<Pod> = Api::namespaced(client.clone(), ns);
    futures::stream::iter(0..a.pods)
        .map(|i| {
            let l = listing.clone();
            async move { l.create(&PostParams::default(), &pod(&format!("p-{i:05}"))).await }
        })
        .buffer_unordered(a.clients)
        .try_collect::<Vec<_>>()
        .await?;
    let mut lists = Samples::default();
    for _ in 0..5 {
        let t = Instant::now();
        let got = listing.list(&ListParams::default()).await?;
        lists.0.push(t.elapsed().as_micros() as u64);
        anyhow::ensure!(got.items.len() == a.pods, "listed {} pods, expected {}", got.items.len(), a.pods);
    }
    emit(
        "list_pods",
        json!({"store": store, "pods": a.pods, "p50_ms": lists.quantile(0.5), "max_ms": lists.quantile(1.0), "rss_mb_after": rss_mb(cluster.pid())}),
    );

    // Watch fan-out: every watcher must see every event.
    let events = 200usize;
    let watch_ns = "watching";
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": watch_ns}}))?)
        .await?;
    let watched: Api<Pod> = Api::namespaced(client.clone(), watch_ns);
    let rv = watched.list(&ListParams::default()).await?.metadata.resource_version.unwrap_or_default();
    let mut watchers = Vec::new();
    for _ in 0..a.watchers {
        let stream = watched.watch(&WatchParams::default().timeout(290), &rv).await?;
        watchers.push(tokio::spawn(async move {
            let mut stream = stream.boxed();
            let mut seen = 0usize;
            while seen < events {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(_))) => seen += 1,
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            (seen, Instant::now())
        }));
    }
    let started = Instant::now();
    futures::stream::iter(0..events)
        .map(|i| {
            let w = watched.clone();
            async move { w.create(&PostParams::default(), &pod(&format!("w-{i}"))).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let mut complete = 0;
    let mut last = started;
    for w in watchers {
        let (seen, done) = w.await?;
        if seen == events {
            complete += 1;
        }
        last = last.max(done);
    }
    let elapsed = (last - started).as_secs_f64();
    emit(
        "watch_fanout",
        json!({"store": store, "watchers": a.watchers, "events": events, "watchers_with_every_event": complete,
        "events_per_sec": ((a.watchers * events) as f64 / elapsed).round(), "seconds": (elapsed * 100.0).round() / 100.0}),
    );
    Ok(())
}
