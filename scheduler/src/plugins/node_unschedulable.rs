//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) take only pods that tolerate the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint.

use k8s_openapi::api::core::v1::Taint;

use super::taint_toleration::tolerates;
use crate::framework::{NodeInfo, PodInfo, Status};

pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    if !node.unschedulable {
        return None;
    }
    let taint =
        Taint { key: "node.kubernetes.io/unschedulable".into(), effect: "NoSchedule".into(), ..Taint::default() };
    if pod.tolerations.iter().any(|t| tolerates(t, &taint)) {
        return None;
    }
    Some(Status::unresolvable(ERR_REASON_UNSCHEDULABLE))
}
