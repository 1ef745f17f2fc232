//! `extensibility-bench`: what custom resources and server-side apply cost, measured side by side
//! against a real `rkube server` over HTTPS, in interleaved rounds (medians printed, one JSON line
//! per figure):
//!
//! - `cr_vs_pod_create` / `cr_vs_pod_get`: creates/s and GETs/s of a custom resource whose body
//!   is the same as a pod's (same bytes, a structural schema with a list-map of containers)
//!   against the pod itself;
//! - `apply_vs_merge_patch`: the same one-label change to a ConfigMap sent as a server-side
//!   apply and as a JSON merge patch (each client owns its ConfigMap, so nothing conflicts).
//!
//! ```text
//! cargo build --release -p rkube -p e2e
//! target/release/extensibility-bench [--clients 64] [--seconds 3] [--rounds 3]
//! ```

use std::time::{Duration, Instant};

use anyhow::Result;
use e2e::bench::load;
use e2e::{Backend, Cluster};
use serde_json::{Value, json};

const CRD: &str = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "benchpods.bench.rkube.dev"},
  "spec": {"group": "bench.rkube.dev", "scope": "Namespaced",
    "names": {"plural": "benchpods", "singular": "benchpod", "kind": "BenchPod"},
    "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
          "containers": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "required": ["name"], "properties": {
              "name": {"type": "string"}, "image": {"type": "string"},
              "ports": {"type": "array", "items": {"type": "object", "properties": {
                "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535}}}},
              "resources": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}}"#;

fn body(api_version: &str, kind: &str, name: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "backend"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0", "ports": [{"containerPort": 8080}],
                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}})
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn send(c: &kube::Client, method: &str, path: &str, content_type: &str, body: &Value) -> Result<()> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(serde_json::to_vec(body)?)?;
    c.request_text(req).await?;
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { (a / b * 100.0).round() / 100.0 }
}

#[tokio::main]
async fn main() -> Result<()> {
    let (clients, seconds, rounds) = (arg("--clients", 64) as usize, arg("--seconds", 3), arg("--rounds", 3));
    let cluster = Cluster::start(Backend::Embedded).await?;
    let client = cluster.client().await?;
    let crd: Value = serde_json::from_str(CRD)?;
    send(&client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json", &crd).await?;
    let cr_path = "/apis/bench.rkube.dev/v1/namespaces/default/benchpods";
    let pod_path = "/api/v1/namespaces/default/pods";
    // The definition is served once its first create goes through.
    let deadline = Instant::now() + Duration::from_secs(20);
    while send(&client, "POST", cr_path, "application/json", &body("bench.rkube.dev/v1", "BenchPod", "target"))
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "the bench definition never became served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send(&client, "POST", pod_path, "application/json", &body("v1", "Pod", "target")).await?;
    for i in 0..clients {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}")}, "data": {"a": "b"}});
        send(&client, "POST", "/api/v1/namespaces/default/configmaps", "application/json", &cm).await?;
    }

    let (mut pod_creates, mut cr_creates, mut pod_gets, mut cr_gets) = (vec![], vec![], vec![], vec![]);
    let (mut merges, mut applies, mut merge_ms, mut apply_ms) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        for (path, api_version, kind, out) in
            [(pod_path, "v1", "Pod", &mut pod_creates), (cr_path, "bench.rkube.dev/v1", "BenchPod", &mut cr_creates)]
        {
            let c = client.clone();
            let (rate, _) = load(clients, seconds, move |_, n| {
                let c = c.clone();
                async move {
                    send(&c, "POST", path, "application/json", &body(api_version, kind, &format!("r{round}-{n}"))).await
                }
            })
            .await;
            out.push(rate);
        }
        for (path, out) in [(pod_path, &mut pod_gets), (cr_path, &mut cr_gets)] {
            let c = client.clone();
            let (rate, _) = load(clients, seconds, move |_, _| {
                let c = c.clone();
                async move {
                    c.request_text(http::Request::get(format!("{path}/target")).body(Vec::new())?).await?;
                    Ok(())
                }
            })
            .await;
            out.push(rate);
        }
        for apply in [false, true] {
            let c = client.clone();
            let (rate, mut samples) = load(clients, seconds, move |i, n| {
                let c = c.clone();
                async move {
                    let path = format!("/api/v1/namespaces/default/configmaps/cm-{i}");
                    if apply {
                        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": format!("cm-{i}"), "labels": {"rev": n.to_string()}}});
                        send(
                            &c,
                            "PATCH",
                            &format!("{path}?fieldManager=bench&force=true"),
                            "application/apply-patch+yaml",
                            &doc,
                        )
                        .await
                    } else {
                        let doc = json!({"metadata": {"labels": {"rev": n.to_string()}}});
                        send(&c, "PATCH", &path, "application/merge-patch+json", &doc).await
                    }
                }
            })
            .await;
            if apply {
                applies.push(rate);
                apply_ms.push(samples.quantile(0.5));
            } else {
                merges.push(rate);
                merge_ms.push(samples.quantile(0.5));
            }
        }
    }
    let (pc, cc) = (median(&mut pod_creates), median(&mut cr_creates));
    println!(
        "{}",
        json!({"figure": "cr_vs_pod_create", "clients": clients, "rounds": rounds, "pod_creates_per_sec": pc.round(),
            "cr_creates_per_sec": cc.round(), "cr_to_pod": ratio(cc, pc)})
    );
    let (pg, cg) = (median(&mut pod_gets), median(&mut cr_gets));
    println!(
        "{}",
        json!({"figure": "cr_vs_pod_get", "clients": clients, "rounds": rounds, "pod_gets_per_sec": pg.round(),
            "cr_gets_per_sec": cg.round(), "cr_to_pod": ratio(cg, pg)})
    );
    let (m, a) = (median(&mut merges), median(&mut applies));
    let (mm, am) = (median(&mut merge_ms), median(&mut apply_ms));
    println!(
        "{}",
        json!({"figure": "apply_vs_merge_patch", "clients": clients, "rounds": rounds, "merge_patches_per_sec": m.round(),
            "applies_per_sec": a.round(), "merge_p50_ms": mm, "apply_p50_ms": am, "apply_time_to_merge_time": ratio(m, a)})
    );
    Ok(())
}
