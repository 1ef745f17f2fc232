//! NodeAffinity: `spec.nodeSelector` and required node affinity terms (any term; every
//! expression of it, operators In/NotIn/Exists/DoesNotExist/Gt/Lt, `matchFields` on
//! `metadata.name`) filter nodes; preferred terms add their weights to the score.

use crate::framework::{NodeInfo, PodInfo, Status};

pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";

pub fn matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v))
        && pod.required_node_terms.as_ref().is_none_or(|terms| terms.iter().any(|t| t.matches(node)))
}

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    (!matches(pod, node)).then(|| Status::unresolvable(ERR_REASON_POD))
}

pub fn score(pod: &PodInfo, node: &NodeInfo) -> i64 {
    pod.preferred_node_terms.iter().filter(|(_, t)| t.matches(node)).map(|(w, _)| i64::from(*w)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    fn pod(affinity: serde_json::Value, selector: serde_json::Value) -> PodInfo {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "p"},
            "spec": {"containers": [], "affinity": {"nodeAffinity": affinity}, "nodeSelector": selector}}))
        .unwrap();
        PodInfo::new(&p)
    }

    fn node(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..NodeInfo::default()
        }
    }

    #[test]
    fn required_terms_are_ored_and_expressions_anded() {
        let p = pod(
            json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}, {"key": "zone", "operator": "In", "values": ["a"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]},
            ]}}),
            json!({"disk": "ssd"}),
        );
        assert!(filter(&p, &node("n", &[("cores", "16"), ("zone", "a"), ("disk", "ssd")])).is_none());
        assert!(filter(&p, &node("n", &[("cores", "4"), ("zone", "a"), ("disk", "ssd")])).is_some());
        assert!(filter(&p, &node("special", &[("disk", "ssd")])).is_none());
        let status = filter(&p, &node("special", &[])).unwrap();
        assert_eq!(status.reasons, [ERR_REASON_POD], "the nodeSelector must hold too");
    }

    #[test]
    fn preferred_terms_add_their_weights() {
        let p = pod(
            json!({"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 3, "preference": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}},
            ]}),
            json!({}),
        );
        assert_eq!(score(&p, &node("n", &[("zone", "a"), ("gpu", "1")])), 13);
        assert_eq!(score(&p, &node("n", &[("zone", "b")])), 0);
    }
}
