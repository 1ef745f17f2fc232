//! The ReplicaSet controller (upstream's pkg/controller/replicaset): keeps `spec.replicas`
//! active pods matching the selector, adopting matching orphans and releasing pods that no
//! longer match. Creations go in slow-start batches (1, 2, 4, ...) so a failing template does
//! not flood the apiserver; scale-down deletes the least valuable pods first. Creation/deletion
//! expectations keep it from acting on a cache that has not seen its own writes yet.
//!
//! The same code serves ReplicationControllers (`replication_controller.rs`), as upstream's does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::framework::{Cached, Change, Expectations, Informer, Reconciler, Recorder};
use crate::{Context, Error, podutil};

/// At most this many creations or deletions per sync (upstream's BurstReplicas).
const BURST_REPLICAS: usize = 500;

/// What the ReplicaSet controller needs of the kinds it manages.
pub trait Replicated: Cached + Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope> {
    /// The reporting controller name of its events.
    const CONTROLLER: &'static str;
    fn selector(&self) -> Option<LabelSelector>;
    fn replicas(&self) -> i32;
    fn template(&self) -> Option<&PodTemplateSpec>;
    fn min_ready_seconds(&self) -> i32;
    /// The status as JSON (the fields both kinds share have the same names).
    fn status_json(&self) -> Value;
}

/// What one controller of `K` keeps between reconciles.
pub struct State<K: Replicated> {
    ctx: Arc<Context>,
    pods: Informer<Pod>,
    owners: Informer<K>,
    expectations: Expectations,
    events: Recorder,
}

