//! The scheduling loop (upstream's `scheduleOne`): one pod at a time is taken from the queue and
//! decided against the cache — filters over a rotating window of nodes until enough fit
//! (percentageOfNodesToScore), scores, the best node (ties broken at random) — then assumed in
//! the cache and bound by a task of its own, so many bindings are in flight while the next
//! decisions are made. The same task that decides also applies the watches' events, so the
//! cache never changes under a decision.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use crate::cache::Cache;
use crate::framework::{NodeInfo, PodInfo, Resource, Status, fit_error_message};
use crate::metrics::{self, Metrics};
use crate::plugins::{self, ScoringStrategy};
use crate::preemption;
use crate::queue::SchedulingQueue;

/// upstream's percentageOfNodesToScore rule.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;
const BASE_PERCENTAGE_OF_NODES_TO_SCORE: usize = 50;
/// Bindings in flight at once.
const PARALLEL_BINDINGS: usize = 64;
/// Events waiting to be written; more are dropped (upstream's event broadcaster drops too).
const EVENT_QUEUE: usize = 4096;
const EVENT_WRITERS: usize = 16;

/// How many feasible nodes to look for among `num_all_nodes` (`percentage` 0: adaptive).
pub fn num_feasible_nodes_to_find(num_all_nodes: usize, percentage: u32) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = percentage as usize;
    if pct == 0 {
        pct = BASE_PERCENTAGE_OF_NODES_TO_SCORE
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    if pct >= 100 {
        return num_all_nodes;
    }
    (num_all_nodes * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// What the loop takes in: watch events (decoded by their own tasks) and binding outcomes.
pub enum Message {
    Node(Box<watcher::Event<Node>>),
    Pod(watcher::Event<Arc<PodInfo>>),
    Namespace(watcher::Event<(String, crate::framework::Labels)>),
    /// `error`: why the binding failed; `retry`: false when the pod is gone or already bound.
    Bound {
        pod: Arc<PodInfo>,
        node: String,
        error: Option<String>,
        retry: bool,
    },
}

/// An event for the writers.
struct Emit {
    regarding: ObjectReference,
    type_: EventType,
    reason: &'static str,
    action: &'static str,
    note: String,
}

/// Pods nominated to nodes by preemption: their share is held for them.
#[derive(Default)]
struct Nominator {
    by_node: HashMap<String, Vec<Arc<PodInfo>>>,
    node_of: HashMap<String, String>,
}

impl Nominator {
    fn add(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove(&pod.key);
        self.node_of.insert(pod.key.clone(), node.to_string());
        self.by_node.entry(node.to_string()).or_default().push(pod);
    }

    fn remove(&mut self, key: &str) {
        if let Some(node) = self.node_of.remove(key)
            && let Some(pods) = self.by_node.get_mut(&node)
        {
            pods.retain(|p| p.key != key);
            if pods.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }

    /// What pods at least as important as `pod` nominated to `node` take.
    fn reserved(&self, node: &str, pod: &PodInfo) -> Option<(Resource, i64)> {
        let pods = self.by_node.get(node)?;
        let mut total = (Resource::default(), 0);
        for p in pods.iter().filter(|p| p.key != pod.key && p.priority >= pod.priority) {
            total.0.add(&p.requests);
            total.1 += 1;
        }
        (total.1 > 0).then_some(total)
    }
}

#[derive(Default)]
struct Relist {
    nodes: Option<HashSet<String>>,
    pods: Option<HashSet<String>>,
}

pub struct Scheduler {
    client: kube::Client,
    profile: String,
    strategy: ScoringStrategy,
    percentage_of_nodes_to_score: u32,
    cache: Cache,
    queue: SchedulingQueue,
    nominator: Nominator,
    /// Pods placed whose binding has not come back; their watch updates are not re-queued.
    binding: HashSet<String>,
    next_start_node_index: usize,
    rng: fastrand::Rng,
    binds: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Message>,
    events: mpsc::Sender<Emit>,
    metrics: Arc<Metrics>,
    relist: Relist,
    nodes_synced: bool,
    pods_synced: bool,
    // Buffers reused by every cycle.
    feasible: Vec<usize>,
    statuses: Vec<(usize, Status)>,
    totals: Vec<i64>,
    scratch: Vec<i64>,
}

impl Scheduler {
    pub fn new(
        client: kube::Client,
        config: &crate::Config,
        metrics: Arc<Metrics>,
        tx: mpsc::UnboundedSender<Message>,
    ) -> Self {
        let (events, rx) = mpsc::channel(EVENT_QUEUE);
        let instance = config.instance.clone().unwrap_or_else(controllers::identity);
        spawn_event_writers(
            client.clone(),
            Reporter { controller: config.scheduler_name.clone(), instance: Some(instance) },
            rx,
        );
        Self {
            client,
            profile: config.scheduler_name.clone(),
            strategy: config.scoring_strategy,
            percentage_of_nodes_to_score: config.percentage_of_nodes_to_score,
            cache: Cache::default(),
            queue: SchedulingQueue::default(),
            nominator: Nominator::default(),
            binding: HashSet::new(),
            next_start_node_index: 0,
            rng: fastrand::Rng::new(),
            binds: Arc::new(Semaphore::new(PARALLEL_BINDINGS)),
            tx,
            events,
            metrics,
            relist: Relist::default(),
            nodes_synced: false,
            pods_synced: false,
            feasible: Vec::new(),
            statuses: Vec::new(),
            totals: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Runs until `shutdown` flips to true or the watches end.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Message>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut next_flush = tokio::time::Instant::now();
        let mut since_yield = 0u32;
        loop {
            // Take in what arrived, a bounded batch so decisions keep flowing under a flood.
            for _ in 0..4096 {
                match rx.try_recv() {
                    Ok(m) => self.handle(m),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            let now = tokio::time::Instant::now();
            if now >= next_flush {
                next_flush = tokio::time::Instant::from_std(self.queue.flush(now.into_std()));
            }
            self.metrics.set_pending(&self.queue.pending());
            if self.nodes_synced && self.pods_synced && self.queue.has_active() {
                let permit = tokio::select! {
                    p = self.binds.clone().acquire_owned() => p,
                    _ = shutdown.changed() => return,
                };
                let Ok(permit) = permit else { return };
                self.schedule_one(permit);
                since_yield += 1;
                if since_yield >= 32 {
                    since_yield = 0;
                    tokio::task::yield_now().await;
                }
                continue;
            }
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => self.handle(m),
                    None => return,
                },
                _ = tokio::time::sleep_until(next_flush) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    fn handle(&mut self, message: Message) {
        let now = Instant::now();
        match message {
            Message::Node(event) => match *event {
                watcher::Event::Init => self.relist.nodes = Some(HashSet::new()),
                watcher::Event::InitApply(node) | watcher::Event::Apply(node) => {
                    if let Some(seen) = self.relist.nodes.as_mut() {
                        seen.insert(node.metadata.name.clone().unwrap_or_default());
                    }
                    let change = self.cache.add_or_update_node(&node);
                    if change.may_help {
                        self.queue.move_all_to_active_or_backoff(now);
                    }
                }
                watcher::Event::Delete(node) => self.cache.remove_node(node.metadata.name.as_deref().unwrap_or("")),
                watcher::Event::InitDone => {
                    if let Some(seen) = self.relist.nodes.take() {
                        let gone: Vec<String> = self
                            .cache
                            .node_slots()
                            .values()
                            .filter(|n| n.exists && !seen.contains(&n.name))
                            .map(|n| n.name.clone())
                            .collect();
                        gone.iter().for_each(|n| self.cache.remove_node(n));
                    }
                    if !self.nodes_synced {
                        tracing::info!(nodes = self.cache.node_count(), "node cache synced");
                    }
                    self.nodes_synced = true;
                }
            },
            Message::Pod(event) => match event {
                watcher::Event::Init => self.relist.pods = Some(HashSet::new()),
                watcher::Event::InitApply(pod) | watcher::Event::Apply(pod) => {
                    if let Some(seen) = self.relist.pods.as_mut() {
                        seen.insert(pod.key.clone());
                    }
                    self.on_pod(pod, now);
                }
                watcher::Event::Delete(pod) => self.on_pod_deleted(&pod.key, now),
                watcher::Event::InitDone => {
                    if let Some(seen) = self.relist.pods.take() {
                        for key in self.queue.keys().into_iter().chain(self.cache.pod_keys()) {
                            if !seen.contains(&key) && !self.binding.contains(&key) {
                                self.on_pod_deleted(&key, now);
                            }
                        }
                    }
                    if !self.pods_synced {
                        tracing::info!(pods = self.cache.pod_count(), pending = ?self.queue.pending(), "pod cache synced");
                    }
                    self.pods_synced = true;
                }
            },
            Message::Namespace(event) => match event {
                watcher::Event::InitApply((name, labels)) | watcher::Event::Apply((name, labels)) => {
                    self.cache.set_namespace(name, labels)
                }
                watcher::Event::Delete((name, _)) => self.cache.remove_namespace(&name),
                watcher::Event::Init | watcher::Event::InitDone => {}
            },
            Message::Bound { pod, node, error, retry } => {
                self.binding.remove(&pod.key);
                if let Some(error) = error {
                    tracing::warn!(pod = %pod.key, %node, %error, "binding failed");
                    // The assumed pod frees its share; others may fit again.
                    if self.cache.forget_pod(&pod.key) {
                        self.queue.move_all_to_active_or_backoff(now);
                    }
                    if retry && !pod.deleting {
                        self.queue.requeue_backoff(pod.clone(), now);
                        self.record_failure(&pod, "SchedulerError", format!("Binding rejected: {error}"), None);
                    }
                }
            }
        }
    }

    fn on_pod(&mut self, pod: Arc<PodInfo>, now: Instant) {
        if !pod.node_name.is_empty() {
            // Bound (by us or anyone): the cache holds it, the queue no longer.
            self.queue.delete(&pod.key);
            self.nominator.remove(&pod.key);
            if pod.terminal {
                if self.cache.remove_pod(&pod.key).is_some() {
                    self.queue.move_all_to_active_or_backoff(now);
                }
            } else {
                self.cache.add_or_update_pod(pod);
            }
            return;
        }
        // Not bound yet as the watch sees it, but we placed it: wait for the binding.
        if self.cache.pod_node(&pod.key).is_some() || self.binding.contains(&pod.key) {
            return;
        }
        // Pods with scheduling gates wait until the gates are removed (SchedulingGates).
        if pod.deleting || pod.terminal || pod.gated || pod.scheduler_name != self.profile {
            self.queue.delete(&pod.key);
            self.nominator.remove(&pod.key);
            return;
        }
        if !pod.nominated_node_name.is_empty() {
            self.nominator.add(pod.clone(), &pod.nominated_node_name.clone());
        }
        self.queue.update(pod, now);
    }

    fn on_pod_deleted(&mut self, key: &str, now: Instant) {
        self.queue.delete(key);
        self.nominator.remove(key);
        if self.cache.remove_pod(key).is_some() {
            // upstream's AssignedPodDelete: what it held may let parked pods fit.
            self.queue.move_all_to_active_or_backoff(now);
        }
    }

    /// Filters nodes for the pod into `self.feasible` (rejections into `self.statuses`).
    fn find_nodes_that_fit(&mut self, state: &plugins::CycleState, pod: &PodInfo) {
        self.feasible.clear();
        self.statuses.clear();
        let slots = self.cache.node_slots();
        let total = slots.len();
        if total == 0 {
            return;
        }
        let filter_one = |nominator: &Nominator, node: &NodeInfo| {
            let reserved = if nominator.by_node.is_empty() { None } else { nominator.reserved(&node.name, pod) };
            plugins::filter(state, pod, node, reserved.as_ref())
        };
        // A pod nominated by an earlier preemption tries its node first.
        if let Some(i) = self.cache.node_index(&pod.nominated_node_name)
            && filter_one(&self.nominator, &slots[i]).is_none()
        {
            self.feasible.push(i);
            return;
        }
        let wanted = num_feasible_nodes_to_find(self.cache.node_count(), self.percentage_of_nodes_to_score);
        let start = self.next_start_node_index % total;
        let mut visited = 0;
        for k in 0..total {
            let i = (start + k) % total;
            visited += 1;
            let node = &slots[i];
            if !node.exists {
                continue;
            }
            match filter_one(&self.nominator, node) {
                None => {
                    self.feasible.push(i);
                    if self.feasible.len() >= wanted {
                        break;
                    }
                }
                Some(status) => self.statuses.push((i, status)),
            }
        }
        self.next_start_node_index = (start + visited) % total;
    }

    /// The feasible node with the highest score; ties broken uniformly at random.
    fn select_host(&mut self, pod: &PodInfo) -> usize {
        if self.feasible.len() == 1 {
            return self.feasible[0];
        }
        plugins::score(&self.cache, self.strategy, pod, &self.feasible, &mut self.totals, &mut self.scratch);
        let mut best = 0;
        let mut ties = 0u32;
        for (slot, score) in self.totals.iter().enumerate() {
            if *score > self.totals[best] {
                best = slot;
                ties = 1;
            } else if *score == self.totals[best] {
                ties += 1;
                if self.rng.u32(0..ties) == 0 {
                    best = slot;
                }
            }
        }
        self.feasible[best]
    }

    fn schedule_one(&mut self, permit: tokio::sync::OwnedSemaphorePermit) {
        let Some((pod, _attempts, _initial)) = self.queue.pop() else { return };
        let started = Instant::now();
        if pod.deleting || self.cache.pod_node(&pod.key).is_some() {
            self.queue.done(&pod.key);
            return;
        }
        let state = plugins::pre_filter(&self.cache, &pod);
        self.find_nodes_that_fit(&state, &pod);
        if self.feasible.is_empty() {
            self.handle_unschedulable(&state, &pod);
            self.metrics.observe(metrics::UNSCHEDULABLE, &self.profile, started.elapsed().as_secs_f64());
            return;
        }
        let index = self.select_host(&pod);
        let node = self.cache.node_slots()[index].name.clone();
        self.cache.assume_pod(pod.clone(), &node);
        self.queue.done(&pod.key);
        self.nominator.remove(&pod.key);
        self.binding.insert(pod.key.clone());
        self.metrics.observe(metrics::SCHEDULED, &self.profile, started.elapsed().as_secs_f64());
        let (client, tx, events) = (self.client.clone(), self.tx.clone(), self.events.clone());
        tokio::spawn(async move {
            let (error, retry) = match bind(&client, &pod, &node).await {
                Ok(()) => (None, false),
                // Deleted meanwhile, or bound by someone else: the watch tells the rest.
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => (Some(e.message), false),
                Err(e) => (Some(e.to_string()), true),
            };
            drop(permit);
            if error.is_none() {
                let note = format!("Successfully assigned {}/{} to {node}", pod.namespace, pod.name);
                let _ = events.try_send(Emit {
                    regarding: pod.object_ref(),
                    type_: EventType::Normal,
                    reason: "Scheduled",
                    action: "Binding",
                    note,
                });
            }
            let _ = tx.send(Message::Bound { pod, node, error, retry });
        });
    }

    fn handle_unschedulable(&mut self, state: &plugins::CycleState, pod: &Arc<PodInfo>) {
        let now = Instant::now();
        let num_nodes = self.cache.node_count();
        if num_nodes == 0 {
            self.queue.requeue_unschedulable(&pod.key, now);
            self.record_failure(pod, "Unschedulable", "no nodes available to schedule pods".into(), None);
            return;
        }
        let offset = self.rng.usize(..num_nodes.max(1));
        let outcome = preemption::preempt(&self.cache, state, pod, &self.statuses, offset);
        let message = fit_error_message(num_nodes, self.statuses.iter().map(|(_, s)| s), Some(&outcome.message));
        if let Some(node) = &outcome.nominated_node {
            tracing::info!(pod = %pod.key, %node, victims = outcome.victims.len(), "preempting");
            self.metrics.preemption_victims.inc_by(outcome.victims.len() as u64);
            self.nominator.add(pod.clone(), node);
            for victim in outcome.victims.iter().filter(|v| !v.deleting) {
                self.evict(victim, pod, node);
            }
        }
        self.queue.requeue_unschedulable(&pod.key, now);
        self.record_failure(pod, "Unschedulable", message, outcome.nominated_node);
    }

    /// Marks the victim with the DisruptionTarget condition, then deletes it.
    fn evict(&self, victim: &Arc<PodInfo>, preemptor: &PodInfo, node: &str) {
        let (client, victim) = (self.client.clone(), victim.clone());
        let message = format!("{}: preempting to accommodate a higher priority pod", self.profile);
        let _ = self.events.try_send(Emit {
            regarding: victim.object_ref(),
            type_: EventType::Normal,
            reason: "Preempted",
            action: "Preempting",
            note: format!("Preempted by pod {} on node {node}", preemptor.uid),
        });
        tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client, &victim.namespace);
            if !victim.disruption_target {
                let patch = json!({"status": {"conditions": [{
                    "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                    "message": message, "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string(),
                }]}});
                if let Err(e) =
                    pods.patch_status(&victim.name, &PatchParams::default(), &Patch::Strategic(&patch)).await
                {
                    tracing::warn!(pod = %victim.key, error = %e, "adding the DisruptionTarget condition");
                }
            }
            match pods.delete(&victim.name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => tracing::warn!(pod = %victim.key, error = %e, "deleting a preemption victim"),
            }
        });
    }

    /// PodScheduled=False with the reason and message (unless the pod already says so), the
    /// nominated node if any, and a FailedScheduling event.
    fn record_failure(&self, pod: &PodInfo, reason: &'static str, message: String, nominated: Option<String>) {
        tracing::debug!(pod = %pod.key, %message, "unschedulable");
        let _ = self.events.try_send(Emit {
            regarding: pod.object_ref(),
            type_: EventType::Warning,
            reason: "FailedScheduling",
            action: "Scheduling",
            note: message.clone(),
        });
        let same_condition = pod
            .scheduled_condition
            .as_ref()
            .is_some_and(|(status, r, m)| status == "False" && r == reason && *m == message);
        let same_nomination = nominated.as_ref().is_none_or(|n| *n == pod.nominated_node_name);
        if same_condition && same_nomination {
            return;
        }
        let mut status = json!({"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": reason, "message": message,
            "lastProbeTime": null, "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string(),
        }]});
        if let Some(node) = nominated {
            status["nominatedNodeName"] = json!(node);
        }
        let (client, namespace, name) = (self.client.clone(), pod.namespace.clone(), pod.name.clone());
        tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client, &namespace);
            let patch = json!({"status": status});
            match pods.patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => tracing::warn!(pod = %format!("{namespace}/{name}"), error = %e, "updating PodScheduled"),
            }
        });
    }
}

