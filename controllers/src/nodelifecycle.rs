//! The node lifecycle controller (upstream's nodelifecycle): node health from the kubelet's
//! heartbeats — its Lease in kube-node-lease and its Ready condition. A node silent for the
//! grace period (`--node-monitor-grace-period`, 40 s) gets its conditions set to Unknown and its
//! pods marked not ready. Node conditions become taints: NoSchedule ones for the scheduler
//! (not-ready, unreachable, unschedulable, pressure) and NoExecute ones for not-ready and
//! unreachable, which `taint_eviction.rs` acts on.
//!
//! Heartbeats are judged by when this controller saw them change, on its own clock, so that
//! clock skew between machines does not matter (as upstream).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{Timestamp, Unit};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::framework::Recorder;
use crate::{Context, Error};

/// How often nodes are looked at (upstream's --node-monitor-period).
const MONITOR_PERIOD: Duration = Duration::from_secs(5);

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
const PRESSURE: [(&str, &str); 3] = [
    ("MemoryPressure", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "node.kubernetes.io/pid-pressure"),
];
const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

/// The taint keys this controller manages (others are left as they are).
fn managed(key: &str) -> bool {
    [NOT_READY, UNREACHABLE, UNSCHEDULABLE, NETWORK_UNAVAILABLE].contains(&key)
        || PRESSURE.iter().any(|(_, k)| *k == key)
}

fn now() -> Time {
    Time(Timestamp::now().round(Unit::Second).unwrap_or_else(|_| Timestamp::now()))
}

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a str> {
    let conditions = node.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_).map(|c| c.status.as_str())
}

/// The taints a node's state calls for, among the managed keys.
pub fn desired_taints(node: &Node) -> Vec<(String, &'static str)> {
    let mut taints = Vec::new();
    match condition(node, "Ready") {
        Some("False") => {
            taints.push((NOT_READY.to_string(), "NoSchedule"));
            taints.push((NOT_READY.to_string(), "NoExecute"));
        }
        Some("True") => {}
        // No Ready condition yet, or Unknown: nobody answers.
        _ => {
            taints.push((UNREACHABLE.to_string(), "NoSchedule"));
            taints.push((UNREACHABLE.to_string(), "NoExecute"));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        taints.push((UNSCHEDULABLE.to_string(), "NoSchedule"));
    }
    for (type_, key) in PRESSURE {
        if condition(node, type_) == Some("True") {
            taints.push((key.to_string(), "NoSchedule"));
        }
    }
    if condition(node, "NetworkUnavailable") == Some("True") {
        taints.push((NETWORK_UNAVAILABLE.to_string(), "NoSchedule"));
    }
    taints
}

/// The node's taints with the managed ones brought in line (`None`: nothing to change).
fn reconcile_taints(node: &Node) -> Option<Vec<Taint>> {
    let current = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let want = desired_taints(node);
    let mut next: Vec<Taint> = current
        .iter()
        .filter(|t| !managed(&t.key) || want.iter().any(|(k, e)| *k == t.key && *e == t.effect))
        .cloned()
        .collect();
    for (key, effect) in &want {
        if !next.iter().any(|t| t.key == *key && t.effect == *effect) {
            let time_added = (*effect == "NoExecute").then(now);
            next.push(Taint { key: key.clone(), effect: effect.to_string(), value: None, time_added });
        }
    }
    (next != current).then_some(next)
}

/// What was last heard from a node, and when (our clock) it last changed.
struct Heard {
    heartbeat: (Option<Time>, Option<Time>),
    at: Instant,
}

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let nodes = ctx.informers.get::<Node>();
    let leases = ctx.informers.get::<Lease>();
    let pods = ctx.informers.get::<Pod>();
    let events = Recorder::new(ctx.client.clone(), "node-controller", &ctx.identity);
    let mut heard: HashMap<String, Heard> = HashMap::new();
    let grace = ctx.options.node_monitor_grace_period;
    let monitor = async {
        nodes.synced().await;
        tracing::debug!("node lifecycle: nodes synced");
        leases.synced().await;
        tracing::debug!("node lifecycle: leases synced");
        loop {
            let listed = nodes.store().state();
            heard.retain(|name, _| listed.iter().any(|n| n.name_any() == *name));
            for node in listed {
                let name = node.name_any();
                let lease = leases.get(&ObjectRef::new(&name).within("kube-node-lease"));
                let heartbeat = (
                    lease.and_then(|l| l.spec.as_ref()?.renew_time.clone().map(|t| Time(t.0))),
                    node.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                        .and_then(|c| c.last_heartbeat_time.clone()),
                );
                let entry = heard
                    .entry(name.clone())
                    .or_insert_with(|| Heard { heartbeat: heartbeat.clone(), at: Instant::now() });
                if entry.heartbeat != heartbeat {
                    *entry = Heard { heartbeat, at: Instant::now() };
                }
                let silent = entry.at.elapsed() > grace;
                let result = monitor_node(&ctx, &node, silent, &pods, &events).await;
                if let Err(e) = result {
                    tracing::warn!(node = %name, error = %e, "node lifecycle");
                }
            }
            tokio::time::sleep(MONITOR_PERIOD).await;
        }
    };
    tokio::select! {
        _ = monitor => {}
        _ = shutdown => {}
    }
    Ok(())
}

