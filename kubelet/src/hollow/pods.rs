//! Pods bound to a hollow node: one worker per pod (upstream's pod workers) that reports it
//! Running as a kubelet would once its containers started, and on deletion "stops" it (writes
//! the terminated status) and removes it with grace period 0, as the kubelet does once its
//! containers are gone. No container runs.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus, HostIP, Pod,
    PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use tokio::sync::watch;

use super::RUNTIME_SCHEME;
use super::fleet::{HollowNode, Shared};
use super::metrics::result;
use crate::qos::qos_class;

/// The pod conditions the kubelet owns; any other (readiness gates, DisruptionTarget) is kept.
const KUBELET_CONDITIONS: [&str; 4] = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"];

fn condition(
    existing: &[PodCondition],
    kind: &str,
    status: &str,
    reason: Option<&str>,
    now: Timestamp,
) -> PodCondition {
    let previous = existing.iter().find(|c| c.type_ == kind);
    // The transition time moves only when the status does.
    let since = match previous {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => None,
    };
    PodCondition {
        type_: kind.to_string(),
        status: status.to_string(),
        reason: reason.map(str::to_string),
        last_transition_time: Some(since.unwrap_or(Time(now))),
        ..PodCondition::default()
    }
}

/// The conditions in upstream's order, `ready` deciding Ready/ContainersReady, the
/// non-kubelet ones (PodScheduled first) kept as they are.
fn conditions(pod: &Pod, running: bool, now: Timestamp) -> Vec<PodCondition> {
    let existing: &[PodCondition] = pod.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let not_ready = (!running).then_some("PodCompleted");
    // Ready also waits for every readiness gate's condition to be True.
    let gates_ready = pod
        .spec
        .iter()
        .flat_map(|s| s.readiness_gates.iter().flatten())
        .all(|gate| existing.iter().any(|c| c.type_ == gate.condition_type && c.status == "True"));
    let (ready, ready_reason) = match (running, gates_ready) {
        (false, _) => ("False", not_ready),
        (true, false) => ("False", Some("ReadinessGatesNotReady")),
        (true, true) => ("True", None),
    };
    let mut out = vec![
        condition(existing, "PodReadyToStartContainers", if running { "True" } else { "False" }, None, now),
        condition(existing, "Initialized", "True", None, now),
        condition(existing, "Ready", ready, ready_reason, now),
        condition(existing, "ContainersReady", if running { "True" } else { "False" }, not_ready, now),
    ];
    // The kubelet reports the pod scheduled (it runs on this node) if nobody said so.
    match existing.iter().find(|c| c.type_ == "PodScheduled") {
        Some(c) => out.push(c.clone()),
        None => out.push(condition(existing, "PodScheduled", "True", None, now)),
    }
    out.extend(
        existing
            .iter()
            .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()) && c.type_ != "PodScheduled")
            .cloned(),
    );
    out
}

