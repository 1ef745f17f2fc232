//! InterPodAffinity: required pod affinity (the node's topology domain must hold a pod the
//! terms select — or none exists anywhere and the pod selects itself), required anti-affinity
//! (no selected pod in the domain), and existing pods' anti-affinity against the incoming pod;
//! preferred terms (both ways) and existing pods' required affinity (weight 1) score domains.

use std::collections::HashMap;

use crate::cache::Cache;
use crate::framework::{NodeInfo, PodInfo, Status};

pub const ERR_REASON_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
pub const ERR_REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const ERR_REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// upstream's hardPodAffinityWeight default.
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

type TopologyCounts = HashMap<(String, String), i64>;

#[derive(Default)]
pub struct FilterState {
    existing_anti_affinity: TopologyCounts,
    affinity: TopologyCounts,
    anti_affinity: TopologyCounts,
    matches_own_affinity: bool,
}

fn add(counts: &mut TopologyCounts, node: &NodeInfo, key: &str, by: i64) {
    if let Some(v) = node.labels.get(key) {
        *counts.entry((key.to_string(), v.clone())).or_default() += by;
    }
}

/// PreFilter: `None` when neither the pod nor any existing pod has required terms.
pub fn pre_filter(cache: &Cache, pod: &PodInfo) -> Option<FilterState> {
    let own = !pod.required_affinity.is_empty() || !pod.required_anti_affinity.is_empty();
    if !own && !cache.has_pods_with_required_anti_affinity() {
        return None;
    }
    let mut state = FilterState::default();
    let pod_ns_labels = cache.namespace_labels(&pod.namespace);
    for node in cache.node_slots().values().filter(|n| n.exists) {
        if node.pods_with_required_anti_affinity > 0 {
            for existing in node.pods.iter().filter(|p| !p.required_anti_affinity.is_empty()) {
                for term in &existing.required_anti_affinity {
                    if term.matches(pod, pod_ns_labels) {
                        add(&mut state.existing_anti_affinity, node, &term.topology_key, 1);
                    }
                }
            }
        }
        if !own {
            continue;
        }
        for existing in node.pods.iter() {
            let ns_labels = cache.namespace_labels(&existing.namespace);
            if !pod.required_affinity.is_empty() && pod.required_affinity.iter().all(|t| t.matches(existing, ns_labels))
            {
                for term in &pod.required_affinity {
                    add(&mut state.affinity, node, &term.topology_key, 1);
                }
            }
            for term in &pod.required_anti_affinity {
                if term.matches(existing, ns_labels) {
                    add(&mut state.anti_affinity, node, &term.topology_key, 1);
                }
            }
        }
    }
    state.matches_own_affinity = pod.required_affinity.iter().all(|t| t.matches(pod, pod_ns_labels));
    Some(state)
}

fn count(counts: &TopologyCounts, node: &NodeInfo, key: &str) -> i64 {
    // Lookups without allocating: the map is small, scan it.
    let Some(value) = node.labels.get(key) else { return 0 };
    counts.iter().filter(|((k, v), _)| k == key && v == value).map(|(_, c)| *c).sum()
}

pub fn filter(state: &FilterState, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    if !pod.required_affinity.is_empty() {
        let satisfied = pod.required_affinity.iter().all(|t| count(&state.affinity, node, &t.topology_key) > 0);
        // The first pod of a group that selects itself may go anywhere its keys exist.
        let first_of_group = state.affinity.is_empty()
            && state.matches_own_affinity
            && pod.required_affinity.iter().all(|t| node.labels.contains_key(&t.topology_key));
        if !satisfied && !first_of_group {
            return Some(Status::unresolvable(ERR_REASON_AFFINITY));
        }
    }
    if pod.required_anti_affinity.iter().any(|t| count(&state.anti_affinity, node, &t.topology_key) > 0) {
        return Some(Status::unschedulable(ERR_REASON_ANTI_AFFINITY));
    }
    let existing = state
        .existing_anti_affinity
        .iter()
        .any(|((k, v), c)| *c > 0 && node.labels.get(k).is_some_and(|have| have == v));
    existing.then(|| Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY))
}

