//! Stopping (upstream's `killContainer`, `SyncTerminatingPod`): preStop hooks within the grace
//! period, containers stopped, sandboxes stopped and removed, the pod's files cleaned up.

use super::*;

impl Worker {
    /// Stops one container: its preStop hook first, within the grace period, then the runtime's
    /// stop (SIGTERM, SIGKILL when the rest of the grace period is over).
    pub(super) async fn stop_container(&self, pod: &Pod, container: &Container, id: &str, grace: i64) {
        let started = std::time::Instant::now();
        if let Some(hook) = container.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
            let target = probes::Target {
                cri: self.shared.cri.clone(),
                container_id: id.to_string(),
                pod_ip: pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()).and_then(|ip| ip.parse().ok()),
                container: container.clone(),
            };
            let budget = Duration::from_secs(grace.max(1) as u64);
            if let Err(message) = probes::lifecycle(hook, &target, budget).await {
                let field = Some(container_field(pod, &container.name));
                self.shared.recorder.warning(
                    reference(pod, field),
                    "FailedPreStopHook",
                    "Kill",
                    format!("PreStopHook failed: {message}"),
                );
            }
        }
        let left = grace - started.elapsed().as_secs() as i64;
        if let Err(e) = self.shared.cri.stop_container(id, left.max(0)).await {
            tracing::warn!(pod = %names(pod).1, container = %container.name, error = %e, "stopping a container");
        }
    }

    pub(super) async fn kill_all(&self, pod: &Pod, runtime: &RuntimePod, grace: i64) {
        let spec = pod.spec.clone().unwrap_or_default();
        let all: Vec<&Container> = spec.containers.iter().chain(spec.init_containers.iter().flatten()).collect();
        let stops = runtime.containers.iter().filter(|c| c.running()).map(|c| {
            let note = format!("Stopping container {}", c.name());
            self.shared.recorder.normal(reference(pod, Some(container_field(pod, c.name()))), "Killing", "Kill", note);
            let fallback = Container { name: c.name().to_string(), ..Container::default() };
            let container = all.iter().find(|s| s.name == c.name()).map(|s| (*s).clone()).unwrap_or(fallback);
            async move { self.stop_container(pod, &container, c.id(), grace).await }
        });
        futures::future::join_all(stops).await;
    }

    pub(super) async fn stop_sandboxes(&self, runtime: &RuntimePod) {
        for sandbox in runtime.sandboxes.iter().filter(|s| s.state == cri::PodSandboxState::SandboxReady as i32) {
            if let Err(e) = self.shared.cri.stop_pod_sandbox(&sandbox.id).await {
                tracing::warn!(sandbox = %sandbox.id, error = %e, "stopping a sandbox");
            }
        }
    }

    /// Graceful deletion: containers stopped within the grace period, the final status
    /// written, the pod removed from the API (grace 0, this uid only) and from the node.
    pub(super) async fn terminate(&mut self, pod: &Pod) -> Next {
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
        if let Err(e) = self.write_status(pod, status).await
            && !matches!(&e, kube::Error::Api(s) if s.code == 404)
        {
            tracing::warn!(pod = %name, error = %e, "writing the final status");
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
    pub(super) async fn remove_orphan(&mut self) {
        if let Ok(runtime) = self.runtime_pod().await {
            for c in runtime.containers.iter().filter(|c| c.running()) {
                let _ = self.shared.cri.stop_container(c.id(), 0).await;
            }
            self.stop_sandboxes(&runtime).await;
            self.remove_everything(&runtime).await;
        }
    }

    pub(super) async fn remove_everything(&self, runtime: &RuntimePod) {
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
        let pod_dir = self.shared.config.pod_dir(&self.uid);
        volumes::unmount_all(&pod_dir);
        let _ = std::fs::remove_dir_all(pod_dir);
        crate::cgroups::remove_pod(&self.shared.config.cgroup_root, &self.uid);
    }
}

/// The grace period of a pod's deletion, or of its spec (upstream default 30 s).
pub(super) fn grace_seconds(pod: &Pod) -> i64 {
    pod.metadata
        .deletion_grace_period_seconds
        .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30)
        .max(0)
}
