//! The scheduler's view of pods and nodes (upstream's `framework` package types): what each
//! plugin reads, computed once when an object arrives so a scheduling cycle never parses or
//! clones API objects.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Container, Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodAffinityTerm, ResourceRequirements, Taint,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use apimachinery::quantity::{parse_milli, parse_value};

pub type Labels = BTreeMap<String, String>;

/// Upstream's defaults for containers that request no CPU or memory, used when scoring so
/// that such pods still spread (`DefaultMilliCPURequest`, `DefaultMemoryRequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Amounts of resources (upstream's `framework.Resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub allowed_pod_number: i64,
    /// Extended resources (`example.com/gpu`, `hugepages-2Mi`), sorted by name.
    pub scalar: Vec<(String, i64)>,
}

impl Resource {
    fn set(&mut self, name: &str, quantity: &Quantity, combine: impl Fn(i64, i64) -> i64) {
        match name {
            "cpu" => self.milli_cpu = combine(self.milli_cpu, parse_milli(&quantity.0).unwrap_or(0)),
            "memory" => self.memory = combine(self.memory, parse_value(&quantity.0).unwrap_or(0)),
            "ephemeral-storage" => {
                self.ephemeral_storage = combine(self.ephemeral_storage, parse_value(&quantity.0).unwrap_or(0))
            }
            "pods" => self.allowed_pod_number = combine(self.allowed_pod_number, parse_value(&quantity.0).unwrap_or(0)),
            other => {
                let v = parse_value(&quantity.0).unwrap_or(0);
                match self.scalar.binary_search_by(|(n, _)| n.as_str().cmp(other)) {
                    Ok(i) => self.scalar[i].1 = combine(self.scalar[i].1, v),
                    Err(i) => self.scalar.insert(i, (other.to_string(), combine(0, v))),
                }
            }
        }
    }

    pub fn from_list(list: Option<&BTreeMap<String, Quantity>>) -> Self {
        let mut r = Resource::default();
        for (name, q) in list.into_iter().flatten() {
            r.set(name, q, |_, v| v);
        }
        r
    }

    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.binary_search_by(|(n, _)| n.as_str().cmp(name)).map_or(0, |i| self.scalar[i].1)
    }

    fn zip(&mut self, other: &Resource, f: impl Fn(i64, i64) -> i64) {
        self.milli_cpu = f(self.milli_cpu, other.milli_cpu);
        self.memory = f(self.memory, other.memory);
        self.ephemeral_storage = f(self.ephemeral_storage, other.ephemeral_storage);
        self.allowed_pod_number = f(self.allowed_pod_number, other.allowed_pod_number);
        for (name, v) in &other.scalar {
            match self.scalar.binary_search_by(|(n, _)| n.cmp(name)) {
                Ok(i) => self.scalar[i].1 = f(self.scalar[i].1, *v),
                Err(i) => self.scalar.insert(i, (name.clone(), f(0, *v))),
            }
        }
    }

    pub fn add(&mut self, other: &Resource) {
        self.zip(other, |a, b| a + b);
    }

    pub fn sub(&mut self, other: &Resource) {
        self.zip(other, |a, b| a - b);
    }

    pub fn max(&mut self, other: &Resource) {
        self.zip(other, i64::max);
    }

    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.iter().all(|(_, v)| *v == 0)
    }
}

/// A container's requests; a resource with a limit but no request requests its limit (the
/// apiserver's defaulting upstream).
fn container_requests(resources: Option<&ResourceRequirements>) -> Resource {
    let mut r = Resource::default();
    let Some(resources) = resources else { return r };
    for (name, q) in resources.limits.iter().flatten() {
        r.set(name, q, |_, v| v);
    }
    for (name, q) in resources.requests.iter().flatten() {
        r.set(name, q, |_, v| v);
    }
    r
}

