//! The reconciler framework: a small layer on kube-runtime that rkube's controllers use and
//! operator authors can use too.
//!
//! - [`Informers`]: one watch per resource type, shared by every controller of the process,
//!   with a change feed that includes deletions and previous states;
//! - [`Reconciler`]: a kube-runtime `Controller` of `K` fed by those informers, reconciling an
//!   object when it changes and when related objects change (`watches`, `owns`), with per-object
//!   exponential back-off on errors and per-controller metrics;
//! - [`Expectations`]: creation/deletion expectations, so a controller does not act twice on a
//!   cache that has not yet seen its own writes;
//! - [`Recorder`]: events.k8s.io/v1 events;
//! - [`replace_patch`]: a whole status written as upstream's `UpdateStatus` writes it;
//! - leader election lives in `crate::leader`.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use k8s_openapi::api::apps::v1::ReplicaSet;
//! # use k8s_openapi::api::core::v1::Pod;
//! # use controllers::framework::{Informers, Metrics, Reconciler};
//! # async fn demo(client: kube::Client) {
//! let informers = Informers::new(client);
//! let metrics = Arc::new(Metrics::default());
//! let sets = informers.get::<ReplicaSet>();
//! Reconciler::new("replicaset", &sets)
//!     .owns(&informers.get::<Pod>())
//!     .run(|rs, _ctx: Arc<()>| async move {
//!         // compare rs with the pods it owns, create or delete some ...
//! #       let _ = rs;
//!         Ok::<_, controllers::Error>(kube::runtime::controller::Action::await_change())
//!     }, Arc::new(()), metrics, std::future::pending())
//!     .await;
//! # }
//! ```

mod events;
mod expectations;
mod informer;
mod metrics;
mod status;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::Resource;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;

pub use events::Recorder;
pub use expectations::Expectations;
pub use informer::{Cached, Change, Informer, Informers};
pub use metrics::Metrics;
pub use status::{is_empty as patch_is_empty, replace_patch};

/// Back-off after failed reconciles of one object (upstream's per-item rate limiter).
const BACKOFF_BASE: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1000);

/// A controller of `K` objects on shared informers.
pub struct Reconciler<K: Cached> {
    name: &'static str,
    informer: Informer<K>,
    triggers: Vec<BoxStream<'static, ObjectRef<K>>>,
}

impl<K: Cached> Reconciler<K>
where
    K: Resource<DynamicType = ()>,
{
    pub fn new(name: &'static str, informer: &Informer<K>) -> Self {
        Self { name, informer: informer.clone(), triggers: Vec::new() }
    }

    /// Also reconciles the objects `map` names for each change of a `C`.
    pub fn watches<C: Cached, I>(
        mut self,
        informer: &Informer<C>,
        map: impl Fn(&Change<C>) -> I + Send + 'static,
    ) -> Self
    where
        I: IntoIterator<Item = ObjectRef<K>>,
        I::IntoIter: Send + 'static,
    {
        let stream = informer.subscribe().flat_map(move |change| futures::stream::iter(map(&change)));
        self.triggers.push(stream.boxed());
        self
    }

    /// Also reconciles the controlling owner (a `K`) of each changed `C`, before and after the
    /// change (a pod that changed owners concerns both).
    pub fn owns<C: Cached>(self, informer: &Informer<C>) -> Self {
        self.watches(informer, |change: &Change<C>| owners_of::<K, C>(change))
    }

    /// Runs until `shutdown` resolves.
    pub async fn run<Ctx, R, Fut, E>(
        self,
        reconcile: R,
        ctx: Arc<Ctx>,
        metrics: Arc<Metrics>,
        shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ) where
        Ctx: Send + Sync + 'static,
        R: Fn(Arc<K>, Arc<Ctx>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let name = self.name;
        let queue = Arc::new(Queue { name, pending: Mutex::default(), failures: Mutex::default(), metrics });
        let own = self.informer.subscribe().filter_map(|change| async move { change.new.map(|o| Ok((*o).clone())) });
        let q = queue.clone();
        let own = own.inspect(move |obj: &Result<K, _>| {
            if let Ok(obj) = obj {
                q.add(ObjectRef::from_obj(obj));
            }
        });
        let mut controller = Controller::for_stream(own, self.informer.store());
        for trigger in self.triggers {
            let q = queue.clone();
            controller = controller.reconcile_on(trigger.inspect(move |key: &ObjectRef<K>| q.add(key.clone())));
        }
        let run_ctx = Arc::new((ctx, queue.clone(), reconcile));
        controller
            .graceful_shutdown_on(shutdown)
            .run(
                |obj: Arc<K>, run_ctx: Arc<(Arc<Ctx>, Arc<Queue<K>>, R)>| {
                    let (ctx, queue, reconcile) = &*run_ctx;
                    let key = ObjectRef::from_obj(&*obj);
                    queue.started(&key);
                    let started = Instant::now();
                    let work = reconcile(obj, ctx.clone());
                    let queue = queue.clone();
                    async move {
                        let result = work.await;
                        queue.finished(&key, started.elapsed(), result.as_ref().ok());
                        result
                    }
                },
                |obj: Arc<K>, error: &E, run_ctx: Arc<(Arc<Ctx>, Arc<Queue<K>>, R)>| {
                    let retry = run_ctx.1.failed(&ObjectRef::from_obj(&*obj));
                    tracing::warn!(controller = name, object = %ObjectRef::from_obj(&*obj), %error, ?retry, "reconcile failed");
                    Action::requeue(retry)
                },
                run_ctx,
            )
            .for_each(|_| async {})
            .await;
    }
}

