//! One pod's worker (upstream's pod worker running `SyncPod` / `SyncTerminatingPod`): it drives
//! the runtime toward the pod's spec — a ready sandbox, init containers in order, then every
//! container, restarted as its policy and back-off say — writes the status when it changes, and
//! on deletion stops everything within the grace period and removes the pod.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{ConfigMap, Container, ObjectReference, Pod, PodStatus, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use tokio::sync::{Notify, watch};

use super::backoff::Backoff;
use super::container::{Inputs as ContainerInputs, container_config, spec_hash, verify_run_as_non_root};
use super::env::{Sources, environment, referenced};
use super::manager::Shared;
use super::status::{ContainerView, Inputs, Waiting, pod_status};
use super::{LABEL_POD_UID, RuntimeContainer, RuntimePod, files, images, names, sandbox};

/// How long a worker sleeps when nothing is due: a periodic resync, as upstream's.
const RESYNC: Duration = Duration::from_secs(60);
/// A failed runtime or API call is retried after this.
const RETRY: Duration = Duration::from_secs(1);
/// A container that ran this long before exiting restarts without back-off.
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(600);

/// What the worker does next.
pub enum Next {
    /// The pod is gone: the worker ends.
    Done,
    /// Sync again at this instant at the latest (or sooner, when woken).
    At(tokio::time::Instant),
}

fn after(delay: Duration) -> Next {
    Next::At(tokio::time::Instant::now() + delay)
}

pub struct Worker {
    shared: Arc<Shared>,
    uid: String,
    backoff: Backoff,
    /// Why containers are not running, by name, when the kubelet knows why.
    waiting: HashMap<String, Waiting>,
    /// Termination messages read once per exited container ID.
    messages: HashMap<String, String>,
    last_status: Option<PodStatus>,
}

fn reference(pod: &Pod, field: Option<String>) -> ObjectReference {
    let (namespace, name, uid) = names(pod);
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        uid: Some(uid.into()),
        field_path: field,
        resource_version: pod.metadata.resource_version.clone(),
    }
}

fn container_field(pod: &Pod, name: &str) -> String {
    let init = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).any(|c| c.name == name);
    if init { format!("spec.initContainers{{{name}}}") } else { format!("spec.containers{{{name}}}") }
}

fn should_restart(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}

impl Worker {
    pub fn new(shared: Arc<Shared>, uid: String) -> Worker {
        Worker {
            shared,
            uid,
            backoff: Backoff::default(),
            waiting: HashMap::new(),
            messages: HashMap::new(),
            last_status: None,
        }
    }

    /// Runs until the pod is deleted and cleaned up.
    pub async fn run(mut self, mut pod: watch::Receiver<Option<Arc<Pod>>>, wake: Arc<Notify>) {
        loop {
            let current = pod.borrow_and_update().clone();
            let next = match current {
                None => {
                    self.remove_orphan().await;
                    Next::Done
                }
                Some(p) => self.sync(&p).await,
            };
            match next {
                Next::Done => return,
                Next::At(deadline) => {
                    tokio::select! {
                        changed = pod.changed() => if changed.is_err() {
                            self.remove_orphan().await;
                            return;
                        },
                        () = wake.notified() => {}
                        () = tokio::time::sleep_until(deadline) => {}
                    }
                }
            }
        }
    }

