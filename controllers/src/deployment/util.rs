//! Deployment facts shared by the rollout strategies (upstream's deploymentutil): the
//! pod-template-hash, revisions and the annotations that carry them, and maxSurge /
//! maxUnavailable resolved against the replica count.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The characters upstream's safe encoding uses (no vowels, no look-alikes).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The label value that tells a template's ReplicaSet apart: a 32-bit FNV-1a hash of the
/// template (and the collision count, bumped when a hash is taken), safely encoded.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(template).unwrap_or_default();
    if let Some(n) = collision_count {
        bytes.extend_from_slice(&n.to_le_bytes());
    }
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string().bytes().map(|c| SAFE[usize::from(c) % SAFE.len()] as char).collect()
}

/// Whether two templates are the same but for the pod-template-hash label.
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_TEMPLATE_HASH);
            if labels.is_empty()
                && let Some(m) = t.metadata.as_mut()
            {
                m.labels = None;
            }
        }
        t
    };
    strip(a) == strip(b)
}

pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.annotations().get(REVISION).and_then(|r| r.parse().ok()).unwrap_or(0)
}

pub fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

pub fn status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

pub fn available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0)
}

pub fn desired(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// The deployment's annotations a ReplicaSet inherits (not the ones that describe the
/// rollout itself, nor kubectl's last-applied copy).
pub fn inherited_annotations(d: &Deployment) -> BTreeMap<String, String> {
    d.annotations()
        .iter()
        .filter(|(k, _)| {
            ![LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn resolve(value: Option<&IntOrString>, default_percent: i32, total: i32, round_up: bool) -> i32 {
    match value {
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => {
            let percent = s.trim_end_matches('%').parse::<i64>().unwrap_or(default_percent.into());
            let scaled = percent * i64::from(total);
            (if round_up { (scaled + 99) / 100 } else { scaled / 100 }) as i32
        }
        None => {
            let scaled = i64::from(default_percent) * i64::from(total);
            (if round_up { (scaled + 99) / 100 } else { scaled / 100 }) as i32
        }
    }
}

/// maxSurge (rounded up) and maxUnavailable (rounded down) for a rolling update; both zero
/// would stall the rollout, so unavailability is then one pod.
pub fn surge_and_unavailable(d: &Deployment) -> (i32, i32) {
    let spec = d.spec.as_ref();
    let rolling = spec.and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let desired = desired(d);
    let surge = resolve(rolling.and_then(|r| r.max_surge.as_ref()), 25, desired, true).max(0);
    let unavailable = resolve(rolling.and_then(|r| r.max_unavailable.as_ref()), 25, desired, false).max(0);
    match (surge, unavailable) {
        (0, 0) => (0, 1),
        (s, u) => (s, u.min(desired)),
    }
}

/// maxUnavailable as the Available condition uses it (zero for Recreate).
pub fn max_unavailable(d: &Deployment) -> i32 {
    let recreate =
        d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref()) == Some("Recreate");
    if recreate || desired(d) == 0 { 0 } else { surge_and_unavailable(d).1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn deployment(replicas: i32, surge: Option<IntOrString>, unavailable: Option<IntOrString>) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment { max_surge: surge, max_unavailable: unavailable }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn surge_rounds_up_and_unavailability_down() {
        assert_eq!(surge_and_unavailable(&deployment(10, None, None)), (3, 2));
        assert_eq!(surge_and_unavailable(&deployment(6, None, None)), (2, 1));
        let pct = |s: &str| Some(IntOrString::String(s.into()));
        assert_eq!(surge_and_unavailable(&deployment(3, pct("0%"), pct("10%"))), (0, 1), "never both zero");
        assert_eq!(surge_and_unavailable(&deployment(4, Some(IntOrString::Int(2)), Some(IntOrString::Int(0)))), (2, 0));
    }

    #[test]
    fn hash_depends_on_template_and_collisions_only() {
        let mut t = PodTemplateSpec { metadata: Some(ObjectMeta::default()), spec: None };
        let h = template_hash(&t, None);
        assert_eq!(h, template_hash(&t.clone(), None));
        assert!(h.bytes().all(|c| SAFE.contains(&c)), "{h}");
        assert_ne!(h, template_hash(&t, Some(1)));
        t.metadata = Some(ObjectMeta { labels: Some([("app".into(), "x".into())].into()), ..Default::default() });
        assert_ne!(h, template_hash(&t, None));
        let mut hashed = t.clone();
        hashed.metadata.as_mut().and_then(|m| m.labels.as_mut()).map(|l| l.insert(POD_TEMPLATE_HASH.into(), h.clone()));
        assert!(equal_ignoring_hash(&t, &hashed));
    }
}