/// `POST pods/<name>/binding`.
async fn bind(client: &kube::Client, pod: &PodInfo, node: &str) -> Result<(), kube::Error> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(pod.name.clone()),
            namespace: Some(pod.namespace.clone()),
            uid: Some(pod.uid.clone()).filter(|u| !u.is_empty()),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..ObjectReference::default()
        },
    };
    pods.create_subresource::<_, serde_json::Value>("binding", &pod.name, &PostParams::default(), &binding).await?;
    Ok(())
}

/// Writers of events.k8s.io Events, off the hot path; failures are logged, not retried.
fn spawn_event_writers(client: kube::Client, reporter: Reporter, rx: mpsc::Receiver<Emit>) {
    // One recorder aggregates repeated FailedScheduling events into series; Scheduled and
    // Preempted happen once per pod, so they skip its cache (which is scanned on every publish).
    let failures = Recorder::new(client.clone(), reporter.clone());
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..EVENT_WRITERS {
        let (rx, failures, client, reporter) = (rx.clone(), failures.clone(), client.clone(), reporter.clone());
        tokio::spawn(async move {
            loop {
                let Some(e) = rx.lock().await.recv().await else { return };
                let event = KubeEvent {
                    type_: e.type_,
                    reason: e.reason.into(),
                    note: Some(e.note),
                    action: e.action.into(),
                    secondary: None,
                };
                let result = if e.type_ == EventType::Warning {
                    failures.publish(&event, &e.regarding).await
                } else {
                    Recorder::new(client.clone(), reporter.clone()).publish(&event, &e.regarding).await
                };
                if let Err(err) = result {
                    tracing::debug!(error = %err, reason = e.reason, "writing an event");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasible_nodes_to_find_follow_upstreams_adaptive_percentage() {
        assert_eq!(num_feasible_nodes_to_find(3, 0), 3);
        assert_eq!(num_feasible_nodes_to_find(99, 0), 99);
        assert_eq!(num_feasible_nodes_to_find(100, 0), 100);
        assert_eq!(num_feasible_nodes_to_find(1000, 0), 420, "50% − 8%");
        assert_eq!(num_feasible_nodes_to_find(5000, 0), 500, "50% − 40%");
        assert_eq!(num_feasible_nodes_to_find(6000, 0), 300, "floor of 5%");
        assert_eq!(num_feasible_nodes_to_find(1000, 100), 1000);
        assert_eq!(num_feasible_nodes_to_find(1000, 1), 100, "at least 100");
    }
}