/// Preferred (anti-)affinity both ways, normalised to 0..100 over the feasible nodes;
/// `None` when nothing in the cluster expresses any.
pub fn score(cache: &Cache, pod: &PodInfo, feasible: &[usize], out: &mut [i64]) -> Option<()> {
    let own = !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
    if !own && !cache.has_pods_with_affinity() {
        return None;
    }
    let mut scores = TopologyCounts::new();
    let pod_ns_labels = cache.namespace_labels(&pod.namespace);
    for node in cache.node_slots().values().filter(|n| n.exists && (own || n.pods_with_affinity > 0)) {
        for existing in &node.pods {
            let ns_labels = cache.namespace_labels(&existing.namespace);
            for (w, term) in &pod.preferred_affinity {
                if term.matches(existing, ns_labels) {
                    add(&mut scores, node, &term.topology_key, i64::from(*w));
                }
            }
            for (w, term) in &pod.preferred_anti_affinity {
                if term.matches(existing, ns_labels) {
                    add(&mut scores, node, &term.topology_key, -i64::from(*w));
                }
            }
            if !existing.has_affinity() {
                continue;
            }
            for term in &existing.required_affinity {
                if term.matches(pod, pod_ns_labels) {
                    add(&mut scores, node, &term.topology_key, HARD_POD_AFFINITY_WEIGHT);
                }
            }
            for (w, term) in &existing.preferred_affinity {
                if term.matches(pod, pod_ns_labels) {
                    add(&mut scores, node, &term.topology_key, i64::from(*w));
                }
            }
            for (w, term) in &existing.preferred_anti_affinity {
                if term.matches(pod, pod_ns_labels) {
                    add(&mut scores, node, &term.topology_key, -i64::from(*w));
                }
            }
        }
    }
    let nodes = cache.node_slots();
    for (slot, i) in feasible.iter().enumerate() {
        let node = &nodes[*i];
        out[slot] =
            scores.iter().filter(|((k, v), _)| node.labels.get(k).is_some_and(|have| have == v)).map(|(_, s)| *s).sum();
    }
    let min = out.iter().copied().min().unwrap_or(0);
    let max = out.iter().copied().max().unwrap_or(0);
    for s in out.iter_mut() {
        *s = if max > min { 100 * (*s - min) / (max - min) } else { 0 };
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
        for (name, zone) in [("a1", "a"), ("b1", "b")] {
            let n: Node = serde_json::from_value(
                json!({"metadata": {"name": name, "labels": {"zone": zone, "kubernetes.io/hostname": name}},
                "status": {"allocatable": {"cpu": "4", "memory": "4Gi", "pods": "10"}}}),
            )
            .unwrap();
            cache.add_or_update_node(&n);
        }
        cache
    }

    fn pod(name: &str, node: &str, labels: serde_json::Value, affinity: serde_json::Value) -> PodInfo {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "labels": labels},
            "spec": {"nodeName": node, "containers": [], "affinity": affinity}}))
        .unwrap();
        PodInfo::new(&p)
    }

    fn term(app: &str) -> serde_json::Value {
        json!([{"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "zone"}])
    }

    #[test]
    fn affinity_requires_a_selected_pod_in_the_domain_unless_first_of_its_group() {
        let mut cache = cluster();
        let incoming = pod(
            "web",
            "",
            json!({"app": "web"}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("db")}}),
        );
        let state = pre_filter(&cache, &incoming).unwrap();
        assert_eq!(filter(&state, &incoming, cache.node("a1").unwrap()).unwrap().reasons, [ERR_REASON_AFFINITY]);
        cache.add_or_update_pod(Arc::new(pod("db", "b1", json!({"app": "db"}), json!({}))));
        let state = pre_filter(&cache, &incoming).unwrap();
        assert!(filter(&state, &incoming, cache.node("a1").unwrap()).is_some());
        assert!(filter(&state, &incoming, cache.node("b1").unwrap()).is_none());
        // A pod selecting itself may start the group anywhere.
        let selfish = pod(
            "w",
            "",
            json!({"app": "w"}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("w")}}),
        );
        let state = pre_filter(&cache, &selfish).unwrap();
        assert!(filter(&state, &selfish, cache.node("a1").unwrap()).is_none());
    }

    #[test]
    fn anti_affinity_works_both_ways() {
        let mut cache = cluster();
        cache.add_or_update_pod(Arc::new(pod(
            "lonely",
            "a1",
            json!({"app": "lonely"}),
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("web")}}),
        )));
        let web = pod("web", "", json!({"app": "web"}), json!({}));
        let state = pre_filter(&cache, &web).unwrap();
        assert_eq!(
            filter(&state, &web, cache.node("a1").unwrap()).unwrap().reasons,
            [ERR_REASON_EXISTING_ANTI_AFFINITY]
        );
        assert!(filter(&state, &web, cache.node("b1").unwrap()).is_none());
        let avoider = pod(
            "x",
            "",
            json!({}),
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("lonely")}}),
        );
        let state = pre_filter(&cache, &avoider).unwrap();
        assert_eq!(filter(&state, &avoider, cache.node("a1").unwrap()).unwrap().reasons, [ERR_REASON_ANTI_AFFINITY]);
    }

    #[test]
    fn preferred_affinity_scores_the_domain_with_selected_pods() {
        let mut cache = cluster();
        cache.add_or_update_pod(Arc::new(pod("db", "b1", json!({"app": "db"}), json!({}))));
        let incoming = pod(
            "web",
            "",
            json!({}),
            json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}}]}}),
        );
        let feasible = [cache.node_index("a1").unwrap(), cache.node_index("b1").unwrap()];
        let mut out = [0; 2];
        score(&cache, &incoming, &feasible, &mut out).unwrap();
        assert_eq!(out, [0, 100]);
    }
}
