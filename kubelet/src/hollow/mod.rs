//! Hollow (simulated) nodes, as upstream's kubemark: each registers a Node, keeps its Lease and
//! status fresh and reports the pods bound to it Running with a fake IP, but runs no container.
//! For scale tests and operator development without a container runtime.
//!
//! - `node.rs`: the Node object, registration and the status written through `nodes/<n>/status`;
//! - `pods.rs`: one worker per bound pod, its Running and stopped statuses, deletion;
//! - `ipam.rs`: pod IPs from the node's `spec.podCIDR`;
//! - `fleet.rs`: many nodes in one process sharing one client, one pod watch, one node watch
//!   and one ticker for leases and status reports;
//! - `metrics.rs`: Prometheus metrics and the plain-HTTP `/healthz` + `/metrics` endpoint.

pub mod fleet;
pub mod ipam;
pub mod metrics;
pub mod node;
pub mod pods;

pub use fleet::{Progress, run};
pub use metrics::Metrics;
pub use node::{Identity, fleet_node_ip, node_ip_for_name};

/// The annotation marking a Node as simulated: no container runs on it.
pub const ANNOTATION: &str = "rkube.io/hollow-node";
pub use crate::KUBELET_VERSION;
/// The fake runtime's scheme in container and image IDs.
pub const RUNTIME_SCHEME: &str = "hollow://";
/// `status.nodeInfo.containerRuntimeVersion` of hollow nodes.
pub const RUNTIME_VERSION: &str = "hollow://0.1.0";

/// What each hollow node reports as capacity (and allocatable: nothing is reserved).
#[derive(Clone, Debug)]
pub struct Capacity {
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
    pub ephemeral_storage: String,
}

impl Default for Capacity {
    fn default() -> Self {
        Self { cpu: "4".into(), memory: "16Gi".into(), pods: 110, ephemeral_storage: "100Gi".into() }
    }
}
