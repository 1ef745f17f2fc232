//! TaintToleration: a node's NoSchedule and NoExecute taints keep off pods that do not
//! tolerate them (filter); untolerated PreferNoSchedule taints lower the node's score.

use k8s_openapi::api::core::v1::{Taint, Toleration};

use crate::framework::{NodeInfo, PodInfo, Status};

/// Upstream's `Toleration.ToleratesTaint`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let operator = toleration.operator.as_deref().unwrap_or("Equal");
    let key = toleration.key.as_deref().unwrap_or("");
    if key != taint.key && !(key.is_empty() && operator == "Exists") {
        return false;
    }
    match operator {
        "Exists" => true,
        "Equal" | "" => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let untolerated = node.taints.iter().find(|taint| {
        matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !pod.tolerations.iter().any(|t| tolerates(t, taint))
    })?;
    Some(Status::unresolvable(format!(
        "node(s) had untolerated taint {{{}: {}}}",
        untolerated.key,
        untolerated.value.as_deref().unwrap_or("")
    )))
}

/// The number of PreferNoSchedule taints the pod does not tolerate (fewer is better).
pub fn score(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let tolerations =
        pod.tolerations.iter().filter(|t| matches!(t.effect.as_deref(), None | Some("") | Some("PreferNoSchedule")));
    let count = node
        .taints
        .iter()
        .filter(|taint| taint.effect == "PreferNoSchedule" && !tolerations.clone().any(|t| tolerates(t, taint)))
        .count();
    count as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint { key: key.into(), value: Some(value.into()), effect: effect.into(), ..Taint::default() }
    }

    fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: (!key.is_empty()).then(|| key.into()),
            operator: Some(op.into()),
            value: (!value.is_empty()).then(|| value.into()),
            effect: (!effect.is_empty()).then(|| effect.into()),
            ..Toleration::default()
        }
    }

    #[test]
    fn tolerations_match_like_upstream() {
        let t = taint("dedicated", "gpu", "NoSchedule");
        assert!(tolerates(&toleration("dedicated", "Equal", "gpu", "NoSchedule"), &t));
        assert!(tolerates(&toleration("dedicated", "Equal", "gpu", ""), &t), "empty effect: all effects");
        assert!(tolerates(&toleration("dedicated", "Exists", "", ""), &t));
        assert!(tolerates(&toleration("", "Exists", "", ""), &t), "empty key with Exists: everything");
        assert!(!tolerates(&toleration("dedicated", "Equal", "cpu", "NoSchedule"), &t));
        assert!(!tolerates(&toleration("dedicated", "Equal", "gpu", "NoExecute"), &t));
        assert!(!tolerates(&toleration("other", "Exists", "", ""), &t));
    }

    #[test]
    fn untolerated_taints_reject_with_upstreams_message() {
        let node = NodeInfo {
            taints: vec![taint("soft", "x", "PreferNoSchedule"), taint("dedicated", "gpu", "NoSchedule")],
            ..NodeInfo::default()
        };
        let pod = PodInfo::default();
        let status = filter(&pod, &node).unwrap();
        assert_eq!(status.reasons, ["node(s) had untolerated taint {dedicated: gpu}"]);
        assert_eq!(score(&pod, &node), 1);
        let tolerant = PodInfo { tolerations: vec![toleration("dedicated", "Exists", "", "")], ..PodInfo::default() };
        assert!(filter(&tolerant, &node).is_none());
    }
}
