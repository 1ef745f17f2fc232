//! Starting containers (upstream's `startContainer`): volumes set up, the image pulled as its
//! policy says, the environment and mounts made, the container created and started, its
//! postStart hook run; each failure becomes the waiting reason kubectl shows.

use super::*;
use crate::metrics::ContainerTypeLabel;

impl Worker {
    /// Sets up or refreshes the pod's volumes; on failure (a missing ConfigMap...) reports a
    /// FailedMount event once and asks to try again shortly.
    pub(super) async fn prepare_volumes(&mut self, pod: &Pod) -> Option<tokio::time::Instant> {
        let sources = Sources {
            node_allocatable_milli_cpu: self.shared.allocatable_milli_cpu,
            node_allocatable_memory: self.shared.allocatable_memory,
            ..Sources::default()
        };
        match volumes::prepare(&self.shared.config, &self.shared.client, pod, &sources).await {
            Ok(prepared) => {
                self.volumes = prepared;
                self.volume_error = None;
                None
            }
            Err(message) => {
                if self.volume_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(pod = %names(pod).1, error = %message, "preparing volumes");
                    self.shared.recorder.warning(reference(pod, None), "FailedMount", "Mount", message.clone());
                    self.volume_error = Some(message);
                }
                Some(tokio::time::Instant::now() + backoff_retry())
            }
        }
    }

    /// Fetches what the environment reads (a missing object is `None`, not an error).
    pub(super) async fn sources(&self, pod: &Pod, container: &Container) -> Result<Sources, kube::Error> {
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

    pub(super) async fn pull_secrets(&self, pod: &Pod) -> Vec<Secret> {
        let api: Api<Secret> = Api::namespaced(self.shared.client.clone(), names(pod).0);
        let mut out = Vec::new();
        for reference in pod.spec.iter().flat_map(|s| s.image_pull_secrets.iter().flatten()) {
            if let Ok(Some(secret)) = api.get_opt(&reference.name).await {
                out.push(secret);
            }
        }
        out
    }

    pub(super) fn set_waiting(
        &mut self,
        pod: &Pod,
        container: &str,
        reason: &str,
        message: String,
        event_reason: &str,
    ) {
        let field = Some(container_field(pod, container));
        self.shared.recorder.warning(reference(pod, field), event_reason, "Create", format!("Error: {message}"));
        self.waiting.insert(container.to_string(), Waiting { reason: reason.to_string(), message: Some(message) });
    }

    pub(super) async fn start_container(
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
            // Since 1.32 upstream repeats why the last pull failed.
            let message = match self.pull_errors.get(&name) {
                Some(last) => format!("Back-off pulling image \"{image}\": ErrImagePull: {last}"),
                None => format!("Back-off pulling image \"{image}\""),
            };
            self.waiting.insert(name, Waiting { reason: "ImagePullBackOff".into(), message: Some(message) });
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
                self.pull_errors.remove(&name);
                let note = if pulled {
                    format!("Successfully pulled image \"{image}\" in {:?}", started_pull.elapsed())
                } else {
                    format!("Container image \"{image}\" already present on machine")
                };
                shared.recorder.normal(reference(pod, field.clone()), "Pulled", "Pull", note);
                image_ref
            }
            Err(e) => {
                self.shared.recorder.warning(reference(pod, field.clone()), "Failed", "Pull", e.message.clone());
                let pulled = e.reason == "ErrImagePull";
                if pulled {
                    self.pull_errors.insert(name.clone(), e.message.clone());
                }
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
        if let Ok(Some(img)) = shared.cri.image_status(&image_ref).await
            && let Err(message) = verify_run_as_non_root(pod, container, img.uid.map(|u| u.value), &img.username)
        {
            self.set_waiting(pod, &name, "CreateContainerConfigError", message, "Failed");
            return Some(tokio::time::Instant::now() + backoff_retry());
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
        let kind = ContainerTypeLabel {
            container_type: if pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).any(|c| c.name == name)
            {
                "init_container"
            } else {
                "container"
            },
        };
        shared.metrics.started_containers.get_or_create(&kind).inc();
        if let Err(e) = shared.cri.start_container(&id).await {
            shared.metrics.started_containers_errors.get_or_create(&kind).inc();
            let _ = shared.cri.remove_container(&id).await;
            self.set_waiting(pod, &name, "RunContainerError", e.message(), "Failed");
            return Some(tokio::time::Instant::now() + backoff_retry());
        }
        shared.recorder.normal(reference(pod, field.clone()), "Started", "Start", format!("Started container {name}"));
        self.waiting.remove(&name);
        if let Some(hook) = container.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            let target = probes::Target {
                cri: shared.cri.clone(),
                container_id: id.clone(),
                pod_ip: runtime.pod_ip().and_then(|ip| ip.parse().ok()),
                container: container.clone(),
            };
            // The container is not started until its postStart hook returns; a failure kills it.
            if let Err(message) = probes::lifecycle(hook, &target, Duration::from_secs(120)).await {
                let note = format!("PostStartHook failed: {message}");
                shared.recorder.warning(reference(pod, field), "FailedPostStartHook", "Start", note);
                self.stop_container(pod, container, &id, grace_seconds(pod)).await;
            }
        }
        None
    }

    /// /etc/hosts (not for host-network pods, whose file is the node's) and the termination log.
    pub(super) fn mounts(
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
        mounts.extend(volumes::mounts(container, &self.volumes).map_err(std::io::Error::other)?);
        Ok(mounts)
    }
}