/// A fake container ID, stable per pod and container: `hollow://<64 hex digits>`.
fn container_id(pod_uid: &str, container: &str) -> String {
    let mut words = [0xcbf2_9ce4_8422_2325u64, 0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9];
    for (i, word) in words.iter_mut().enumerate() {
        for byte in pod_uid.bytes().chain([b'/']).chain(container.bytes()).chain([i as u8]) {
            *word = (*word ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{RUNTIME_SCHEME}{:016x}{:016x}{:016x}{:016x}", words[0], words[1], words[2], words[3])
}

fn container_status(uid: &str, c: &Container, state: ContainerState, ready: bool, started: bool) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    ContainerStatus {
        name: c.name.clone(),
        image_id: format!("{RUNTIME_SCHEME}{image}"),
        image,
        container_id: Some(container_id(uid, &c.name)),
        ready,
        started: Some(started),
        restart_count: 0,
        state: Some(state),
        ..ContainerStatus::default()
    }
}

fn running(since: Timestamp) -> ContainerState {
    ContainerState { running: Some(ContainerStateRunning { started_at: Some(Time(since)) }), ..Default::default() }
}

fn completed(id: String, started: Option<Time>, now: Timestamp) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            container_id: Some(id),
            exit_code: 0,
            reason: Some("Completed".into()),
            started_at: started.or(Some(Time(now))),
            finished_at: Some(Time(now)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The status of `pod` with every container started on host `host_ip` with address `pod_ip`:
/// init containers completed (sidecars, `restartPolicy: Always`, running), the rest running.
pub fn running_status(pod: &Pod, host_ip: IpAddr, pod_ip: IpAddr, now: Timestamp) -> PodStatus {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let init = spec.init_containers.iter().flatten().map(|c| {
        if c.restart_policy.as_deref() == Some("Always") {
            container_status(uid, c, running(now), true, true)
        } else {
            container_status(uid, c, completed(container_id(uid, &c.name), None, now), true, false)
        }
    });
    let init: Vec<ContainerStatus> = init.collect();
    let containers = spec.containers.iter().map(|c| container_status(uid, c, running(now), true, true)).collect();
    let start_time = pod.status.as_ref().and_then(|s| s.start_time.clone()).unwrap_or(Time(now));
    PodStatus {
        phase: Some("Running".into()),
        conditions: Some(conditions(pod, true, now)),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP { ip: host_ip.to_string() }]),
        pod_ip: Some(pod_ip.to_string()),
        pod_ips: Some(vec![PodIP { ip: pod_ip.to_string() }]),
        start_time: Some(start_time),
        qos_class: Some(qos_class(&spec).to_string()),
        container_statuses: Some(containers),
        init_container_statuses: (!init.is_empty()).then_some(init),
        ..PodStatus::default()
    }
}

/// The status of `pod` once its containers were stopped on deletion: every container
/// terminated (exit 0), the pod Succeeded and no longer Ready.
pub fn stopped_status(pod: &Pod, now: Timestamp) -> PodStatus {
    let mut status = pod.status.clone().unwrap_or_default();
    let stop = |statuses: &mut Option<Vec<ContainerStatus>>| {
        for s in statuses.iter_mut().flatten() {
            let started = s.state.as_ref().and_then(|st| st.running.as_ref()).and_then(|r| r.started_at.clone());
            if s.state.as_ref().is_some_and(|st| st.terminated.is_some()) {
                continue;
            }
            let id = s.container_id.clone().unwrap_or_default();
            s.state = Some(completed(id, started, now));
            s.ready = false;
            s.started = Some(false);
        }
    };
    stop(&mut status.container_statuses);
    stop(&mut status.init_container_statuses);
    status.phase = Some("Succeeded".into());
    status.conditions = Some(conditions(pod, false, now));
    status
}

/// What a worker does next.
enum Next {
    /// Nothing until the pod (or the node's podCIDR) changes.
    Wait,
    /// Try again after a while (a failed write, no free address).
    Retry(Duration),
}

/// A pod worker's memory of what it did.
#[derive(Default)]
struct Worker {
    /// The address the pod holds on this node (`None` for hostNetwork pods and before start).
    ip: Option<IpAddr>,
    /// Counted in `kubelet_running_pods`.
    counted: bool,
    waiting_for_cidr: bool,
    stopped: bool,
    deleted: bool,
}

/// Runs the pod in `pod_rx` (its latest version; `None` once it is gone from the apiserver) until
/// it is gone or the fleet stops.
pub(crate) async fn worker(shared: Arc<Shared>, node: Arc<HollowNode>, mut pod_rx: watch::Receiver<Option<Arc<Pod>>>) {
    let mut cidr_rx = node.cidr.subscribe();
    let mut stopped = shared.stopped.clone();
    let mut w = Worker::default();
    loop {
        let Some(pod) = pod_rx.borrow_and_update().clone() else { break };
        let next = sync(&shared, &node, &pod, &mut w).await;
        let retry = match next {
            Next::Wait => None,
            Next::Retry(after) => Some(after),
        };
        tokio::select! {
            changed = pod_rx.changed() => if changed.is_err() { break },
            _ = cidr_rx.changed(), if w.waiting_for_cidr => {}
            _ = tokio::time::sleep(retry.unwrap_or_default()), if retry.is_some() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
    // The pod is gone: its address is free again.
    if let Some(ip) = w.ip.take() {
        node.release_ip(ip);
    }
    if w.counted {
        shared.metrics.running_pods.dec();
    }
}

async fn sync(shared: &Shared, node: &HollowNode, pod: &Pod, w: &mut Worker) -> Next {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), namespace);
    let uid = pod.metadata.uid.clone();
    if pod.metadata.deletion_timestamp.is_some() {
        return stop(shared, &api, pod, w).await;
    }
    let status = pod.status.as_ref();
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded" | "Failed") => {
            if let Some(ip) = w.ip.take() {
                node.release_ip(ip);
            }
            if std::mem::take(&mut w.counted) {
                shared.metrics.running_pods.dec();
            }
            return Next::Wait;
        }
        Some("Running") => {
            // Running already (adopted after a restart, or written by us): keep its address.
            if w.ip.is_none() && !host_network {
                w.ip = status.and_then(|s| s.pod_ip.as_deref()).and_then(|ip| ip.parse().ok());
                if let Some(ip) = w.ip {
                    node.hold_ip(ip);
                }
            }
            if !std::mem::replace(&mut w.counted, true) {
                shared.metrics.running_pods.inc();
            }
            return Next::Wait;
        }
        _ => {}
    }
    let pod_ip = if host_network {
        node.identity.ip
    } else if let Some(ip) = w.ip {
        ip
    } else {
        match node.allocate_ip() {
            Ok(Some(ip)) => {
                w.ip = Some(ip);
                ip
            }
            Ok(None) => {
                if !w.waiting_for_cidr {
                    tracing::info!(node = %node.identity.name, pod = name, namespace, "node has no spec.podCIDR yet: the pod stays Pending until it gets one");
                }
                w.waiting_for_cidr = true;
                return Next::Wait;
            }
            Err(e) => {
                tracing::warn!(node = %node.identity.name, pod = name, namespace, error = %e, "no pod IP; retrying");
                return Next::Retry(Duration::from_secs(5));
            }
        }
    };
    w.waiting_for_cidr = false;
    let status = running_status(pod, node.identity.ip, pod_ip, Timestamp::now());
    let patch = serde_json::json!({"metadata": {"uid": uid}, "status": status});
    let written = {
        let _permit = shared.writes.acquire().await;
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch)).await
    };
    shared.metrics.pod_status_updates.get_or_create(&result(written.is_ok())).inc();
    match written {
        Ok(_) => {
            tracing::debug!(node = %node.identity.name, pod = name, namespace, ip = %pod_ip, "pod running");
            if !std::mem::replace(&mut w.counted, true) {
                shared.metrics.running_pods.inc();
            }
            Next::Wait
        }
        // Gone, or replaced by a pod of the same name: its own events follow.
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Next::Wait,
        Err(e) => {
            tracing::warn!(node = %node.identity.name, pod = name, namespace, error = %e, "writing pod status");
            Next::Retry(Duration::from_secs(1))
        }
    }
}

