//! The pod network of a node: a CNI configuration (bridge + host-local + portmap) for the node's
//! `spec.podCIDR`, written where the runtime loads it once node IPAM has given the node a range.
//! Names are derived from the node so several clusters (and nodes) on one machine never share a
//! bridge or an address store.

use std::path::{Path, PathBuf};

use serde_json::json;

/// What names one node's pod network.
#[derive(Clone, Debug)]
pub struct PodNetwork {
    /// The CNI network name (also host-local's store sub-directory and portmap's chain names).
    pub name: String,
    /// The Linux bridge, at most 15 characters.
    pub bridge: String,
    /// host-local's address store.
    pub ipam_dir: PathBuf,
}

impl PodNetwork {
    /// The network of the node whose kubelet keeps its state in `root_dir`.
    pub fn for_node(root_dir: &Path) -> PodNetwork {
        let tag = crate::config::node_tag(root_dir);
        PodNetwork { name: format!("rkube-{tag}"), bridge: format!("rk{tag}"), ipam_dir: root_dir.join("cni-ipam") }
    }

    /// The conflist for `pod_cidr` (cniVersion 0.4.0, which containerd 1.6's libcni and the
    /// plugins 1.1 both speak). Pods reach the outside through masquerade; a pod reaches itself
    /// through its Service with hairpin mode.
    pub fn conflist(&self, pod_cidr: &str) -> serde_json::Value {
        json!({
            "cniVersion": "0.4.0",
            "name": self.name,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": true,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": self.ipam_dir.to_string_lossy(),
                    }
                },
                {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
            ]
        })
    }

    /// Writes the conflist into `conf_dir` atomically (the runtime watches the directory and
    /// must never read half a file). Returns whether it changed.
    pub fn write(&self, conf_dir: &Path, pod_cidr: &str) -> std::io::Result<bool> {
        std::fs::create_dir_all(conf_dir)?;
        let path = conf_dir.join("10-rkube.conflist");
        let text = serde_json::to_string_pretty(&self.conflist(pod_cidr))?;
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            return Ok(false);
        }
        let tmp = conf_dir.join(".10-rkube.conflist.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)?;
        Ok(true)
    }
}

/// Deletes the Linux bridge `name` if it exists (its routes go with it). The bridge plugin
/// never removes the bridge it made; a node that stops for good must, or a later node given
/// the same pod range would find its subnet routed to a dead bridge.
pub async fn delete_bridge(name: &str) {
    if !std::path::Path::new("/sys/class/net").join(name).exists() {
        return;
    }
    match tokio::process::Command::new("ip").args(["link", "delete", name]).output().await {
        Ok(out) if out.status.success() => tracing::info!(bridge = name, "pod network bridge deleted"),
        Ok(out) => {
            tracing::warn!(bridge = name, error = %String::from_utf8_lossy(&out.stderr).trim(), "deleting the pod network bridge")
        }
        Err(e) => tracing::warn!(bridge = name, error = %e, "running ip (Debian package iproute2)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_per_node_and_fit_linux_limits() {
        let a = PodNetwork::for_node(Path::new("/var/lib/rkube/kubelet"));
        let b = PodNetwork::for_node(Path::new("/tmp/cluster-2/kubelet"));
        assert_ne!(a.bridge, b.bridge);
        assert!(a.bridge.len() <= 15);
        let conf = a.conflist("10.244.3.0/24");
        assert_eq!(conf["plugins"][0]["ipam"]["ranges"][0][0]["subnet"], "10.244.3.0/24");
        assert_eq!(conf["plugins"][0]["bridge"], a.bridge.as_str());
    }

    #[test]
    fn write_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let net = PodNetwork::for_node(dir.path());
        assert!(net.write(dir.path(), "10.1.0.0/24").unwrap());
        assert!(!net.write(dir.path(), "10.1.0.0/24").unwrap());
        assert!(net.write(dir.path(), "10.1.1.0/24").unwrap());
    }
}
