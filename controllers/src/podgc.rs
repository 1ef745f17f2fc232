//! The pod garbage collector (upstream's podgc): every 20 s it force-deletes pods bound to nodes
//! that have not existed for 40 s (after marking them Failed with a DisruptionTarget condition), pods
//! being deleted that were never scheduled (no kubelet will finish them), and the oldest
//! finished pods beyond `--terminated-pod-gc-threshold` (12,500).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::{Timestamp, Unit};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::ObjectRef;
use serde_json::json;

use crate::{Context, Error};

const PERIOD: Duration = Duration::from_secs(20);
/// How long a node must be missing before its pods are collected (upstream's quarantine), so
/// that a node being re-registered, or a cache behind, does not cost pods.
const QUARANTINE: Duration = Duration::from_secs(40);

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let pods = ctx.informers.get::<Pod>();
    let nodes = ctx.informers.get::<Node>();
    let sweep = async {
        pods.synced().await;
        nodes.synced().await;
        let mut missing = HashMap::new();
        loop {
            tokio::time::sleep(PERIOD).await;
            if let Err(e) = collect(&ctx, &pods.store().state(), &nodes, &mut missing).await {
                tracing::warn!(error = %e, "pod garbage collection");
            }
        }
    };
    tokio::select! {
        _ = sweep => {}
        _ = shutdown => {}
    }
    Ok(())
}

async fn collect(
    ctx: &Context,
    pods: &[Arc<Pod>],
    nodes: &crate::framework::Informer<Node>,
    missing: &mut HashMap<String, Instant>,
) -> Result<(), Error> {
    missing.retain(|node, _| nodes.get(&ObjectRef::new(node)).is_none());
    let node_api: Api<Node> = Api::all(ctx.client.clone());
    let mut finished = Vec::new();
    for pod in pods {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            finished.push(pod.clone());
        }
        if node.is_empty() {
            if pod.metadata.deletion_timestamp.is_some() {
                force_delete(ctx, pod, None).await?;
            }
            continue;
        }
        // The cache may lag behind a node that was just created: ask before acting.
        if nodes.get(&ObjectRef::new(&node)).is_some() {
            continue;
        }
        let since = *missing.entry(node.clone()).or_insert_with(Instant::now);
        if since.elapsed() >= QUARANTINE && node_api.get_opt(&node).await?.is_none() {
            let message = "PodGC: node no longer exists";
            tracing::info!(pod = %pod.name_any(), %node, "deleting pod of a deleted node");
            force_delete(ctx, pod, Some(message)).await?;
        }
    }
    let threshold = ctx.options.terminated_pod_gc_threshold;
    if threshold > 0 && finished.len() > threshold {
        finished.sort_by_key(|p| p.creation_timestamp().map(|t| t.0));
        let excess = finished.len() - threshold;
        for pod in &finished[..excess] {
            force_delete(ctx, pod, None).await?;
        }
    }
    Ok(())
}

/// Deletes at once (grace 0); with `reason`, first marks the pod Failed as upstream does.
async fn force_delete(ctx: &Context, pod: &Pod, reason: Option<&str>) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    if let Some(message) = reason {
        let at = Timestamp::now().round(Unit::Second).ok();
        let status = json!({ "status": { "phase": "Failed", "conditions": [{
            "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC", "message": message,
            "lastTransitionTime": at,
        }] } });
        match api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(status)).await {
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            other => drop(other?),
        }
    }
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
        ..Default::default()
    };
    match api.delete(&name, &dp).await {
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        other => other.map(drop).map_err(Error::from),
    }
}
