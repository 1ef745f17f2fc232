//! The apiserver's own definition controller (upstream runs the same loops inside
//! kube-apiserver): it follows CustomResourceDefinitions through their watch cache, accepts
//! their names, marks them Established and serves their versions. When a definition is deleted
//! it marks it Terminating, refuses new objects, deletes the existing ones as a client would
//! (so their finalizers run), and lets the definition go once none is left.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use store::RangeRequest;

use super::custom::CustomResources;
use super::definitions::CLEANUP_FINALIZER;
use crate::object;
use crate::registry::ops::{self, Part};
use crate::registry::{Ctx, Registry};
use crate::resources::{self, Dynamic};
use crate::status::ApiError;
use crate::watchcache::{EventType, Filter, Start, WatchOut};

const GROUP: &str = "apiextensions.k8s.io";

/// Runs until the server stops.
pub fn spawn(registry: Arc<Registry>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = follow(&registry).await {
                tracing::warn!(error = %e, "definition controller restarting");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}

/// One pass: reconcile every definition, then follow changes until the cache resets.
async fn follow(registry: &Arc<Registry>) -> Result<(), ApiError> {
    let res = registry
        .get(GROUP, "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("definitions are not served"))?;
    let cache = registry.cache(&res).await?;
    let all: Filter = Arc::new(|_, _| true);
    let (backlog, _, mut live) = cache.watch(Start::Initial, all)?;
    let mut served: HashSet<(String, String)> = HashSet::new();
    for out in backlog {
        if let WatchOut::Event(_, obj, _) = out {
            reconcile(registry, &obj.decode()?, &mut served).await;
        }
    }
    while let Some(out) = live.next().await {
        if let WatchOut::Event(kind, obj, _) = out {
            let crd = obj.decode()?;
            if kind == EventType::Deleted {
                let (group, plural) = names(&crd);
                registry.unregister(&group, &plural);
                served.remove(&(group.clone(), plural));
                // Names it held may now go to a definition that was refused them.
                for other in others(registry).await? {
                    let refused = other.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|c| {
                        c.iter().any(|c| {
                            c.get("type") == Some(&json!("NamesAccepted")) && c.get("status") == Some(&json!("False"))
                        })
                    });
                    if refused && names(&other).0 == group {
                        reconcile(registry, &other, &mut served).await;
                    }
                }
            } else {
                reconcile(registry, &crd, &mut served).await;
            }
        }
    }
    Ok(())
}

fn names(crd: &Value) -> (String, String) {
    let text = |p: &str| crd.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    (text("/spec/group"), text("/spec/names/plural"))
}

async fn reconcile(registry: &Arc<Registry>, crd: &Value, served: &mut HashSet<(String, String)>) {
    let (group, plural) = names(crd);
    let result = if object::is_deleting(crd) {
        // Still served (terminating), so finalizers of its objects can be removed.
        serve(registry, crd);
        served.insert((group, plural));
        spawn_clean_up(registry.clone(), crd.clone());
        Ok(())
    } else {
        match others(registry).await.map(|all| super::names::conflict(crd, &all)) {
            Ok(Some((reason, message))) => {
                registry.unregister(&group, &plural);
                served.remove(&(group, plural));
                refuse_names(registry, crd, reason, &message).await
            }
            Ok(None) => {
                serve(registry, crd);
                served.insert((group, plural));
                establish(registry, crd).await
            }
            Err(e) => Err(e),
        }
    };
    if let Err(e) = result {
        tracing::warn!(definition = object::name(crd), error = %e, "cannot reconcile a custom resource definition");
    }
}

/// Every definition (from the cache).
async fn others(registry: &Arc<Registry>) -> Result<Vec<Value>, ApiError> {
    let res = registry
        .get(GROUP, "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("definitions are not served"))?;
    let all: Filter = Arc::new(|_, _| true);
    Ok(registry.cache(&res).await?.list(&all).0.iter().filter_map(|o| o.decode().ok()).collect())
}

/// NamesAccepted=False (and not Established) with the conflict's reason.
async fn refuse_names(registry: &Arc<Registry>, crd: &Value, reason: &str, message: &str) -> Result<(), ApiError> {
    let res = registry
        .get(GROUP, "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("definitions are not served"))?;
    let conditions = crd.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let current = conditions.iter().find(|c| c.get("type") == Some(&json!("NamesAccepted")));
    if current.is_some_and(|c| c.get("status") == Some(&json!("False")) && c.get("reason") == Some(&json!(reason))) {
        return Ok(());
    }
    let now = object::now();
    let mut kept: Vec<Value> = conditions
        .into_iter()
        .filter(|c| !matches!(c.get("type").and_then(Value::as_str), Some("NamesAccepted" | "Established")))
        .collect();
    kept.push(json!({"type": "NamesAccepted", "status": "False", "lastTransitionTime": now, "reason": reason, "message": message}));
    kept.push(json!({"type": "Established", "status": "False", "lastTransitionTime": now, "reason": "NotAccepted", "message": "not all names are accepted"}));
    let mut next = crd.clone();
    if let Some(status) = next.get_mut("status").and_then(Value::as_object_mut) {
        status.insert("conditions".into(), Value::Array(kept));
    }
    match ops::update(&Ctx::internal(registry), &res, None, object::name(crd), next, Part::Status).await {
        Err(e) if e.reason == crate::status::Reason::Conflict => Ok(()),
        other => other.map(drop),
    }
}

/// Registers every served version of the definition.
fn serve(registry: &Arc<Registry>, crd: &Value) {
    let text = |p: &str| crd.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let list = |p: &str| -> Vec<String> {
        crd.pointer(p)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage") == Some(&Value::Bool(true)))
        .and_then(|v| v.get("name")?.as_str())
        .unwrap_or("")
        .to_string();
    let mut entries: Vec<(&'static resources::ResourceInfo, Arc<dyn crate::registry::Strategy>)> = Vec::new();
    let conversion = super::conversion::Webhook::from_definition(crd).map(Arc::new);
    let terminating = object::is_deleting(crd);
    for v in versions.iter().filter(|v| v.get("served") == Some(&Value::Bool(true))) {
        let version = v.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let mut subresources = Vec::new();
        for sub in ["status", "scale"] {
            if v.pointer(&format!("/subresources/{sub}")).is_some() {
                subresources.push(sub.to_string());
            }
        }
        let info = resources::intern(&Dynamic {
            group: text("/spec/group"),
            version,
            kind: text("/spec/names/kind"),
            plural: text("/spec/names/plural"),
            singular: text("/spec/names/singular"),
            namespaced: text("/spec/scope") == "Namespaced",
            short_names: list("/spec/names/shortNames"),
            categories: list("/spec/names/categories"),
            subresources,
            storage_version: storage_version.clone(),
        });
        entries.push((info, Arc::new(CustomResources::for_version(v, conversion.clone(), terminating))));
    }
    registry.replace_versions(&text("/spec/group"), &text("/spec/names/plural"), entries);
}

/// Sets NamesAccepted and Established (once); a status write only when something changed.
async fn establish(registry: &Arc<Registry>, crd: &Value) -> Result<(), ApiError> {
    let res = registry
        .get(GROUP, "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("definitions are not served"))?;
    let conditions = crd.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let has = |t: &str| {
        conditions.iter().any(|c| c.get("type") == Some(&json!(t)) && c.get("status") == Some(&json!("True")))
    };
    let accepted = crd.pointer("/spec/names").cloned().unwrap_or_else(|| json!({}));
    if has("NamesAccepted") && has("Established") && crd.pointer("/status/acceptedNames") == Some(&accepted) {
        return Ok(());
    }
    let now = object::now();
    let mut next = crd.clone();
    let mut kept: Vec<Value> = conditions
        .into_iter()
        .filter(|c| !matches!(c.get("type").and_then(Value::as_str), Some("NamesAccepted" | "Established")))
        .collect();
    kept.push(json!({"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"}));
    kept.push(json!({"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}));
    if let Some(status) = next.get_mut("status").and_then(Value::as_object_mut) {
        status.insert("conditions".into(), Value::Array(kept));
        status.insert("acceptedNames".into(), accepted);
    }
    let ctx = Ctx::internal(registry);
    match ops::update(&ctx, &res, None, object::name(crd), next, Part::Status).await {
        // A newer version arrived meanwhile: its event brings us back here.
        Err(e) if e.reason == crate::status::Reason::Conflict => Ok(()),
        other => other.map(drop),
    }
}

/// Definitions whose objects are being deleted (one clean-up task each).
static TERMINATING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn plural_key(group: &str, plural: &str) -> String {
    format!("{plural}.{group}")
}

/// Runs the clean-up of a deleted definition until its objects are gone (retrying while
/// finalizers hold some), then releases the definition.
fn spawn_clean_up(registry: Arc<Registry>, crd: Value) {
    let (group, plural) = names(&crd);
    let key = plural_key(&group, &plural);
    if let Ok(mut running) = TERMINATING.lock() {
        if running.contains(&key) {
            return;
        }
        running.push(key.clone());
    }
    tokio::spawn(async move {
        loop {
            match clean_up(&registry, &crd, &group, &plural).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => tracing::warn!(definition = %key, error = %e, "cleaning up custom resources"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if let Ok(mut running) = TERMINATING.lock() {
            running.retain(|k| *k != key);
        }
    });
}

/// One pass: marks the definition Terminating, deletes its objects through the registry (so
/// their finalizers apply); once none is left, removes the definition's finalizer. Returns
/// whether the definition is released.
async fn clean_up(registry: &Arc<Registry>, crd: &Value, group: &str, plural: &str) -> Result<bool, ApiError> {
    if !object::finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(true);
    }
    let definitions = registry
        .get(GROUP, "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("definitions are not served"))?;
    let ctx = Ctx::internal(registry);
    mark_terminating(&ctx, &definitions, crd).await;
    let storage_version = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v.get("storage") == Some(&Value::Bool(true))))
        .and_then(|v| v.get("name")?.as_str())
        .unwrap_or("");
    let prefix = crate::storage::Keys::new(group, plural, true).prefix(None);
    let unavailable = |e: store::StoreError| ApiError::unavailable(e.to_string());
    let page = registry.store.range(RangeRequest::prefix(prefix).limit(500)).await.map_err(unavailable)?;
    if page.kvs.is_empty() {
        let remove = |current: &Value| -> Result<Value, ApiError> {
            let mut next = current.clone();
            let kept: Vec<String> =
                object::finalizers(current).into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
            object::set_meta(&mut next, "finalizers", json!(kept));
            Ok(next)
        };
        return match ops::patch(&ctx, &definitions, None, object::name(crd), Part::Main, &remove).await {
            Ok(_) => Ok(true),
            Err(e) if e.code == 404 => Ok(true),
            Err(e) => Err(e),
        };
    }
    // Any served version deletes the same stored objects; the storage version is preferred.
    let served_versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name")?.as_str())
        .collect::<Vec<_>>();
    let res = std::iter::once(storage_version)
        .chain(served_versions)
        .find_map(|version| registry.get(group, version, plural))
        .ok_or_else(|| ApiError::internal(format!("no version of {plural}.{group} is served")))?;
    let opts = ops::DeleteOptions::default();
    for kv in &page.kvs {
        let obj = crate::storage::decode(kv)?;
        if object::is_deleting(&obj) {
            continue;
        }
        match ops::delete(&ctx, &res, object::namespace(&obj), object::name(&obj), &opts).await {
            Ok(_) => {}
            Err(e) if e.code == 404 || e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// The Terminating condition upstream shows while a definition's objects are deleted.
async fn mark_terminating(ctx: &Ctx<'_>, definitions: &crate::registry::Resource, crd: &Value) {
    let conditions = crd.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    if conditions.iter().any(|c| c.get("type") == Some(&json!("Terminating"))) {
        return;
    }
    let set = |current: &Value| -> Result<Value, ApiError> {
        let mut next = current.clone();
        let mut kept: Vec<Value> = current
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.get("type") != Some(&json!("Terminating")))
            .collect();
        kept.push(json!({"type": "Terminating", "status": "True", "lastTransitionTime": object::now(),
            "reason": "InstanceDeletionInProgress",
            "message": "CustomResourceDefinition marked for deletion; instance deletion in progress"}));
        if let Some(status) = next.get_mut("status").and_then(Value::as_object_mut) {
            status.insert("conditions".into(), Value::Array(kept));
        }
        Ok(next)
    };
    if let Err(e) = ops::patch(ctx, definitions, None, object::name(crd), Part::Status, &set).await {
        tracing::debug!(error = %e, "marking a definition Terminating");
    }
}