/// What a pod requests (upstream's `resource.PodRequests`): the sum of its containers and
/// sidecars, or the largest init container while it runs beside the sidecars started before
/// it, whichever is larger, plus the pod overhead. `non_zero` applies the defaults for
/// containers without CPU or memory requests (for scoring).
pub fn pod_requests(pod: &Pod, non_zero: bool) -> Resource {
    let Some(spec) = &pod.spec else { return Resource::default() };
    let of = |c: &Container| {
        let mut r = container_requests(c.resources.as_ref());
        if non_zero {
            if r.milli_cpu == 0 {
                r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
            }
            if r.memory == 0 {
                r.memory = DEFAULT_MEMORY_REQUEST;
            }
        }
        r
    };
    let mut sum = Resource::default();
    for c in &spec.containers {
        sum.add(&of(c));
    }
    let mut sidecars = Resource::default();
    let mut init_max = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = of(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r);
            init_max.max(&sidecars);
        } else {
            let mut running = r;
            running.add(&sidecars);
            init_max.max(&running);
        }
    }
    sum.add(&sidecars);
    sum.max(&init_max);
    if let Some(overhead) = &spec.overhead {
        sum.add(&Resource::from_list(Some(overhead)));
    }
    sum
}

/// One requirement of a label selector or node selector term.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

impl Requirement {
    fn parse(key: &str, op: &str, values: Option<&Vec<String>>) -> Option<Self> {
        let op = match op {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            _ => return None,
        };
        Some(Self { key: key.to_string(), op, values: values.cloned().unwrap_or_default() })
    }

    pub fn matches_value(&self, value: Option<&str>) -> bool {
        match (self.op, value) {
            (Operator::In, Some(v)) => self.values.iter().any(|x| x == v),
            (Operator::In, None) => false,
            (Operator::NotIn, Some(v)) => !self.values.iter().any(|x| x == v),
            (Operator::NotIn, None) => true,
            (Operator::Exists, v) => v.is_some(),
            (Operator::DoesNotExist, v) => v.is_none(),
            (Operator::Gt | Operator::Lt, None) => false,
            (op, Some(v)) => {
                let (Ok(have), Some(Ok(want))) = (v.parse::<i64>(), self.values.first().map(|w| w.parse::<i64>()))
                else {
                    return false;
                };
                if op == Operator::Gt { have > want } else { have < want }
            }
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.key).map(String::as_str))
    }
}

/// A label selector; `nothing` for an absent selector, which upstream matches against nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    pub nothing: bool,
    pub requirements: Vec<Requirement>,
}

impl Selector {
    pub fn from_api(selector: Option<&LabelSelector>) -> Self {
        let Some(s) = selector else { return Self { nothing: true, requirements: vec![] } };
        let mut requirements: Vec<Requirement> = s
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| Requirement { key: k.clone(), op: Operator::In, values: vec![v.clone()] })
            .collect();
        for e in s.match_expressions.iter().flatten() {
            match Requirement::parse(&e.key, &e.operator, e.values.as_ref()) {
                Some(r)
                    if matches!(r.op, Operator::In | Operator::NotIn | Operator::Exists | Operator::DoesNotExist) =>
                {
                    requirements.push(r)
                }
                // An invalid selector selects nothing rather than everything.
                _ => return Self { nothing: true, requirements: vec![] },
            }
        }
        Self { nothing: false, requirements }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// A required or preferred node selector term: expressions on labels, fields on the name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeTerm {
    pub expressions: Vec<Requirement>,
    pub fields: Vec<Requirement>,
    /// A term that failed to parse matches no node.
    pub invalid: bool,
}

impl NodeTerm {
    pub fn from_api(term: &NodeSelectorTerm) -> Self {
        let parse = |reqs: Option<&Vec<NodeSelectorRequirement>>| -> Option<Vec<Requirement>> {
            reqs.into_iter().flatten().map(|r| Requirement::parse(&r.key, &r.operator, r.values.as_ref())).collect()
        };
        match (parse(term.match_expressions.as_ref()), parse(term.match_fields.as_ref())) {
            (Some(expressions), Some(fields)) => Self { expressions, fields, invalid: false },
            _ => Self { invalid: true, ..Self::default() },
        }
    }

    /// An empty term matches nothing (upstream).
    pub fn matches(&self, node: &NodeInfo) -> bool {
        if self.invalid || (self.expressions.is_empty() && self.fields.is_empty()) {
            return false;
        }
        self.expressions.iter().all(|r| r.matches(&node.labels))
            && self.fields.iter().all(|r| r.key == "metadata.name" && r.matches_value(Some(&node.name)))
    }
}

/// A pod (anti-)affinity term resolved against the pod that carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct AffinityTerm {
    pub namespaces: Vec<String>,
    pub namespace_selector: Option<Selector>,
    pub selector: Selector,
    pub topology_key: String,
}

