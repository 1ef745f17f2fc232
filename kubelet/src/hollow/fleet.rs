//! Many hollow nodes in one process, cheap enough for thousands: they share one client, one
//! watch of nodes and one of pods (dispatched by node name), and one ticker that spreads Lease
//! renewals and status reports over time. Writes go through a bounded number of permits so a
//! burst (registration, a relist) never floods the apiserver.
//!
//! A fleet of one (`rkube kubelet --hollow`) watches only its own Node and pods
//! (`metadata.name=` / `spec.nodeName=` field selectors), as a real kubelet does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::ipam::{IpamError, NodeIps};
use super::metrics::{Metrics, result};
use super::node::{self, ConditionTimes, Identity};
use super::{Capacity, pods};
use crate::nodelease as lease;

/// Registrations in flight at once.
const REGISTER_CONCURRENCY: usize = 48;
/// Writes (leases, statuses, pods) in flight at once.
const WRITE_PERMITS: usize = 64;
/// Upstream's nodeStatusReportFrequency: the status is written at least this often.
const STATUS_REPORT_INTERVAL: Duration = Duration::from_secs(300);

/// How far the fleet got, for `rkube up`'s progress lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: usize,
    /// Nodes created (or adopted) and their first status written.
    pub registered: usize,
    /// Nodes the apiserver shows Ready=True.
    pub ready: usize,
}

/// One hollow node's state.
pub(crate) struct HollowNode {
    pub identity: Identity,
    index: usize,
    uid: Mutex<Option<String>>,
    registered: AtomicBool,
    /// Its Ready condition as the node watch last showed it.
    ready_seen: AtomicBool,
    status_busy: AtomicBool,
    /// `nodeInfo.bootID`: new with each start of the process, as a machine's after a reboot.
    boot_id: String,
    /// The Lease as last written; locked by the renewal in flight.
    lease: tokio::sync::Mutex<Option<Lease>>,
    times: Mutex<ConditionTimes>,
    /// `spec.podCIDR`, as the node watch shows it; pod workers wait on it.
    pub cidr: watch::Sender<Option<String>>,
    ips: Mutex<NodeIps>,
    /// The workers of the pods bound to this node, by pod uid.
    pods: Mutex<HashMap<String, watch::Sender<Option<Arc<Pod>>>>>,
}

