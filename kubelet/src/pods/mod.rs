//! Pods on a real node: from the Pod objects bound to it to sandboxes and containers in the
//! runtime and back to `status`. Upstream's names: `manager.rs` (pod workers and the PLEG relist
//! that wakes them), `worker.rs` (`SyncPod`, `SyncTerminatingPod`), `sandbox.rs` and
//! `container.rs` (the CRI configurations), `env.rs` (the environment), `images.rs` (pull
//! policy and pull secrets), `status.rs` (the PodStatus the API sees), `backoff.rs` (crash-loop
//! and image-pull back-off), `files.rs` (the pod's own files: /etc/hosts, termination logs).

pub mod backoff;
pub mod container;
pub mod env;
pub mod files;
pub mod images;
pub mod manager;
pub mod probes;
pub mod sandbox;
pub mod status;
pub mod worker;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;

pub use manager::PodManager;

/// Labels the kubelet puts on every sandbox and container (upstream's names), so that a
/// restarted kubelet finds what it started.
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Annotations on containers.
pub const ANNOTATION_RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
pub const ANNOTATION_HASH: &str = "io.kubernetes.container.hash";
pub const ANNOTATION_TERMINATION_PATH: &str = "io.kubernetes.container.terminationMessagePath";

/// (namespace, name, uid) of a pod.
pub fn names(pod: &Pod) -> (&str, &str, &str) {
    let meta = &pod.metadata;
    (
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default(),
        meta.uid.as_deref().unwrap_or_default(),
    )
}

/// One container as the runtime knows it, with the details of `ContainerStatus`.
#[derive(Clone, Debug)]
pub struct RuntimeContainer {
    pub summary: cri::Container,
    pub status: cri::ContainerStatus,
}

impl RuntimeContainer {
    pub fn id(&self) -> &str {
        &self.summary.id
    }
    pub fn name(&self) -> &str {
        self.summary.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default()
    }
    pub fn state(&self) -> cri::ContainerState {
        cri::ContainerState::try_from(self.status.state).unwrap_or(cri::ContainerState::ContainerUnknown)
    }
    pub fn running(&self) -> bool {
        self.state() == cri::ContainerState::ContainerRunning
    }
    pub fn exited(&self) -> bool {
        self.state() == cri::ContainerState::ContainerExited
    }
    pub fn restart_count(&self) -> u32 {
        self.summary.annotations.get(ANNOTATION_RESTART_COUNT).and_then(|c| c.parse().ok()).unwrap_or(0)
    }
    pub fn hash(&self) -> &str {
        self.summary.annotations.get(ANNOTATION_HASH).map(String::as_str).unwrap_or_default()
    }
}

/// What the runtime has of one pod: sandboxes and containers, newest first.
#[derive(Clone, Debug, Default)]
pub struct RuntimePod {
    pub sandboxes: Vec<cri::PodSandboxStatus>,
    pub containers: Vec<RuntimeContainer>,
}

impl RuntimePod {
    pub fn sandbox(&self) -> Option<&cri::PodSandboxStatus> {
        self.sandboxes.first()
    }

    pub fn sandbox_ready(&self) -> bool {
        self.sandbox().is_some_and(|s| s.state == cri::PodSandboxState::SandboxReady as i32)
    }

    /// The newest container named `name`, and the one before it.
    pub fn latest(&self, name: &str) -> (Option<&RuntimeContainer>, Option<&RuntimeContainer>) {
        let mut of_name = self.containers.iter().filter(|c| c.name() == name);
        (of_name.next(), of_name.next())
    }

    /// The newest container named `name` in the current sandbox.
    pub fn current(&self, name: &str) -> Option<&RuntimeContainer> {
        let sandbox = self.sandbox()?;
        self.containers.iter().find(|c| c.name() == name && c.summary.pod_sandbox_id == sandbox.id)
    }

    pub fn pod_ip(&self) -> Option<String> {
        let ip = self.sandbox()?.network.as_ref()?.ip.clone();
        (!ip.is_empty()).then_some(ip)
    }
}