impl AffinityTerm {
    fn from_api(namespace: &str, term: &PodAffinityTerm, labels: &Labels) -> Self {
        let mut selector = Selector::from_api(term.label_selector.as_ref());
        // matchLabelKeys / mismatchLabelKeys: the carrier's own label values join the selector.
        for key in term.match_label_keys.iter().flatten() {
            if let Some(v) = labels.get(key) {
                selector.requirements.push(Requirement { key: key.clone(), op: Operator::In, values: vec![v.clone()] });
            }
        }
        for key in term.mismatch_label_keys.iter().flatten() {
            if let Some(v) = labels.get(key) {
                selector.requirements.push(Requirement {
                    key: key.clone(),
                    op: Operator::NotIn,
                    values: vec![v.clone()],
                });
            }
        }
        let namespace_selector = term.namespace_selector.as_ref().map(|s| Selector::from_api(Some(s)));
        let mut namespaces = term.namespaces.clone().unwrap_or_default();
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.push(namespace.to_string());
        }
        Self { namespaces, namespace_selector, selector, topology_key: term.topology_key.clone() }
    }

    /// Whether `pod` is one this term selects (`ns_labels`: the labels of its namespace).
    pub fn matches(&self, pod: &PodInfo, ns_labels: Option<&Labels>) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || self.namespace_selector.as_ref().is_some_and(|s| ns_labels.is_some_and(|l| s.matches(l)));
        in_namespace && self.selector.matches(&pod.labels)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    /// `DoNotSchedule` (a filter) rather than `ScheduleAnyway` (a score).
    pub hard: bool,
    pub selector: Selector,
    pub min_domains: i32,
    /// nodeAffinityPolicy Honor (the default): only nodes the pod's node affinity accepts count.
    pub honor_node_affinity: bool,
    /// nodeTaintsPolicy Honor (default Ignore): only nodes whose taints the pod tolerates count.
    pub honor_node_taints: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