fn key_of(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Runs the controller of `K` until `shutdown` resolves.
pub async fn run<K: Replicated>(
    ctx: Arc<Context>,
    name: &'static str,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let pods = ctx.informers.get::<Pod>();
    let owners = ctx.informers.get::<K>();
    let events = Recorder::new(ctx.client.clone(), K::CONTROLLER, &ctx.identity);
    let state = Arc::new(State {
        ctx: ctx.clone(),
        pods: pods.clone(),
        owners: owners.clone(),
        expectations: Expectations::default(),
        events,
    });
    let observer = state.clone();
    let metrics = ctx.metrics.clone();
    Reconciler::new(name, &owners)
        .watches(&pods, move |change| observer.pod_changed(change))
        .run(reconcile::<K>, state, metrics, shutdown)
        .await;
    Ok(())
}

impl<K: Replicated> State<K> {
    /// Records what a pod change means for expectations, and names the controllers concerned:
    /// its owner before and after, or, for an orphan, every controller whose selector matches.
    fn pod_changed(&self, change: &Change<Pod>) -> Vec<ObjectRef<K>> {
        let owners = crate::framework::owners_of::<K, Pod>(change);
        let Some(pod) = change.latest() else { return owners };
        let ns = pod.namespace().unwrap_or_default();
        let terminating = |p: &Option<Arc<Pod>>| p.as_ref().map(|p| p.metadata.deletion_timestamp.is_some());
        for owner in &owners {
            let key = key_of(&ns, &owner.name);
            match (&change.old, &change.new) {
                (None, Some(_)) => self.expectations.creation_observed(&key),
                (Some(_), Some(_))
                    if terminating(&change.old) == Some(false) && terminating(&change.new) == Some(true) =>
                {
                    self.expectations.deletion_observed(&key)
                }
                (Some(old), None) if old.metadata.deletion_timestamp.is_none() => {
                    self.expectations.deletion_observed(&key)
                }
                _ => {}
            }
        }
        if owners.is_empty() && change.new.is_some() {
            // An orphan: whoever selects it may adopt it.
            let labels = pod.labels();
            return self
                .owners
                .store()
                .state()
                .into_iter()
                .filter(|o| o.namespace().as_deref() == Some(&ns))
                .filter(|o| selector_of(&**o).is_some_and(|s| s.matches(labels)))
                .map(|o| ObjectRef::from_obj(&*o))
                .collect();
        }
        owners
    }
}

fn selector_of<K: Replicated>(owner: &K) -> Option<Selector> {
    let selector = owner.selector()?;
    // An empty selector matches nothing here (validation refuses it anyway).
    if selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector.match_expressions.as_ref().is_none_or(|e| e.is_empty())
    {
        return None;
    }
    Selector::try_from(selector).ok()
}

/// The owner reference a controller puts on the pods it controls.
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into(),
        kind: K::kind(&()).into(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

async fn reconcile<K: Replicated>(owner: Arc<K>, state: Arc<State<K>>) -> Result<Action, Error> {
    let ns = owner.namespace().unwrap_or_default();
    let name = owner.name_any();
    let key = key_of(&ns, &name);
    let uid = owner.uid().unwrap_or_default();
    let client = state.ctx.client.clone();
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let selector = selector_of(&*owner);
    let terminating = owner.meta().deletion_timestamp.is_some();

    // Claim: keep what we control and still select, adopt matching orphans, release the rest.
    let mut owned = Vec::new();
    for pod in state.pods.store().state() {
        if pod.namespace().as_deref() != Some(&ns) {
            continue;
        }
        let controller = pod.owner_references().iter().find(|o| o.controller == Some(true));
        let selected = selector.as_ref().is_some_and(|s| s.matches(pod.labels()));
        match controller {
            Some(c) if c.uid == uid => {
                if selected || pod.metadata.deletion_timestamp.is_some() {
                    owned.push(pod);
                } else {
                    release(&pods_api, &pod, &uid).await?;
                }
            }
            None if selected
                && !terminating
                && pod.metadata.deletion_timestamp.is_none()
                && adopt(&pods_api, &pod, &*owner).await? =>
            {
                owned.push(pod);
            }
            _ => {}
        }
    }
    let active: Vec<Arc<Pod>> = owned.iter().filter(|p| podutil::is_active(p)).cloned().collect();

    let mut failure = None;
    if state.expectations.satisfied(&key) && !terminating {
        failure = manage_replicas(&state, &owner, &key, &active, &pods_api).await.err();
    }

    // Status, from what the cache shows now.
    let now = Timestamp::now();
    let min_ready = owner.min_ready_seconds();
    let template_labels = owner.template().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone());
    let labeled =
        active.iter().filter(|p| template_labels.iter().flatten().all(|(k, v)| p.labels().get(k) == Some(v))).count();
    let ready = active.iter().filter(|p| podutil::is_ready(p)).count();
    let available = active.iter().filter(|p| podutil::is_available(p, min_ready, now)).count();
    // The whole status, as upstream's UpdateStatus writes it: zero counts left out (Go's
    // `omitempty`), so counts that fell to zero are removed, not kept.
    let mut status = serde_json::Map::new();
    let counts = [
        ("replicas", active.len() as i64),
        ("fullyLabeledReplicas", labeled as i64),
        ("readyReplicas", ready as i64),
        ("availableReplicas", available as i64),
        ("observedGeneration", owner.meta().generation.unwrap_or(0)),
    ];
    // `replicas` alone has no omitempty upstream.
    for (field, n) in counts.into_iter().filter(|(f, n)| *n != 0 || *f == "replicas") {
        status.insert(field.into(), json!(n));
    }
    let current = owner.status_json();
    let old_conditions = current.get("conditions").cloned().unwrap_or(Value::Null);
    let conditions = replica_failure(&old_conditions, failure.as_ref().map(|e| e.to_string()));
    if !conditions.is_null() && conditions.as_array().is_none_or(|c| !c.is_empty()) {
        status.insert("conditions".into(), conditions);
    }
    let patch = crate::framework::replace_patch(&current, &Value::Object(status));
    if !crate::framework::patch_is_empty(&patch) {
        let api: Api<K> = Api::namespaced(client, &ns);
        match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({ "status": patch }))).await {
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Action::await_change()),
            other => drop(other?),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // A ready pod becomes available after minReadySeconds without any event: look again then.
    let wait = active.iter().filter_map(|p| podutil::until_available(p, min_ready, now)).min();
    Ok(wait.map_or_else(Action::await_change, |d| Action::requeue(d + Duration::from_millis(100))))
}

