//! DefaultPreemption (upstream's PostFilter): when no node fits, find nodes where evicting pods
//! of lower `spec.priority` lets the pod fit, keep as victims only those that must go (the
//! most important are reprieved first), and pick the node whose victims matter least: the
//! lowest highest-priority victim, then the lowest sum of priorities, the fewest victims, the
//! most recently started highest-priority victims. The caller nominates the pod to that node
//! and evicts the victims; the pod is retried once they are gone.
//!
//! The simulation re-runs the node's filters with the victims removed; the PreFilter state of
//! PodTopologySpread and InterPodAffinity is not recomputed per simulation (upstream updates it
//! incrementally), so victims only help through the node-local filters.

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{Code, NodeInfo, PodInfo, Status, fit_error_message};
use crate::plugins::{self, CycleState};

pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
pub const NEVER: &str = "not eligible due to preemptionPolicy=Never.";
pub const TERMINATING_ON_NOMINATED: &str = "not eligible due to a terminating pod on the nominated node.";
/// upstream's minCandidateNodesPercentage / minCandidateNodesAbsolute.
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;

#[derive(Debug, Default)]
pub struct Outcome {
    /// The PostFilter message that follows the filters' in the FitError ("preemption: ...").
    pub message: String,
    pub nominated_node: Option<String>,
    pub victims: Vec<Arc<PodInfo>>,
}

struct Candidate {
    node: usize,
    victims: Vec<Arc<PodInfo>>,
}

/// Whether the pod may preempt at all (upstream's `PodEligibleToPreemptOthers`).
fn eligible(cache: &Cache, pod: &PodInfo) -> Result<(), &'static str> {
    if pod.preempt_never {
        return Err(NEVER);
    }
    // Already nominated and victims still terminating there: wait for them, evict no more.
    if let Some(node) = cache.node(&pod.nominated_node_name)
        && node.pods.iter().any(|p| p.deleting && p.priority < pod.priority)
    {
        return Err(TERMINATING_ON_NOMINATED);
    }
    Ok(())
}

/// The victims on `node` that must go for `pod` to fit, or the status saying why none help.
pub fn select_victims_on_node(state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<Vec<Arc<PodInfo>>, Status> {
    let mut potential: Vec<Arc<PodInfo>> = node.pods.iter().filter(|p| p.priority < pod.priority).cloned().collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    let mut sim = node.clone();
    for p in &potential {
        sim.remove_pod(&p.key);
    }
    if let Some(status) = plugins::filter(state, pod, &sim, None) {
        return Err(status);
    }
    // Most important first (higher priority, then started earlier): reprieve while it fits.
    potential.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.start_time.cmp(&b.start_time)));
    let mut victims = Vec::new();
    for p in potential {
        sim.add_pod(p.clone());
        if plugins::filter(state, pod, &sim, None).is_some() {
            sim.remove_pod(&p.key);
            victims.push(p);
        }
    }
    Ok(victims)
}

/// Upstream's `pickOneNodeForPreemption` without PodDisruptionBudgets.
fn pick(candidates: Vec<Candidate>) -> Option<Candidate> {
    let key = |c: &Candidate| {
        let highest = c.victims.iter().map(|v| v.priority).max().unwrap_or(i32::MIN);
        let sum: i64 = c.victims.iter().map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1).sum();
        // The earliest start among the highest-priority victims; later is better.
        let earliest = c.victims.iter().filter(|v| v.priority == highest).filter_map(|v| v.start_time).min();
        (highest, sum, c.victims.len(), std::cmp::Reverse(earliest))
    };
    candidates.into_iter().enumerate().min_by_key(|(i, c)| (key(c), *i)).map(|(_, c)| c)
}

