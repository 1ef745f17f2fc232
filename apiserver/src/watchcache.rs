//! The watch cache: one per stored resource, fed by a single store watch. It holds the current
//! objects and a bounded window of recent events, and serves every watch and every
//! `resourceVersion=0` list of that resource, so N clients cost one store watch.
//!
//! All watchers of a resource see events in the same (revision) order. A watch that asks to
//! resume from a revision older than the window gets `Expired` (410); one ahead of the cache
//! waits (briefly) for the cache to catch up, which progress notifications from the store make
//! possible even when nothing changes under this resource.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use store::{EventKind, RangeRequest, Store, WatchItem, WatchRequest};
use tokio::sync::{broadcast, watch};

use crate::cached::CachedObject;
use crate::status::ApiError;
use crate::storage;

/// Events kept for watchers that resume from a recent revision.
const HISTORY: usize = 10_000;
/// Events buffered for live watchers; one that falls further behind is ended and resumes
/// from `HISTORY`. (A broadcast channel allocates its whole buffer up front.)
const LIVE_BUFFER: usize = 1024;
/// How long a request may wait for the cache to reach the revision it asks for.
const CATCH_UP_WAIT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, decoded once and shared by every watcher.
#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventType,
    pub key: String,
    /// The object after the change (for a deletion: its last state).
    pub object: Arc<CachedObject>,
    /// The object before the change, if it existed.
    pub prev: Option<Arc<CachedObject>>,
    pub revision: i64,
}

#[derive(Clone, Debug)]
enum Broadcast {
    Event(Arc<CacheEvent>),
    /// The cache has everything up to this revision.
    Progress(i64),
    /// The cache re-listed from the store (its watch broke): watchers must start over.
    Reset,
}

struct State {
    objects: BTreeMap<String, Arc<CachedObject>>,
    revision: i64,
    history: VecDeque<Arc<CacheEvent>>,
    /// Watches may resume from any revision >= this one.
    oldest: i64,
}

pub struct WatchCache {
    prefix: String,
    /// The stored resource, whose field selectors cached objects carry.
    group: String,
    resource: String,
    state: RwLock<State>,
    events: broadcast::Sender<Broadcast>,
    revision: watch::Sender<i64>,
}

/// Which objects a watcher or list wants (namespace, name, selectors), decided by the caller.
pub type Filter = Arc<dyn Fn(&str, &CachedObject) -> bool + Send + Sync>;

/// What a watcher receives.
#[derive(Clone, Debug)]
pub enum WatchOut {
    Event(EventType, Arc<CachedObject>, i64),
    /// Nothing more up to this revision (for BOOKMARK events).
    Progress(i64),
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    /// Synthetic ADDED events for every current object, then changes.
    Initial,
    /// Changes after this revision.
    After(i64),
}

