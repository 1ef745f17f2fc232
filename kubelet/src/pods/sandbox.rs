//! The pod sandbox (upstream's `kuberuntime_sandbox.go`): the CRI `PodSandboxConfig` of a pod —
//! its identity labels, hostname, DNS, host ports, namespaces, cgroup parent and log directory.

use std::collections::HashMap;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::{LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, names};
use crate::config::{Config, cgroup_join};
use crate::qos::qos_class;

/// The cgroup of the pod, as upstream's cgroupfs driver names it: `kubepods/pod<uid>` for
/// Guaranteed pods, `kubepods/<burstable|besteffort>/pod<uid>` for the others.
pub fn cgroup_parent(config: &Config, spec: &PodSpec, uid: &str) -> String {
    let kubepods = cgroup_join(&config.cgroup_root, "kubepods");
    match qos_class(spec) {
        "Guaranteed" => cgroup_join(&kubepods, &format!("pod{uid}")),
        "Burstable" => cgroup_join(&cgroup_join(&kubepods, "burstable"), &format!("pod{uid}")),
        _ => cgroup_join(&cgroup_join(&kubepods, "besteffort"), &format!("pod{uid}")),
    }
}

/// The pod's hostname: `spec.hostname` or its name, cut to 63 characters (upstream's
/// `GeneratePodHostNameAndDomain`); the node's for host-network pods.
pub fn hostname(pod: &Pod) -> String {
    let spec = pod.spec.as_ref();
    if spec.and_then(|s| s.host_network).unwrap_or(false) {
        return crate::host::hostname();
    }
    let name = spec.and_then(|s| s.hostname.clone()).unwrap_or_else(|| names(pod).1.to_string());
    let cut: String = name.chars().take(63).collect();
    cut.trim_end_matches(['-', '.']).to_string()
}

/// What `/etc/resolv.conf` says (servers, search domains, options).
fn parse_resolv_conf(text: &str) -> cri::DnsConfig {
    let mut dns = cri::DnsConfig::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => dns.servers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => dns.searches = words.map(str::to_string).collect(),
            Some("options") => dns.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    dns
}

/// The pod's DNS settings by `dnsPolicy` (upstream's `dns.Configurer.GetPodDNS`), then its
/// `dnsConfig` merged in.
pub fn dns_config(config: &Config, pod: &Pod, host_resolv_conf: &str) -> cri::DnsConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let host_network = spec.host_network.unwrap_or(false);
    let host = parse_resolv_conf(host_resolv_conf);
    let cluster = |namespace: &str| {
        let domain = &config.cluster_domain;
        let mut searches = vec![format!("{namespace}.svc.{domain}"), format!("svc.{domain}"), domain.clone()];
        searches.extend(host.searches.iter().cloned());
        cri::DnsConfig {
            servers: config.cluster_dns.iter().map(ToString::to_string).collect(),
            searches,
            options: vec!["ndots:5".into()],
        }
    };
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let cluster_first = match policy {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let mut dns = match policy {
        "None" => cri::DnsConfig::default(),
        // Without cluster DNS, ClusterFirst falls back to the node's settings, as upstream does.
        _ if cluster_first && !config.cluster_dns.is_empty() => cluster(names(pod).0),
        _ => host,
    };
    if let Some(custom) = spec.dns_config {
        dns.servers.extend(custom.nameservers.into_iter().flatten());
        dns.searches.extend(custom.searches.into_iter().flatten());
        for option in custom.options.into_iter().flatten() {
            let rendered = match &option.value {
                Some(value) => format!("{}:{value}", option.name.clone().unwrap_or_default()),
                None => option.name.clone().unwrap_or_default(),
            };
            let name = option.name.unwrap_or_default();
            dns.options.retain(|o| o.split(':').next() != Some(name.as_str()));
            dns.options.push(rendered);
        }
    }
    // Upstream caps the search list at 32 domains.
    dns.searches.dedup();
    dns.searches.truncate(32);
    dns
}

/// Host ports the containers ask for.
fn port_mappings(spec: &PodSpec) -> Vec<cri::PortMapping> {
    let containers = spec.containers.iter().chain(spec.init_containers.iter().flatten());
    containers
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| cri::PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => cri::Protocol::Udp as i32,
                Some("SCTP") => cri::Protocol::Sctp as i32,
                _ => cri::Protocol::Tcp as i32,
            },
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or(0),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect()
}

/// The namespaces the pod shares with the node or among its containers.
pub fn namespace_options(spec: &PodSpec) -> cri::NamespaceOption {
    let node_or = |on: Option<bool>, otherwise: cri::NamespaceMode| {
        if on.unwrap_or(false) { cri::NamespaceMode::Node as i32 } else { otherwise as i32 }
    };
    let pid_default = if spec.share_process_namespace.unwrap_or(false) {
        cri::NamespaceMode::Pod
    } else {
        cri::NamespaceMode::Container
    };
    cri::NamespaceOption {
        network: node_or(spec.host_network, cri::NamespaceMode::Pod),
        pid: node_or(spec.host_pid, pid_default),
        ipc: node_or(spec.host_ipc, cri::NamespaceMode::Pod),
        ..cri::NamespaceOption::default()
    }
}