/// A poisoned lock only means another task panicked while holding it; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl HollowNode {
    fn new(identity: Identity, index: usize) -> Self {
        let now = Timestamp::now();
        Self {
            identity,
            index,
            uid: Mutex::new(None),
            registered: AtomicBool::new(false),
            ready_seen: AtomicBool::new(false),
            status_busy: AtomicBool::new(false),
            boot_id: uuid::Uuid::new_v4().to_string(),
            lease: tokio::sync::Mutex::new(None),
            times: Mutex::new(ConditionTimes { ready_since: now, healthy_since: now }),
            cidr: watch::Sender::new(None),
            ips: Mutex::new(NodeIps::default()),
            pods: Mutex::new(HashMap::new()),
        }
    }

    pub fn allocate_ip(&self) -> Result<Option<IpAddr>, IpamError> {
        lock(&self.ips).allocate()
    }

    pub fn hold_ip(&self, ip: IpAddr) {
        lock(&self.ips).hold(ip);
    }

    pub fn release_ip(&self, ip: IpAddr) {
        lock(&self.ips).release(ip);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Task {
    Lease,
    Status,
}

/// What every node's tasks share.
pub(crate) struct Shared {
    pub client: Client,
    nodes_api: Api<Node>,
    leases_api: Api<Lease>,
    capacity: Capacity,
    pub metrics: Arc<Metrics>,
    by_name: HashMap<String, Arc<HollowNode>>,
    nodes: Vec<Arc<HollowNode>>,
    pub writes: Arc<Semaphore>,
    pub stopped: watch::Receiver<bool>,
    ticks: mpsc::UnboundedSender<(Instant, usize, Task)>,
    registered: AtomicUsize,
    ready: AtomicUsize,
    progress: watch::Sender<Progress>,
}

impl Shared {
    fn report_progress(&self) {
        let registered = self.registered.load(Ordering::Relaxed);
        let ready = self.ready.load(Ordering::Relaxed);
        self.progress.send_if_modified(|p| {
            let changed = p.registered != registered || p.ready != ready;
            p.registered = registered;
            p.ready = ready;
            changed
        });
    }

    fn schedule(&self, node: &HollowNode, after: Duration, task: Task) {
        let _ = self.ticks.send((Instant::now() + after, node.index, task));
    }
}

/// A random fraction in [0, 1): jitter only, so the standard library's randomly keyed hasher
/// is random enough.
fn random_fraction() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `identities` as hollow nodes through `client` until `shutdown` resolves. Their Nodes
/// stay registered afterwards (they go NotReady once their Leases expire, as when a kubelet
/// dies). `progress` follows registration and readiness.
pub async fn run(
    client: Client,
    identities: Vec<Identity>,
    capacity: Capacity,
    metrics: Arc<Metrics>,
    progress: watch::Sender<Progress>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let single = match identities.as_slice() {
        [one] => Some(one.name.clone()),
        _ => None,
    };
    let nodes: Vec<Arc<HollowNode>> =
        identities.into_iter().enumerate().map(|(i, identity)| Arc::new(HollowNode::new(identity, i))).collect();
    let by_name: HashMap<String, Arc<HollowNode>> =
        nodes.iter().map(|n| (n.identity.name.clone(), n.clone())).collect();
    if by_name.len() != nodes.len() {
        anyhow::bail!("hollow node names must be unique");
    }
    progress.send_modify(|p| p.total = nodes.len());
    let (stop, stopped) = watch::channel(false);
    let (ticks, ticks_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        nodes_api: Api::all(client.clone()),
        leases_api: Api::namespaced(client.clone(), lease::NAMESPACE),
        client,
        capacity,
        metrics,
        by_name,
        nodes,
        writes: Arc::new(Semaphore::new(WRITE_PERMITS)),
        stopped,
        ticks,
        registered: AtomicUsize::new(0),
        ready: AtomicUsize::new(0),
        progress,
    });
    let (node_fields, pod_fields) = match &single {
        Some(name) => (Some(format!("metadata.name={name}")), format!("spec.nodeName={name}")),
        None => (None, "spec.nodeName!=".to_string()),
    };
    tracing::info!(nodes = shared.nodes.len(), "hollow nodes starting");
    let tasks = [
        tokio::spawn(watch_nodes(shared.clone(), node_fields)),
        tokio::spawn(watch_pods(shared.clone(), pod_fields)),
        tokio::spawn(ticker(shared.clone(), ticks_rx)),
        tokio::spawn(register_all(shared.clone())),
    ];
    shutdown.await;
    tracing::info!("hollow nodes stopping (their Nodes stay registered)");
    let _ = stop.send(true);
    for task in tasks {
        task.abort();
    }
    Ok(())
}

async fn register_all(shared: Arc<Shared>) {
    let started = std::time::Instant::now();
    futures::stream::iter(shared.nodes.clone())
        .for_each_concurrent(REGISTER_CONCURRENCY, |node| register(shared.clone(), node))
        .await;
    tracing::info!(
        nodes = shared.nodes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "hollow nodes registered"
    );
}

/// Registers one node, retrying with back-off (at most 7 s apart, like upstream's kubelet) until
/// the Node exists and has its first status; then its Lease and status reports start.
#[tracing::instrument(skip_all, fields(node = %node.identity.name))]
async fn register(shared: Arc<Shared>, node: Arc<HollowNode>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = async {
            let created = node::register(&shared.nodes_api, &node.identity).await?;
            *lock(&node.uid) = created.metadata.uid.clone();
            write_status(&shared, &node).await
        };
        match attempt.await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "registering the node");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(7));
            }
        }
    }
    node.registered.store(true, Ordering::Relaxed);
    shared.metrics.hollow_nodes.inc();
    shared.registered.fetch_add(1, Ordering::Relaxed);
    shared.report_progress();
    // The Lease now; its renewals and the status reports spread at random over their period
    // so that nodes registered together do not write together forever after.
    renew_lease(&shared, &node).await;
    shared.schedule(&node, lease::RENEW_INTERVAL.mul_f64(random_fraction()), Task::Lease);
    shared.schedule(&node, STATUS_REPORT_INTERVAL.mul_f64(1.0 - 0.2 * random_fraction()), Task::Status);
}