impl WatchCache {
    /// Starts the cache for every key under `prefix` and returns once it holds the current
    /// state.
    pub async fn start(
        store: Arc<dyn Store>,
        prefix: String,
        group: &str,
        resource: &str,
    ) -> Result<Arc<Self>, ApiError> {
        let (events, _) = broadcast::channel(LIVE_BUFFER);
        let cache = Arc::new(Self {
            prefix,
            group: group.to_string(),
            resource: resource.to_string(),
            state: RwLock::new(State { objects: BTreeMap::new(), revision: 0, history: VecDeque::new(), oldest: 0 }),
            events,
            revision: watch::channel(0).0,
        });
        let stream = cache.relist(&store).await?;
        let feeder = cache.clone();
        tokio::spawn(async move { feeder.feed(store, stream).await });
        Ok(cache)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn revision(&self) -> i64 {
        self.read().revision
    }

    /// Loads the current state and opens the store watch that continues from it.
    async fn relist(&self, store: &Arc<dyn Store>) -> Result<store::WatchStream, ApiError> {
        let listed =
            store.range(RangeRequest::prefix(&self.prefix)).await.map_err(|e| ApiError::unavailable(e.to_string()))?;
        let mut objects = BTreeMap::new();
        for kv in &listed.kvs {
            objects.insert(kv.key.to_string(), Arc::new(self.cached(&storage::decode(kv)?)?));
        }
        let watch = WatchRequest::prefix(&self.prefix).from_revision(listed.revision + 1).with_progress_notify();
        let stream = store.watch(watch).await.map_err(|e| ApiError::unavailable(e.to_string()))?;
        {
            let mut state = self.write();
            *state = State { objects, revision: listed.revision, history: VecDeque::new(), oldest: listed.revision };
        }
        let _ = self.events.send(Broadcast::Reset);
        self.revision.send_replace(listed.revision);
        Ok(stream)
    }

    /// Applies store events until the watch breaks, then re-lists and goes on; ends when the
    /// store is closed for good.
    async fn feed(self: Arc<Self>, store: Arc<dyn Store>, mut stream: store::WatchStream) {
        loop {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(WatchItem::Event(e)) => {
                        if let Err(err) = self.apply(e) {
                            tracing::error!(prefix = %self.prefix, error = %err, "watch cache cannot decode an object");
                        }
                    }
                    Ok(WatchItem::Progress(revision)) => self.advance(revision),
                    Err(e) => {
                        tracing::warn!(prefix = %self.prefix, error = %e, "watch cache lost its store watch; re-listing");
                        break;
                    }
                }
            }
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                match self.relist(&store).await {
                    Ok(s) => {
                        stream = s;
                        break;
                    }
                    Err(e) if Arc::strong_count(&self) == 1 => {
                        tracing::debug!(error = %e, "watch cache stopped");
                        return;
                    }
                    Err(e) => tracing::warn!(prefix = %self.prefix, error = %e, "watch cache re-list failed"),
                }
            }
        }
    }

    fn cached(&self, obj: &Value) -> Result<CachedObject, ApiError> {
        CachedObject::new(obj, &self.group, &self.resource)
    }

    fn apply(&self, e: store::Event) -> Result<(), ApiError> {
        let key = e.kv.key.to_string();
        let revision = e.kv.mod_revision;
        // Decoding happens before the lock is taken: the lock is only held to swap pointers.
        let object = match e.kind {
            EventKind::Put => Some(Arc::new(self.cached(&storage::decode(&e.kv)?)?)),
            EventKind::Delete => None,
        };
        let deleted_state = match (&e.kind, &e.prev_kv) {
            (EventKind::Delete, Some(kv)) => Some(Arc::new(self.cached(&storage::decode_at(&kv.value, revision)?)?)),
            _ => None,
        };
        let event = {
            let mut state = self.write();
            let previous = state.objects.get(&key).cloned();
            let (kind, object) = match (object, deleted_state) {
                (Some(object), _) => {
                    state.objects.insert(key.clone(), object.clone());
                    (if previous.is_some() { EventType::Modified } else { EventType::Added }, object)
                }
                // A deleted object is reported in its last state, at the deleting revision.
                (None, Some(last)) => {
                    state.objects.remove(&key);
                    (EventType::Deleted, last)
                }
                (None, None) => {
                    state.objects.remove(&key);
                    return Ok(());
                }
            };
            let event = Arc::new(CacheEvent { kind, key, object, prev: previous, revision });
            state.revision = revision;
            state.history.push_back(event.clone());
            if state.history.len() > HISTORY
                && let Some(evicted) = state.history.pop_front()
            {
                state.oldest = evicted.revision;
            }
            event
        };
        let _ = self.events.send(Broadcast::Event(event));
        self.revision.send_replace(revision);
        Ok(())
    }

    fn advance(&self, revision: i64) {
        {
            let mut state = self.write();
            if revision <= state.revision {
                return;
            }
            state.revision = revision;
        }
        let _ = self.events.send(Broadcast::Progress(revision));
        self.revision.send_replace(revision);
    }

    /// Waits until the cache has seen `revision` (a client that just wrote and now watches or
    /// lists from that revision); `Timeout` if it does not get there in time.
    pub async fn wait_for(&self, revision: i64) -> Result<(), ApiError> {
        let mut rx = self.revision.subscribe();
        let reached = tokio::time::timeout(CATCH_UP_WAIT, rx.wait_for(|&r| r >= revision)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => {
                Err(ApiError::timeout(format!("Too large resource version: {revision}, current: {}", self.revision())))
            }
        }
    }

    /// The current object under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.read().objects.get(key).cloned()
    }

    /// The current objects passing `filter`, and the revision they are at.
    pub fn list(&self, filter: &Filter) -> (Vec<Arc<CachedObject>>, i64) {
        let state = self.read();
        let items = state.objects.iter().filter(|(k, o)| filter(k, o)).map(|(_, o)| o.clone()).collect();
        (items, state.revision)
    }

    /// A watch from `start`: what is owed at once (synthetic ADDED events, or the events since
    /// the revision asked for), then the live stream, which ends when the cache resets or the
    /// watcher cannot keep up. `Expired` when `start` is older than the cache's window.
    pub fn watch(
        &self,
        start: Start,
        filter: Filter,
    ) -> Result<(Vec<WatchOut>, i64, futures::stream::BoxStream<'static, WatchOut>), ApiError> {
        let (rx, backlog, position) = {
            let state = self.read();
            // Subscribing under the lock: nothing applied after this snapshot can be missed.
            let rx = self.events.subscribe();
            match start {
                Start::Initial => {
                    let backlog: Vec<WatchOut> = state
                        .objects
                        .iter()
                        .filter(|(k, o)| filter(k, o))
                        .map(|(_, o)| WatchOut::Event(EventType::Added, o.clone(), state.revision))
                        .collect();
                    (rx, backlog, state.revision)
                }
                Start::After(rv) if rv < state.oldest => {
                    return Err(ApiError::expired(format!("too old resource version: {rv} ({})", state.oldest + 1)));
                }
                Start::After(rv) => {
                    let backlog = state
                        .history
                        .iter()
                        .filter(|e| e.revision > rv)
                        .filter_map(|e| translate(e, &filter))
                        .collect();
                    (rx, backlog, state.revision.max(rv))
                }
            }
        };
        let live = futures::stream::unfold((rx, position, filter), |(mut rx, mut position, filter)| async move {
            loop {
                match rx.recv().await {
                    Ok(Broadcast::Event(e)) if e.revision > position => {
                        position = e.revision;
                        if let Some(out) = translate(&e, &filter) {
                            return Some((out, (rx, position, filter)));
                        }
                    }
                    Ok(Broadcast::Event(_)) => {}
                    Ok(Broadcast::Progress(r)) if r > position => {
                        position = r;
                        return Some((WatchOut::Progress(r), (rx, position, filter)));
                    }
                    Ok(Broadcast::Progress(_)) => {}
                    Ok(Broadcast::Reset) | Err(broadcast::error::RecvError::Closed) => return None,
                    // Too slow to keep up with the resource: end the watch so the client
                    // resumes from its last revision (or re-lists).
                    Err(broadcast::error::RecvError::Lagged(_)) => return None,
                }
            }
        });
        Ok((backlog, position, live.boxed()))
    }
}

/// How an event looks to a watcher with `filter`: objects entering the filter are ADDED,
/// leaving it DELETED (in their new state), as upstream's filtered watches behave.
fn translate(e: &CacheEvent, filter: &Filter) -> Option<WatchOut> {
    let now = filter(&e.key, &e.object);
    let before = e.prev.as_ref().is_some_and(|p| filter(&e.key, p));
    let kind = match (e.kind, before, now) {
        (EventType::Deleted, true, _) => EventType::Deleted,
        (EventType::Deleted, false, _) => return None,
        (_, false, true) => EventType::Added,
        (_, true, true) => EventType::Modified,
        (_, true, false) => EventType::Deleted,
        (_, false, false) => return None,
    };
    Some(WatchOut::Event(kind, e.object.clone(), e.revision))
}