/// PostFilter for `pod`, given each rejected node's status from the filters (node slot index,
/// status). `offset` spreads the dry runs over the nodes from one attempt to the next.
pub fn preempt(
    cache: &Cache,
    state: &CycleState,
    pod: &PodInfo,
    statuses: &[(usize, Status)],
    offset: usize,
) -> Outcome {
    if let Err(msg) = eligible(cache, pod) {
        return Outcome { message: format!("preemption: {msg}"), ..Outcome::default() };
    }
    let num_nodes = cache.node_count();
    let nodes = cache.node_slots();
    let not_helpful = Status::unresolvable(NOT_HELPFUL);
    let potential: Vec<usize> =
        statuses.iter().filter(|(_, s)| s.code == Code::Unschedulable).map(|(i, _)| *i).collect();
    let mut results: Vec<Status> =
        statuses.iter().filter(|(_, s)| s.code != Code::Unschedulable).map(|_| not_helpful.clone()).collect();
    let wanted =
        (potential.len() * MIN_CANDIDATE_NODES_PERCENTAGE / 100).max(MIN_CANDIDATE_NODES_ABSOLUTE).min(potential.len());
    let mut candidates = Vec::new();
    for k in 0..potential.len() {
        let i = potential[(offset + k) % potential.len()];
        match select_victims_on_node(state, pod, &nodes[i]) {
            Ok(victims) => candidates.push(Candidate { node: i, victims }),
            Err(status) => results.push(status),
        }
        if candidates.len() >= wanted {
            break;
        }
    }
    match pick(candidates) {
        Some(best) => Outcome {
            message: String::new(),
            nominated_node: Some(nodes[best.node].name.clone()),
            victims: best.victims,
        },
        None => Outcome {
            message: format!("preemption: {}", fit_error_message(num_nodes, results.iter(), None)),
            ..Outcome::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::json;

    fn cache_with(nodes: &[(&str, &str)]) -> Cache {
        let mut cache = Cache::default();
        for (name, cpu) in nodes {
            let n: Node = serde_json::from_value(json!({"metadata": {"name": name},
                "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "10"}}}))
            .unwrap();
            cache.add_or_update_node(&n);
        }
        cache
    }

    fn pod(name: &str, node: &str, cpu: &str, priority: i32) -> PodInfo {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns"},
            "spec": {"nodeName": node, "priority": priority,
                     "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}}))
        .unwrap();
        PodInfo::new(&p)
    }

    fn statuses(cache: &Cache, state: &CycleState, p: &PodInfo) -> Vec<(usize, Status)> {
        cache
            .node_slots()
            .values()
            .enumerate()
            .filter_map(|(i, n)| plugins::filter(state, p, n, None).map(|s| (i, s)))
            .collect()
    }

    #[test]
    fn only_the_victims_needed_go_and_the_least_important_node_is_picked() {
        let mut cache = cache_with(&[("n1", "2"), ("n2", "2")]);
        // n1: two low pods (priority 1 and 2); n2: one pod of priority 5 taking everything.
        cache.add_or_update_pod(Arc::new(pod("low1", "n1", "1", 1)));
        cache.add_or_update_pod(Arc::new(pod("low2", "n1", "1", 2)));
        cache.add_or_update_pod(Arc::new(pod("mid", "n2", "2", 5)));
        let high = pod("high", "", "1", 10);
        let state = plugins::pre_filter(&cache, &high);
        let s = statuses(&cache, &state, &high);
        assert_eq!(s.len(), 2);
        let outcome = preempt(&cache, &state, &high, &s, 0);
        assert_eq!(outcome.nominated_node.as_deref(), Some("n1"), "highest victim 2 beats 5");
        let victims: Vec<&str> = outcome.victims.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(victims, ["low1"], "the more important low2 is reprieved");
    }

    #[test]
    fn equal_or_higher_priority_pods_are_never_victims() {
        let mut cache = cache_with(&[("n1", "1")]);
        cache.add_or_update_pod(Arc::new(pod("same", "n1", "1", 10)));
        let p = pod("new", "", "1", 10);
        let state = plugins::pre_filter(&cache, &p);
        let s = statuses(&cache, &state, &p);
        let outcome = preempt(&cache, &state, &p, &s, 0);
        assert!(outcome.nominated_node.is_none());
        assert_eq!(
            outcome.message,
            "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn unresolvable_nodes_are_not_helped_and_never_pods_do_not_preempt() {
        let mut cache = cache_with(&[("n1", "1")]);
        cache.add_or_update_pod(Arc::new(pod("low", "n1", "1", 0)));
        let mut p = pod("new", "", "1", 10);
        p.node_selector = vec![("disk".into(), "ssd".into())];
        let state = plugins::pre_filter(&cache, &p);
        let s = statuses(&cache, &state, &p);
        let outcome = preempt(&cache, &state, &p, &s, 0);
        assert_eq!(outcome.message, "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.");
        let mut never = pod("never", "", "1", 10);
        never.preempt_never = true;
        let s = statuses(&cache, &state, &never);
        assert_eq!(preempt(&cache, &state, &never, &s, 0).message, format!("preemption: {NEVER}"));
    }
}