/// The `K` that controls the object of `change`, before and after it (deduplicated).
pub fn owners_of<K: Cached, C: Cached>(change: &Change<C>) -> Vec<ObjectRef<K>> {
    let mut owners = Vec::new();
    for obj in [&change.old, &change.new].into_iter().flatten() {
        let meta = obj.meta();
        let owner = meta.owner_references.iter().flatten().find(|o| o.controller == Some(true));
        if let Some(owner) = owner.filter(|o| o.kind == K::kind(&()) && o.api_version == K::api_version(&())) {
            let mut key = ObjectRef::<K>::new(&owner.name);
            if let Some(ns) = &meta.namespace {
                key = key.within(ns);
            }
            if !owners.contains(&key) {
                owners.push(key);
            }
        }
    }
    owners
}

/// Book-keeping of one controller's queue: what waits (for the depth gauge) and how often each
/// object has failed in a row (for its back-off).
struct Queue<K: Cached> {
    name: &'static str,
    pending: Mutex<HashSet<ObjectRef<K>>>,
    failures: Mutex<HashMap<ObjectRef<K>, u32>>,
    metrics: Arc<Metrics>,
}

impl<K: Cached> Queue<K> {
    fn add(&self, key: ObjectRef<K>) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(key);
            self.metrics.queue_depth(self.name, pending.len());
        }
    }

    fn started(&self, key: &ObjectRef<K>) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(key);
            self.metrics.queue_depth(self.name, pending.len());
        }
    }

    fn finished(&self, key: &ObjectRef<K>, took: Duration, ok: Option<&Action>) {
        let result = match ok {
            None => "error",
            Some(action) if *action != Action::await_change() => "requeue",
            Some(_) => "success",
        };
        self.metrics.reconciled(self.name, took, result);
        if ok.is_some()
            && let Ok(mut failures) = self.failures.lock()
        {
            failures.remove(key);
        }
    }

    fn failed(&self, key: &ObjectRef<K>) -> Duration {
        let Ok(mut failures) = self.failures.lock() else { return BACKOFF_MAX };
        let n = failures.entry(key.clone()).or_default();
        *n = n.saturating_add(1);
        BACKOFF_BASE.saturating_mul(1u32 << (*n - 1).min(24)).min(BACKOFF_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    fn pod(owner: Option<(&str, &str)>) -> Arc<Pod> {
        let owner_references = owner.map(|(kind, name)| {
            vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: name.into(),
                controller: Some(true),
                ..Default::default()
            }]
        });
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                owner_references,
                ..Default::default()
            },
            ..Default::default()
        })
    }

    #[test]
    fn owners_before_and_after_a_change_are_reconciled() {
        let change = Change { old: Some(pod(Some(("ReplicaSet", "a")))), new: Some(pod(Some(("ReplicaSet", "b")))) };
        let owners: Vec<String> = owners_of::<ReplicaSet, Pod>(&change).iter().map(ToString::to_string).collect();
        assert_eq!(owners, ["ReplicaSet.v1.apps/a.ns", "ReplicaSet.v1.apps/b.ns"]);
        let other_kind = Change { old: None, new: Some(pod(Some(("StatefulSet", "a")))) };
        assert!(owners_of::<ReplicaSet, Pod>(&other_kind).is_empty());
        let orphan = Change { old: None, new: Some(pod(None)) };
        assert!(owners_of::<ReplicaSet, Pod>(&orphan).is_empty());
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_cap() {
        let queue =
            Queue::<Pod> { name: "t", pending: Mutex::default(), failures: Mutex::default(), metrics: Arc::default() };
        let key = ObjectRef::<Pod>::new("p").within("ns");
        let delays: Vec<Duration> = (0..4).map(|_| queue.failed(&key)).collect();
        assert_eq!(delays, [5, 10, 20, 40].map(Duration::from_millis));
        (0..40).for_each(|_| {
            queue.failed(&key);
        });
        assert_eq!(queue.failed(&key), BACKOFF_MAX);
        queue.finished(&key, Duration::ZERO, Some(&Action::await_change()));
        assert_eq!(queue.failed(&key), BACKOFF_BASE, "a success resets the back-off");
    }
}
