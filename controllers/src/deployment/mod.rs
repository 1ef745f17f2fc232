//! The Deployment controller (upstream's pkg/controller/deployment): a Deployment owns one
//! ReplicaSet per pod template (told apart by the `pod-template-hash` label); the one matching
//! the current template is "new", the others "old". A rollout moves replicas from old to new,
//! by the strategy (`rolling.rs`: RollingUpdate within maxSurge/maxUnavailable; `recreate` here:
//! all old pods gone first). Changing only `spec.replicas` scales the active ReplicaSets
//! proportionally. Revisions live in ReplicaSet annotations (what `kubectl rollout history`
//! and `undo` read), and `status.go`'s conditions in `progress.rs`.

mod progress;
mod rolling;
mod util;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::framework::{Change, Informer, Reconciler, Recorder, owners_of};
use crate::replicaset::controller_ref;
use crate::{Context, Error};
use util::*;

pub(crate) struct State {
    ctx: Arc<Context>,
    sets: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    events: Recorder,
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let deployments = ctx.informers.get::<Deployment>();
    let sets = ctx.informers.get::<ReplicaSet>();
    let pods = ctx.informers.get::<Pod>();
    let events = Recorder::new(ctx.client.clone(), "deployment-controller", &ctx.identity);
    let state = Arc::new(State { ctx: ctx.clone(), sets: sets.clone(), pods: pods.clone(), events });
    let sets_of_pods = sets.clone();
    Reconciler::new("deployment", &deployments)
        .owns(&sets)
        // A Recreate rollout waits for the old pods to be gone.
        .watches(&pods, move |change: &Change<Pod>| {
            if change.new.is_some() {
                return Vec::new();
            }
            let sets: Vec<ObjectRef<ReplicaSet>> = owners_of(change);
            let owners = sets.iter().filter_map(|key| sets_of_pods.get(key));
            owners
                .flat_map(|rs| owners_of::<Deployment, ReplicaSet>(&Change { old: None, new: Some(rs) }))
                .collect::<Vec<_>>()
        })
        .run(reconcile, state, ctx.metrics.clone(), shutdown)
        .await;
    Ok(())
}

/// What one reconcile works with.
pub(crate) struct Rollout<'a> {
    state: &'a State,
    d: &'a Deployment,
    sets: Api<ReplicaSet>,
}

async fn reconcile(d: Arc<Deployment>, state: Arc<State>) -> Result<Action, Error> {
    let ns = d.namespace().unwrap_or_default();
    let sync = Rollout { state: &state, d: &d, sets: Api::namespaced(state.ctx.client.clone(), &ns) };
    let spec = d.spec.clone().unwrap_or_default();
    let Some(selector) = selector(&spec.selector) else {
        let note = "This deployment is selecting all pods. A non-empty selector is required.".to_string();
        state.events.warning(d.object_ref(&()), "SelectingAll", "Sync", note);
        return Ok(Action::await_change());
    };
    let all = sync.claim(&selector).await?;
    if d.meta().deletion_timestamp.is_some() {
        return sync.status(&all, None).await;
    }
    if spec.paused == Some(true) || sync.is_scaling_event(&all) {
        return sync.sync_scale(all).await;
    }
    if spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        sync.recreate(all).await
    } else {
        sync.rolling(all).await
    }
}

fn selector(s: &LabelSelector) -> Option<Selector> {
    let empty = s.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && s.match_expressions.as_ref().is_none_or(|e| e.is_empty());
    if empty { None } else { Selector::try_from(s.clone()).ok() }
}

