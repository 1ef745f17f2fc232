//! The pod workers' dispatcher: one watch of the pods bound to this node (`spec.nodeName`), one
//! worker per pod UID fed the newest Pod, and the PLEG relist (upstream's generic pod lifecycle
//! event generator: list the runtime every second, wake the workers whose pods changed there,
//! remove what belongs to no pod).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use controllers::framework::Recorder;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::Api;
use kube::runtime::watcher::{self, Event, watcher};
use tokio::sync::{Notify, mpsc, watch};

use super::LABEL_POD_UID;
use super::worker::Worker;
use crate::config::Config;
use crate::cri::Cri;
use crate::metrics::Metrics;

/// What every pod worker of a node shares.
pub struct Shared {
    pub config: Config,
    pub client: Client,
    pub cri: Cri,
    /// The runtime's name, the scheme of container IDs (`containerd`).
    pub runtime_name: String,
    pub recorder: Recorder,
    /// The node's `/etc/resolv.conf`, for pods with dnsPolicy Default.
    pub host_resolv_conf: String,
    pub node_memory: u64,
    pub allocatable_milli_cpu: i64,
    pub allocatable_memory: i64,
    /// Services by namespace (for the pods' Service environment variables).
    pub services: Mutex<BTreeMap<String, Vec<Service>>>,
    /// The pods bound to this node as last seen, by (namespace, name): what the kubelet's API
    /// (logs, exec, port-forward) resolves names against.
    pub pods: Mutex<HashMap<(String, String), Arc<Pod>>>,
    pub metrics: Arc<Metrics>,
}

impl Shared {
    /// The pod `namespace/name` bound to this node, as last seen.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Arc<Pod>> {
        let pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        pods.get(&(namespace.to_string(), name.to_string())).cloned()
    }

    fn remember(&self, pod: Option<&Pod>, gone: Option<&Pod>) {
        let key = |p: &Pod| (super::names(p).0.to_string(), super::names(p).1.to_string());
        let mut pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pod {
            pods.insert(key(p), Arc::new(p.clone()));
        }
        if let Some(p) = gone {
            // Only if it is still that pod (a new one of the same name may have replaced it).
            if pods.get(&key(p)).is_some_and(|known| known.metadata.uid == p.metadata.uid) {
                pods.remove(&key(p));
            }
        }
    }

    /// The Services whose variables a pod of `namespace` gets: its namespace's and the
    /// `kubernetes` Service of `default`, as upstream's `getServiceEnvVarMap`.
    pub fn services_for(&self, namespace: &str) -> Vec<Service> {
        let services = self.services.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Service> = services.get(namespace).cloned().unwrap_or_default();
        if namespace != "default" {
            out.extend(
                services
                    .get("default")
                    .into_iter()
                    .flatten()
                    .filter(|s| s.metadata.name.as_deref() == Some("kubernetes"))
                    .cloned(),
            );
        }
        out
    }
}

struct Handle {
    pod: watch::Sender<Option<Arc<Pod>>>,
    wake: Arc<Notify>,
}

/// The running workers by pod UID.
pub struct PodManager {
    shared: Arc<Shared>,
    workers: HashMap<String, Handle>,
    finished: mpsc::UnboundedSender<String>,
}

impl PodManager {
    pub fn new(shared: Arc<Shared>) -> (PodManager, mpsc::UnboundedReceiver<String>) {
        let (finished, done) = mpsc::unbounded_channel();
        (PodManager { shared, workers: HashMap::new(), finished }, done)
    }

    fn update(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else { return };
        let pod = Arc::new(pod);
        match self.workers.get(&uid) {
            Some(handle) => {
                handle.pod.send_replace(Some(pod));
            }
            None => self.spawn(uid, Some(pod)),
        }
    }

    /// Starts the worker of `uid`; `None`: an orphan (sandboxes of a pod deleted while the
    /// kubelet was down), which its worker removes at once.
    fn spawn(&mut self, uid: String, pod: Option<Arc<Pod>>) {
        let (sender, receiver) = watch::channel(pod);
        let wake = Arc::new(Notify::new());
        let worker = Worker::new(self.shared.clone(), uid.clone());
        let finished = self.finished.clone();
        let notify = wake.clone();
        let key = uid.clone();
        tokio::spawn(async move {
            worker.run(receiver, notify).await;
            let _ = finished.send(key);
        });
        self.workers.insert(uid, Handle { pod: sender, wake });
    }

    fn remove(&mut self, uid: &str) {
        if let Some(handle) = self.workers.get(uid) {
            handle.pod.send_replace(None);
        }
    }

    fn wake(&self, uid: &str) {
        if let Some(handle) = self.workers.get(uid) {
            handle.wake.notify_one();
        }
    }
}