impl HostPort {
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// What the scheduler keeps of a pod.
#[derive(Debug, Default)]
pub struct PodInfo {
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub labels: Labels,
    pub priority: i32,
    pub preempt_never: bool,
    pub scheduler_name: String,
    pub node_name: String,
    pub nominated_node_name: String,
    pub deleting: bool,
    /// Succeeded or Failed: holds no resources.
    pub terminal: bool,
    pub start_time: Option<k8s_openapi::jiff::Timestamp>,
    pub requests: Resource,
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    pub host_ports: Vec<HostPort>,
    pub node_selector: Vec<(String, String)>,
    pub required_node_terms: Option<Vec<NodeTerm>>,
    pub preferred_node_terms: Vec<(i32, NodeTerm)>,
    pub tolerations: Vec<Toleration>,
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<(i32, AffinityTerm)>,
    pub preferred_anti_affinity: Vec<(i32, AffinityTerm)>,
    pub spread_constraints: Vec<SpreadConstraint>,
    /// Container images, normalised (`:latest` added when untagged).
    pub images: Vec<String>,
    /// The PodScheduled condition as the pod carries it: (status, reason, message).
    pub scheduled_condition: Option<(String, String, String)>,
    pub disruption_target: bool,
    /// `spec.schedulingGates` is not empty.
    pub gated: bool,
}

impl PodInfo {
    pub fn new(pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        let labels = meta.labels.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let requests = pod_requests(pod, false);
        let non_zero = pod_requests(pod, true);
        let mut info = PodInfo {
            key: format!("{namespace}/{name}"),
            uid: meta.uid.clone().unwrap_or_default(),
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            priority: spec.and_then(|s| s.priority).unwrap_or(0),
            preempt_never: spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never"),
            scheduler_name: spec
                .and_then(|s| s.scheduler_name.clone())
                .unwrap_or_else(|| crate::DEFAULT_SCHEDULER_NAME.to_string()),
            node_name: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
            nominated_node_name: status.and_then(|s| s.nominated_node_name.clone()).unwrap_or_default(),
            terminal: matches!(status.and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")),
            start_time: status.and_then(|s| s.start_time.as_ref()).map(|t| t.0),
            non_zero_cpu: non_zero.milli_cpu,
            non_zero_memory: non_zero.memory,
            requests,
            tolerations: spec.and_then(|s| s.tolerations.clone()).unwrap_or_default(),
            gated: spec.and_then(|s| s.scheduling_gates.as_ref()).is_some_and(|g| !g.is_empty()),
            ..PodInfo::default()
        };
        for c in status.and_then(|s| s.conditions.as_ref()).into_iter().flatten() {
            match c.type_.as_str() {
                "PodScheduled" => {
                    info.scheduled_condition = Some((
                        c.status.clone(),
                        c.reason.clone().unwrap_or_default(),
                        c.message.clone().unwrap_or_default(),
                    ))
                }
                "DisruptionTarget" => info.disruption_target = c.status == "True",
                _ => {}
            }
        }
        if let Some(spec) = spec {
            for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
                for p in c.ports.iter().flatten() {
                    if let Some(host_port) = p.host_port.filter(|p| *p > 0) {
                        info.host_ports.push(HostPort {
                            ip: p.host_ip.clone().filter(|ip| !ip.is_empty()).unwrap_or_else(|| "0.0.0.0".into()),
                            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                            port: host_port,
                        });
                    }
                }
            }
            info.images = spec.containers.iter().filter_map(|c| c.image.as_deref()).map(normalized_image).collect();
            info.node_selector =
                spec.node_selector.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
            if let Some(affinity) = &spec.affinity {
                if let Some(na) = &affinity.node_affinity {
                    info.required_node_terms = na
                        .required_during_scheduling_ignored_during_execution
                        .as_ref()
                        .map(|s| s.node_selector_terms.iter().map(NodeTerm::from_api).collect());
                    info.preferred_node_terms = na
                        .preferred_during_scheduling_ignored_during_execution
                        .iter()
                        .flatten()
                        .map(|p| (p.weight, NodeTerm::from_api(&p.preference)))
                        .collect();
                }
                let term = |t: &PodAffinityTerm| AffinityTerm::from_api(&namespace, t, &labels);
                if let Some(pa) = &affinity.pod_affinity {
                    info.required_affinity =
                        pa.required_during_scheduling_ignored_during_execution.iter().flatten().map(term).collect();
                    info.preferred_affinity = pa
                        .preferred_during_scheduling_ignored_during_execution
                        .iter()
                        .flatten()
                        .map(|w| (w.weight, term(&w.pod_affinity_term)))
                        .collect();
                }
                if let Some(pa) = &affinity.pod_anti_affinity {
                    info.required_anti_affinity =
                        pa.required_during_scheduling_ignored_during_execution.iter().flatten().map(term).collect();
                    info.preferred_anti_affinity = pa
                        .preferred_during_scheduling_ignored_during_execution
                        .iter()
                        .flatten()
                        .map(|w| (w.weight, term(&w.pod_affinity_term)))
                        .collect();
                }
            }
            for c in spec.topology_spread_constraints.iter().flatten() {
                let mut selector = Selector::from_api(c.label_selector.as_ref());
                for key in c.match_label_keys.iter().flatten() {
                    if let Some(v) = labels.get(key) {
                        selector.requirements.push(Requirement {
                            key: key.clone(),
                            op: Operator::In,
                            values: vec![v.clone()],
                        });
                    }
                }
                info.spread_constraints.push(SpreadConstraint {
                    max_skew: c.max_skew,
                    topology_key: c.topology_key.clone(),
                    hard: c.when_unsatisfiable == "DoNotSchedule",
                    selector,
                    min_domains: c.min_domains.unwrap_or(1).max(1),
                    honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                    honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
                });
            }
        }
        info.namespace = namespace;
        info.name = name;
        info.labels = labels;
        info
    }

    pub fn has_affinity(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }

    pub fn object_ref(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(self.namespace.clone()),
            name: Some(self.name.clone()),
            uid: Some(self.uid.clone()),
            resource_version: Some(self.resource_version.clone()),
            ..Default::default()
        }
    }
}

/// `nginx` and `nginx:latest` are one image (upstream's ImageLocality normalisation).
pub fn normalized_image(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') { image.to_string() } else { format!("{image}:latest") }
}

/// What the scheduler keeps of a node and the pods on it (upstream's `framework.NodeInfo`).
#[derive(Clone, Debug, Default)]
pub struct NodeInfo {
    pub name: String,
    /// False for a placeholder holding pods bound to a node the scheduler has not seen (yet).
    pub exists: bool,
    pub labels: Labels,
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
    pub allocatable: Resource,
    pub requested: Resource,
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    pub pods: Vec<Arc<PodInfo>>,
    pub used_ports: Vec<HostPort>,
    /// Image name -> size in bytes, from `status.images`.
    pub images: HashMap<String, i64>,
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
}

