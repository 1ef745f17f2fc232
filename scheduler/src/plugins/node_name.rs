//! NodeName: a pod that names its node fits only there.

use crate::framework::{NodeInfo, PodInfo, Status};

pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    (!pod.node_name.is_empty() && pod.node_name != node.name).then(|| Status::unresolvable(ERR_REASON))
}