    /// What the runtime has of this pod now.
    async fn runtime_pod(&self) -> Result<RuntimePod, crate::cri::CriError> {
        let cri = &self.shared.cri;
        let labels = HashMap::from([(LABEL_POD_UID.to_string(), self.uid.clone())]);
        let mut sandboxes = Vec::new();
        let mut listed = cri.list_pod_sandboxes(Some(&labels)).await?;
        listed.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        for s in listed {
            match cri.pod_sandbox_status(&s.id).await {
                Ok(status) => sandboxes.push(status),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let mut containers = Vec::new();
        let mut listed = cri.list_containers(Some(&labels)).await?;
        listed.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.metadata.as_ref().map(|m| m.attempt))));
        for summary in listed {
            match cri.container_status(&summary.id).await {
                Ok(status) => containers.push(RuntimeContainer { summary, status }),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(RuntimePod { sandboxes, containers })
    }

    async fn sync(&mut self, pod: &Pod) -> Next {
        if pod.metadata.deletion_timestamp.is_some() {
            return self.terminate(pod).await;
        }
        let runtime = match self.runtime_pod().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(pod = %names(pod).1, error = %e, "reading the pod's runtime state");
                return after(RETRY);
            }
        };
        let terminal = matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
        if terminal {
            // Nothing restarts; the sandbox goes so the pod holds no resources.
            self.stop_sandboxes(&runtime).await;
            return after(RESYNC);
        }
        let mut next = tokio::time::Instant::now() + RESYNC;
        let mut failed = None;
        if let Some(deadline) = self.active_deadline(pod) {
            if Timestamp::now() >= deadline {
                self.shared.recorder.normal(
                    reference(pod, None),
                    "DeadlineExceeded",
                    "Kill",
                    "Pod was active on the node longer than the specified deadline".into(),
                );
                self.kill_all(pod, &runtime, 0).await;
                failed = Some((
                    "DeadlineExceeded".to_string(),
                    "Pod was active on the node longer than the specified deadline".to_string(),
                ));
            } else {
                let left = deadline.duration_since(Timestamp::now()).unsigned_abs();
                next = next.min(tokio::time::Instant::now() + Duration::try_from(left).unwrap_or(RESYNC));
            }
        }
        if failed.is_none() {
            if let Some(at) = self.sync_containers(pod, &runtime).await {
                next = next.min(at);
            }
        }
        let runtime = match self.runtime_pod().await {
            Ok(r) => r,
            Err(_) => return after(RETRY),
        };
        let status = self.status(pod, &runtime, failed);
        let phase = status.phase.clone().unwrap_or_default();
        if let Err(e) = self.write_status(pod, status).await {
            tracing::warn!(pod = %names(pod).1, error = %e, "writing pod status");
            return after(RETRY);
        }
        if phase == "Succeeded" || phase == "Failed" {
            self.stop_sandboxes(&runtime).await;
        }
        Next::At(next)
    }

    fn active_deadline(&self, pod: &Pod) -> Option<Timestamp> {
        let seconds = pod.spec.as_ref()?.active_deadline_seconds?;
        let start = pod.status.as_ref()?.start_time.as_ref()?.0;
        start.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(seconds)).ok()
    }

    /// Creates the sandbox if needed, then init containers in order, then the containers.
    /// Returns when it wants to look again (a back-off ending).
    async fn sync_containers(&mut self, pod: &Pod, runtime: &RuntimePod) -> Option<tokio::time::Instant> {
        let spec = pod.spec.clone().unwrap_or_default();
        let policy = spec.restart_policy.clone().unwrap_or_else(|| "Always".into());
        let mut runtime = runtime.clone();
        if !runtime.sandbox_ready() {
            let ran_before = runtime.sandbox().is_some() && !runtime.containers.is_empty();
            if ran_before && policy == "Never" {
                // A dead sandbox of a Never pod is not replaced: its containers are final.
                return None;
            }
            if let Some(at) = self.create_sandbox(pod, &runtime).await {
                return Some(at);
            }
            runtime = self.runtime_pod().await.ok()?;
        }
        let mut wake: Option<tokio::time::Instant> = None;
        let mut earliest = |at: Option<tokio::time::Instant>| {
            if let Some(at) = at {
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
        };
        for init in spec.init_containers.iter().flatten() {
            if init.restart_policy.as_deref() == Some("Always") {
                // A sidecar: started in order, then left running beside the rest.
                earliest(self.keep_running(pod, init, &runtime, "Always").await);
                if !runtime.current(&init.name).is_some_and(|c| c.running()) {
                    return wake;
                }
                continue;
            }
            match runtime.current(&init.name) {
                Some(c) if c.exited() && c.status.exit_code == 0 => continue,
                Some(c) if c.exited() => {
                    if policy != "Never" {
                        earliest(self.keep_running(pod, init, &runtime, "OnFailure").await);
                    }
                    return wake;
                }
                Some(_) => return wake,
                None => {
                    earliest(self.keep_running(pod, init, &runtime, "OnFailure").await);
                    return wake;
                }
            }
        }
        for container in &spec.containers {
            earliest(self.keep_running(pod, container, &runtime, &policy).await);
        }
        wake
    }

    /// Starts `container` if it never ran in this sandbox, restarts it after an exit as
    /// `policy` and its back-off allow, replaces it if its spec changed.
    async fn keep_running(
        &mut self,
        pod: &Pod,
        container: &Container,
        runtime: &RuntimePod,
        policy: &str,
    ) -> Option<tokio::time::Instant> {
        let name = container.name.clone();
        let now = Instant::now();
        let (latest, _) = runtime.latest(&name);
        let restart_count = latest.map(|c| c.restart_count() + 1).unwrap_or(0);
        match runtime.current(&name) {
            None => self.start_container(pod, container, runtime, restart_count).await,
            Some(c) if c.running() => {
                if c.hash() != spec_hash(container) {
                    let note = format!("Container {name} definition changed, will be restarted");
                    self.shared.recorder.normal(
                        reference(pod, Some(container_field(pod, &name))),
                        "Killing",
                        "Kill",
                        note,
                    );
                    let _ = self.shared.cri.stop_container(c.id(), grace_seconds(pod)).await;
                }
                None
            }
            Some(c) if c.exited() => {
                if !should_restart(policy, c.status.exit_code) {
                    return None;
                }
                let ran = Duration::from_nanos((c.status.finished_at - c.status.started_at).max(0) as u64);
                if ran >= BACKOFF_RESET_AFTER {
                    self.backoff.reset(&name);
                }
                if let Some(until) = self.backoff.waiting_until(&name, now) {
                    let delay = self.backoff.delay(&name, now);
                    let (namespace, pod_name, uid) = names(pod);
                    let message = format!(
                        "back-off {} restarting failed container={name} pod={pod_name}_{namespace}({uid})",
                        go_duration(delay)
                    );
                    if self.waiting.get(&name).map(|w| w.reason.as_str()) != Some("CrashLoopBackOff") {
                        self.shared.recorder.warning(
                            reference(pod, Some(container_field(pod, &name))),
                            "BackOff",
                            "Restart",
                            "Back-off restarting failed container".into(),
                        );
                    }
                    self.waiting.insert(name, Waiting { reason: "CrashLoopBackOff".into(), message: Some(message) });
                    return Some(tokio::time::Instant::from_std(until));
                }
                self.backoff.next(&name, now);
                self.start_container(pod, container, runtime, restart_count).await
            }
            // Created but never started (a start that failed): replace it.
            Some(c) => {
                let _ = self.shared.cri.remove_container(c.id()).await;
                self.start_container(pod, container, runtime, restart_count).await
            }
        }
    }

    async fn create_sandbox(&mut self, pod: &Pod, runtime: &RuntimePod) -> Option<tokio::time::Instant> {
        let shared = self.shared.clone();
        let attempt = runtime.sandbox().and_then(|s| s.metadata.as_ref()).map(|m| m.attempt + 1).unwrap_or(0);
        if let Some(old) = runtime.sandbox() {
            // Its containers die with it; new ones start in the new sandbox.
            self.kill_all(pod, runtime, grace_seconds(pod)).await;
            let _ = shared.cri.stop_pod_sandbox(&old.id).await;
        }
        let (namespace, name, uid) = names(pod);
        let _ = std::fs::create_dir_all(shared.config.pod_logs_dir(namespace, name, uid));
        let _ = std::fs::create_dir_all(shared.config.pod_dir(uid));
        let config = sandbox::sandbox_config(&shared.config, pod, attempt, &shared.host_resolv_conf);
        match shared.cri.run_pod_sandbox(config).await {
            Ok(id) => {
                tracing::debug!(pod = %name, sandbox = %id, "sandbox ready");
                self.backoff.reset("sandbox");
                None
            }
            Err(e) => {
                let message = format!("Failed to create pod sandbox: {}", e.message());
                tracing::warn!(pod = %name, error = %message);
                self.shared.recorder.warning(reference(pod, None), "FailedCreatePodSandBox", "Create", message);
                let now = Instant::now();
                self.backoff.next("sandbox", now);
                let until = self.backoff.waiting_until("sandbox", now).unwrap_or(now + RETRY);
                Some(tokio::time::Instant::from_std(until))
            }
        }
    }

    /// Fetches what the environment reads (a missing object is `None`, not an error).
    async fn sources(&self, pod: &Pod, container: &Container) -> Result<Sources, kube::Error> {
        let client = self.shared.client.clone();
        let namespace = names(pod).0.to_string();
        let (config_maps, secrets) = referenced(std::iter::once(container));
        let mut sources = Sources {
            node_allocatable_milli_cpu: self.shared.allocatable_milli_cpu,
            node_allocatable_memory: self.shared.allocatable_memory,
            ..Sources::default()
        };
        let cm_api: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
        for name in config_maps {
            sources.config_maps.insert(name.clone(), cm_api.get_opt(&name).await?);
        }
        let secret_api: Api<Secret> = Api::namespaced(client, &namespace);
        for name in secrets {
            sources.secrets.insert(name.clone(), secret_api.get_opt(&name).await?);
        }
        if pod.spec.as_ref().and_then(|s| s.enable_service_links).unwrap_or(true) {
            sources.services = self.shared.services_for(&namespace);
        }
        Ok(sources)
    }

    async fn pull_secrets(&self, pod: &Pod) -> Vec<Secret> {
        let api: Api<Secret> = Api::namespaced(self.shared.client.clone(), names(pod).0);
        let mut out = Vec::new();
        for reference in pod.spec.iter().flat_map(|s| s.image_pull_secrets.iter().flatten()) {
            if let Ok(Some(secret)) = api.get_opt(&reference.name).await {
                out.push(secret);
            }
        }
        out
    }

    fn set_waiting(&mut self, pod: &Pod, container: &str, reason: &str, message: String, event_reason: &str) {
        let field = Some(container_field(pod, container));
        self.shared.recorder.warning(reference(pod, field), event_reason, "Create", format!("Error: {message}"));
        self.waiting.insert(container.to_string(), Waiting { reason: reason.to_string(), message: Some(message) });
    }

    async fn start_container(
        &mut self,
        pod: &Pod,
        container: &Container,
        runtime: &RuntimePod,
        restart_count: u32,
    ) -> Option<tokio::time::Instant> {
        let shared = self.shared.clone();
        let name = container.name.clone();
        let field = Some(container_field(pod, &name));
        let sandbox = runtime.sandbox()?;
        let sandbox_config = sandbox::sandbox_config(
            &shared.config,
            pod,
            sandbox.metadata.as_ref().map(|m| m.attempt).unwrap_or(0),
            &shared.host_resolv_conf,
        );
        let now = Instant::now();
        let image = container.image.clone().unwrap_or_default();
        let pull_key = format!("pull:{name}");
        if let Some(until) = self.backoff.waiting_until(&pull_key, now) {
            self.waiting.insert(
                name,
                Waiting {
                    reason: "ImagePullBackOff".into(),
                    message: Some(format!("Back-off pulling image \"{image}\"")),
                },
            );
            return Some(tokio::time::Instant::from_std(until));
        }
        if self.waiting.get(&name).is_none_or(|w| w.reason != "CrashLoopBackOff") {
            self.waiting.insert(name.clone(), Waiting { reason: "ContainerCreating".into(), message: None });
        }
        let secrets = self.pull_secrets(pod).await;
        let started_pull = Instant::now();
        let image_ref = match images::ensure(&shared.cri, container, &secrets, &sandbox_config).await {
            Ok((image_ref, pulled)) => {
                self.backoff.reset(&pull_key);
                if pulled {
                    let note = format!("Successfully pulled image \"{image}\" in {:?}", started_pull.elapsed());
                    shared.recorder.normal(reference(pod, field.clone()), "Pulled", "Pull", note);
                }
                image_ref
            }
            Err(e) => {
                self.shared.recorder.warning(reference(pod, field.clone()), "Failed", "Pull", e.message.clone());
                let pulled = e.reason == "ErrImagePull";
                self.waiting.insert(name.clone(), Waiting { reason: e.reason.into(), message: Some(e.message) });
                // Only failed pulls back off (ImagePullBackOff); other reasons stay as they are.
                if !pulled {
                    return Some(tokio::time::Instant::now() + backoff_retry());
                }
                self.backoff.next(&pull_key, now);
                let until = self.backoff.waiting_until(&pull_key, now).unwrap_or(now + RETRY);
                return Some(tokio::time::Instant::from_std(until));
            }
        };
        let sources = match self.sources(pod, container).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(pod = %names(pod).1, error = %e, "reading the container's environment sources");
                return Some(tokio::time::Instant::now() + RETRY);
            }
        };
        let env = match environment(pod, container, &sources) {
            Ok(env) => env,
            Err(message) => {
                self.set_waiting(pod, &name, "CreateContainerConfigError", message, "Failed");
                return Some(tokio::time::Instant::now() + backoff_retry());
            }
        };
        if let Ok(Some(img)) = shared.cri.image_status(&image_ref).await {
            if let Err(message) = verify_run_as_non_root(pod, container, img.uid.map(|u| u.value), &img.username) {
                self.set_waiting(pod, &name, "CreateContainerConfigError", message, "Failed");
                return Some(tokio::time::Instant::now() + backoff_retry());
            }
        }
        let mounts = match self.mounts(pod, container, runtime, restart_count) {
            Ok(m) => m,
            Err(e) => {
                self.set_waiting(pod, &name, "CreateContainerConfigError", e.to_string(), "Failed");
                return Some(tokio::time::Instant::now() + backoff_retry());
            }
        };
        let inputs = ContainerInputs {
            restart_count,
            image_ref: &image_ref,
            env: &env,
            mounts,
            node_memory: shared.node_memory,
        };
        let config = container_config(pod, container, inputs);
        let id = match shared.cri.create_container(&sandbox.id, config, sandbox_config).await {
            Ok(id) => id,
            Err(e) => {
                self.set_waiting(pod, &name, "CreateContainerError", e.message(), "Failed");
                return Some(tokio::time::Instant::now() + backoff_retry());
            }
        };
        shared.recorder.normal(
            reference(pod, field.clone()),
            "Created",
            "Create",
            format!("Created container: {name}"),
        );
        if let Err(e) = shared.cri.start_container(&id).await {
            let _ = shared.cri.remove_container(&id).await;
            self.set_waiting(pod, &name, "RunContainerError", e.message(), "Failed");
            return Some(tokio::time::Instant::now() + backoff_retry());
        }
        shared.recorder.normal(reference(pod, field), "Started", "Start", format!("Started container {name}"));
        self.waiting.remove(&name);
        None
    }

    /// /etc/hosts (not for host-network pods, whose file is the node's) and the termination log.
    fn mounts(
        &self,
        pod: &Pod,
        container: &Container,
        runtime: &RuntimePod,
        restart_count: u32,
    ) -> std::io::Result<Vec<cri::Mount>> {
        let config = &self.shared.config;
        let uid = names(pod).2;
        let mut mounts = Vec::new();
        let hostname = sandbox::hostname(pod);
        let pod_ip = runtime.pod_ip().unwrap_or_default();
        let hosts = files::write_hosts(config, pod, &pod_ip, &hostname)?;
        mounts.push(cri::Mount {
            container_path: "/etc/hosts".into(),
            host_path: hosts.to_string_lossy().into_owned(),
            ..cri::Mount::default()
        });
        let path = files::termination_path(config, uid, &container.name, restart_count);
        let target = container.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
        mounts.push(files::termination_mount(&path, &target)?);
        Ok(mounts)
    }

    fn view<'a>(&mut self, pod: &Pod, container: &Container, runtime: &'a RuntimePod) -> ContainerView<'a> {
        let (latest, previous) = runtime.latest(&container.name);
        let uid = names(pod).2;
        let mut message_of = |c: Option<&RuntimeContainer>| -> Option<String> {
            let c = c.filter(|c| c.exited())?;
            if let Some(m) = self.messages.get(c.id()) {
                return Some(m.clone());
            }
            let path = files::termination_path(&self.shared.config, uid, &container.name, c.restart_count());
            let fallback = container.termination_message_policy.as_deref() == Some("FallbackToLogsOnError");
            let message = files::termination_message(
                &path,
                fallback,
                c.status.exit_code != 0,
                std::path::Path::new(&c.status.log_path),
            );
            self.messages.insert(c.id().to_string(), message.clone());
            Some(message)
        };
        let message = message_of(latest);
        let previous_message = message_of(previous);
        // A running container's kubelet-side reason no longer applies.
        let waiting = match latest {
            Some(c) if c.running() => None,
            _ => self.waiting.get(&container.name).cloned(),
        };
        let running = latest.is_some_and(|c| c.running());
        ContainerView { latest, previous, waiting, message, previous_message, ready: running, started: running }
    }

    fn status(&mut self, pod: &Pod, runtime: &RuntimePod, failed: Option<(String, String)>) -> PodStatus {
        let spec = pod.spec.clone().unwrap_or_default();
        let init: Vec<ContainerView> =
            spec.init_containers.iter().flatten().map(|c| self.view(pod, c, runtime)).collect();
        let containers: Vec<ContainerView> = spec.containers.iter().map(|c| self.view(pod, c, runtime)).collect();
        let host_ip = self.shared.config.node_ip.to_string();
        pod_status(Inputs {
            pod,
            host_ip: &host_ip,
            pod_ip: runtime.pod_ip(),
            sandbox_ready: runtime.sandbox_ready(),
            runtime_name: &self.shared.runtime_name,
            init,
            containers,
            failed,
            now: Timestamp::now(),
        })
    }

    async fn write_status(&mut self, pod: &Pod, status: PodStatus) -> Result<(), kube::Error> {
        let unchanged = |old: &PodStatus| serde_json::to_value(old).ok() == serde_json::to_value(&status).ok();
        if self.last_status.as_ref().is_some_and(unchanged) || pod.status.as_ref().is_some_and(unchanged) {
            return Ok(());
        }
        let (namespace, name, uid) = names(pod);
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), namespace);
        // The whole status; conditions merge by type (strategic merge), so other writers' stay.
        let patch = serde_json::json!({"metadata": {"uid": uid}, "status": status});
        api.patch_status(name, &PatchParams::default(), &Patch::Strategic(patch)).await?;
        self.last_status = Some(status);
        Ok(())
    }

    async fn kill_all(&self, pod: &Pod, runtime: &RuntimePod, grace: i64) {
        let stops = runtime.containers.iter().filter(|c| c.running()).map(|c| {
            let note = format!("Stopping container {}", c.name());
            self.shared.recorder.normal(reference(pod, Some(container_field(pod, c.name()))), "Killing", "Kill", note);
            self.shared.cri.stop_container(c.id(), grace)
        });
        for result in futures::future::join_all(stops).await {
            if let Err(e) = result {
                tracing::warn!(pod = %names(pod).1, error = %e, "stopping a container");
            }
        }
    }

    async fn stop_sandboxes(&self, runtime: &RuntimePod) {
        for sandbox in runtime.sandboxes.iter().filter(|s| s.state == cri::PodSandboxState::SandboxReady as i32) {
            if let Err(e) = self.shared.cri.stop_pod_sandbox(&sandbox.id).await {
                tracing::warn!(sandbox = %sandbox.id, error = %e, "stopping a sandbox");
            }
        }
    }

    /// Graceful deletion: containers stopped within the grace period, the final status
    /// written, the pod removed from the API (grace 0, this uid only) and from the node.
    async fn terminate(&mut self, pod: &Pod) -> Next {
        let grace = grace_seconds(pod);
        let Ok(runtime) = self.runtime_pod().await else { return after(RETRY) };
        self.kill_all(pod, &runtime, grace).await;
        self.stop_sandboxes(&runtime).await;
        let Ok(runtime) = self.runtime_pod().await else { return after(RETRY) };
        let mut status = self.status(pod, &runtime, None);
        // A deleted pod ends like a Never pod: Succeeded only if everything exited 0.
        let all_zero = status
            .container_statuses
            .iter()
            .flatten()
            .all(|s| s.state.as_ref().and_then(|st| st.terminated.as_ref()).is_some_and(|t| t.exit_code == 0));
        if !matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            status.phase = Some(
                if all_zero && !status.container_statuses.as_ref().is_none_or(Vec::is_empty) {
                    "Succeeded"
                } else {
                    "Failed"
                }
                .into(),
            );
        }
        let (namespace, name, uid) = names(pod);
        if let Err(e) = self.write_status(pod, status).await {
            if !matches!(&e, kube::Error::Api(s) if s.code == 404) {
                tracing::warn!(pod = %name, error = %e, "writing the final status");
            }
        }
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(uid.to_string()), resource_version: None }),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => {
                tracing::warn!(pod = %name, error = %e, "deleting the pod");
                return after(RETRY);
            }
        }
        self.remove_everything(&runtime).await;
        tracing::info!(pod = %name, namespace, "pod terminated and removed");
        Next::Done
    }

    /// The pod is gone from the API (or never was): whatever runs of it goes at once.
    async fn remove_orphan(&mut self) {
        if let Ok(runtime) = self.runtime_pod().await {
            for c in runtime.containers.iter().filter(|c| c.running()) {
                let _ = self.shared.cri.stop_container(c.id(), 0).await;
            }
            self.stop_sandboxes(&runtime).await;
            self.remove_everything(&runtime).await;
        }
    }

    async fn remove_everything(&self, runtime: &RuntimePod) {
        let cri = &self.shared.cri;
        for sandbox in &runtime.sandboxes {
            if let Err(e) = cri.remove_pod_sandbox(&sandbox.id).await {
                tracing::warn!(sandbox = %sandbox.id, error = %e, "removing a sandbox");
            }
            if let Some(meta) = &sandbox.metadata {
                let _ =
                    std::fs::remove_dir_all(self.shared.config.pod_logs_dir(&meta.namespace, &meta.name, &meta.uid));
            }
        }
        let _ = std::fs::remove_dir_all(self.shared.config.pod_dir(&self.uid));
    }
}

/// The grace period of a pod's deletion, or of its spec (upstream default 30 s).
fn grace_seconds(pod: &Pod) -> i64 {
    pod.metadata
        .deletion_grace_period_seconds
        .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30)
        .max(0)
}

/// Configuration errors are retried after a short pause (the object may appear).
fn backoff_retry() -> Duration {
    Duration::from_secs(2)
}

/// Go's `time.Duration` text for whole seconds and minutes ("10s", "2m40s", "5m0s").
fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 { format!("{}m{}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy_decides() {
        assert!(should_restart("Always", 0));
        assert!(!should_restart("OnFailure", 0));
        assert!(should_restart("OnFailure", 1));
        assert!(!should_restart("Never", 1));
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(160)), "2m40s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }
}