impl NodeInfo {
    pub fn set_node(&mut self, node: &Node) {
        self.exists = true;
        self.name = node.metadata.name.clone().unwrap_or_default();
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        let spec = node.spec.as_ref();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        self.taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
        let status = node.status.as_ref();
        self.allocatable = Resource::from_list(status.and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref())));
        self.images = status
            .and_then(|s| s.images.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|i| {
                let size = i.size_bytes.unwrap_or(0);
                i.names.iter().flatten().map(move |n| (normalized_image(n), size))
            })
            .collect();
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_cpu += pod.non_zero_cpu;
        self.non_zero_memory += pod.non_zero_memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity() {
            self.pods_with_affinity += 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity += 1;
        }
        self.pods.push(pod);
    }

    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let i = self.pods.iter().position(|p| p.key == key)?;
        let pod = self.pods.swap_remove(i);
        self.requested.sub(&pod.requests);
        self.non_zero_cpu -= pod.non_zero_cpu;
        self.non_zero_memory -= pod.non_zero_memory;
        for port in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(j);
            }
        }
        if pod.has_affinity() {
            self.pods_with_affinity -= 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity -= 1;
        }
        Some(pod)
    }
}

/// Why a plugin rejected a node: `Unresolvable` when evicting pods would not help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Unschedulable,
    UnschedulableAndUnresolvable,
}

pub type Reason = Cow<'static, str>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<Reason>,
}

impl Status {
    pub fn unschedulable(reason: impl Into<Reason>) -> Self {
        Self { code: Code::Unschedulable, reasons: vec![reason.into()] }
    }
    pub fn unresolvable(reason: impl Into<Reason>) -> Self {
        Self { code: Code::UnschedulableAndUnresolvable, reasons: vec![reason.into()] }
    }
}

/// Upstream's `FitError` message: `0/N nodes are available: <count> <reason>, ....` with the
/// reasons sorted as strings, then the PostFilter (preemption) message.
pub fn fit_error_message<'a>(
    num_all_nodes: usize,
    statuses: impl Iterator<Item = &'a Status>,
    post_filter: Option<&str>,
) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in statuses {
        for r in &s.reasons {
            *counts.entry(r.as_ref()).or_default() += 1;
        }
    }
    let mut reasons: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    reasons.sort();
    let mut msg = format!("0/{num_all_nodes} nodes are available: {}.", reasons.join(", "));
    if let Some(p) = post_filter.filter(|p| !p.is_empty()) {
        msg.push(' ');
        msg.push_str(p);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec})).unwrap()
    }

    #[test]
    fn requests_take_init_containers_sidecars_and_overhead_into_account() {
        let p = pod(json!({
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}},
                {"name": "b", "resources": {"limits": {"cpu": "200m"}}},
            ],
            "initContainers": [
                {"name": "big-init", "resources": {"requests": {"cpu": "1", "memory": "10Mi"}}},
                {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
            ],
            "overhead": {"cpu": "10m"},
        }));
        let r = pod_requests(&p, false);
        assert_eq!(r.milli_cpu, 1000 + 10, "the init container is the largest");
        assert_eq!(r.memory, 1024 * 1024 * 1024);
        let nz = pod_requests(&pod(json!({"containers": [{"name": "a"}, {"name": "b"}]})), true);
        assert_eq!((nz.milli_cpu, nz.memory), (200, 400 * 1024 * 1024));
    }

    #[test]
    fn fit_error_lists_sorted_reason_counts() {
        let s = [
            Status::unresolvable("node(s) were unschedulable"),
            Status::unresolvable("node(s) didn't match Pod's node affinity/selector"),
            Status::unresolvable("node(s) didn't match Pod's node affinity/selector"),
        ];
        assert_eq!(
            fit_error_message(
                3,
                s.iter(),
                Some("preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
            ),
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn selectors_and_node_operators() {
        let labels: Labels = [("a".to_string(), "5".to_string())].into();
        let gt = Requirement { key: "a".into(), op: Operator::Gt, values: vec!["4".into()] };
        let lt = Requirement { key: "a".into(), op: Operator::Lt, values: vec!["5".into()] };
        assert!(gt.matches(&labels) && !lt.matches(&labels));
        assert!(!Selector::from_api(None).matches(&labels), "an absent selector selects nothing");
        assert!(Selector::from_api(Some(&LabelSelector::default())).matches(&labels), "an empty one everything");
    }
}
