//! PodTopologySpread: `topologySpreadConstraints`. A `DoNotSchedule` constraint rejects nodes
//! where placing the pod would make its domain exceed the least-loaded domain by more than
//! `maxSkew` (fewer domains than `minDomains` count the minimum as 0); `ScheduleAnyway`
//! constraints score nodes in emptier domains higher. Only nodes carrying every constraint's
//! topology key and accepted by the pod's node affinity (nodeAffinityPolicy Honor, the default)
//! and, with nodeTaintsPolicy Honor, tolerated taints, form domains.

use std::collections::HashMap;

use super::{node_affinity, taint_toleration};
use crate::cache::Cache;
use crate::framework::{NodeInfo, PodInfo, SpreadConstraint, Status};

pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// Matching pods per domain of each constraint.
pub struct Counts {
    constraints: Vec<SpreadConstraint>,
    per_domain: Vec<HashMap<String, i64>>,
}

fn counts(cache: &Cache, pod: &PodInfo, constraints: Vec<SpreadConstraint>) -> Counts {
    let mut per_domain = vec![HashMap::new(); constraints.len()];
    for node in cache.node_slots().values() {
        if !node.exists || !constraints.iter().all(|c| node.labels.contains_key(&c.topology_key)) {
            continue;
        }
        for (c, domains) in constraints.iter().zip(per_domain.iter_mut()) {
            if c.honor_node_affinity && !node_affinity::matches(pod, node) {
                continue;
            }
            if c.honor_node_taints && taint_toleration::filter(pod, node).is_some() {
                continue;
            }
            let Some(value) = node.labels.get(&c.topology_key) else { continue };
            let matching = node
                .pods
                .iter()
                .filter(|p| !p.deleting && p.namespace == pod.namespace && c.selector.matches(&p.labels))
                .count() as i64;
            *domains.entry(value.clone()).or_default() += matching;
        }
    }
    Counts { constraints, per_domain }
}

/// PreFilter: the counts for the pod's DoNotSchedule constraints (`None` without any).
pub struct FilterState {
    counts: Counts,
    min: Vec<i64>,
}

pub fn pre_filter(cache: &Cache, pod: &PodInfo) -> Option<FilterState> {
    let hard: Vec<SpreadConstraint> = pod.spread_constraints.iter().filter(|c| c.hard).cloned().collect();
    if hard.is_empty() {
        return None;
    }
    let counts = counts(cache, pod, hard);
    let min = counts
        .constraints
        .iter()
        .zip(&counts.per_domain)
        .map(|(c, domains)| {
            if (domains.len() as i64) < i64::from(c.min_domains) {
                0
            } else {
                domains.values().copied().min().unwrap_or(0)
            }
        })
        .collect();
    Some(FilterState { counts, min })
}

pub fn filter(state: &FilterState, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    for ((c, domains), min) in state.counts.constraints.iter().zip(&state.counts.per_domain).zip(&state.min) {
        let Some(value) = node.labels.get(&c.topology_key) else {
            return Some(Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH));
        };
        let self_match = i64::from(c.selector.matches(&pod.labels));
        let skew = domains.get(value).copied().unwrap_or(0) + self_match - min;
        if skew > i64::from(c.max_skew) {
            return Some(Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH));
        }
    }
    None
}

