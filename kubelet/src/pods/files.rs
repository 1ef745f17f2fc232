//! The files the kubelet keeps for a pod under `<root>/pods/<uid>` and mounts into its
//! containers: the managed `/etc/hosts` and one termination-message file per container
//! instance; and reading a termination message back (upstream's `getTerminationMessage`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;

use crate::config::Config;

/// Upstream's caps: the message file is read up to 4 KiB; the log fallback takes the last 80
/// lines, at most 2 KiB.
pub const MAX_MESSAGE_BYTES: u64 = 4096;
pub const FALLBACK_LOG_LINES: usize = 80;
pub const FALLBACK_LOG_BYTES: usize = 2048;

/// The managed hosts file of a pod with address `pod_ip`.
pub fn hosts_file(config: &Config, pod: &Pod, pod_ip: &str, hostname: &str) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut out = String::new();
    if spec.host_network.unwrap_or(false) {
        out.push_str("# Kubernetes-managed hosts file (host network).\n");
        out.push_str(&std::fs::read_to_string("/etc/hosts").unwrap_or_default());
    } else {
        out.push_str("# Kubernetes-managed hosts file.\n");
        out.push_str("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        out.push_str(
            "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
        );
        if !pod_ip.is_empty() {
            match spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
                Some(subdomain) => {
                    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
                    let domain = &config.cluster_domain;
                    out.push_str(&format!("{pod_ip}\t{hostname}.{subdomain}.{namespace}.svc.{domain}\t{hostname}\n"));
                }
                None => out.push_str(&format!("{pod_ip}\t{hostname}\n")),
            }
        }
    }
    let aliases = spec.host_aliases.unwrap_or_default();
    if !aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for alias in aliases {
            out.push_str(&format!("{}\t{}\n", alias.ip, alias.hostnames.unwrap_or_default().join("\t")));
        }
    }
    out
}

pub fn hosts_path(config: &Config, uid: &str) -> PathBuf {
    config.pod_dir(uid).join("etc-hosts")
}

/// Writes the hosts file (atomically: running containers may read it).
pub fn write_hosts(config: &Config, pod: &Pod, pod_ip: &str, hostname: &str) -> std::io::Result<PathBuf> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let path = hosts_path(config, uid);
    std::fs::create_dir_all(config.pod_dir(uid))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, hosts_file(config, pod, pod_ip, hostname))?;
    std::fs::rename(tmp, &path)?;
    Ok(path)
}

/// The termination-message file of instance `restart_count` of container `name`.
pub fn termination_path(config: &Config, uid: &str, name: &str, restart_count: u32) -> PathBuf {
    config.pod_dir(uid).join("containers").join(name).join(format!("{restart_count}-termination-log"))
}

/// Creates the (empty) termination-message file and the mount exposing it at `container_path`.
pub fn termination_mount(path: &Path, container_path: &str) -> std::io::Result<cri::Mount> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, b"")?;
    // Any user in the container may write its message.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    Ok(cri::Mount {
        container_path: container_path.to_string(),
        host_path: path.to_string_lossy().into_owned(),
        ..cri::Mount::default()
    })
}

/// The message a terminated container left: its file, or with `FallbackToLogsOnError` and a
/// failure, the tail of its log.
pub fn termination_message(path: &Path, fallback_to_logs: bool, failed: bool, log_path: &Path) -> String {
    let mut message = String::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(MAX_MESSAGE_BYTES).read_to_string(&mut message);
    }
    if message.is_empty() && fallback_to_logs && failed {
        message = crate::logs::tail_text(log_path, FALLBACK_LOG_LINES, FALLBACK_LOG_BYTES);
    }
    message
}

/// The last `max_bytes` of a file (for log tails without reading a huge file).
pub fn read_tail(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max_bytes)))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_file_names_the_pod_and_its_aliases() {
        let config = Config::new("n".into(), "10.0.0.1".parse().unwrap(), "/r".into(), "x".into());
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "shop"}, "spec": {
            "containers": [], "subdomain": "sub",
            "hostAliases": [{"ip": "1.2.3.4", "hostnames": ["a.example", "b.example"]}]}}))
        .unwrap();
        let text = hosts_file(&config, &pod, "10.244.0.7", "web");
        assert!(text.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
        assert!(text.contains("10.244.0.7\tweb.sub.shop.svc.cluster.local\tweb\n"));
        assert!(text.ends_with("# Entries added by HostAliases.\n1.2.3.4\ta.example\tb.example\n"));
    }

    #[test]
    fn termination_message_prefers_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("msg");
        std::fs::write(&file, "bye").unwrap();
        assert_eq!(termination_message(&file, true, true, &dir.path().join("none")), "bye");
    }
}
