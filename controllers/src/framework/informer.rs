//! Shared informers: one watch per resource type, its objects cached in a kube-runtime reflector
//! `Store`, and every change fanned out to any number of subscribers (upstream's
//! SharedInformerFactory). Unlike kube-runtime's shared streams, subscribers see deletions and
//! the object's previous state, which owner-based controllers need to react to a pod that went
//! or changed owners.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// What an informer's subscribers receive: the object before and after. `old: None` is an
/// addition (or first sight after a relist), `new: None` a deletion (`old` is then its last state).
pub struct Change<K> {
    pub old: Option<Arc<K>>,
    pub new: Option<Arc<K>>,
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        Self { old: self.old.clone(), new: self.new.clone() }
    }
}

impl<K> Change<K> {
    /// The object as it is now, or as it was when deleted.
    pub fn latest(&self) -> Option<&Arc<K>> {
        self.new.as_ref().or(self.old.as_ref())
    }
}

/// Bound on the kinds an informer caches.
pub trait Cached: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static {}
impl<K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static> Cached for K {}

/// One resource type's cache and change feed. Clones share it.
pub struct Informer<K: Cached> {
    reader: Store<K>,
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Change<K>>>>>,
    synced: tokio::sync::watch::Receiver<bool>,
}

impl<K: Cached> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self { reader: self.reader.clone(), subscribers: self.subscribers.clone(), synced: self.synced.clone() }
    }
}

impl<K: Cached> Informer<K> {
    /// An informer over `api` and the future that feeds it (run it on a task).
    pub fn new(api: Api<K>, config: watcher::Config) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (reader, writer) = reflector::store();
        let subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Change<K>>>>> = Arc::default();
        let (synced_tx, synced) = tokio::sync::watch::channel(false);
        let feed = Feed {
            writer,
            reader: reader.clone(),
            subscribers: subscribers.clone(),
            relisted: Vec::new(),
            synced: synced_tx,
        };
        // Controllers never read managedFields; dropping them roughly halves a pod in memory
        // (upstream's controller-manager strips them from its caches too).
        let stream = watcher(api, config).default_backoff().modify(|obj| obj.meta_mut().managed_fields = None);
        (Self { reader, subscribers, synced }, feed.run(stream))
    }

    /// The cache (a kube-runtime `Store`, also what a `Controller` reads).
    pub fn store(&self) -> Store<K> {
        self.reader.clone()
    }

    /// Waits until the first list has been cached.
    pub async fn synced(&self) {
        let _ = self.synced.clone().wait_for(|s| *s).await;
    }

    pub fn get(&self, key: &ObjectRef<K>) -> Option<Arc<K>> {
        self.reader.get(key)
    }

    /// Every change from now on, preceded by an addition for each object already cached.
    pub fn subscribe(&self) -> impl Stream<Item = Change<K>> + Send + 'static {
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Under the lock the feed holds while it applies and sends, so nothing is missed or
        // seen twice.
        if let Ok(mut subscribers) = self.subscribers.lock() {
            for obj in self.reader.state() {
                let _ = tx.send(Change { old: None, new: Some(obj) });
            }
            subscribers.push(tx);
        }
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}

struct Feed<K: Cached> {
    writer: reflector::store::Writer<K>,
    reader: Store<K>,
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Change<K>>>>>,
    /// Objects of a relist in progress (kept by the writer too, until it swaps them in).
    relisted: Vec<ObjectRef<K>>,
    synced: tokio::sync::watch::Sender<bool>,
}

impl<K: Cached> Feed<K> {
    async fn run(mut self, stream: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send) {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => self.apply(event),
                Err(e) => tracing::debug!(kind = K::kind(&()).as_ref(), error = %e, "watch failed; retrying"),
            }
        }
    }

    fn apply(&mut self, event: watcher::Event<K>) {
        let Ok(mut subscribers) = self.subscribers.lock() else { return };
        let mut changes = Vec::new();
        match &event {
            watcher::Event::Apply(obj) => {
                let key = ObjectRef::from_obj(obj);
                let old = self.reader.get(&key);
                self.writer.apply_watcher_event(&event);
                changes.push(Change { old, new: self.reader.get(&key) });
            }
            watcher::Event::Delete(obj) => {
                let key = ObjectRef::from_obj(obj);
                let old = self.reader.get(&key).unwrap_or_else(|| Arc::new(obj.clone()));
                self.writer.apply_watcher_event(&event);
                changes.push(Change { old: Some(old), new: None });
            }
            watcher::Event::Init => {
                self.relisted.clear();
                self.writer.apply_watcher_event(&event);
            }
            watcher::Event::InitApply(obj) => {
                self.relisted.push(ObjectRef::from_obj(obj));
                self.writer.apply_watcher_event(&event);
            }
            watcher::Event::InitDone => {
                // A relist replaces the cache: tell subscribers what it changed.
                let mut before: HashMap<ObjectRef<K>, Arc<K>> =
                    self.reader.state().into_iter().map(|o| (ObjectRef::from_obj(&*o), o)).collect();
                self.writer.apply_watcher_event(&event);
                for key in std::mem::take(&mut self.relisted) {
                    let old = before.remove(&key);
                    let new = self.reader.get(&key);
                    let unchanged = matches!((&old, &new), (Some(o), Some(n))
                        if o.meta().resource_version == n.meta().resource_version);
                    if !unchanged {
                        changes.push(Change { old, new });
                    }
                }
                changes.extend(before.into_values().map(|old| Change { old: Some(old), new: None }));
                self.synced.send_replace(true);
            }
        }
        for change in changes {
            subscribers.retain(|s| s.send(change.clone()).is_ok());
        }
    }
}

/// The informers of one process, one per resource type, created on first use (upstream's
/// SharedInformerFactory). Their watches stop when this is dropped.
pub struct Informers {
    client: Client,
    by_type: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Informers {
    pub fn new(client: Client) -> Self {
        Self { client, by_type: Mutex::default(), tasks: Mutex::default() }
    }

    /// The shared informer of all `K` in the cluster.
    pub fn get<K: Cached>(&self) -> Informer<K> {
        let Ok(mut by_type) = self.by_type.lock() else {
            // A poisoned lock means a panic elsewhere; a private informer still works.
            return self.start(Api::all(self.client.clone()));
        };
        if let Some(informer) = by_type.get(&TypeId::of::<K>()).and_then(|i| i.downcast_ref::<Informer<K>>()) {
            return informer.clone();
        }
        let informer = self.start(Api::all(self.client.clone()));
        by_type.insert(TypeId::of::<K>(), Box::new(informer.clone()));
        informer
    }

    fn start<K: Cached>(&self, api: Api<K>) -> Informer<K> {
        let (informer, feed) = Informer::new(api, watcher::Config::default().any_semantic());
        let task = tokio::spawn(feed);
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
        informer
    }
}

impl Drop for Informers {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.lock() {
            tasks.iter().for_each(tokio::task::JoinHandle::abort);
        }
    }
}
