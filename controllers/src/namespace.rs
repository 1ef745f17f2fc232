//! The namespace controller: a namespace being deleted (with the `kubernetes` finalizer in its
//! spec) is emptied — every namespaced resource the apiserver serves, custom ones included,
//! deleted in the background — and, once nothing is left, finalized through
//! `namespaces/<name>/finalize`, which lets the apiserver remove it. While objects remain (their
//! own finalizers pending), the NamespaceContentRemaining condition says what is left and the
//! namespace is looked at again shortly.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::{Context, Error};

/// The finalizer the namespace controller owns.
pub const FINALIZER: &str = "kubernetes";

/// How soon a namespace with content left is looked at again.
const RECHECK: Duration = Duration::from_secs(2);

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let namespaces = Api::<Namespace>::all(ctx.client.clone());
    Controller::new(namespaces, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
    Ok(())
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let finalizers = ns.spec.as_ref().and_then(|s| s.finalizers.clone()).unwrap_or_default();
    if ns.meta().deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let remaining = delete_content(&ctx, &name).await?;
    let namespaces = Api::<Namespace>::all(ctx.client.clone());
    if !remaining.is_empty() {
        let message = format!("Some resources are remaining: {}", remaining.join(", "));
        set_condition(&namespaces, &name, "NamespaceContentRemaining", "True", "SomeResourcesRemain", &message).await;
        return Ok(Action::requeue(RECHECK));
    }
    let mut finalized = (*ns).clone();
    if let Some(spec) = finalized.spec.as_mut() {
        spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
    }
    match namespaces.replace_subresource("finalize", &name, &PostParams::default(), &finalized).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes every namespaced object in `ns`; returns what is still there (e.g. `pods. has 2
/// resource instances`), as upstream words it.
async fn delete_content(ctx: &Context, ns: &str) -> Result<Vec<String>, Error> {
    let discovery = Discovery::new(ctx.client.clone()).run_aggregated().await?;
    let mut remaining = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if caps.scope != Scope::Namespaced || !caps.supports_operation(verbs::LIST) {
                continue;
            }
            let api = Api::<DynamicObject>::namespaced_with(ctx.client.clone(), ns, &ar);
            if caps.supports_operation(verbs::DELETE_COLLECTION) {
                ignore_gone(
                    api.delete_collection(&DeleteParams::background(), &ListParams::default()).await.map(drop),
                )?;
            } else if caps.supports_operation(verbs::DELETE) {
                for obj in api.list_metadata(&ListParams::default()).await?.items {
                    ignore_gone(api.delete(&obj.name_any(), &DeleteParams::background()).await.map(drop))?;
                }
            } else {
                continue;
            }
            let left = api.list_metadata(&ListParams::default()).await?.items.len();
            tracing::debug!(namespace = ns, resource = %ar.plural, group = %ar.group, left, "emptying");
            if left > 0 {
                remaining.push(format!("{}.{} has {left} resource instances", ar.plural, ar.group));
            }
        }
    }
    Ok(remaining)
}

/// Objects that went meanwhile, and resources that cannot be deleted, are no failure.
fn ignore_gone(result: Result<(), kube::Error>) -> Result<(), Error> {
    match result {
        Err(kube::Error::Api(e)) if matches!(e.code, 404 | 405 | 409) => Ok(()),
        other => other.map_err(Error::from),
    }
}

async fn set_condition(api: &Api<Namespace>, name: &str, type_: &str, status: &str, reason: &str, message: &str) {
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let patch = json!({"status": {"conditions": [{"type": type_, "status": status, "reason": reason,
        "message": message, "lastTransitionTime": now}]}});
    if let Err(e) = api.patch_status(name, &PatchParams::default(), &Patch::Strategic(patch)).await {
        tracing::debug!(namespace = name, error = %e, "setting a namespace condition");
    }
}

fn error_policy(ns: Arc<Namespace>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(namespace = %ns.name_any(), %error, "namespace controller");
    Action::requeue(RECHECK)
}
