//! The default profile's plugins, in upstream's order and with its weights. Filters run per
//! node and stop at the first plugin that rejects it (as upstream's framework does); scores run
//! over the feasible nodes, are normalised to 0..100 per plugin and summed by weight.

pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;

use crate::cache::Cache;
use crate::framework::{NodeInfo, PodInfo, Resource, Status};
pub use node_resources::ScoringStrategy;

/// upstream's default score weights (`getDefaultPlugins`).
pub mod weights {
    pub const TAINT_TOLERATION: i64 = 3;
    pub const NODE_AFFINITY: i64 = 2;
    pub const NODE_RESOURCES_FIT: i64 = 1;
    pub const POD_TOPOLOGY_SPREAD: i64 = 2;
    pub const INTER_POD_AFFINITY: i64 = 2;
    pub const NODE_RESOURCES_BALANCED_ALLOCATION: i64 = 1;
    pub const IMAGE_LOCALITY: i64 = 1;
}

/// What PreFilter computed for one pod's cycle.
#[derive(Default)]
pub struct CycleState {
    pub spread: Option<pod_topology_spread::FilterState>,
    pub affinity: Option<inter_pod_affinity::FilterState>,
}

pub fn pre_filter(cache: &Cache, pod: &PodInfo) -> CycleState {
    CycleState {
        spread: pod_topology_spread::pre_filter(cache, pod),
        affinity: inter_pod_affinity::pre_filter(cache, pod),
    }
}

/// Every filter in upstream's order; `nominated`: what higher-priority pods nominated to this
/// node will take.
pub fn filter(
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    nominated: Option<&(Resource, i64)>,
) -> Option<Status> {
    node_unschedulable::filter(pod, node)
        .or_else(|| node_name::filter(pod, node))
        .or_else(|| taint_toleration::filter(pod, node))
        .or_else(|| node_affinity::filter(pod, node))
        .or_else(|| node_ports::filter(pod, node))
        .or_else(|| node_resources::fit_filter(pod, node, nominated))
        .or_else(|| state.spread.as_ref().and_then(|s| pod_topology_spread::filter(s, pod, node)))
        .or_else(|| state.affinity.as_ref().and_then(|s| inter_pod_affinity::filter(s, pod, node)))
}

/// Upstream's `DefaultNormalizeScore`: scaled so the highest is 100 (`reverse`: lowest is 100).
fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = 100);
        }
        return;
    }
    for s in scores.iter_mut() {
        *s = 100 * *s / max;
        if reverse {
            *s = 100 - *s;
        }
    }
}

/// Weighted total scores of the `feasible` nodes (indices into the cache's node slots) into
/// `totals`; `scratch` is reused between cycles. Plugins whose score would be the same on every
/// node (no preferences, no PreferNoSchedule taints, no known images) are skipped: a constant
/// does not change the choice.
pub fn score(
    cache: &Cache,
    strategy: ScoringStrategy,
    pod: &PodInfo,
    feasible: &[usize],
    totals: &mut Vec<i64>,
    scratch: &mut Vec<i64>,
) {
    let nodes = cache.node_slots();
    totals.clear();
    totals.extend(feasible.iter().map(|i| {
        let node = &nodes[*i];
        weights::NODE_RESOURCES_FIT * node_resources::fit_score(strategy, pod, node)
            + weights::NODE_RESOURCES_BALANCED_ALLOCATION * node_resources::balanced_allocation_score(pod, node)
    }));
    let add = |totals: &mut Vec<i64>, scratch: &[i64], weight: i64| {
        totals.iter_mut().zip(scratch).for_each(|(t, s)| *t += weight * s);
    };
    scratch.clear();
    scratch.resize(feasible.len(), 0);
    if cache.has_prefer_no_schedule_taints() {
        for (s, i) in scratch.iter_mut().zip(feasible) {
            *s = taint_toleration::score(pod, &nodes[*i]);
        }
        default_normalize(scratch, true);
        add(totals, scratch, weights::TAINT_TOLERATION);
    }
    if !pod.preferred_node_terms.is_empty() {
        for (s, i) in scratch.iter_mut().zip(feasible) {
            *s = node_affinity::score(pod, &nodes[*i]);
        }
        default_normalize(scratch, false);
        add(totals, scratch, weights::NODE_AFFINITY);
    }
    if pod_topology_spread::score(cache, pod, feasible, scratch).is_some() {
        add(totals, scratch, weights::POD_TOPOLOGY_SPREAD);
    }
    if inter_pod_affinity::score(cache, pod, feasible, scratch).is_some() {
        add(totals, scratch, weights::INTER_POD_AFFINITY);
    }
    if cache.has_images() && !pod.images.is_empty() {
        for (s, i) in scratch.iter_mut().zip(feasible) {
            *s = image_locality::score(cache, pod, &nodes[*i]);
        }
        add(totals, scratch, weights::IMAGE_LOCALITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_scales_to_100_and_reverses() {
        let mut s = [0, 2, 4];
        default_normalize(&mut s, false);
        assert_eq!(s, [0, 50, 100]);
        let mut s = [0, 1, 2];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 50, 0]);
        let mut s = [0, 0];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 100]);
    }
}