impl Rollout<'_> {
    fn desired(&self) -> i32 {
        desired(self.d)
    }

    /// The ReplicaSets this deployment controls, after adopting matching orphans and releasing
    /// those that no longer match.
    async fn claim(&self, selector: &Selector) -> Result<Vec<Arc<ReplicaSet>>, Error> {
        let uid = self.d.uid().unwrap_or_default();
        let ns = self.d.namespace();
        let mut owned = Vec::new();
        for rs in self.state.sets.store().state() {
            if rs.namespace() != ns {
                continue;
            }
            let controller = rs.owner_references().iter().find(|o| o.controller == Some(true));
            let selected = selector.matches(rs.labels());
            match controller {
                Some(c) if c.uid == uid => {
                    if selected {
                        owned.push(rs);
                    } else {
                        let refs: Vec<_> = rs.owner_references().iter().filter(|o| o.uid != uid).cloned().collect();
                        let patch = json!({ "metadata": { "ownerReferences": refs, "uid": rs.uid() } });
                        ignore_gone(
                            self.sets.patch(&rs.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await,
                        )?;
                    }
                }
                None if selected
                    && self.d.meta().deletion_timestamp.is_none()
                    && rs.meta().deletion_timestamp.is_none() =>
                {
                    let mut refs = rs.owner_references().to_vec();
                    refs.push(controller_ref(self.d));
                    let patch = json!({ "metadata": { "ownerReferences": refs, "uid": rs.uid(), "resourceVersion": rs.resource_version() } });
                    if ignore_gone(
                        self.sets.patch(&rs.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await,
                    )?
                    .is_some()
                    {
                        owned.push(rs);
                    }
                }
                _ => {}
            }
        }
        Ok(owned)
    }

    /// The ReplicaSet of the current template, if any (the oldest if several), and the others.
    fn split(&self, all: &[Arc<ReplicaSet>]) -> (Option<Arc<ReplicaSet>>, Vec<Arc<ReplicaSet>>) {
        let template = self.d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let mut matching: Vec<&Arc<ReplicaSet>> = all
            .iter()
            .filter(|rs| {
                rs.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| equal_ignoring_hash(t, &template))
            })
            .collect();
        matching.sort_by_key(|rs| (rs.creation_timestamp().map(|t| t.0), rs.name_any()));
        let new = matching.first().map(|rs| (*rs).clone());
        let old = all.iter().filter(|rs| new.as_ref().is_none_or(|n| n.uid() != rs.uid())).cloned().collect();
        (new, old)
    }

    /// Whether `spec.replicas` changed since the active ReplicaSets were last sized.
    fn is_scaling_event(&self, all: &[Arc<ReplicaSet>]) -> bool {
        let desired = self.desired().to_string();
        all.iter()
            .filter(|rs| replicas(rs) > 0)
            .any(|rs| rs.annotations().get(DESIRED_REPLICAS).is_some_and(|v| *v != desired))
    }

    /// The new ReplicaSet with its revision brought up to date, created (with `replicas`) if
    /// missing and `create` is set. Also records the revision on the deployment.
    async fn new_replica_set(
        &self,
        all: &[Arc<ReplicaSet>],
        create: Option<i32>,
    ) -> Result<(Option<Arc<ReplicaSet>>, Vec<Arc<ReplicaSet>>, Option<&'static str>), Error> {
        let (existing, old) = self.split(all);
        let max_old = old.iter().map(|rs| revision(rs)).max().unwrap_or(0);
        let next = max_old + 1;
        let (surge, _) = surge_and_unavailable(self.d);
        let desired = self.desired();
        let mut annotations = inherited_annotations(self.d);
        annotations.insert(DESIRED_REPLICAS.into(), desired.to_string());
        annotations.insert(MAX_REPLICAS.into(), (desired + surge).to_string());
        let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
        if let Some(rs) = existing {
            let current = revision(&rs);
            let mut patch_annotations = annotations.clone();
            if current < next {
                patch_annotations.insert(REVISION.into(), next.to_string());
                if current > 0 {
                    // A template seen before is new again (a rollback): remember its old number.
                    let history = rs.annotations().get(REVISION_HISTORY).map(|h| format!("{h},{current}"));
                    patch_annotations.insert(REVISION_HISTORY.into(), history.unwrap_or_else(|| current.to_string()));
                }
            }
            let stale = patch_annotations.iter().any(|(k, v)| rs.annotations().get(k) != Some(v))
                || rs.spec.as_ref().and_then(|s| s.min_ready_seconds) != min_ready;
            let rs = if stale {
                let patch = json!({ "metadata": { "annotations": patch_annotations }, "spec": { "minReadySeconds": min_ready } });
                Arc::new(self.sets.patch(&rs.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?)
            } else {
                rs
            };
            self.record_revision(revision(&rs).max(if current < next { next } else { current })).await?;
            return Ok((Some(rs), old, None));
        }
        let Some(replicas) = create else { return Ok((None, old, None)) };
        let spec = self.d.spec.clone().unwrap_or_default();
        let collisions = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&spec.template, collisions);
        let mut template = spec.template.clone();
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels.get_or_insert_with(Default::default).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let labels = meta.labels.clone();
        let mut selector = spec.selector.clone();
        selector.match_labels.get_or_insert_with(Default::default).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        annotations.insert(REVISION.into(), next.to_string());
        let name = format!("{}-{hash}", self.d.name_any());
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.namespace(),
                labels,
                annotations: Some(annotations),
                owner_references: Some(vec![controller_ref(self.d)]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: min_ready,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let created = match self.sets.create(&PostParams::default(), &rs).await {
            Ok(created) => created,
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Either our cache lags, or another template hashed the same: then count a
                // collision so the next attempt hashes differently.
                let found = self.sets.get(&name).await?;
                let same = found
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| equal_ignoring_hash(t, &spec.template));
                if !same {
                    let status = json!({ "status": { "collisionCount": collisions.unwrap_or(0) + 1 } });
                    let api: Api<Deployment> =
                        Api::namespaced(self.state.ctx.client.clone(), &self.d.namespace().unwrap_or_default());
                    api.patch_status(&self.d.name_any(), &PatchParams::default(), &Patch::Merge(&status)).await?;
                    return Err(Error::Other(format!("hash collision for ReplicaSet {name}")));
                }
                found
            }
            Err(e) => return Err(e.into()),
        };
        if replicas > 0 {
            let note = format!("Scaled up replica set {name} from 0 to {replicas}");
            self.state.events.normal(self.d.object_ref(&()), "ScalingReplicaSet", "Scale", note);
        }
        self.record_revision(next).await?;
        Ok((Some(Arc::new(created)), old, Some("NewReplicaSetCreated")))
    }

    /// The deployment's own revision annotation follows its new ReplicaSet's.
    async fn record_revision(&self, revision: i64) -> Result<(), Error> {
        if self.d.annotations().get(REVISION) == Some(&revision.to_string()) {
            return Ok(());
        }
        let api: Api<Deployment> =
            Api::namespaced(self.state.ctx.client.clone(), &self.d.namespace().unwrap_or_default());
        // Through `/status`, as upstream's controller does, so the revision does not bump
        // `generation` (annotation changes to the resource itself do).
        let patch = json!({ "metadata": { "annotations": { REVISION: revision.to_string() } } });
        api.patch_status(&self.d.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        Ok(())
    }

    /// Sets a ReplicaSet's size (and the annotations saying for which deployment size), with
    /// the event upstream records. Returns whether anything changed.
    async fn scale(&self, rs: &ReplicaSet, to: i32) -> Result<bool, Error> {
        let from = replicas(rs);
        let desired = self.desired().to_string();
        let max = (self.desired() + surge_and_unavailable(self.d).0).to_string();
        let annotated = rs.annotations().get(DESIRED_REPLICAS) == Some(&desired)
            && rs.annotations().get(MAX_REPLICAS) == Some(&max);
        if from == to && annotated {
            return Ok(false);
        }
        let patch = json!({
            "metadata": { "annotations": { DESIRED_REPLICAS: desired, MAX_REPLICAS: max } },
            "spec": { "replicas": to },
        });
        self.sets.patch(&rs.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        if from != to {
            let direction = if to > from { "up" } else { "down" };
            let note = format!("Scaled {direction} replica set {} from {from} to {to}", rs.name_any());
            self.state.events.normal(self.d.object_ref(&()), "ScalingReplicaSet", "Scale", note);
        }
        Ok(from != to)
    }

    /// A paused deployment or a change of `spec.replicas` only: size the active ReplicaSets.
    async fn sync_scale(&self, all: Vec<Arc<ReplicaSet>>) -> Result<Action, Error> {
        let (new, old, _) = self.new_replica_set(&all, None).await?;
        rolling::scale(self, new.as_deref(), &old).await?;
        if self.d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            self.cleanup(&old).await?;
        }
        self.status(&self.state.sets_of(self.d), None).await
    }

    /// Recreate: scale every old ReplicaSet to zero, wait until their pods are gone, then
    /// bring up the new one.
    async fn recreate(&self, all: Vec<Arc<ReplicaSet>>) -> Result<Action, Error> {
        let (new, old, _) = self.new_replica_set(&all, None).await?;
        let mut scaled = false;
        for rs in old.iter().filter(|rs| replicas(rs) > 0) {
            scaled |= self.scale(rs, 0).await?;
        }
        if scaled || self.old_pods_running(&old) {
            return self.status(&all, None).await;
        }
        let (new, old, created) = match new {
            Some(new) => (Some(new), old, None),
            None => self.new_replica_set(&all, Some(self.desired())).await?,
        };
        if let Some(new) = &new {
            self.scale(new, self.desired()).await?;
        }
        let all = self.state.sets_of(self.d);
        if progress::complete(self.d, &all, new.as_deref()) {
            self.cleanup(&old).await?;
        }
        self.status(&all, created).await
    }

    fn old_pods_running(&self, old: &[Arc<ReplicaSet>]) -> bool {
        let uids: Vec<String> = old.iter().filter_map(|rs| rs.uid()).collect();
        self.state.pods.store().state().iter().any(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
                && pod.owner_references().iter().any(|o| o.controller == Some(true) && uids.contains(&o.uid))
        })
    }

    /// Deletes the oldest fully scaled-down ReplicaSets beyond `revisionHistoryLimit`.
    async fn cleanup(&self, old: &[Arc<ReplicaSet>]) -> Result<(), Error> {
        let limit = self.d.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10).max(0) as usize;
        let mut idle: Vec<&Arc<ReplicaSet>> = old
            .iter()
            .filter(|rs| replicas(rs) == 0 && status_replicas(rs) == 0 && rs.meta().deletion_timestamp.is_none())
            .collect();
        if idle.len() <= limit {
            return Ok(());
        }
        idle.sort_by_key(|rs| (revision(rs), rs.creation_timestamp().map(|t| t.0)));
        for rs in &idle[..idle.len() - limit] {
            let dp = DeleteParams {
                preconditions: Some(Preconditions { uid: rs.uid(), resource_version: None }),
                ..Default::default()
            };
            ignore_gone(self.sets.delete(&rs.name_any(), &dp).await.map(|_| ()))?;
        }
        Ok(())
    }

    async fn status(&self, all: &[Arc<ReplicaSet>], created: Option<&'static str>) -> Result<Action, Error> {
        progress::sync_status(self, all, created).await
    }
}

impl State {
    /// The ReplicaSets the cache shows for `d` now (after this reconcile's own writes, as far
    /// as the watch has delivered them).
    fn sets_of(&self, d: &Deployment) -> Vec<Arc<ReplicaSet>> {
        let uid = d.uid();
        self.sets
            .store()
            .state()
            .into_iter()
            .filter(|rs| {
                rs.owner_references().iter().any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref())
            })
            .collect()
    }
}

/// `Ok(None)` for a 404 or 409 (the object went or changed; the next sync sees why).
fn ignore_gone<T>(result: Result<T, kube::Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(None),
        Err(e) => Err(e.into()),
    }
}
