//! The garbage collector (upstream's pkg/controller/garbagecollector): deletes objects whose
//! owners are all gone, and carries out the two deletion modes that need help:
//!
//! - **background** (the default): the owner goes at once; its dependents are then found with no
//!   owner left and deleted here;
//! - **foreground**: the apiserver keeps the owner, marked with the `foregroundDeletion`
//!   finalizer; its dependents are deleted here, and once none with `blockOwnerDeletion` is
//!   left the finalizer is removed and the owner goes;
//! - **orphan**: the `orphan` finalizer; the owner's references are taken out of its
//!   dependents, which stay, then the finalizer is removed.
//!
//! A dependent with several owners goes only when all are gone. The picture of who owns whom
//! (`graph.rs`) comes from a metadata-only watch of every resource the apiserver serves (custom
//! resources too, found again every 30 s); workers act on it with live reads, since a cache can
//! lag behind an owner that was just created.

mod graph;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::PartialObjectMeta;
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::{Notify, mpsc};

use crate::{Context, Error};
use graph::{FOREGROUND, Graph, Identity, ORPHAN, Observed, Work};

/// Workers acting on the graph (upstream's --concurrent-gc-syncs).
const WORKERS: usize = 20;
/// How often new resource types (custom resources) are looked for.
const REDISCOVERY: Duration = Duration::from_secs(30);

/// A resource the collector knows how to reach.
#[derive(Clone)]
struct Reachable {
    resource: ApiResource,
    namespaced: bool,
}

struct Collector {
    client: Client,
    graph: Mutex<Graph>,
    /// By (group, kind): owner references name a version that may not be the one watched.
    resources: RwLock<HashMap<(String, String), Reachable>>,
    /// Owners confirmed not to exist, so their other dependents need no second look-up.
    absent: Mutex<HashSet<String>>,
    queue: mpsc::UnboundedSender<Work>,
    queued: Mutex<HashSet<Work>>,
    /// Monitors that have not listed their resource yet.
    unsynced: Mutex<usize>,
    synced: Notify,
    /// Asks for discovery now: a reference named a kind not known yet (a new custom resource).
    rediscover: Notify,
    /// Failures in a row per item, for its retry back-off.
    failures: Mutex<HashMap<Work, u32>>,
}

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let (queue, work) = mpsc::unbounded_channel();
    let gc = Arc::new(Collector {
        client: ctx.client.clone(),
        graph: Mutex::default(),
        resources: RwLock::default(),
        absent: Mutex::default(),
        queue,
        queued: Mutex::default(),
        unsynced: Mutex::new(0),
        synced: Notify::new(),
        rediscover: Notify::new(),
        failures: Mutex::default(),
    });
    let work = Arc::new(tokio::sync::Mutex::new(work));
    let mut tasks = vec![tokio::spawn(discover(gc.clone()))];
    for _ in 0..WORKERS {
        tasks.push(tokio::spawn(worker(gc.clone(), work.clone())));
    }
    shutdown.await;
    tasks.iter().for_each(tokio::task::JoinHandle::abort);
    Ok(())
}

/// Finds the resources to watch, now and every 30 s, and starts a monitor for each new one.
async fn discover(gc: Arc<Collector>) {
    let mut monitored = HashSet::new();
    loop {
        match Discovery::new(gc.client.clone()).run_aggregated().await {
            Ok(discovery) => {
                for group in discovery.groups() {
                    for (ar, caps) in group.recommended_resources() {
                        let ops = [verbs::LIST, verbs::WATCH, verbs::DELETE];
                        let events = ar.plural == "events" && (ar.group.is_empty() || ar.group == "events.k8s.io");
                        if events || !ops.iter().all(|v| caps.supports_operation(v)) {
                            continue;
                        }
                        let reachable = Reachable { resource: ar.clone(), namespaced: caps.scope == Scope::Namespaced };
                        if let Ok(mut resources) = gc.resources.write() {
                            resources.insert((ar.group.clone(), ar.kind.clone()), reachable);
                        }
                        if monitored.insert((ar.group.clone(), ar.plural.clone())) {
                            if let Ok(mut n) = gc.unsynced.lock() {
                                *n += 1;
                            }
                            tokio::spawn(monitor(gc.clone(), ar));
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "garbage collector: discovery failed"),
        }
        let _ = tokio::time::timeout(REDISCOVERY, gc.rediscover.notified()).await;
    }
}

/// Feeds the graph with one resource's objects (metadata only).
async fn monitor(gc: Arc<Collector>, ar: ApiResource) {
    let api = Api::<PartialObjectMeta<DynamicObject>>::all_with(gc.client.clone(), &ar);
    let stream = watcher(api, watcher::Config::default().any_semantic()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut listed = HashSet::new();
    let mut first_sync = true;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!(resource = %ar.plural, error = %e, "garbage collector: watch failed; retrying");
                continue;
            }
        };
        let mut work = Vec::new();
        {
            let Ok(mut graph) = gc.graph.lock() else { return };
            match event {
                watcher::Event::Apply(obj) => work = graph.upsert(observed(&ar, &obj)),
                watcher::Event::Delete(obj) => work = graph.remove(&obj.uid().unwrap_or_default()),
                watcher::Event::Init => listed.clear(),
                watcher::Event::InitApply(obj) => {
                    listed.insert(obj.uid().unwrap_or_default());
                    work = graph.upsert(observed(&ar, &obj));
                }
                watcher::Event::InitDone => {
                    // What a relist no longer shows was deleted meanwhile.
                    for uid in graph.uids_of(&ar.api_version, &ar.kind) {
                        if !listed.contains(&uid) {
                            work.extend(graph.remove(&uid));
                        }
                    }
                    if std::mem::take(&mut first_sync)
                        && let Ok(mut n) = gc.unsynced.lock()
                    {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            gc.synced.notify_waiters();
                        }
                    }
                }
            }
        }
        work.into_iter().for_each(|w| gc.enqueue(w));
    }
}

