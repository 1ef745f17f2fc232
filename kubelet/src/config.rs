//! The kubelet's settings, named after upstream's flags and KubeletConfiguration fields.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    /// `--hostname-override`: the Node's name.
    pub node_name: String,
    /// `--node-ip`: the InternalIP the Node reports (and pods' hostIP).
    pub node_ip: IpAddr,
    /// `--root-dir`: pod directories (volumes, /etc/hosts, termination logs) and pod logs.
    pub root_dir: PathBuf,
    /// `--container-runtime-endpoint`.
    pub runtime_endpoint: String,
    /// Where to write the CNI configuration for the node's podCIDR (the runtime's conf dir), or
    /// `None` when something else manages the pod network.
    pub cni_conf_dir: Option<PathBuf>,
    /// `--port`: the kubelet's HTTPS API.
    pub port: u16,
    /// `--client-ca-file`'s PEM: clients of the kubelet API (the apiserver) must present a
    /// certificate it signed. Without it the API is not served.
    pub client_ca_pem: Option<String>,
    /// `--healthz-port`: plain-HTTP `/healthz` on loopback (0: off).
    pub healthz_port: u16,
    /// `--healthz-bind-address`.
    pub healthz_bind_address: IpAddr,
    /// `--cluster-dns` and `--cluster-domain`.
    pub cluster_dns: Vec<IpAddr>,
    pub cluster_domain: String,
    /// `--cgroup-root`: the cgroup (cgroupfs path) under which `kubepods` lives.
    pub cgroup_root: String,
    /// `--max-pods`.
    pub max_pods: u32,
    /// Upstream's PLEG relist period.
    pub relist_period: Duration,
    /// `nodeStatusReportFrequency`: status written at least this often even when unchanged.
    pub status_report_frequency: Duration,
    /// `nodeStatusUpdateFrequency`: how often the node status is computed.
    pub status_update_frequency: Duration,
    /// Eviction thresholds: `memory.available` and `nodefs.available` below these report
    /// MemoryPressure / DiskPressure (upstream's hard eviction defaults: 100Mi and 10%).
    pub eviction_memory_available: u64,
    pub eviction_nodefs_available_percent: u64,
    /// `--image-gc-high-threshold` / `--image-gc-low-threshold`: image file system usage (%)
    /// that starts image garbage collection, and the usage it aims for.
    pub image_gc_high_threshold: u8,
    pub image_gc_low_threshold: u8,
    /// `--minimum-image-gc-age`: younger unused images are never collected.
    pub image_minimum_gc_age: Duration,
    /// How often image use is detected and collection considered (upstream: 5 minutes).
    pub image_gc_period: Duration,
}

impl Config {
    pub fn new(node_name: String, node_ip: IpAddr, root_dir: PathBuf, runtime_endpoint: String) -> Config {
        Config {
            cgroup_root: format!("/rkube/{node_name}-{}", node_tag(&root_dir)),
            node_name,
            node_ip,
            root_dir,
            runtime_endpoint,
            cni_conf_dir: None,
            port: 10250,
            client_ca_pem: None,
            healthz_port: 0,
            healthz_bind_address: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".into(),
            max_pods: 110,
            relist_period: Duration::from_secs(1),
            status_report_frequency: Duration::from_secs(300),
            status_update_frequency: Duration::from_secs(10),
            eviction_memory_available: 100 << 20,
            eviction_nodefs_available_percent: 10,
            image_gc_high_threshold: 85,
            image_gc_low_threshold: 80,
            image_minimum_gc_age: Duration::from_secs(120),
            image_gc_period: Duration::from_secs(300),
        }
    }

    /// `<root>/pods/<uid>`: the pod's own files.
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.root_dir.join("pods").join(uid)
    }

    /// `<root>/logs`: one directory per pod, `<namespace>_<name>_<uid>` (upstream's
    /// `/var/log/pods` layout).
    pub fn logs_dir(&self) -> PathBuf {
        self.root_dir.join("logs")
    }

    pub fn pod_logs_dir(&self, namespace: &str, name: &str, uid: &str) -> PathBuf {
        self.logs_dir().join(format!("{namespace}_{name}_{uid}"))
    }

    /// The kubelet's serving certificate and key.
    pub fn pki_dir(&self) -> PathBuf {
        self.root_dir.join("pki")
    }
}

/// A short tag unique to a node's root directory: names the node's cgroups, bridge and CNI
/// network, so that clusters side by side on one machine never share them.
pub fn node_tag(root_dir: &Path) -> String {
    let hash =
        root_dir.to_string_lossy().bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{hash:08x}")
}

/// `/a/b` + `c` as a cgroupfs path.
pub fn cgroup_join(parent: &str, child: &str) -> String {
    let parent = parent.trim_end_matches('/');
    format!("{parent}/{child}")
}