async fn monitor_node(
    ctx: &Context,
    node: &Node,
    silent: bool,
    pods: &crate::framework::Informer<Pod>,
    events: &Recorder,
) -> Result<(), Error> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let name = node.name_any();
    let ready = condition(node, "Ready");
    if silent && ready != Some("Unknown") {
        // The kubelet stopped posting: every condition it reports is now unknown.
        let at = now();
        let mut conditions = node.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        for c in conditions
            .iter_mut()
            .filter(|c| ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"].contains(&c.type_.as_str()))
        {
            c.status = "Unknown".into();
            c.reason = Some("NodeStatusUnknown".into());
            c.message = Some("Kubelet stopped posting node status.".into());
            c.last_transition_time = Some(at.clone());
        }
        if !conditions.iter().any(|c| c.type_ == "Ready") {
            conditions.push(k8s_openapi::api::core::v1::NodeCondition {
                type_: "Ready".into(),
                status: "Unknown".into(),
                reason: Some("NodeStatusNeverUpdated".into()),
                message: Some("Kubelet never posted node status.".into()),
                last_transition_time: Some(at.clone()),
                last_heartbeat_time: Some(at),
            });
        }
        let patch = json!({ "status": { "conditions": conditions } });
        api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch)).await?;
        events.normal(
            node.object_ref(&()),
            "NodeNotReady",
            "NodeNotReady",
            format!("Node {name} status is now: NodeNotReady"),
        );
        mark_pods_not_ready(ctx, &name, pods).await?;
        return Ok(());
    }
    if let Some(taints) = reconcile_taints(node) {
        let patch = json!({ "spec": { "taints": taints }, "metadata": { "resourceVersion": node.resource_version() } });
        match api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {}
            other => drop(other?),
        }
    }
    Ok(())
}

/// Pods on a silent node are not ready any more (so Services stop sending them traffic).
async fn mark_pods_not_ready(ctx: &Context, node: &str, pods: &crate::framework::Informer<Pod>) -> Result<(), Error> {
    let at = now();
    for pod in pods.store().state() {
        if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(node) || !crate::podutil::is_ready(&pod) {
            continue;
        }
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        let patch =
            json!({ "status": { "conditions": [{ "type": "Ready", "status": "False", "lastTransitionTime": at }] } });
        match api.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Strategic(patch)).await {
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            other => drop(other?),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};

    fn node(ready: &str, unschedulable: bool, taints: Vec<Taint>) -> Node {
        Node {
            spec: Some(NodeSpec { unschedulable: Some(unschedulable), taints: Some(taints), ..Default::default() }),
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint { key: key.into(), effect: effect.into(), ..Default::default() }
    }

    #[test]
    fn conditions_become_taints_and_other_taints_stay() {
        let keys =
            |t: Option<Vec<Taint>>| t.map(|t| t.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>());
        assert_eq!(keys(reconcile_taints(&node("True", false, vec![]))), None);
        let unknown = reconcile_taints(&node("Unknown", false, vec![taint("dedicated", "NoSchedule")]));
        assert_eq!(
            keys(unknown.clone()),
            Some(vec![
                "dedicated:NoSchedule".into(),
                format!("{UNREACHABLE}:NoSchedule"),
                format!("{UNREACHABLE}:NoExecute")
            ])
        );
        assert!(unknown.unwrap().iter().any(|t| t.effect == "NoExecute" && t.time_added.is_some()));
        // Back to Ready: the node's own taints are lifted, a cordon shows.
        let healed = node("True", true, vec![taint(UNREACHABLE, "NoExecute"), taint("dedicated", "NoSchedule")]);
        assert_eq!(
            keys(reconcile_taints(&healed)),
            Some(vec!["dedicated:NoSchedule".into(), format!("{UNSCHEDULABLE}:NoSchedule")])
        );
        assert_eq!(keys(reconcile_taints(&node("False", false, vec![]))).map(|k| k.len()), Some(2));
    }
}
