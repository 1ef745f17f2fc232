//! NodeResourcesFit (the pod's requests must fit in what the node's allocatable leaves; at most
//! `pods` pods) with its LeastAllocated (default) or MostAllocated score, and
//! NodeResourcesBalancedAllocation (nodes whose CPU and memory use stay in proportion score
//! higher). Scores are over CPU and memory, weight 1 each, as upstream's defaults.

use std::borrow::Cow;

use crate::framework::{NodeInfo, PodInfo, Resource, Status};

pub const TOO_MANY_PODS: &str = "Too many pods";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScoringStrategy {
    #[default]
    LeastAllocated,
    MostAllocated,
}

/// `extra`: resources and pod count of higher-priority pods nominated to this node.
pub fn fit_filter(pod: &PodInfo, node: &NodeInfo, extra: Option<&(Resource, i64)>) -> Option<Status> {
    let (extra_res, extra_pods) = match extra {
        Some((r, n)) => (Some(r), *n),
        None => (None, 0),
    };
    let mut reasons: Vec<Cow<'static, str>> = Vec::new();
    if node.pods.len() as i64 + extra_pods + 1 > node.allocatable.allowed_pod_number {
        reasons.push(TOO_MANY_PODS.into());
    }
    let want = &pod.requests;
    if want.is_zero() {
        return (!reasons.is_empty()).then_some(Status { code: crate::framework::Code::Unschedulable, reasons });
    }
    let used = |f: fn(&Resource) -> i64| f(&node.requested) + extra_res.map_or(0, f);
    let alloc = &node.allocatable;
    if want.milli_cpu > 0 && want.milli_cpu > alloc.milli_cpu - used(|r| r.milli_cpu) {
        reasons.push("Insufficient cpu".into());
    }
    if want.memory > 0 && want.memory > alloc.memory - used(|r| r.memory) {
        reasons.push("Insufficient memory".into());
    }
    if want.ephemeral_storage > 0 && want.ephemeral_storage > alloc.ephemeral_storage - used(|r| r.ephemeral_storage) {
        reasons.push("Insufficient ephemeral-storage".into());
    }
    for (name, v) in &want.scalar {
        let in_use = node.requested.scalar(name) + extra_res.map_or(0, |r| r.scalar(name));
        if *v > 0 && *v > alloc.scalar(name) - in_use {
            reasons.push(format!("Insufficient {name}").into());
        }
    }
    (!reasons.is_empty()).then_some(Status { code: crate::framework::Code::Unschedulable, reasons })
}

fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity { 0 } else { (capacity - requested) * 100 / capacity }
}

fn most_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 { 0 } else { requested.min(capacity) * 100 / capacity }
}

/// NodeResourcesFit's score, from the node's and the pod's non-zero requests.
pub fn fit_score(strategy: ScoringStrategy, pod: &PodInfo, node: &NodeInfo) -> i64 {
    let cpu = node.non_zero_cpu + pod.non_zero_cpu;
    let memory = node.non_zero_memory + pod.non_zero_memory;
    let f = match strategy {
        ScoringStrategy::LeastAllocated => least_requested,
        ScoringStrategy::MostAllocated => most_requested,
    };
    (f(cpu, node.allocatable.milli_cpu) + f(memory, node.allocatable.memory)) / 2
}

/// NodeResourcesBalancedAllocation: 100 × (1 − the standard deviation of the CPU and memory
/// fractions the node would have in use).
pub fn balanced_allocation_score(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let fraction =
        |requested: i64, allocatable: i64| (allocatable > 0).then(|| (requested as f64 / allocatable as f64).min(1.0));
    let cpu = fraction(node.requested.milli_cpu + pod.requests.milli_cpu, node.allocatable.milli_cpu);
    let memory = fraction(node.requested.memory + pod.requests.memory, node.allocatable.memory);
    let std = match (cpu, memory) {
        (Some(a), Some(b)) => ((a - b) / 2.0).abs(),
        _ => 0.0,
    };
    ((1.0 - std) * 100.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::quantity::parse_value;

    fn node(cpu: i64, memory: &str, pods: i64) -> NodeInfo {
        NodeInfo {
            allocatable: Resource {
                milli_cpu: cpu,
                memory: parse_value(memory).unwrap(),
                allowed_pod_number: pods,
                ..Resource::default()
            },
            ..NodeInfo::default()
        }
    }

    fn pod(cpu: i64, memory: &str) -> PodInfo {
        let memory = parse_value(memory).unwrap();
        PodInfo {
            requests: Resource { milli_cpu: cpu, memory, ..Resource::default() },
            non_zero_cpu: if cpu == 0 { 100 } else { cpu },
            non_zero_memory: if memory == 0 { 200 << 20 } else { memory },
            ..PodInfo::default()
        }
    }

    #[test]
    fn fit_names_every_insufficient_resource_and_the_pod_count() {
        let mut n = node(1000, "1Gi", 1);
        n.add_pod(std::sync::Arc::new(pod(500, "512Mi")));
        let s = fit_filter(&pod(600, "600Mi"), &n, None).unwrap();
        assert_eq!(s.reasons, ["Too many pods", "Insufficient cpu", "Insufficient memory"]);
        let n = node(1000, "1Gi", 10);
        assert!(fit_filter(&pod(1000, "1Gi"), &n, None).is_none(), "exactly full fits");
        let mut gpu = pod(0, "0");
        gpu.requests.scalar = vec![("example.com/gpu".into(), 1)];
        assert_eq!(fit_filter(&gpu, &n, None).unwrap().reasons, ["Insufficient example.com/gpu"]);
        let nominated = (Resource { milli_cpu: 500, ..Resource::default() }, 1);
        assert!(fit_filter(&pod(600, "1Mi"), &n, Some(&nominated)).is_some(), "nominated pods hold their share");
    }

    #[test]
    fn least_allocated_prefers_emptier_nodes_and_most_allocated_fuller_ones() {
        let empty = node(4000, "8Gi", 110);
        let mut half = node(4000, "8Gi", 110);
        half.add_pod(std::sync::Arc::new(pod(2000, "4Gi")));
        let p = pod(0, "0");
        // The pod counts as 100m / 200Mi: (3900/4000 → 97, 7992/8192 → 97).
        assert_eq!(fit_score(ScoringStrategy::LeastAllocated, &p, &empty), 97);
        assert_eq!(fit_score(ScoringStrategy::LeastAllocated, &p, &half), 47);
        assert_eq!(fit_score(ScoringStrategy::MostAllocated, &p, &half), 52);
    }

    #[test]
    fn balanced_allocation_penalises_lopsided_use() {
        let n = node(4000, "8Gi", 110);
        assert_eq!(balanced_allocation_score(&pod(2000, "4Gi"), &n), 100);
        // cpu 1.0, memory 0.0: std 0.5.
        assert_eq!(balanced_allocation_score(&pod(4000, "0"), &n), 50);
    }
}
