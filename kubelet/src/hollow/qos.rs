//! A pod's quality-of-service class (`status.qosClass`), computed as upstream's
//! `GetPodQOS` does from the cpu and memory requests and limits of all its containers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The resources QoS looks at (upstream's `supportedQoSComputeResources`).
const COMPUTE: [&str; 2] = ["cpu", "memory"];

/// `Guaranteed`, `Burstable` or `BestEffort`.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
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

/// A container's non-zero cpu/memory requests and limits in nano-units. A limit without a
/// request counts as the request too: upstream's defaulting copies it before QoS is computed,
/// and objects written by other clients may not have been defaulted that way.
fn compute_resources(container: &Container) -> (BTreeMap<&'static str, i128>, BTreeMap<&'static str, i128>) {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    let resources = container.resources.as_ref();
    for name in COMPUTE {
        let limit = resources.and_then(|r| r.limits.as_ref()).and_then(|l| l.get(name)).and_then(nano_value);
        let request =
            resources.and_then(|r| r.requests.as_ref()).and_then(|r| r.get(name)).and_then(nano_value).or(limit);
        if let Some(v) = request.filter(|v| *v != 0) {
            requests.insert(name, v);
        }
        if let Some(v) = limit.filter(|v| *v != 0) {
            limits.insert(name, v);
        }
    }
    (requests, limits)
}

fn nano_value(q: &Quantity) -> Option<i128> {
    parse_quantity(&q.0)
}

/// A resource quantity (`500m`, `1.5Gi`, `2e3`, `128974848`) in billionths of its unit, so that
/// quantities written differently compare equal (`0.5` = `500m`). `None` if it does not parse.
pub fn parse_quantity(text: &str) -> Option<i128> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    // (multiplier numerator as a power of 2 or 10, exponent of ten of the scale)
    let (binary, decimal): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        s if s.starts_with(['e', 'E']) => (0, s[1..].parse().ok()?),
        _ => return None,
    };
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    // The digits as one integer, scaled by 10^-fraction.len().
    let mut mantissa: i128 = 0;
    for c in whole.chars().chain(fraction.chars()) {
        mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
    }
    mantissa = mantissa.checked_mul(1i128 << binary)?;
    let exponent = decimal + 9 - i32::try_from(fraction.len()).ok()?;
    let value = if exponent >= 0 {
        mantissa.checked_mul(10i128.checked_pow(exponent.unsigned_abs())?)?
    } else {
        // Below a nano-unit: rounded up, as upstream rounds quantities it cannot represent.
        let divisor = 10i128.checked_pow(exponent.unsigned_abs())?;
        (mantissa + divisor - 1) / divisor
    };
    Some(if negative { -value } else { value })
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
        assert_eq!(parse_quantity("500m"), parse_quantity("0.5"));
        assert_eq!(parse_quantity("1Gi"), parse_quantity("1073741824"));
        assert_eq!(parse_quantity("1k"), parse_quantity("1e3"));
        assert_eq!(parse_quantity("1.5Gi"), Some(1_610_612_736 * 1_000_000_000));
        assert_eq!(parse_quantity("1n"), Some(1));
        assert_eq!(parse_quantity("0"), Some(0));
        assert_eq!(parse_quantity("-2"), Some(-2_000_000_000));
        assert_eq!(parse_quantity("12Q"), None);
        assert_eq!(parse_quantity("."), None);
        assert_eq!(parse_quantity(""), None);
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
