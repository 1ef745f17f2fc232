//! The real node's Node object (upstream's `kubelet_node_status.go` and `nodestatus`):
//! registration with the host's capacity, addresses and nodeInfo; the status recomputed every
//! 10 s and written when it changes (or every 5 minutes); Ready only while the runtime and its
//! pod network are ready; the node Lease renewed every 10 s; and the pod network configured
//! once node IPAM has given the node its podCIDR.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta};
use kube::runtime::watcher::{self, Event, watcher};

use crate::config::Config;
use crate::cri::Cri;
use crate::network::PodNetwork;
use crate::node::{self, ConditionTimes, Pressure};
use crate::{KUBELET_VERSION, host, nodelease};

/// Capacity from the host; allocatable is capacity less the hard eviction threshold for
/// memory (upstream subtracts reservations and thresholds the same way).
pub fn resources(config: &Config) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let memory = host::memory().total;
    let (disk, _) = host::filesystem(&config.root_dir).unwrap_or((0, 0));
    let capacity = BTreeMap::from([
        ("cpu".to_string(), Quantity(host::cpus().to_string())),
        ("memory".to_string(), Quantity(format!("{}Ki", memory / 1024))),
        ("ephemeral-storage".to_string(), Quantity(format!("{}Ki", disk / 1024))),
        ("pods".to_string(), Quantity(config.max_pods.to_string())),
        ("hugepages-2Mi".to_string(), Quantity("0".into())),
    ]);
    let mut allocatable = capacity.clone();
    let memory_allocatable = memory.saturating_sub(config.eviction_memory_available);
    allocatable.insert("memory".into(), Quantity(format!("{}Ki", memory_allocatable / 1024)));
    let disk_allocatable = disk - disk * config.eviction_nodefs_available_percent / 100;
    allocatable.insert("ephemeral-storage".into(), Quantity(disk_allocatable.to_string()));
    (capacity, allocatable)
}

/// Pressure as the eviction thresholds see it now.
pub fn pressure(config: &Config) -> Pressure {
    let memory = host::memory();
    let disk = host::filesystem(&config.root_dir);
    let (running, max) = host::pids();
    Pressure {
        memory: memory.total > 0 && memory.available < config.eviction_memory_available,
        disk: disk.is_some_and(|(size, free)| size > 0 && free * 100 < size * config.eviction_nodefs_available_percent),
        // Upstream's default pid.available threshold is 10 % of pid_max... when configured;
        // we report pressure above 90 % use.
        pid: running * 10 > max * 9,
    }
}

/// The Node the kubelet registers.
pub fn node_object(config: &Config) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            labels: Some(node::labels(&config.node_name)),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                "true".to_string(),
            )])),
            ..ObjectMeta::default()
        },
        ..Node::default()
    }
}

/// `status.images` (upstream's `setNodeStatusImages`): the 50 largest images, each with its
/// digests then tags, at most 5 names (what the scheduler's ImageLocality reads).
pub fn status_images(mut images: Vec<k8s_cri::v1::Image>) -> Vec<ContainerImage> {
    images.sort_by_key(|i| std::cmp::Reverse(i.size));
    images
        .into_iter()
        .filter_map(|i| {
            let names: Vec<String> = i.repo_digests.into_iter().chain(i.repo_tags).take(5).collect();
            let size = i64::try_from(i.size).ok();
            (!names.is_empty()).then_some(ContainerImage { names: Some(names), size_bytes: size })
        })
        .take(50)
        .collect()
}