/// A fingerprint of what the runtime shows of each pod (IDs and states): a change wakes its
/// worker.
/// The running-pod and container gauges are set from the same listing.
async fn relist(cri: &Cri, metrics: &Metrics) -> Result<HashMap<String, Vec<(String, i32)>>, crate::cri::CriError> {
    let started = std::time::Instant::now();
    let mut out: HashMap<String, Vec<(String, i32)>> = HashMap::new();
    let sandboxes = cri.list_pod_sandboxes(None).await?;
    let ready = sandboxes.iter().filter(|s| s.state == k8s_cri::v1::PodSandboxState::SandboxReady as i32).count();
    metrics.running_pods.set(i64::try_from(ready).unwrap_or(i64::MAX));
    for sandbox in sandboxes {
        if let Some(uid) = sandbox.labels.get(LABEL_POD_UID) {
            out.entry(uid.clone()).or_default().push((sandbox.id, sandbox.state));
        }
    }
    let containers = cri.list_containers(None).await?;
    metrics.set_container_states(containers.iter().map(|c| c.state));
    for container in containers {
        if let Some(uid) = container.labels.get(LABEL_POD_UID) {
            out.entry(uid.clone()).or_default().push((container.id, container.state + 10));
        }
    }
    metrics.pleg_relist_duration.observe(started.elapsed().as_secs_f64());
    for entries in out.values_mut() {
        entries.sort();
    }
    Ok(out)
}

/// Runs the pods of this node until `shutdown` resolves.
pub async fn run(shared: Arc<Shared>, shutdown: impl std::future::Future<Output = ()>) {
    let node = shared.config.node_name.clone();
    let pods: Api<Pod> = Api::all(shared.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut pod_events = watcher(pods, config).boxed();
    let services: Api<Service> = Api::all(shared.client.clone());
    let mut service_events = watcher(services, watcher::Config::default()).boxed();
    let (mut manager, mut finished) = PodManager::new(shared.clone());
    let mut relist_tick = tokio::time::interval(shared.config.relist_period);
    relist_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen: HashMap<String, Vec<(String, i32)>> = HashMap::new();
    // Until the first full list, a sandbox without a worker may belong to a pod not yet seen.
    let mut synced = false;
    let mut listing: HashSet<String> = HashSet::new();
    let mut services_listing: BTreeMap<String, Vec<Service>> = BTreeMap::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            event = pod_events.next() => match event {
                Some(Ok(Event::Apply(pod))) | Some(Ok(Event::InitApply(pod))) => {
                    if let Some(uid) = &pod.metadata.uid {
                        listing.insert(uid.clone());
                    }
                    shared.remember(Some(&pod), None);
                    manager.update(pod);
                }
                Some(Ok(Event::Delete(pod))) => {
                    shared.remember(None, Some(&pod));
                    if let Some(uid) = &pod.metadata.uid {
                        manager.remove(uid);
                    }
                }
                Some(Ok(Event::Init)) => listing.clear(),
                Some(Ok(Event::InitDone)) => {
                    // Pods deleted while the watch was down.
                    let gone: Vec<String> = manager.workers.keys().filter(|uid| !listing.contains(*uid)).cloned().collect();
                    for uid in gone {
                        manager.remove(&uid);
                    }
                    shared.pods.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, p| p.metadata.uid.as_ref().is_some_and(|u| listing.contains(u)));
                    synced = true;
                }
                Some(Err(e)) => tracing::warn!(error = %e, "pod watch"),
                None => return,
            },
            event = service_events.next() => match event {
                Some(Ok(Event::Init)) => services_listing.clear(),
                Some(Ok(Event::InitApply(svc))) => {
                    services_listing.entry(svc.metadata.namespace.clone().unwrap_or_default()).or_default().push(svc);
                }
                Some(Ok(Event::InitDone)) => {
                    *shared.services.lock().unwrap_or_else(|e| e.into_inner()) = std::mem::take(&mut services_listing);
                }
                Some(Ok(Event::Apply(svc))) => {
                    let mut services = shared.services.lock().unwrap_or_else(|e| e.into_inner());
                    let list = services.entry(svc.metadata.namespace.clone().unwrap_or_default()).or_default();
                    list.retain(|s| s.metadata.name != svc.metadata.name);
                    list.push(svc);
                }
                Some(Ok(Event::Delete(svc))) => {
                    let mut services = shared.services.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(list) = services.get_mut(svc.metadata.namespace.as_deref().unwrap_or_default()) {
                        list.retain(|s| s.metadata.name != svc.metadata.name);
                    }
                }
                Some(Err(e)) => tracing::debug!(error = %e, "service watch"),
                None => {}
            },
            Some(uid) = finished.recv() => {
                // Its pod is gone (UIDs are never reused).
                manager.workers.remove(&uid);
            }
            _ = relist_tick.tick() => {
                let current = match relist(&shared.cri, &shared.metrics).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "relisting the runtime");
                        continue;
                    }
                };
                for (uid, fingerprint) in &current {
                    if manager.workers.contains_key(uid) {
                        if seen.get(uid) != Some(fingerprint) {
                            manager.wake(uid);
                        }
                    } else if synced {
                        tracing::info!(pod_uid = %uid, "removing the runtime objects of a pod that no longer exists");
                        manager.spawn(uid.clone(), None);
                    }
                }
                seen = current;
            }
        }
    }
}