async fn write_status(shared: &Shared, node: &HollowNode) -> Result<(), kube::Error> {
    let times = lock(&node.times).clone();
    let status = node::node_status(&node.identity, &shared.capacity, &times, &node.boot_id, Timestamp::now());
    let written = {
        let _permit = shared.writes.acquire().await;
        node::write_status(&shared.nodes_api, &node.identity.name, &status).await
    };
    shared.metrics.node_status_updates.get_or_create(&result(written.is_ok())).inc();
    written.map(|_| ())
}

/// Writes the status unless a write is already in flight; `ready_changed`: someone else set
/// Ready to something else, so it transitions back to True now.
async fn report_status(shared: &Shared, node: &HollowNode, ready_changed: bool) {
    if node.status_busy.swap(true, Ordering::AcqRel) {
        return;
    }
    if ready_changed {
        lock(&node.times).ready_since = Timestamp::now();
    }
    if let Err(e) = write_status(shared, node).await {
        tracing::warn!(node = %node.identity.name, error = %e, "writing node status");
    }
    node.status_busy.store(false, Ordering::Release);
}

async fn renew_lease(shared: &Shared, node: &HollowNode) {
    // A renewal still in flight (a slow apiserver) is not doubled.
    let Ok(mut cached) = node.lease.try_lock() else { return };
    let uid = lock(&node.uid).clone();
    let renewed = {
        let _permit = shared.writes.acquire().await;
        lease::renew(&shared.leases_api, &node.identity.name, uid.as_deref(), &mut cached).await
    };
    shared.metrics.lease_renewals.get_or_create(&result(renewed.is_ok())).inc();
    if let Err(e) = renewed {
        tracing::warn!(node = %node.identity.name, error = %e, "renewing the node lease");
    }
}

/// One timer for every node: a heap of (when, node, task). Due tasks run on their own and
/// take a write permit for their request.
async fn ticker(shared: Arc<Shared>, mut ticks: mpsc::UnboundedReceiver<(Instant, usize, Task)>) {
    let mut heap: BinaryHeap<Reverse<(Instant, usize, Task)>> = BinaryHeap::new();
    loop {
        let next = heap.peek().map(|Reverse((at, _, _))| *at);
        tokio::select! {
            tick = ticks.recv() => match tick {
                Some(tick) => heap.push(Reverse(tick)),
                None => return,
            },
            _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                while let Some(Reverse((at, index, task))) = heap.peek().copied() {
                    if at > now {
                        break;
                    }
                    heap.pop();
                    let Some(node) = shared.nodes.get(index).cloned() else { continue };
                    let period = match task {
                        Task::Lease => lease::next_renewal(random_fraction()),
                        Task::Status => STATUS_REPORT_INTERVAL,
                    };
                    heap.push(Reverse((now + period, index, task)));
                    let shared = shared.clone();
                    // Each waits for a write permit; a node never has two of a kind pending.
                    tokio::spawn(async move {
                        match task {
                            Task::Lease => renew_lease(&shared, &node).await,
                            Task::Status => report_status(&shared, &node, false).await,
                        }
                    });
                }
            }
        }
    }
}

async fn watch_nodes(shared: Arc<Shared>, fields: Option<String>) {
    let mut config = watcher::Config::default();
    if let Some(fields) = &fields {
        config = config.fields(fields);
    }
    let mut events = watcher(shared.nodes_api.clone(), config).default_backoff().boxed();
    loop {
        match events.try_next().await {
            Ok(Some(Event::Apply(node) | Event::InitApply(node))) => on_node(&shared, &node),
            Ok(Some(Event::Delete(node))) => {
                if let Some(ours) = node.metadata.name.as_ref().and_then(|n| shared.by_name.get(n))
                    && ours.ready_seen.swap(false, Ordering::Relaxed)
                {
                    shared.ready.fetch_sub(1, Ordering::Relaxed);
                    shared.report_progress();
                }
            }
            Ok(Some(Event::Init | Event::InitDone)) => {}
            Ok(None) => return,
            Err(e) => tracing::warn!(error = %e, "watching nodes"),
        }
    }
}

