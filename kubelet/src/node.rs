//! What every kubelet (real or hollow) does with its Node object: the well-known labels,
//! registration (create, or adopt a Node of the same name), the conditions with upstream's
//! reasons and messages, and status writes through `nodes/<name>/status`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};

/// Go's name for this machine's architecture, as `kubernetes.io/arch` and OCI configs carry it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The labels the kubelet sets on its Node (upstream's well-known labels).
pub fn labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), name.to_string()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), go_arch().to_string()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("beta.kubernetes.io/arch".to_string(), go_arch().to_string()),
    ])
}

/// When the node's conditions last changed (their `lastTransitionTime`).
#[derive(Clone, Debug)]
pub struct ConditionTimes {
    pub ready_since: Timestamp,
    pub healthy_since: Timestamp,
}

/// Which pressure conditions hold, as the kubelet's eviction manager sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
    pub pid: bool,
}

/// MemoryPressure, DiskPressure, PIDPressure and Ready in upstream's order and words; Ready is
/// False (`KubeletNotReady`) with `not_ready`'s message, True otherwise.
pub fn conditions(
    pressure: Pressure,
    not_ready: Option<&str>,
    times: &ConditionTimes,
    now: Timestamp,
) -> Vec<NodeCondition> {
    let condition = |kind: &str, status: bool, reason: &str, message: &str, since: Timestamp| NodeCondition {
        type_: kind.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(Time(since)),
    };
    let healthy = times.healthy_since;
    let memory = if pressure.memory {
        condition(
            "MemoryPressure",
            true,
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
            healthy,
        )
    } else {
        condition(
            "MemoryPressure",
            false,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            healthy,
        )
    };
    let disk = if pressure.disk {
        condition("DiskPressure", true, "KubeletHasDiskPressure", "kubelet has disk pressure", healthy)
    } else {
        condition("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure", healthy)
    };
    let pid = if pressure.pid {
        condition("PIDPressure", true, "KubeletHasInsufficientPID", "kubelet has insufficient PID available", healthy)
    } else {
        condition("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available", healthy)
    };
    let ready = match not_ready {
        Some(why) => condition("Ready", false, "KubeletNotReady", why, times.ready_since),
        None => condition("Ready", true, "KubeletReady", "kubelet is posting ready status", times.ready_since),
    };
    vec![memory, disk, pid, ready]
}

/// The status of the Node's Ready condition ("True", "False", "Unknown"), if it has one.
pub fn ready_status(node: &Node) -> Option<&str> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready").map(|c| c.status.as_str())
}

/// Creates `node`, or adopts an existing Node of that name (adding the labels and annotations
/// the kubelet sets, as upstream's kubelet reconciles its labels on re-registration).
pub async fn register(api: &Api<Node>, node: &Node) -> Result<Node, kube::Error> {
    let name = node.metadata.name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), node).await {
        Ok(created) => {
            tracing::info!(node = %name, "node registered");
            Ok(created)
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = serde_json::json!({"metadata": {"labels": node.metadata.labels, "annotations": node.metadata.annotations}});
            let adopted = api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await?;
            tracing::info!(node = %name, "node already registered; adopted");
            Ok(adopted)
        }
        Err(e) => Err(e),
    }
}

/// Writes the whole status through `nodes/<name>/status` (a strategic merge patch, as upstream's
/// kubelet does, so conditions other components own are kept).
pub async fn write_status(api: &Api<Node>, name: &str, status: &NodeStatus) -> Result<Node, kube::Error> {
    let patch = serde_json::json!({ "status": status });
    api.patch_status(name, &PatchParams::default(), &Patch::Strategic(patch)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_flips_reasons_and_ready_keeps_its_transition_time() {
        let since = Timestamp::from_second(1_700_000_000).unwrap();
        let now = Timestamp::from_second(1_700_000_300).unwrap();
        let times = ConditionTimes { ready_since: since, healthy_since: since };
        let conditions = conditions(Pressure { memory: true, ..Pressure::default() }, None, &times, now);
        let kinds: Vec<&str> = conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(kinds, ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]);
        assert_eq!(conditions[0].status, "True");
        assert_eq!(conditions[0].reason.as_deref(), Some("KubeletHasInsufficientMemory"));
        assert_eq!(conditions[1].reason.as_deref(), Some("KubeletHasNoDiskPressure"));
        assert_eq!(conditions[3].last_transition_time, Some(Time(since)));
        assert_eq!(conditions[3].last_heartbeat_time, Some(Time(now)));
    }
}
