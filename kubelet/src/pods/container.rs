//! A container's CRI configuration (upstream's `generateContainerConfig`): command and args over
//! the image's entrypoint, the environment, mounts, the log path, labels and annotations that
//! identify it again after a restart, and the Linux resources and security context.

use std::collections::HashMap;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod, SecurityContext};

use super::env::expand_all;
use super::sandbox::identity_labels;
use super::{ANNOTATION_HASH, ANNOTATION_RESTART_COUNT, ANNOTATION_TERMINATION_PATH, LABEL_CONTAINER_NAME};
use crate::qos::qos_class;

/// Upstream's CFS period and the smallest shares and quota it writes.
const CPU_PERIOD: i64 = 100_000;
const MIN_SHARES: i64 = 2;
const MIN_QUOTA: i64 = 1_000;

/// Paths hidden from (masked) or read-only in unprivileged containers, upstream's defaults.
const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// A stable hash of what the container was made from: a change (a new image) means the running
/// container is replaced, as upstream's container hash does.
pub fn spec_hash(container: &Container) -> String {
    let text = serde_json::to_string(container).unwrap_or_default();
    let hash =
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{hash:016x}")
}

fn milli(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> i64 {
    q.and_then(|q| apimachinery::quantity::parse_milli(&q.0)).unwrap_or(0)
}

fn bytes(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> i64 {
    q.and_then(|q| apimachinery::quantity::parse_value(&q.0)).unwrap_or(0)
}

/// cgroup settings from requests and limits (upstream's `calculateLinuxResources`), with the
/// OOM score by QoS class (`GetContainerOOMScoreAdjust`), never below 0 (root here may not
/// lower it, and containerd would refuse the container).
pub fn linux_resources(pod: &Pod, container: &Container, node_memory: u64) -> cri::LinuxContainerResources {
    let resources = container.resources.clone().unwrap_or_default();
    let requests = resources.requests.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    let cpu_request = milli(requests.get("cpu"));
    let cpu_limit = milli(limits.get("cpu"));
    // A limit without a request means a request of the limit (API defaulting does the same).
    let shares_from = if cpu_request == 0 { cpu_limit } else { cpu_request };
    let cpu_shares = if shares_from == 0 { MIN_SHARES } else { (shares_from * 1024 / 1000).max(MIN_SHARES) };
    let cpu_quota = if cpu_limit > 0 { (cpu_limit * CPU_PERIOD / 1000).max(MIN_QUOTA) } else { 0 };
    let memory_request = bytes(requests.get("memory"));
    let memory_limit = bytes(limits.get("memory"));
    let spec = pod.spec.clone().unwrap_or_default();
    let oom_score_adj = match qos_class(&spec) {
        "Guaranteed" => 0,
        "BestEffort" => 1000,
        _ if node_memory == 0 => 999,
        _ => (1000 - 1000 * memory_request / node_memory as i64).clamp(2, 999),
    };
    cri::LinuxContainerResources {
        cpu_period: if cpu_quota > 0 { CPU_PERIOD } else { 0 },
        cpu_quota,
        cpu_shares,
        memory_limit_in_bytes: memory_limit,
        oom_score_adj,
        ..cri::LinuxContainerResources::default()
    }
}

/// The container's security context over the pod's (upstream's `determineEffectiveSecurityContext`).
pub fn security_context(pod: &Pod, container: &Container) -> cri::LinuxContainerSecurityContext {
    let spec = pod.spec.clone().unwrap_or_default();
    let pod_sc = spec.security_context.clone().unwrap_or_default();
    let sc: SecurityContext = container.security_context.clone().unwrap_or_default();
    let privileged = sc.privileged.unwrap_or(false);
    let capabilities = sc.capabilities.clone().unwrap_or_default();
    let add = capabilities.add.unwrap_or_default();
    // No new privileges only when escalation is explicitly refused (and not implied back by
    // privileged or CAP_SYS_ADMIN), as upstream's `AddNoNewPrivileges`.
    let no_new_privs = sc.allow_privilege_escalation == Some(false)
        && !privileged
        && !add.iter().any(|c| c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN");
    let (masked, readonly) = if privileged || sc.proc_mount.as_deref() == Some("Unmasked") {
        (Vec::new(), Vec::new())
    } else {
        (MASKED_PATHS.map(String::from).to_vec(), READONLY_PATHS.map(String::from).to_vec())
    };
    let mut supplemental = pod_sc.supplemental_groups.clone().unwrap_or_default();
    supplemental.extend(pod_sc.fs_group);
    cri::LinuxContainerSecurityContext {
        capabilities: Some(cri::Capability {
            add_capabilities: add,
            drop_capabilities: capabilities.drop.unwrap_or_default(),
            ..cri::Capability::default()
        }),
        privileged,
        namespace_options: Some(super::sandbox::namespace_options(&spec)),
        run_as_user: sc.run_as_user.or(pod_sc.run_as_user).map(|value| cri::Int64Value { value }),
        run_as_group: sc.run_as_group.or(pod_sc.run_as_group).map(|value| cri::Int64Value { value }),
        readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
        supplemental_groups: supplemental,
        no_new_privs,
        masked_paths: masked,
        readonly_paths: readonly,
        ..cri::LinuxContainerSecurityContext::default()
    }
}

/// The refusal upstream's kubelet gives a `runAsNonRoot` container that would run as root
/// (`verifyRunAsNonRoot`), given the image's user (`None`: unknown or by name).
pub fn verify_run_as_non_root(
    pod: &Pod,
    container: &Container,
    image_uid: Option<i64>,
    image_user: &str,
) -> Result<(), String> {
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.clone()).unwrap_or_default();
    let sc = container.security_context.clone().unwrap_or_default();
    if !sc.run_as_non_root.or(pod_sc.run_as_non_root).unwrap_or(false) {
        return Ok(());
    }
    match sc.run_as_user.or(pod_sc.run_as_user) {
        Some(0) => Err("container's runAsUser breaks non-root policy".into()),
        Some(_) => Ok(()),
        None => match image_uid {
            Some(0) => Err("container has runAsNonRoot and image will run as root".into()),
            Some(_) => Ok(()),
            None if image_user.is_empty() => Err("container has runAsNonRoot and image will run as root".into()),
            None => Err(format!(
                "container has runAsNonRoot and image has non-numeric user ({image_user}), cannot verify user is non-root"
            )),
        },
    }
}

/// Everything `container_config` needs besides the pod and the container.
pub struct Inputs<'a> {
    pub restart_count: u32,
    /// The image as pulled (its ID or a digest reference).
    pub image_ref: &'a str,
    pub env: &'a [(String, String)],
    pub mounts: Vec<cri::Mount>,
    pub node_memory: u64,
}

pub fn container_config(pod: &Pod, container: &Container, inputs: Inputs<'_>) -> cri::ContainerConfig {
    let mut labels = identity_labels(pod);
    labels.insert(LABEL_CONTAINER_NAME.to_string(), container.name.clone());
    let termination_path = container.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
    let annotations = HashMap::from([
        (ANNOTATION_RESTART_COUNT.to_string(), inputs.restart_count.to_string()),
        (ANNOTATION_HASH.to_string(), spec_hash(container)),
        (ANNOTATION_TERMINATION_PATH.to_string(), termination_path),
    ]);
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata { name: container.name.clone(), attempt: inputs.restart_count }),
        image: Some(cri::ImageSpec {
            image: inputs.image_ref.to_string(),
            user_specified_image: container.image.clone().unwrap_or_default(),
            ..cri::ImageSpec::default()
        }),
        command: expand_all(container.command.as_deref().unwrap_or_default(), inputs.env),
        args: expand_all(container.args.as_deref().unwrap_or_default(), inputs.env),
        working_dir: container.working_dir.clone().unwrap_or_default(),
        envs: inputs.env.iter().map(|(key, value)| cri::KeyValue { key: key.clone(), value: value.clone() }).collect(),
        mounts: inputs.mounts,
        labels,
        annotations,
        log_path: format!("{}/{}.log", container.name, inputs.restart_count),
        stdin: container.stdin.unwrap_or(false),
        stdin_once: container.stdin_once.unwrap_or(false),
        tty: container.tty.unwrap_or(false),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(linux_resources(pod, container, inputs.node_memory)),
            security_context: Some(security_context(pod, container)),
        }),
        ..cri::ContainerConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(container: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"containers": [container]},
        }))
        .unwrap()
    }

    #[test]
    fn resources_map_to_cgroup_settings() {
        let p = pod(
            json!({"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "2Gi"}}}),
        );
        let r = linux_resources(&p, &p.spec.as_ref().unwrap().containers[0], 8 << 30);
        assert_eq!((r.cpu_shares, r.cpu_quota, r.cpu_period), (256, 50_000, 100_000));
        assert_eq!(r.memory_limit_in_bytes, 2 << 30);
        assert_eq!(r.oom_score_adj, 875, "burstable: 1000 - 1000 * 1Gi / 8Gi");

        let best_effort = pod(json!({"name": "c"}));
        let r = linux_resources(&best_effort, &best_effort.spec.as_ref().unwrap().containers[0], 8 << 30);
        assert_eq!((r.cpu_shares, r.cpu_quota, r.memory_limit_in_bytes, r.oom_score_adj), (2, 0, 0, 1000));

        let guaranteed = pod(json!({"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}));
        let r = linux_resources(&guaranteed, &guaranteed.spec.as_ref().unwrap().containers[0], 8 << 30);
        assert_eq!((r.cpu_shares, r.oom_score_adj), (1024, 0), "never a negative OOM score");
    }

    #[test]
    fn command_and_args_expand_and_identity_is_labelled() {
        let p = pod(json!({"name": "c", "image": "img:1", "command": ["/bin/echo"], "args": ["$(WHO)", "$$(WHO)"]}));
        let container = &p.spec.as_ref().unwrap().containers[0];
        let env = vec![("WHO".to_string(), "world".to_string())];
        let config = container_config(
            &p,
            container,
            Inputs { restart_count: 3, image_ref: "sha256:abc", env: &env, mounts: vec![], node_memory: 1 },
        );
        assert_eq!(config.command, ["/bin/echo"]);
        assert_eq!(config.args, ["world", "$(WHO)"]);
        assert_eq!(config.log_path, "c/3.log");
        assert_eq!(config.metadata.unwrap().attempt, 3);
        assert_eq!(config.labels[LABEL_CONTAINER_NAME], "c");
        assert_eq!(config.annotations[ANNOTATION_RESTART_COUNT], "3");
        assert_eq!(config.annotations[ANNOTATION_TERMINATION_PATH], "/dev/termination-log");
    }

    #[test]
    fn security_context_merges_pod_and_container() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "uid": "u"},
            "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000},
                "containers": [{"name": "c", "securityContext": {"runAsUser": 2000, "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}}]},
        }))
        .unwrap();
        let sc = security_context(&p, &p.spec.as_ref().unwrap().containers[0]);
        assert_eq!(sc.run_as_user.unwrap().value, 2000);
        assert_eq!(sc.run_as_group.unwrap().value, 3000);
        assert_eq!(sc.supplemental_groups, [2000]);
        assert!(sc.no_new_privs && sc.readonly_rootfs && !sc.privileged);
        assert_eq!(sc.capabilities.unwrap().drop_capabilities, ["ALL"]);
        assert!(sc.masked_paths.contains(&"/proc/kcore".to_string()));
    }

    #[test]
    fn run_as_non_root_is_enforced() {
        let p = pod(json!({"name": "c", "securityContext": {"runAsNonRoot": true}}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        assert_eq!(
            verify_run_as_non_root(&p, c, Some(0), "").unwrap_err(),
            "container has runAsNonRoot and image will run as root"
        );
        assert!(verify_run_as_non_root(&p, c, Some(65534), "").is_ok());
    }
}
