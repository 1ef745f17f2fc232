//! The Node object of a hollow node: registration (create, or adopt one of the same name) and
//! the status the kubelet reports through `nodes/<name>/status`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::{DaemonEndpoint, Node, NodeAddress, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta};

use super::{ANNOTATION, Capacity, KUBELET_VERSION, RUNTIME_VERSION};
use crate::node;
pub use crate::node::ConditionTimes;
pub use crate::node::{ready_status, write_status};

/// What identifies one hollow node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    /// Its fake InternalIP (also the hostIP of its pods).
    pub ip: IpAddr,
}

/// Node IPs of a fleet: 100.64.0.1, 100.64.0.2, ... in the shared address space (RFC 6598),
/// which clusters rarely use for pods or Services; one /11 holds two million nodes.
pub fn fleet_node_ip(index: usize) -> IpAddr {
    let offset = u32::try_from(index % ((1 << 21) - 2)).unwrap_or(0) + 1;
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + offset))
}

/// The node IP of a hollow node running as its own process: derived from its name (FNV-1a) in
/// 100.96.0.0/11, a range apart from the fleets', so separate processes need not coordinate.
pub fn node_ip_for_name(name: &str) -> IpAddr {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    let offset = hash % ((1 << 21) - 2) + 1;
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 96, 0, 0)) + offset))
}

/// The Node a hollow kubelet registers (status is written separately, through `status`).
pub fn node_object(identity: &Identity) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(identity.name.clone()),
            labels: Some(node::labels(&identity.name)),
            annotations: Some(BTreeMap::from([
                (ANNOTATION.to_string(), "true".to_string()),
                // Upstream's kubelet asks the attach/detach controller to manage volumes.
                ("volumes.kubernetes.io/controller-managed-attach-detach".to_string(), "true".to_string()),
            ])),
            ..ObjectMeta::default()
        },
        ..Node::default()
    }
}

/// The full status of a hollow node at `now`: always Ready, never under pressure.
pub fn node_status(
    identity: &Identity,
    capacity: &Capacity,
    times: &ConditionTimes,
    boot_id: &str,
    now: Timestamp,
) -> NodeStatus {
    let resources = BTreeMap::from([
        ("cpu".to_string(), Quantity(capacity.cpu.clone())),
        ("memory".to_string(), Quantity(capacity.memory.clone())),
        ("pods".to_string(), Quantity(capacity.pods.to_string())),
        ("ephemeral-storage".to_string(), Quantity(capacity.ephemeral_storage.clone())),
    ]);
    NodeStatus {
        capacity: Some(resources.clone()),
        // No system or kube reservations: everything a hollow node has is for pods.
        allocatable: Some(resources),
        conditions: Some(node::conditions(node::Pressure::default(), None, times, now)),
        addresses: Some(vec![
            NodeAddress { type_: "InternalIP".into(), address: identity.ip.to_string() },
            NodeAddress { type_: "Hostname".into(), address: identity.name.clone() },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }) }),
        node_info: Some(NodeSystemInfo {
            architecture: node::go_arch().into(),
            operating_system: "linux".into(),
            os_image: "rkube hollow node".into(),
            kernel_version: "hollow".into(),
            container_runtime_version: RUNTIME_VERSION.into(),
            kubelet_version: KUBELET_VERSION.into(),
            kube_proxy_version: String::new(),
            machine_id: machine_id(&identity.name),
            system_uuid: machine_id(&identity.name),
            boot_id: boot_id.to_string(),
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

/// A stable 32-hex-digit id per node name (machine-id's shape).
fn machine_id(name: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in name.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(7);
    }
    format!("{a:016x}{b:016x}")
}

/// Creates the hollow Node, or adopts an existing one of that name.
pub async fn register(api: &Api<Node>, identity: &Identity) -> Result<Node, kube::Error> {
    node::register(api, &node_object(identity)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn identity() -> Identity {
        Identity { name: "hollow-node-0".into(), ip: fleet_node_ip(0) }
    }

    #[test]
    fn node_ips_are_distinct_per_node() {
        assert_eq!(fleet_node_ip(0).to_string(), "100.64.0.1");
        assert_eq!(fleet_node_ip(300).to_string(), "100.64.1.45");
        let ips: std::collections::HashSet<IpAddr> = (0..5000).map(fleet_node_ip).collect();
        assert_eq!(ips.len(), 5000);
        assert_eq!(node_ip_for_name("a"), node_ip_for_name("a"), "stable");
        assert_ne!(node_ip_for_name("a"), node_ip_for_name("b"));
        assert!(node_ip_for_name("a").to_string().starts_with("100."));
    }

    #[test]
    fn registered_node_is_labelled_and_marked_simulated() {
        let node = node_object(&identity());
        let labels = node.metadata.labels.unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], "hollow-node-0");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["kubernetes.io/arch"], if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" });
        assert_eq!(node.metadata.annotations.unwrap()[ANNOTATION], "true");
        assert!(node.status.is_none(), "status goes through the subresource");
    }

    #[test]
    fn status_is_ready_with_upstream_reasons_and_keeps_transition_times() {
        let since = Timestamp::from_second(1_700_000_000).unwrap();
        let now = Timestamp::from_second(1_700_000_300).unwrap();
        let times = ConditionTimes { ready_since: since, healthy_since: since };
        let capacity = Capacity::default();
        let status = node_status(&identity(), &capacity, &times, "b-1", now);
        let conditions = status.conditions.unwrap();
        let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
        assert_eq!(ready.message.as_deref(), Some("kubelet is posting ready status"));
        assert_eq!(ready.last_heartbeat_time, Some(Time(now)));
        assert_eq!(ready.last_transition_time, Some(Time(since)));
        for (kind, reason) in [
            ("MemoryPressure", "KubeletHasSufficientMemory"),
            ("DiskPressure", "KubeletHasNoDiskPressure"),
            ("PIDPressure", "KubeletHasSufficientPID"),
        ] {
            let c = conditions.iter().find(|c| c.type_ == kind).unwrap();
            assert_eq!((c.status.as_str(), c.reason.as_deref()), ("False", Some(reason)));
        }
        let capacity = status.capacity.unwrap();
        assert_eq!(capacity["cpu"].0, "4");
        assert_eq!(capacity["memory"].0, "16Gi");
        assert_eq!(capacity["pods"].0, "110");
        assert_eq!(status.allocatable.unwrap()["pods"].0, "110");
        let addresses = status.addresses.unwrap();
        assert_eq!(addresses[0].type_, "InternalIP");
        assert_eq!(addresses[0].address, "100.64.0.1");
        assert_eq!(addresses[1].address, "hollow-node-0");
        let info = status.node_info.unwrap();
        assert_eq!(info.kubelet_version, KUBELET_VERSION);
        assert!(info.container_runtime_version.starts_with("hollow://"));
        assert_eq!(info.machine_id.len(), 32);
        assert_eq!(info.boot_id, "b-1");
        assert_eq!(status.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port, 10250);
    }
}