fn observed(ar: &ApiResource, obj: &PartialObjectMeta<DynamicObject>) -> Observed {
    Observed {
        identity: Identity {
            api_version: ar.api_version.clone(),
            kind: ar.kind.clone(),
            namespace: obj.namespace(),
            name: obj.name_any(),
            uid: obj.uid().unwrap_or_default(),
        },
        owners: obj.owner_references().to_vec(),
        deleting: obj.metadata.deletion_timestamp.is_some(),
        finalizers: obj.finalizers().to_vec(),
    }
}

async fn worker(gc: Arc<Collector>, work: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Work>>>) {
    // Judging before every resource is listed would take present owners for absent ones.
    loop {
        let synced = gc.synced.notified();
        if gc.unsynced.lock().map(|n| *n == 0).unwrap_or(true) && gc.graph.lock().map(|g| g.len() > 0).unwrap_or(true) {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), synced).await;
    }
    loop {
        let item = { work.lock().await.recv().await };
        let Some(item) = item else { return };
        if let Ok(mut queued) = gc.queued.lock() {
            queued.remove(&item);
        }
        let result = match &item {
            Work::AttemptToDelete(uid) => gc.attempt_to_delete(uid).await,
            Work::Orphan(uid) => gc.orphan_dependents(uid).await,
        };
        match result {
            Ok(()) => {
                if let Ok(mut failures) = gc.failures.lock() {
                    failures.remove(&item);
                }
            }
            Err(e) => {
                let n = gc.failures.lock().map(|mut f| {
                    let n = f.entry(item.clone()).or_default();
                    *n = n.saturating_add(1);
                    *n
                });
                // 50 ms doubling to a minute, as a work queue's per-item limiter would.
                let delay =
                    Duration::from_millis(50).saturating_mul(1 << n.unwrap_or(1).min(11)).min(Duration::from_secs(60));
                tracing::debug!(?item, error = %e, ?delay, "garbage collector: retrying");
                let gc = gc.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    gc.enqueue(item);
                });
            }
        }
    }
}

impl Collector {
    fn enqueue(&self, work: Work) {
        if let Ok(mut queued) = self.queued.lock()
            && queued.insert(work.clone())
        {
            let _ = self.queue.send(work);
        }
    }

    fn node(&self, uid: &str) -> Option<graph::Node> {
        self.graph.lock().ok()?.get(uid).cloned()
    }

    /// The API of an object named by `identity`. A kind not known (yet) is an error: its
    /// objects must not be taken for absent; discovery runs again at once.
    fn api(&self, identity: &Identity) -> Result<Api<DynamicObject>, Error> {
        self.reach(identity).ok_or_else(|| {
            self.rediscover.notify_one();
            Error::Other(format!("{} of {} is not a known kind (yet)", identity.kind, identity.api_version))
        })
    }