/// Scores for the ScheduleAnyway constraints over the feasible nodes (indices into the
/// cache's node slots), normalised to 0..100 (fewer matching pods in the domain: higher);
/// `None` when the pod has none.
pub fn score(cache: &Cache, pod: &PodInfo, feasible: &[usize], out: &mut [i64]) -> Option<()> {
    let soft: Vec<SpreadConstraint> = pod.spread_constraints.iter().filter(|c| !c.hard).cloned().collect();
    if soft.is_empty() {
        return None;
    }
    let counts = counts(cache, pod, soft);
    let nodes = cache.node_slots();
    // Domains among the feasible nodes weigh each constraint (more domains: more weight).
    let weights: Vec<f64> = counts
        .constraints
        .iter()
        .map(|c| {
            let mut values: Vec<&String> =
                feasible.iter().filter_map(|i| nodes[*i].labels.get(&c.topology_key)).collect();
            values.sort_unstable();
            values.dedup();
            (values.len() as f64 + 2.0).ln()
        })
        .collect();
    let mut ignored = vec![false; feasible.len()];
    for (slot, i) in feasible.iter().enumerate() {
        let node = &nodes[*i];
        let mut total = 0.0;
        for ((c, domains), w) in counts.constraints.iter().zip(&counts.per_domain).zip(&weights) {
            match node.labels.get(&c.topology_key) {
                Some(v) => total += domains.get(v).copied().unwrap_or(0) as f64 * w + f64::from(c.max_skew - 1),
                None => ignored[slot] = true,
            }
        }
        out[slot] = total.round() as i64;
    }
    let considered = || out.iter().zip(&ignored).filter(|(_, ig)| !**ig).map(|(s, _)| *s);
    let min = considered().min().unwrap_or(0);
    let max = considered().max().unwrap_or(0);
    for (s, ig) in out.iter_mut().zip(&ignored) {
        *s = if *ig {
            0
        } else if max == 0 {
            100
        } else {
            100 * (max + min - *s) / max
        };
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::json;
    use std::sync::Arc;

    fn cluster() -> Cache {
        let mut cache = Cache::default();
        for (name, zone) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
            let n: Node = serde_json::from_value(json!({"metadata": {"name": name, "labels": {"zone": zone}},
                "status": {"allocatable": {"cpu": "4", "memory": "4Gi", "pods": "10"}}}))
            .unwrap();
            cache.add_or_update_node(&n);
        }
        cache
    }

    fn pod(name: &str, node: &str, when: &str, min_domains: Option<i32>) -> PodInfo {
        let p: Pod =
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}},
            "spec": {"nodeName": node, "containers": [], "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": when, "minDomains": min_domains,
                 "labelSelector": {"matchLabels": {"app": "web"}}}]}}))
            .unwrap();
        PodInfo::new(&p)
    }

    #[test]
    fn do_not_schedule_keeps_the_skew_within_max_skew() {
        let mut cache = cluster();
        cache.add_or_update_pod(Arc::new(pod("p1", "a1", "DoNotSchedule", None)));
        let incoming = pod("new", "", "DoNotSchedule", None);
        let state = pre_filter(&cache, &incoming).unwrap();
        let node = |n: &str| cache.node(n).unwrap();
        // zone a has 1, zone b 0: another in a makes skew 2.
        assert_eq!(filter(&state, &incoming, node("a2")).unwrap().reasons, [ERR_REASON_CONSTRAINTS_NOT_MATCH]);
        assert!(filter(&state, &incoming, node("b1")).is_none());
        let unlabeled = NodeInfo { exists: true, name: "x".into(), ..NodeInfo::default() };
        assert_eq!(filter(&state, &incoming, &unlabeled).unwrap().reasons, [ERR_REASON_NODE_LABEL_NOT_MATCH]);
    }

    #[test]
    fn min_domains_counts_missing_domains_as_empty() {
        let mut cache = cluster();
        cache.add_or_update_pod(Arc::new(pod("p1", "a1", "DoNotSchedule", None)));
        cache.add_or_update_pod(Arc::new(pod("p2", "b1", "DoNotSchedule", None)));
        let incoming = pod("new", "", "DoNotSchedule", Some(3));
        let state = pre_filter(&cache, &incoming).unwrap();
        // Two domains < minDomains 3: the minimum is 0, so 1 + 1 − 0 = 2 > 1 everywhere.
        assert!(filter(&state, &incoming, cache.node("a2").unwrap()).is_some());
        assert!(filter(&state, &incoming, cache.node("b1").unwrap()).is_some());
    }

    #[test]
    fn schedule_anyway_scores_emptier_domains_higher() {
        let mut cache = cluster();
        cache.add_or_update_pod(Arc::new(pod("p1", "a1", "ScheduleAnyway", None)));
        let incoming = pod("new", "", "ScheduleAnyway", None);
        let feasible: Vec<usize> = ["a1", "a2", "b1"].iter().map(|n| cache.node_index(n).unwrap()).collect();
        let mut out = vec![0; 3];
        score(&cache, &incoming, &feasible, &mut out).unwrap();
        assert!(out[2] > out[0] && out[0] == out[1], "{out:?}");
        assert_eq!(out[2], 100);
    }
}
