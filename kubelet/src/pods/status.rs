//! The PodStatus the kubelet reports (upstream's `generateAPIPodStatus`, `getPhase` and
//! `status.GeneratePod*Condition`): container statuses from the runtime, the phase, the
//! kubelet's conditions, addresses and QoS class. Pure: the worker gathers the inputs.

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::RuntimeContainer;
use crate::qos::qos_class;

/// Why a container is not running, when the kubelet knows better than the runtime
/// (`ContainerCreating`, `ErrImagePull`, `CrashLoopBackOff`, `CreateContainerConfigError`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: Option<String>,
}

/// What the worker knows of one container of the spec.
#[derive(Clone, Debug, Default)]
pub struct ContainerView<'a> {
    pub latest: Option<&'a RuntimeContainer>,
    pub previous: Option<&'a RuntimeContainer>,
    pub waiting: Option<Waiting>,
    /// Its termination message, read when it exited.
    pub message: Option<String>,
    pub previous_message: Option<String>,
    /// Probe results (no probe: true once running).
    pub ready: bool,
    pub started: bool,
}

/// Everything the status is made of.
pub struct Inputs<'a> {
    pub pod: &'a Pod,
    pub host_ip: &'a str,
    pub pod_ip: Option<String>,
    pub sandbox_ready: bool,
    /// The runtime's name for container IDs (`containerd://<id>`).
    pub runtime_name: &'a str,
    pub init: Vec<ContainerView<'a>>,
    pub containers: Vec<ContainerView<'a>>,
    /// A reason the whole pod failed (`DeadlineExceeded`), with its message.
    pub failed: Option<(String, String)>,
    pub now: Timestamp,
}

fn nanos_to_time(nanos: i64) -> Option<Time> {
    (nanos > 0).then(|| Timestamp::from_nanosecond(i128::from(nanos)).ok().map(Time)).flatten()
}

fn terminated(c: &RuntimeContainer, runtime: &str, message: Option<String>) -> ContainerStateTerminated {
    let status = &c.status;
    let reason = match status.reason.as_str() {
        "" if status.exit_code == 0 => "Completed".to_string(),
        "" => "Error".to_string(),
        other => other.to_string(),
    };
    let message =
        message.filter(|m| !m.is_empty()).or_else(|| (!status.message.is_empty()).then(|| status.message.clone()));
    ContainerStateTerminated {
        container_id: Some(format!("{runtime}://{}", c.id())),
        exit_code: status.exit_code,
        reason: Some(reason),
        message,
        started_at: nanos_to_time(status.started_at),
        finished_at: nanos_to_time(status.finished_at),
        signal: None,
    }
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.to_string()), message }),
        ..ContainerState::default()
    }
}

/// One container's status.
pub fn container_status(
    spec: &Container,
    view: &ContainerView<'_>,
    runtime: &str,
    default_waiting: &str,
) -> ContainerStatus {
    let latest = view.latest;
    let state = match (latest, &view.waiting) {
        (Some(c), _) if c.running() => ContainerState {
            running: Some(ContainerStateRunning { started_at: nanos_to_time(c.status.started_at) }),
            ..ContainerState::default()
        },
        (_, Some(w)) => waiting(&w.reason, w.message.clone()),
        (Some(c), None) if c.exited() => ContainerState {
            terminated: Some(terminated(c, runtime, view.message.clone())),
            ..ContainerState::default()
        },
        (Some(_), None) => waiting("ContainerCreating", None),
        (None, None) => waiting(default_waiting, None),
    };
    // The last termination: the latest instance when it is not what the state shows, or the
    // one before a running instance.
    let last = match (latest, &view.waiting) {
        (Some(c), Some(_)) if c.exited() => Some(terminated(c, runtime, view.message.clone())),
        (Some(c), _) if !c.exited() => {
            view.previous.filter(|p| p.exited()).map(|p| terminated(p, runtime, view.previous_message.clone()))
        }
        _ => None,
    };
    let running = latest.is_some_and(|c| c.running());
    ContainerStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        image_id: latest.map(|c| c.status.image_ref.clone()).unwrap_or_default(),
        container_id: latest.map(|c| format!("{runtime}://{}", c.id())),
        ready: running && view.ready,
        started: Some(running && view.started),
        restart_count: latest.map(|c| c.restart_count() as i32).unwrap_or(0),
        state: Some(state),
        last_state: Some(ContainerState { terminated: last, ..ContainerState::default() }),
        ..ContainerStatus::default()
    }
}

/// Upstream's `getPhase` over the app containers, with init containers pending first.
pub fn phase(pod: &Pod, init_done: bool, init_failed: bool, containers: &[ContainerStatus]) -> &'static str {
    let policy = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    if init_failed && policy == "Never" {
        return "Failed";
    }
    if !init_done {
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for status in containers {
        let state = status.state.clone().unwrap_or_default();
        if state.running.is_some() {
            running += 1;
        } else if let Some(t) = state.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if state.waiting.is_some() {
            if status.last_state.as_ref().is_some_and(|l| l.terminated.is_some()) {
                stopped += 1;
            } else {
                waiting += 1;
            }
        }
    }
    match () {
        _ if waiting > 0 => "Pending",
        _ if running > 0 => "Running",
        _ if stopped > 0 => {
            if policy == "Always" {
                "Running"
            } else if stopped == succeeded {
                "Succeeded"
            } else if policy == "Never" {
                "Failed"
            } else {
                "Running"
            }
        }
        _ => "Pending",
    }
}

fn condition(
    existing: &[PodCondition],
    kind: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: Timestamp,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let since =
        existing.iter().find(|c| c.type_ == kind && c.status == status).and_then(|c| c.last_transition_time.clone());
    PodCondition {
        type_: kind.to_string(),
        status: status.to_string(),
        reason: reason.map(str::to_string),
        message,
        last_transition_time: Some(since.unwrap_or(Time(now))),
        ..PodCondition::default()
    }
}

