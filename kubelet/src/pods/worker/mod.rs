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
use super::probes::{self, ContainerProbes};
use super::status::{ContainerView, Inputs, Waiting, pod_status};
use super::{LABEL_POD_UID, RuntimeContainer, RuntimePod, files, images, names, sandbox};
use crate::volumes;

mod kill;
use kill::grace_seconds;
mod start;

/// How long a worker sleeps when nothing is due: a periodic resync, as upstream's.
const RESYNC: Duration = Duration::from_secs(60);
/// Pods with configMap, secret, downwardAPI or projected volumes resync this often, so that
/// their files follow the objects they show.
const VOLUME_RESYNC: Duration = Duration::from_secs(10);
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
    /// Why the last image pull of each container failed (shown while it backs off).
    pull_errors: HashMap<String, String>,
    last_status: Option<PodStatus>,
    /// The pod's volumes as last prepared, and the last failure to prepare them (reported once).
    volumes: HashMap<String, volumes::Prepared>,
    volume_error: Option<String>,
    /// Probes of the running containers, by container ID.
    probes: HashMap<String, ContainerProbes>,
    /// Wakes this worker (the PLEG, a probe verdict).
    wake: Arc<Notify>,
    /// For `kubelet_pod_start_duration_seconds`: when this kubelet first saw the pod.
    first_seen: Instant,
    start_recorded: bool,
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
            pull_errors: HashMap::new(),
            last_status: None,
            volumes: HashMap::new(),
            volume_error: None,
            probes: HashMap::new(),
            wake: Arc::new(Notify::new()),
            first_seen: Instant::now(),
            start_recorded: false,
        }
    }

    /// Runs until the pod is deleted and cleaned up.
    pub async fn run(mut self, mut pod: watch::Receiver<Option<Arc<Pod>>>, wake: Arc<Notify>) {
        self.wake = wake.clone();
        loop {
            let current = pod.borrow_and_update().clone();
            let next = match current {
                None => {
                    self.remove_orphan().await;
                    Next::Done
                }
                Some(p) => {
                    let started = Instant::now();
                    let next = self.sync(&p).await;
                    self.shared.metrics.pod_worker_duration.observe(started.elapsed().as_secs_f64());
                    next
                }
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
        let api_data =
            pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).any(|v| {
                v.config_map.is_some() || v.secret.is_some() || v.downward_api.is_some() || v.projected.is_some()
            });
        let mut next = tokio::time::Instant::now() + if api_data { VOLUME_RESYNC } else { RESYNC };
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
                next = next.min(tokio::time::Instant::now() + left);
            }
        }
        if failed.is_none()
            && let Some(at) = self.sync_containers(pod, &runtime).await
        {
            next = next.min(at);
        }
        let runtime = match self.runtime_pod().await {
            Ok(r) => r,
            Err(_) => return after(RETRY),
        };
        self.sync_probes(pod, &runtime);
        let status = self.status(pod, &runtime, failed);
        let phase = status.phase.clone().unwrap_or_default();
        let was_running =
            self.last_status.as_ref().or(pod.status.as_ref()).and_then(|s| s.phase.as_deref()) == Some("Running");
        if let Err(e) = self.write_status(pod, status).await {
            tracing::warn!(pod = %names(pod).1, error = %e, "writing pod status");
            return after(RETRY);
        }
        if phase == "Running" && !was_running && !self.start_recorded {
            // Upstream measures from the kubelet first seeing the pod; pods already running
            // when the kubelet (re)starts are not counted.
            self.start_recorded = true;
            self.shared.metrics.pod_start_duration.observe(self.first_seen.elapsed().as_secs_f64());
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
        if let Some(retry) = self.prepare_volumes(pod).await {
            return Some(retry);
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
                if let Some((kind, message)) = self.probes.get(c.id()).and_then(ContainerProbes::must_restart) {
                    let field = Some(container_field(pod, &name));
                    let probe = kind.name();
                    self.shared.recorder.warning(
                        reference(pod, field.clone()),
                        "Unhealthy",
                        "Probe",
                        format!("{probe} probe failed: {message}"),
                    );
                    let note = format!("Container {name} failed {} probe, will be restarted", probe.to_lowercase());
                    self.shared.recorder.normal(reference(pod, field), "Killing", "Kill", note);
                    self.probes.remove(c.id());
                    self.stop_container(pod, container, c.id(), grace_seconds(pod)).await;
                    return Some(tokio::time::Instant::now());
                }
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
        shared.metrics.started_pods.inc();
        match shared.cri.run_pod_sandbox(config).await {
            Ok(id) => {
                tracing::debug!(pod = %name, sandbox = %id, "sandbox ready");
                self.backoff.reset("sandbox");
                None
            }
            Err(e) => {
                shared.metrics.started_pods_errors.inc();
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
        let probes = latest.and_then(|c| self.probes.get(c.id()));
        let ready = running && probes.is_none_or(|p| p.ready(container));
        let started = running && probes.is_none_or(|p| p.started(container));
        ContainerView { latest, previous, waiting, message, previous_message, ready, started }
    }

    /// Probes run for every running container of the current sandbox that has any, and stop
    /// with it.
    fn sync_probes(&mut self, pod: &Pod, runtime: &RuntimePod) {
        let running: Vec<&RuntimeContainer> = runtime.containers.iter().filter(|c| c.running()).collect();
        self.probes.retain(|id, _| running.iter().any(|c| c.id() == id));
        let spec = pod.spec.clone().unwrap_or_default();
        let pod_ip = runtime.pod_ip().and_then(|ip| ip.parse().ok()).or(if spec.host_network.unwrap_or(false) {
            Some(self.shared.config.node_ip)
        } else {
            None
        });
        for c in running {
            if self.probes.contains_key(c.id()) {
                continue;
            }
            let container =
                spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|s| s.name == c.name());
            let Some(container) = container
                .filter(|s| s.liveness_probe.is_some() || s.readiness_probe.is_some() || s.startup_probe.is_some())
            else {
                continue;
            };
            let target = probes::Target {
                cri: self.shared.cri.clone(),
                container_id: c.id().to_string(),
                pod_ip,
                container: container.clone(),
            };
            self.probes.insert(c.id().to_string(), probes::start(target, self.wake.clone()));
        }
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