fn on_node(shared: &Arc<Shared>, seen: &Node) {
    let Some(node) = seen.metadata.name.as_ref().and_then(|n| shared.by_name.get(n)) else { return };
    let ready = node::ready_status(seen);
    let is_ready = ready == Some("True");
    if node.ready_seen.swap(is_ready, Ordering::Relaxed) != is_ready {
        if is_ready {
            shared.ready.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.ready.fetch_sub(1, Ordering::Relaxed);
        }
        shared.report_progress();
    }
    if let Some(cidr) = seen.spec.as_ref().and_then(|s| s.pod_cidr.as_deref()) {
        match lock(&node.ips).set_cidr(cidr) {
            Ok(true) => {
                tracing::info!(node = %node.identity.name, pod_cidr = cidr, "node has its pod CIDR");
                node.cidr.send_replace(Some(cidr.to_string()));
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(node = %node.identity.name, error = %e, "unusable spec.podCIDR"),
        }
    }
    // Someone else (the node lifecycle controller, once the Lease had expired) marked the node
    // not Ready: a live kubelet puts it right at once.
    if node.registered.load(Ordering::Relaxed)
        && let Some(status) = ready
        && status != "True"
    {
        tracing::info!(node = %node.identity.name, ready = status, "Ready condition changed by someone else; reporting Ready");
        let (shared, node) = (shared.clone(), node.clone());
        tokio::spawn(async move { report_status(&shared, &node, true).await });
    }
}

async fn watch_pods(shared: Arc<Shared>, fields: String) {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let mut events = watcher(api, watcher::Config::default().fields(&fields)).default_backoff().boxed();
    // A (re)list is gathered whole, so the addresses of pods found Running are held before any
    // new pod is given one.
    let mut listing: Option<Vec<Pod>> = None;
    loop {
        match events.try_next().await {
            Ok(Some(Event::Init)) => listing = Some(Vec::new()),
            Ok(Some(Event::InitApply(pod))) => listing.get_or_insert_with(Vec::new).push(pod),
            Ok(Some(Event::InitDone)) => resync(&shared, listing.take().unwrap_or_default()),
            Ok(Some(Event::Apply(pod))) => dispatch(&shared, pod),
            Ok(Some(Event::Delete(pod))) => forget(&shared, &pod),
            Ok(None) => return,
            Err(e) => tracing::warn!(error = %e, "watching pods"),
        }
    }
}

fn node_of<'a>(shared: &'a Shared, pod: &Pod) -> Option<&'a Arc<HollowNode>> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).and_then(|n| shared.by_name.get(n))
}

fn resync(shared: &Arc<Shared>, pods: Vec<Pod>) {
    let present: HashSet<&str> = pods.iter().filter_map(|p| p.metadata.uid.as_deref()).collect();
    for node in &shared.nodes {
        let gone: Vec<String> =
            lock(&node.pods).keys().filter(|uid| !present.contains(uid.as_str())).cloned().collect();
        for uid in gone {
            if let Some(worker) = lock(&node.pods).remove(&uid) {
                worker.send_replace(None);
            }
        }
    }
    for pod in &pods {
        let running = pod.status.as_ref().is_some_and(|s| s.phase.as_deref() == Some("Running"));
        let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
        if running
            && !host_network
            && let Some(node) = node_of(shared, pod)
            && let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()).and_then(|ip| ip.parse().ok())
        {
            node.hold_ip(ip);
        }
    }
    tracing::info!(pods = pods.len(), "pods bound to hollow nodes listed");
    for pod in pods {
        dispatch(shared, pod);
    }
}

fn dispatch(shared: &Arc<Shared>, pod: Pod) {
    let Some(node) = node_of(shared, &pod) else { return };
    let Some(uid) = pod.metadata.uid.clone() else { return };
    let pod = Arc::new(pod);
    let mut workers = lock(&node.pods);
    if let Some(worker) = workers.get(&uid) {
        worker.send_replace(Some(pod));
        return;
    }
    let (worker, rx) = watch::channel(Some(pod));
    workers.insert(uid, worker);
    tokio::spawn(pods::worker(shared.clone(), node.clone(), rx));
}

fn forget(shared: &Shared, pod: &Pod) {
    let (Some(node), Some(uid)) = (node_of(shared, pod), pod.metadata.uid.as_ref()) else { return };
    if let Some(worker) = lock(&node.pods).remove(uid) {
        worker.send_replace(None);
    }
}