/// The identity labels every sandbox and container of the pod carries (how the kubelet finds
/// them again after a restart).
pub fn identity_labels(pod: &Pod) -> HashMap<String, String> {
    let (namespace, name, uid) = names(pod);
    HashMap::from([
        (LABEL_POD_NAME.to_string(), name.to_string()),
        (LABEL_POD_NAMESPACE.to_string(), namespace.to_string()),
        (LABEL_POD_UID.to_string(), uid.to_string()),
    ])
}

/// The sandbox configuration of `pod`, attempt `attempt`.
pub fn sandbox_config(config: &Config, pod: &Pod, attempt: u32, host_resolv_conf: &str) -> cri::PodSandboxConfig {
    let (namespace, name, uid) = names(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let mut labels: HashMap<String, String> = pod.metadata.labels.clone().unwrap_or_default().into_iter().collect();
    labels.extend(identity_labels(pod));
    let annotations: HashMap<String, String> =
        pod.metadata.annotations.clone().unwrap_or_default().into_iter().collect();
    let security = spec.security_context.clone().unwrap_or_default();
    let sysctls = security.sysctls.iter().flatten().map(|s| (s.name.clone(), s.value.clone())).collect();
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: name.to_string(),
            uid: uid.to_string(),
            namespace: namespace.to_string(),
            attempt,
        }),
        hostname: hostname(pod),
        log_directory: config.pod_logs_dir(namespace, name, uid).to_string_lossy().into_owned(),
        dns_config: Some(dns_config(config, pod, host_resolv_conf)),
        port_mappings: port_mappings(&spec),
        labels,
        annotations,
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent(config, &spec, uid),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options(&spec)),
                run_as_user: security.run_as_user.map(|value| cri::Int64Value { value }),
                run_as_group: security.run_as_group.map(|value| cri::Int64Value { value }),
                supplemental_groups: security.supplemental_groups.clone().unwrap_or_default(),
                ..cri::LinuxSandboxSecurityContext::default()
            }),
            sysctls,
            ..cri::LinuxPodSandboxConfig::default()
        }),
        windows: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1", "labels": {"app": "web"}},
            "spec": spec,
        }))
        .unwrap()
    }

    fn config() -> Config {
        let mut config =
            Config::new("n1".into(), "10.0.0.5".parse().unwrap(), "/data/kubelet".into(), "unix:///c".into());
        config.cluster_dns = vec!["10.96.0.10".parse().unwrap()];
        config
    }

    #[test]
    fn sandbox_names_the_pod_and_keeps_its_files_apart() {
        let p = pod(
            json!({"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}),
        );
        let sandbox = sandbox_config(&config(), &p, 2, "nameserver 1.1.1.1\n");
        let meta = sandbox.metadata.unwrap();
        assert_eq!(
            (meta.name.as_str(), meta.namespace.as_str(), meta.uid.as_str(), meta.attempt),
            ("web-1", "shop", "u-1", 2)
        );
        assert_eq!(sandbox.labels["app"], "web");
        assert_eq!(sandbox.labels[LABEL_POD_UID], "u-1");
        assert_eq!(sandbox.log_directory, "/data/kubelet/logs/shop_web-1_u-1");
        assert_eq!(sandbox.hostname, "web-1");
        assert_eq!(sandbox.port_mappings[0].host_port, 8080);
        let linux = sandbox.linux.unwrap();
        assert!(
            linux.cgroup_parent.starts_with("/rkube/n1-")
                && linux.cgroup_parent.ends_with("/kubepods/besteffort/podu-1"),
            "{}",
            linux.cgroup_parent
        );
        let ns = linux.security_context.unwrap().namespace_options.unwrap();
        assert_eq!(ns.network, cri::NamespaceMode::Pod as i32);
        assert_eq!(ns.pid, cri::NamespaceMode::Container as i32);
    }

    #[test]
    fn dns_follows_the_policy() {
        let host = "nameserver 192.168.1.1\nsearch corp.example\noptions timeout:2\n";
        let cluster = dns_config(&config(), &pod(json!({"containers": []})), host);
        assert_eq!(cluster.servers, ["10.96.0.10"]);
        assert_eq!(cluster.searches, ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]);
        assert_eq!(cluster.options, ["ndots:5"]);

        let default = dns_config(&config(), &pod(json!({"containers": [], "dnsPolicy": "Default"})), host);
        assert_eq!(default.servers, ["192.168.1.1"]);
        let host_net = dns_config(&config(), &pod(json!({"containers": [], "hostNetwork": true})), host);
        assert_eq!(host_net.servers, ["192.168.1.1"], "ClusterFirst on the host network is Default");

        let none = dns_config(
            &config(),
            &pod(json!({"containers": [], "dnsPolicy": "None", "dnsConfig": {
                "nameservers": ["8.8.8.8"], "searches": ["a.b"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}})),
            host,
        );
        assert_eq!(
            (none.servers, none.searches, none.options),
            (vec!["8.8.8.8".to_string()], vec!["a.b".to_string()], vec!["ndots:2".to_string(), "edns0".to_string()])
        );
    }

    #[test]
    fn guaranteed_pods_sit_right_under_kubepods() {
        let spec: PodSpec = serde_json::from_value(json!({"containers": [{"name": "c", "resources": {
            "limits": {"cpu": "1", "memory": "1Gi"}}}]}))
        .unwrap();
        assert!(cgroup_parent(&config(), &spec, "u").ends_with("/kubepods/podu"));
    }
}
