//! Facts about pods that several controllers need (upstream's podutil): readiness,
//! availability, activity, and the order in which a controller gives pods up.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// When the pod last became Ready, if it is.
fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions.iter().find(|c| c.type_ == "Ready" && c.status == "True")?;
    Some(ready.last_transition_time.as_ref().map(|t| t.0))
}

/// Ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since + std::time::Duration::from_secs(min_ready_seconds as u64) <= now,
    }
}

/// How long until a ready pod becomes available (`None`: already, or not ready).
pub fn until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<std::time::Duration> {
    let since = ready_since(pod)??;
    let at = since + std::time::Duration::from_secs(min_ready_seconds.max(0) as u64);
    (at > now).then(|| std::time::Duration::try_from(at - now).ok()).flatten()
}

/// Neither finished nor being deleted: a pod a controller counts.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

fn restarts(pod: &Pod) -> i32 {
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref());
    statuses.map_or(0, |s| s.iter().map(|c| c.restart_count).max().unwrap_or(0))
}

/// The order in which to delete pods when scaling down, least valuable first (upstream's
/// ActivePods ranking, with `colocated[node]` the number of this controller's pods on a node):
/// unscheduled before scheduled, pending before unknown before running, not ready before
/// ready, more pods on the same node first, ready for less time first, more restarts first,
/// newer first.
pub fn deletion_order(a: &Pod, b: &Pod, colocated: &BTreeMap<String, usize>) -> Ordering {
    let node = |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
    let (na, nb) = (node(a), node(b));
    let scheduled = (!na.is_empty()).cmp(&!nb.is_empty());
    let phase = phase_rank(a).cmp(&phase_rank(b));
    let ready = is_ready(a).cmp(&is_ready(b));
    let crowded = colocated.get(&nb).copied().unwrap_or(0).cmp(&colocated.get(&na).copied().unwrap_or(0));
    let ready_time = match (ready_since(a).flatten(), ready_since(b).flatten()) {
        (Some(x), Some(y)) if is_ready(a) && is_ready(b) => y.cmp(&x),
        _ => Ordering::Equal,
    };
    let restarts = restarts(b).cmp(&restarts(a));
    let created = |p: &Pod| p.creation_timestamp().map(|t| t.0);
    let age = created(b).cmp(&created(a));
    scheduled.then(phase).then(ready).then(crowded).then(ready_time).then(restarts).then(age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn pod(name: &str, node: Option<&str>, phase: &str, ready_at: Option<i64>) -> Pod {
        let conditions = ready_at.map(|at| {
            vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(Timestamp::from_second(at).unwrap())),
                ..Default::default()
            }]
        });
        Pod {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: Some(PodSpec { node_name: node.map(Into::into), ..Default::default() }),
            status: Some(PodStatus { phase: Some(phase.into()), conditions, ..Default::default() }),
        }
    }

    #[test]
    fn least_valuable_pods_go_first() {
        let colocated = BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 1)]);
        let mut pods = [
            pod("old-ready", Some("b"), "Running", Some(100)),
            pod("crowded-ready", Some("a"), "Running", Some(100)),
            pod("new-ready", Some("b"), "Running", Some(200)),
            pod("running-unready", Some("b"), "Running", None),
            pod("pending", Some("b"), "Pending", None),
            pod("unscheduled", None, "Pending", None),
        ];
        pods.sort_by(|x, y| deletion_order(x, y, &colocated));
        let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
        assert_eq!(names, ["unscheduled", "pending", "running-unready", "crowded-ready", "new-ready", "old-ready"]);
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let p = pod("p", Some("a"), "Running", Some(100));
        let at = |s| Timestamp::from_second(s).unwrap();
        assert!(is_available(&p, 0, at(100)));
        assert!(!is_available(&p, 10, at(105)));
        assert_eq!(until_available(&p, 10, at(105)), Some(std::time::Duration::from_secs(5)));
        assert!(is_available(&p, 10, at(110)));
        assert!(!is_available(&pod("q", None, "Pending", None), 0, at(110)));
    }
}