    fn reach(&self, identity: &Identity) -> Option<Api<DynamicObject>> {
        let group = identity.api_version.rsplit_once('/').map_or("", |(g, _)| g).to_string();
        let resources = self.resources.read().ok()?;
        let r = resources.get(&(group, identity.kind.clone()))?;
        Some(match (&identity.namespace, r.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &r.resource),
            (None, true) => return None,
            (_, false) => Api::all_with(self.client.clone(), &r.resource),
        })
    }

    /// Reads an object live: `Some(finalizers)` if it exists with that uid.
    async fn live(&self, identity: &Identity) -> Result<Option<Vec<String>>, Error> {
        let api = self.api(identity)?;
        let found = api.get_metadata_opt(&identity.name).await?;
        Ok(found.filter(|o| o.uid().as_deref() == Some(&identity.uid)).map(|o| o.finalizers().to_vec()))
    }

    async fn attempt_to_delete(&self, uid: &str) -> Result<(), Error> {
        let Some(node) = self.node(uid) else { return Ok(()) };
        if node.virtual_ {
            // An owner known only by reference: does it exist?
            if self.live(&node.identity).await?.is_some() {
                return Ok(());
            }
            if let Ok(mut absent) = self.absent.lock() {
                if absent.len() > 100_000 {
                    absent.clear();
                }
                absent.insert(uid.to_string());
            }
            let work = self.graph.lock().map(|mut g| g.forget_absent(uid)).unwrap_or_default();
            work.into_iter().for_each(|w| self.enqueue(w));
            return Ok(());
        }
        if node.deleting_dependents {
            let blocking: Vec<(String, bool)> = self
                .graph
                .lock()
                .map(|g| g.blocking_dependents(uid).iter().map(|d| (d.identity.uid.clone(), d.being_deleted)).collect())
                .unwrap_or_default();
            if blocking.is_empty() {
                return self.remove_finalizer(&node.identity, FOREGROUND).await;
            }
            for (dependent, deleting) in blocking {
                if !deleting {
                    self.enqueue(Work::AttemptToDelete(dependent));
                }
            }
            return Ok(());
        }
        if node.being_deleted || node.owners.is_empty() {
            return Ok(());
        }
        let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for owner in &node.owners {
            let known = self.node(&owner.uid).filter(|o| !o.virtual_);
            let absent = self.absent.lock().map(|a| a.contains(&owner.uid)).unwrap_or(false);
            let state = match known {
                Some(o) => Some(o.deleting_dependents),
                None if absent => None,
                None => {
                    let identity = Identity {
                        api_version: owner.api_version.clone(),
                        kind: owner.kind.clone(),
                        namespace: node.identity.namespace.clone(),
                        name: owner.name.clone(),
                        uid: owner.uid.clone(),
                    };
                    self.live(&identity).await?.map(|f| f.iter().any(|f| f == FOREGROUND))
                }
            };
            match state {
                Some(false) => solid.push(owner.clone()),
                Some(true) => waiting.push(owner.clone()),
                None => dangling.push(owner.clone()),
            }
        }
        let api = self.api(&node.identity)?;
        if !solid.is_empty() {
            if dangling.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            // Keep the live owners; drop references to gone ones, and stop blocking owners
            // that wait for their dependents (this one is not going).
            let mut refs = node.owners.clone();
            refs.retain(|o| !dangling.iter().any(|d| d.uid == o.uid));
            for r in refs.iter_mut().filter(|r| waiting.iter().any(|w| w.uid == r.uid)) {
                r.block_owner_deletion = Some(false);
            }
            let patch = json!({ "metadata": { "ownerReferences": refs, "uid": node.identity.uid } });
            return ignore_gone(
                api.patch_metadata(&node.identity.name, &PatchParams::default(), &Patch::Merge(&patch)).await,
            );
        }
        let has_dependents = !node.dependents.is_empty();
        let propagation = if !waiting.is_empty() && has_dependents {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        tracing::debug!(object = %node.identity.name, kind = %node.identity.kind, ?propagation, "deleting: no owner left");
        let dp = DeleteParams {
            propagation_policy: Some(propagation),
            preconditions: Some(Preconditions { uid: Some(node.identity.uid.clone()), resource_version: None }),
            ..Default::default()
        };
        ignore_gone(api.delete(&node.identity.name, &dp).await.map(drop))
    }

    async fn orphan_dependents(&self, uid: &str) -> Result<(), Error> {
        let Some(node) = self.node(uid) else { return Ok(()) };
        for dependent in node.dependents.iter().filter_map(|d| self.node(d)) {
            let api = self.api(&dependent.identity)?;
            let refs: Vec<_> = dependent.owners.iter().filter(|o| o.uid != uid).cloned().collect();
            let patch = json!({ "metadata": { "ownerReferences": refs, "uid": dependent.identity.uid } });
            ignore_gone(
                api.patch_metadata(&dependent.identity.name, &PatchParams::default(), &Patch::Merge(&patch)).await,
            )?;
        }
        self.remove_finalizer(&node.identity, ORPHAN).await
    }

    /// Takes `finalizer` out of the object, guarded by its resourceVersion (retried on conflict).
    async fn remove_finalizer(&self, identity: &Identity, finalizer: &str) -> Result<(), Error> {
        let api = self.api(identity)?;
        for _ in 0..5 {
            let Some(obj) = api.get_metadata_opt(&identity.name).await? else { return Ok(()) };
            if obj.uid().as_deref() != Some(&identity.uid) || !obj.finalizers().iter().any(|f| f == finalizer) {
                return Ok(());
            }
            let rest: Vec<&String> = obj.finalizers().iter().filter(|f| *f != finalizer).collect();
            let patch = json!({ "metadata": { "finalizers": rest, "resourceVersion": obj.resource_version() } });
            match api.patch_metadata(&identity.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                other => return ignore_gone(other),
            }
        }
        Err(Error::Other(format!("conflicts removing {finalizer} from {}", identity.name)))
    }
}

fn ignore_gone<T>(result: Result<T, kube::Error>) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