/// The pod conditions the kubelet owns; others (PodScheduled, readiness gates, DisruptionTarget)
/// are kept as they are.
const KUBELET_CONDITIONS: [&str; 4] = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"];

pub fn pod_status(inputs: Inputs<'_>) -> PodStatus {
    let pod = inputs.pod;
    let spec = pod.spec.clone().unwrap_or_default();
    let existing: Vec<PodCondition> = pod.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let runtime = inputs.runtime_name;
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let init: Vec<ContainerStatus> =
        init_specs.iter().zip(&inputs.init).map(|(c, v)| container_status(c, v, runtime, "PodInitializing")).collect();
    let init_done_of = |c: &Container, s: &ContainerStatus| {
        let sidecar = c.restart_policy.as_deref() == Some("Always");
        let state = s.state.clone().unwrap_or_default();
        if sidecar { s.started == Some(true) } else { state.terminated.is_some_and(|t| t.exit_code == 0) }
    };
    let pending_init: Vec<&str> =
        init_specs.iter().zip(&init).filter(|(c, s)| !init_done_of(c, s)).map(|(c, _)| c.name.as_str()).collect();
    let init_failed = init_specs.iter().zip(&init).any(|(c, s)| {
        c.restart_policy.as_deref() != Some("Always")
            && s.state.as_ref().and_then(|st| st.terminated.as_ref()).is_some_and(|t| t.exit_code != 0)
    });
    let init_done = pending_init.is_empty();
    let app_waiting = if init_done { "ContainerCreating" } else { "PodInitializing" };
    let containers: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .zip(&inputs.containers)
        .map(|(c, v)| container_status(c, v, runtime, app_waiting))
        .collect();

    let mut phase = phase(pod, init_done, init_failed, &containers);
    // A terminal phase never goes back (upstream refuses the transition).
    let previous = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(previous, Some("Succeeded" | "Failed")) {
        phase = if previous == Some("Succeeded") { "Succeeded" } else { "Failed" };
    }
    let (mut reason, mut message) = (None, None);
    if let Some((r, m)) = &inputs.failed {
        phase = "Failed";
        reason = Some(r.clone());
        message = Some(m.clone());
    }
    let terminal = matches!(phase, "Succeeded" | "Failed");

    let unready: Vec<&str> = containers.iter().filter(|s| !s.ready).map(|s| s.name.as_str()).collect();
    let containers_ready = unready.is_empty() && !terminal;
    let gates_ready = spec
        .readiness_gates
        .iter()
        .flatten()
        .all(|gate| existing.iter().any(|c| c.type_ == gate.condition_type && c.status == "True"));
    let now = inputs.now;
    let reason_of = |done: bool, why: &'static str| {
        if terminal {
            Some("PodCompleted")
        } else if done {
            None
        } else {
            Some(why)
        }
    };
    let init_message = (!init_done).then(|| format!("containers with incomplete status: [{}]", pending_init.join(" ")));
    let unready_message =
        (!unready.is_empty() && !terminal).then(|| format!("containers with unready status: [{}]", unready.join(" ")));
    let ready_message = if !gates_ready && unready_message.is_none() {
        Some("corresponding condition of pod readiness gate is not True".to_string())
    } else {
        unready_message.clone()
    };
    let mut conditions = vec![
        condition(
            &existing,
            "PodReadyToStartContainers",
            inputs.sandbox_ready && (inputs.pod_ip.is_some() || spec.host_network.unwrap_or(false)),
            None,
            None,
            now,
        ),
        condition(
            &existing,
            "Initialized",
            init_done,
            if init_done { None } else { Some("ContainersNotInitialized") },
            init_message,
            now,
        ),
        condition(
            &existing,
            "Ready",
            containers_ready && gates_ready,
            reason_of(
                containers_ready && gates_ready,
                if gates_ready { "ContainersNotReady" } else { "ReadinessGatesNotReady" },
            ),
            ready_message,
            now,
        ),
        condition(
            &existing,
            "ContainersReady",
            containers_ready,
            reason_of(containers_ready, "ContainersNotReady"),
            unready_message,
            now,
        ),
    ];
    match existing.iter().find(|c| c.type_ == "PodScheduled") {
        Some(c) => conditions.push(c.clone()),
        None => conditions.push(condition(&existing, "PodScheduled", true, None, None, now)),
    }
    conditions.extend(
        existing
            .iter()
            .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()) && c.type_ != "PodScheduled")
            .cloned(),
    );

    let host_network = spec.host_network.unwrap_or(false);
    let pod_ip = if host_network { Some(inputs.host_ip.to_string()) } else { inputs.pod_ip.clone() };
    let start_time = pod.status.as_ref().and_then(|s| s.start_time.clone()).unwrap_or(Time(now));
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        reason,
        message,
        host_ip: Some(inputs.host_ip.to_string()),
        host_ips: Some(vec![HostIP { ip: inputs.host_ip.to_string() }]),
        pod_ip: pod_ip.clone(),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
        start_time: Some(start_time),
        qos_class: Some(qos_class(&spec).to_string()),
        container_statuses: Some(containers),
        init_container_statuses: (!init.is_empty()).then_some(init),
        ..PodStatus::default()
    }
}

/// Whether two statuses differ in anything but heartbeat-like noise (nothing is ignored today:
/// the kubelet writes only on change).
pub fn changed(old: Option<&PodStatus>, new: &PodStatus) -> bool {
    let to_value = |s: &PodStatus| serde_json::to_value(s).unwrap_or_default();
    old.map(to_value) != Some(to_value(new))
}
