//! A pod's quality-of-service class (`status.qosClass`), computed as upstream's
//! `GetPodQOS` does from the cpu and memory requests and limits of all its containers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The resources QoS looks at (upstream's `supportedQoSComputeResources`).
const COMPUTE: [&str; 2] = ["cpu", "memory"];

/// `Guaranteed`, `Burstable` or `BestEffort`.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, i64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i64> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = spec.containers.iter().chain(spec.init_containers.iter().flatten());
    for container in containers {
        let (container_requests, container_limits) = compute_resources(container);
        for (name, value) in &container_requests {
            *requests.entry(name).or_default() += value;
        }
        for (name, value) in &container_limits {
            *limits.entry(name).or_default() += value;
        }
        // Guaranteed needs a limit on every compute resource in every container.
        if COMPUTE.iter().any(|r| !container_limits.contains_key(r)) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests == limits {
        return "Guaranteed";
    }
    "Burstable"
}

/// A container's non-zero cpu/memory requests and limits in thousandths. A limit without a
/// request counts as the request too: upstream's defaulting copies it before QoS is computed,
/// and objects written by other clients may not have been defaulted that way.
fn compute_resources(container: &Container) -> (BTreeMap<&'static str, i64>, BTreeMap<&'static str, i64>) {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    let resources = container.resources.as_ref();
    for name in COMPUTE {
        let limit = resources.and_then(|r| r.limits.as_ref()).and_then(|l| l.get(name)).and_then(milli_value);
        let request =
            resources.and_then(|r| r.requests.as_ref()).and_then(|r| r.get(name)).and_then(milli_value).or(limit);
        if let Some(v) = request.filter(|v| *v != 0) {
            requests.insert(name, v);
        }
        if let Some(v) = limit.filter(|v| *v != 0) {
            limits.insert(name, v);
        }
    }
    (requests, limits)
}

/// In thousandths: quantities written differently compare equal (`0.5` = `500m`).
fn milli_value(q: &Quantity) -> Option<i64> {
    apimachinery::quantity::parse_milli(&q.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;

    fn container(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Container {
        let list = |pairs: &[(&str, &str)]| {
            (!pairs.is_empty()).then(|| {
                pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect::<BTreeMap<_, _>>()
            })
        };
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: list(requests),
                limits: list(limits),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn spec(containers: Vec<Container>) -> PodSpec {
        PodSpec { containers, ..Default::default() }
    }

    #[test]
    fn quantities_compare_by_value() {
        let q = |s: &str| milli_value(&Quantity(s.into()));
        assert_eq!(q("500m"), q("0.5"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("12Q"), None);
    }

    #[test]
    fn no_resources_is_best_effort() {
        assert_eq!(qos_class(&spec(vec![container(&[], &[])])), "BestEffort");
        // Zero requests do not count, nor do resources QoS ignores.
        let c = container(&[("cpu", "0"), ("ephemeral-storage", "1Gi")], &[]);
        assert_eq!(qos_class(&spec(vec![c])), "BestEffort");
    }

    #[test]
    fn equal_requests_and_limits_everywhere_is_guaranteed() {
        let g = container(&[("cpu", "500m"), ("memory", "1Gi")], &[("cpu", "0.5"), ("memory", "1073741824")]);
        assert_eq!(qos_class(&spec(vec![g.clone()])), "Guaranteed");
        // Limits alone: the requests default to them.
        let limits_only = container(&[], &[("cpu", "1"), ("memory", "1Gi")]);
        assert_eq!(qos_class(&spec(vec![g.clone(), limits_only])), "Guaranteed");
    }

    #[test]
    fn anything_else_is_burstable() {
        let g = container(&[("cpu", "1"), ("memory", "1Gi")], &[("cpu", "1"), ("memory", "1Gi")]);
        let requests_only = container(&[("cpu", "100m")], &[]);
        assert_eq!(qos_class(&spec(vec![requests_only.clone()])), "Burstable");
        assert_eq!(qos_class(&spec(vec![g.clone(), requests_only])), "Burstable");
        let cpu_limit_only = container(&[], &[("cpu", "1")]);
        assert_eq!(qos_class(&spec(vec![cpu_limit_only])), "Burstable");
        let lower_request = container(&[("cpu", "500m"), ("memory", "1Gi")], &[("cpu", "1"), ("memory", "1Gi")]);
        assert_eq!(qos_class(&spec(vec![lower_request])), "Burstable");
        // Init containers count too.
        let mut with_init = spec(vec![g]);
        with_init.init_containers = Some(vec![container(&[("memory", "10Mi")], &[])]);
        assert_eq!(qos_class(&with_init), "Burstable");
    }
}