/// Creates or deletes pods to reach `spec.replicas`.
async fn manage_replicas<K: Replicated>(
    state: &State<K>,
    owner: &K,
    key: &str,
    active: &[Arc<Pod>],
    api: &Api<Pod>,
) -> Result<(), Error> {
    let want = owner.replicas().max(0) as usize;
    let regarding = owner.object_ref(&());
    if active.len() < want {
        let missing = (want - active.len()).min(BURST_REPLICAS);
        state.expectations.expect(key, missing as i64, 0);
        let pod = pod_from_template(owner)?;
        let mut batch = 1;
        let mut done = 0;
        while done < missing {
            let n = batch.min(missing - done);
            let pp = PostParams::default();
            let results = futures::future::join_all((0..n).map(|_| api.create(&pp, &pod))).await;
            let mut first_error = None;
            for result in results {
                match result {
                    Ok(created) => {
                        let note = format!("Created pod: {}", created.name_any());
                        state.events.normal(regarding.clone(), "SuccessfulCreate", "Create", note);
                    }
                    Err(e) => {
                        state.expectations.creation_observed(key);
                        state.events.warning(
                            regarding.clone(),
                            "FailedCreate",
                            "Create",
                            format!("Error creating: {e}"),
                        );
                        first_error.get_or_insert(e);
                    }
                }
            }
            done += n;
            if let Some(e) = first_error {
                // The rest of this sync's creations will not happen: expect them no more.
                (done..missing).for_each(|_| state.expectations.creation_observed(key));
                return Err(e.into());
            }
            batch *= 2;
        }
    } else if active.len() > want {
        let extra = (active.len() - want).min(BURST_REPLICAS);
        let mut colocated = BTreeMap::new();
        for pod in active {
            let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
            *colocated.entry(node).or_insert(0) += 1;
        }
        let mut victims = active.to_vec();
        victims.sort_by(|a, b| podutil::deletion_order(a, b, &colocated));
        victims.truncate(extra);
        state.expectations.expect(key, 0, extra as i64);
        let deletions = victims.iter().map(|pod| async move {
            let dp = DeleteParams {
                preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
                ..Default::default()
            };
            (pod, api.delete(&pod.name_any(), &dp).await)
        });
        let mut first_error = None;
        for (pod, result) in futures::future::join_all(deletions).await {
            match result {
                Ok(_) => state.events.normal(
                    regarding.clone(),
                    "SuccessfulDelete",
                    "Delete",
                    format!("Deleted pod: {}", pod.name_any()),
                ),
                Err(kube::Error::Api(s)) if s.code == 404 => state.expectations.deletion_observed(key),
                Err(e) => {
                    state.expectations.deletion_observed(key);
                    state.events.warning(regarding.clone(), "FailedDelete", "Delete", format!("Error deleting: {e}"));
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e.into());
        }
    }
    Ok(())
}

/// A new pod of `owner`: its template, a generated name, the controller reference.
pub fn pod_from_template<K: Replicated>(owner: &K) -> Result<Pod, Error> {
    let template = owner.template().ok_or_else(|| Error::Other("no pod template".into()))?;
    let meta = template.metadata.clone().unwrap_or_default();
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", owner.name_any())),
            namespace: owner.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![controller_ref(owner)]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    })
}

async fn adopt<K: Replicated>(api: &Api<Pod>, pod: &Pod, owner: &K) -> Result<bool, Error> {
    let mut refs = pod.owner_references().to_vec();
    refs.push(controller_ref(owner));
    // The uid and resourceVersion guard against adopting a pod that changed meanwhile.
    let patch =
        json!({ "metadata": { "ownerReferences": refs, "uid": pod.uid(), "resourceVersion": pod.resource_version() } });
    match api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn release(api: &Api<Pod>, pod: &Pod, uid: &str) -> Result<(), Error> {
    let refs: Vec<&OwnerReference> = pod.owner_references().iter().filter(|o| o.uid != uid).collect();
    let patch = json!({ "metadata": { "ownerReferences": refs, "uid": pod.uid() } });
    match api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The conditions with ReplicaFailure set (when a create or delete failed) or removed.
fn replica_failure(conditions: &Value, failure: Option<String>) -> Value {
    let mut list: Vec<Value> = conditions.as_array().cloned().unwrap_or_default();
    let existing = list.iter().position(|c| c["type"] == "ReplicaFailure");
    match (failure, existing) {
        (Some(message), None) => list.push(json!({
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": message,
            "lastTransitionTime": Timestamp::now().round(k8s_openapi::jiff::Unit::Second).ok(),
        })),
        (None, Some(i)) => {
            list.remove(i);
        }
        _ => {}
    }
    if list.is_empty() && conditions.is_null() { Value::Null } else { Value::Array(list) }
}

impl Replicated for k8s_openapi::api::apps::v1::ReplicaSet {
    const CONTROLLER: &'static str = "replicaset-controller";
    fn selector(&self) -> Option<LabelSelector> {
        self.spec.as_ref().map(|s| s.selector.clone())
    }
    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0)
    }
    fn status_json(&self) -> Value {
        serde_json::to_value(&self.status).unwrap_or(Value::Null)
    }
}