/// Why the node cannot run pods, from the runtime's own conditions (upstream's wording).
async fn runtime_not_ready(cri: &Cri) -> Option<String> {
    let status = match cri.status().await {
        Ok(s) => s.status.unwrap_or_default(),
        Err(e) => return Some(format!("container runtime is down: {}", e.message())),
    };
    let condition = |kind: &str| status.conditions.iter().find(|c| c.r#type == kind);
    for (kind, what) in [
        ("RuntimeReady", "container runtime status check may not have completed yet"),
        ("NetworkReady", "container runtime network not ready"),
    ] {
        match condition(kind) {
            Some(c) if c.status => {}
            Some(c) => {
                return Some(format!("{what}: {kind}=false reason:{} message:{}", c.reason, c.message));
            }
            None => return Some(format!("{what}: {kind} missing")),
        }
    }
    None
}

pub struct NodeAgent {
    pub config: Config,
    pub cri: Cri,
    pub nodes: Api<Node>,
    pub leases: Api<Lease>,
    pub runtime_version: String,
}

impl NodeAgent {
    fn status(
        &self,
        not_ready: Option<&str>,
        times: &ConditionTimes,
        now: Timestamp,
        images: Vec<ContainerImage>,
    ) -> NodeStatus {
        let config = &self.config;
        let (capacity, allocatable) = resources(config);
        NodeStatus {
            capacity: Some(capacity),
            allocatable: Some(allocatable),
            conditions: Some(node::conditions(pressure(config), not_ready, times, now)),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: config.node_ip.to_string() },
                NodeAddress { type_: "Hostname".into(), address: config.node_name.clone() },
            ]),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(config.port) }),
            }),
            node_info: Some(NodeSystemInfo {
                architecture: node::go_arch().into(),
                operating_system: "linux".into(),
                os_image: host::os_image(),
                kernel_version: host::kernel_version(),
                container_runtime_version: self.runtime_version.clone(),
                kubelet_version: KUBELET_VERSION.into(),
                kube_proxy_version: String::new(),
                machine_id: host::machine_id(),
                system_uuid: host::machine_id(),
                boot_id: host::boot_id(),
                ..NodeSystemInfo::default()
            }),
            images: Some(images),
            ..NodeStatus::default()
        }
    }

    /// Registers the Node, then keeps its status, Lease and pod network up to date until
    /// `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let name = self.config.node_name.clone();
        let registered = loop {
            match node::register(&self.nodes, &node_object(&self.config)).await {
                Ok(node) => break node,
                Err(e) => {
                    tracing::warn!(node = %name, error = %e, "registering the node; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let uid = registered.metadata.uid.clone();
        let network = PodNetwork::for_node(&self.config.root_dir);
        let mut node_events =
            watcher(self.nodes.clone(), watcher::Config::default().fields(&format!("metadata.name={name}"))).boxed();
        let mut status_tick = tokio::time::interval(self.config.status_update_frequency);
        let mut lease_tick = tokio::time::interval(nodelease::RENEW_INTERVAL);
        let mut lease: Option<Lease> = None;
        let mut last_written: Option<(NodeStatus, tokio::time::Instant)> = None;
        let mut last_ready: Option<bool> = None;
        let mut times = ConditionTimes { ready_since: Timestamp::now(), healthy_since: Timestamp::now() };
        let mut cidr: Option<String> = None;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = lease_tick.tick() => {
                    if let Err(e) = nodelease::renew(&self.leases, &name, uid.as_deref(), &mut lease).await {
                        tracing::warn!(node = %name, error = %e, "renewing the node lease");
                    }
                }
                event = node_events.next() => {
                    let seen = match event {
                        Some(Ok(Event::Apply(n))) | Some(Ok(Event::InitApply(n))) => n,
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "node watch");
                            continue;
                        }
                        Some(Ok(_)) => continue,
                        None => return Ok(()),
                    };
                    let pod_cidr = seen.spec.as_ref().and_then(|s| s.pod_cidr.clone());
                    if pod_cidr.is_some() && pod_cidr != cidr {
                        if let Some(c) = &pod_cidr {
                            self.configure_network(&network, c).await;
                        }
                        cidr = pod_cidr;
                        // Ready may follow at once.
                        status_tick.reset_immediately();
                    }
                    // Someone else (the node lifecycle controller) changed Ready: say it again.
                    if last_ready.is_some() && node::ready_status(&seen) != Some(if last_ready == Some(true) { "True" } else { "False" }) {
                        last_written = None;
                        status_tick.reset_immediately();
                    }
                }
                _ = status_tick.tick() => {
                    let not_ready = runtime_not_ready(&self.cri).await;
                    let ready = not_ready.is_none();
                    if last_ready != Some(ready) {
                        times.ready_since = Timestamp::now();
                    }
                    let images = match self.cri.list_images().await {
                        Ok(images) => status_images(images),
                        Err(e) => {
                            tracing::debug!(error = %e, "listing images");
                            last_written.as_ref().and_then(|(s, _)| s.images.clone()).unwrap_or_default()
                        }
                    };
                    let status = self.status(not_ready.as_deref(), &times, Timestamp::now(), images);
                    // Heartbeat times change on every computation: compare without them.
                    let comparable = |s: &NodeStatus| {
                        let mut s = s.clone();
                        for c in s.conditions.iter_mut().flatten() {
                            c.last_heartbeat_time = None;
                        }
                        serde_json::to_value(s).ok()
                    };
                    let due = match &last_written {
                        None => true,
                        Some((old, at)) => comparable(old) != comparable(&status) || at.elapsed() >= self.config.status_report_frequency,
                    };
                    if due {
                        match node::write_status(&self.nodes, &name, &status).await {
                            Ok(_) => {
                                if last_ready != Some(ready) {
                                    tracing::info!(node = %name, ready, reason = not_ready.as_deref().unwrap_or(""), "node status");
                                }
                                last_ready = Some(ready);
                                last_written = Some((status, tokio::time::Instant::now()));
                            }
                            Err(e) => tracing::warn!(node = %name, error = %e, "writing the node status"),
                        }
                    }
                }
            }
        }
    }

    async fn configure_network(&self, network: &PodNetwork, cidr: &str) {
        if let Some(dir) = &self.config.cni_conf_dir {
            match network.write(dir, cidr) {
                Ok(true) => tracing::info!(pod_cidr = cidr, bridge = %network.bridge, "pod network configured"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "writing the CNI configuration"),
            }
        }
        if let Err(e) = self.cri.update_pod_cidr(cidr).await {
            tracing::debug!(error = %e, "runtime did not take the pod CIDR");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_images_are_the_largest_with_digests_first() {
        let image = |id: &str, size: u64, tags: &[&str], digests: &[&str]| k8s_cri::v1::Image {
            id: id.into(),
            size,
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            repo_digests: digests.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        };
        let images = status_images(vec![
            image("sha256:a", 10, &["r/a:1"], &["r/a@sha256:aa"]),
            image("sha256:b", 30, &["r/b:1", "r/b:2"], &[]),
            image("sha256:c", 20, &[], &[]),
        ]);
        assert_eq!(images.len(), 2, "an image without names is left out");
        assert_eq!(images[0].names.as_deref(), Some(&["r/b:1".to_string(), "r/b:2".to_string()][..]));
        assert_eq!(images[0].size_bytes, Some(30));
        assert_eq!(images[1].names.as_deref(), Some(&["r/a@sha256:aa".to_string(), "r/a:1".to_string()][..]));
    }
}
