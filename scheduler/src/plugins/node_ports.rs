//! NodePorts: a pod's host ports must be free on the node (same protocol and port on the same
//! address, or on 0.0.0.0 on either side, conflict).

use crate::framework::{NodeInfo, PodInfo, Status};

pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let conflict = pod.host_ports.iter().any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
    conflict.then(|| Status::unschedulable(ERR_REASON))
}