/// A deleted pod: its containers "stop" (status written), then it is removed for good.
async fn stop(shared: &Shared, api: &Api<Pod>, pod: &Pod, w: &mut Worker) -> Next {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    if w.deleted {
        return Next::Wait;
    }
    let was_running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    if !w.stopped && was_running {
        let patch =
            serde_json::json!({"metadata": {"uid": pod.metadata.uid}, "status": stopped_status(pod, Timestamp::now())});
        let written = {
            let _permit = shared.writes.acquire().await;
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch)).await
        };
        shared.metrics.pod_status_updates.get_or_create(&result(written.is_ok())).inc();
        match written {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => return Next::Wait,
            Err(e) => {
                tracing::warn!(pod = name, error = %e, "writing the stopped pod's status");
                return Next::Retry(Duration::from_secs(1));
            }
        }
    }
    w.stopped = true;
    if std::mem::take(&mut w.counted) {
        shared.metrics.running_pods.dec();
    }
    // As the kubelet does once the containers are gone: grace period 0, only this very pod.
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
        ..DeleteParams::default()
    };
    let deleted = {
        let _permit = shared.writes.acquire().await;
        api.delete(name, &params).await
    };
    match deleted {
        Ok(_) => {
            tracing::debug!(pod = name, "pod stopped and deleted");
            w.deleted = true;
            Next::Wait
        }
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {
            w.deleted = true;
            Next::Wait
        }
        Err(e) => {
            tracing::warn!(pod = name, error = %e, "deleting the stopped pod");
            Next::Retry(Duration::from_secs(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
            "spec": {
                "nodeName": "hollow-node-0",
                "initContainers": [{"name": "setup", "image": "busybox"}, {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
                "containers": [{"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m"}}}]
            },
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"},
                {"type": "example.com/gate", "status": "True"}
            ]}
        }))
        .unwrap()
    }

    fn find<'a>(conditions: &'a [PodCondition], kind: &str) -> &'a PodCondition {
        conditions.iter().find(|c| c.type_ == kind).unwrap_or_else(|| panic!("no {kind}"))
    }

    #[test]
    fn running_status_is_what_the_kubelet_reports() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let status = running_status(&pod(), "100.64.0.1".parse().unwrap(), "10.244.0.2".parse().unwrap(), now);
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(status.pod_ip.as_deref(), Some("10.244.0.2"));
        assert_eq!(status.pod_ips.unwrap()[0].ip, "10.244.0.2");
        assert_eq!(status.host_ip.as_deref(), Some("100.64.0.1"));
        assert_eq!(status.host_ips.unwrap()[0].ip, "100.64.0.1");
        assert_eq!(status.start_time, Some(Time(now)));
        assert_eq!(status.qos_class.as_deref(), Some("Burstable"));
        let conditions = status.conditions.unwrap();
        let kinds: Vec<&str> = conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
                "example.com/gate"
            ]
        );
        for kind in ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"] {
            let c = find(&conditions, kind);
            assert_eq!((c.status.as_str(), c.last_transition_time.clone()), ("True", Some(Time(now))), "{kind}");
        }
        // PodScheduled is kept as the scheduler wrote it.
        let scheduled = find(&conditions, "PodScheduled");
        assert_eq!(scheduled.last_transition_time.as_ref().unwrap().0.to_string(), "2024-01-01T00:00:00Z");
        let app = &status.container_statuses.unwrap()[0];
        assert_eq!(
            (app.name.as_str(), app.image.as_str(), app.ready, app.started, app.restart_count),
            ("app", "nginx:1.27", true, Some(true), 0)
        );
        assert!(app.container_id.as_deref().unwrap().starts_with("hollow://"));
        assert_eq!(app.container_id.as_deref().unwrap().len(), "hollow://".len() + 64);
        assert_eq!(app.state.as_ref().unwrap().running.as_ref().unwrap().started_at, Some(Time(now)));
        let init = status.init_container_statuses.unwrap();
        let setup = init[0].state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!((setup.exit_code, setup.reason.as_deref()), (0, Some("Completed")));
        assert!(init[1].state.as_ref().unwrap().running.is_some(), "a sidecar keeps running");
    }

    #[test]
    fn readiness_gates_hold_ready_back() {
        let mut p = pod();
        p.spec.as_mut().unwrap().readiness_gates =
            Some(vec![serde_json::from_value(serde_json::json!({"conditionType": "example.com/other"})).unwrap()]);
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let status = running_status(&p, "100.64.0.1".parse().unwrap(), "10.244.0.2".parse().unwrap(), now);
        let conditions = status.conditions.unwrap();
        let ready = find(&conditions, "Ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("ReadinessGatesNotReady")));
        assert_eq!(find(&conditions, "ContainersReady").status, "True");
    }

    #[test]
    fn stopped_status_terminates_every_container() {
        let started = Timestamp::from_second(1_700_000_000).unwrap();
        let mut p = pod();
        p.status = Some(running_status(&p, "100.64.0.1".parse().unwrap(), "10.244.0.2".parse().unwrap(), started));
        let now = Timestamp::from_second(1_700_000_060).unwrap();
        let status = stopped_status(&p, now);
        assert_eq!(status.phase.as_deref(), Some("Succeeded"));
        let app = &status.container_statuses.unwrap()[0];
        let terminated = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(terminated.started_at, Some(Time(started)));
        assert_eq!(terminated.finished_at, Some(Time(now)));
        assert_eq!(terminated.container_id, app.container_id);
        assert!(!app.ready);
        let conditions = status.conditions.unwrap();
        let ready = find(&conditions, "Ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("PodCompleted")));
        assert_eq!(ready.last_transition_time, Some(Time(now)));
        assert_eq!(find(&conditions, "Initialized").last_transition_time, Some(Time(started)), "unchanged");
    }
}
