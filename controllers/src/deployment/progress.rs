//! A deployment's status: replica counts summed over its ReplicaSets, and the Available and
//! Progressing conditions (with progressDeadlineSeconds) that `kubectl rollout status` reads.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{Timestamp, Unit};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use serde_json::json;

use super::Rollout;
use super::util::*;
use crate::Error;

fn count(all: &[Arc<ReplicaSet>], f: impl Fn(&ReplicaSet) -> i32) -> i32 {
    all.iter().map(|rs| f(rs)).sum()
}

/// Zero counts are left out, as upstream's `omitempty` does.
fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// Counts as upstream's calculateStatus (conditions kept from the current status).
fn counts(d: &Deployment, all: &[Arc<ReplicaSet>], new: Option<&ReplicaSet>) -> DeploymentStatus {
    let available = count(all, available);
    let current = d.status.clone().unwrap_or_default();
    DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: nonzero(count(all, status_replicas)),
        updated_replicas: nonzero(new.map_or(0, status_replicas)),
        ready_replicas: nonzero(count(all, |rs| rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0))),
        available_replicas: nonzero(available),
        unavailable_replicas: nonzero((desired(d) - available).max(0)),
        collision_count: current.collision_count,
        conditions: current.conditions,
        terminating_replicas: None,
    }
}

/// Every replica updated, available, and no old ones left (upstream's DeploymentComplete).
pub(super) fn complete(d: &Deployment, all: &[Arc<ReplicaSet>], new: Option<&ReplicaSet>) -> bool {
    let s = counts(d, all, new);
    let want = desired(d);
    let n = |v: Option<i32>| v.unwrap_or(0);
    n(s.updated_replicas) == want && n(s.replicas) == want && n(s.available_replicas) == want
}

fn now() -> Time {
    Time(Timestamp::now().round(Unit::Second).unwrap_or_else(|_| Timestamp::now()))
}

/// Sets a condition; the transition time changes only with the status, the update time with
/// anything.
fn set(conditions: &mut Vec<DeploymentCondition>, type_: &str, status: &str, reason: &str, message: String) {
    let now = now();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c)
            if c.status == status && c.reason.as_deref() == Some(reason) && c.message.as_deref() == Some(&message) => {}
        Some(c) => {
            if c.status != status {
                c.last_transition_time = Some(now.clone());
            }
            c.status = status.into();
            c.reason = Some(reason.into());
            c.message = Some(message);
            c.last_update_time = Some(now);
        }
        None => conditions.push(DeploymentCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: Some(now.clone()),
            last_update_time: Some(now),
        }),
    }
}

pub(super) async fn sync_status(
    sync: &Rollout<'_>,
    all: &[Arc<ReplicaSet>],
    created: Option<&'static str>,
) -> Result<Action, Error> {
    let d = sync.d;
    let (new, _) = sync.split(all);
    let mut status = counts(d, all, new.as_deref());
    let mut conditions = status.conditions.take().unwrap_or_default();
    let want = desired(d);
    if status.available_replicas.unwrap_or(0) >= want - max_unavailable(d) {
        set(
            &mut conditions,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
        );
    } else {
        set(
            &mut conditions,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
        );
    }
    let spec = d.spec.clone().unwrap_or_default();
    let new_name = new.as_ref().map(|rs| rs.name_any()).unwrap_or_default();
    let mut requeue = None;
    let progressing = conditions.iter().find(|c| c.type_ == "Progressing").cloned();
    let paused = spec.paused == Some(true);
    if paused {
        set(&mut conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused".into());
    } else if progressing.as_ref().is_some_and(|c| c.reason.as_deref() == Some("DeploymentPaused")) {
        set(&mut conditions, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed".into());
    } else if let Some(reason) = created {
        set(&mut conditions, "Progressing", "True", reason, format!("Created new replica set \"{new_name}\""));
    } else if new.is_some() && complete(d, all, new.as_deref()) {
        let message = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
        set(&mut conditions, "Progressing", "True", "NewReplicaSetAvailable", message);
    } else if new.is_some() {
        let old = d.status.clone().unwrap_or_default();
        let advanced = status.updated_replicas > old.updated_replicas
            || status.ready_replicas > old.ready_replicas
            || status.available_replicas > old.available_replicas
            || status.replicas.unwrap_or(0) - status.updated_replicas.unwrap_or(0)
                < old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
        let deadline = spec.progress_deadline_seconds.unwrap_or(600).max(0) as u64;
        match &progressing {
            None => set(
                &mut conditions,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                format!("Found new replica set \"{new_name}\""),
            ),
            Some(c) if advanced || c.reason.as_deref() == Some("NewReplicaSetAvailable") => {
                set(
                    &mut conditions,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    format!("ReplicaSet \"{new_name}\" is progressing."),
                );
                if let Some(c) = conditions.iter_mut().find(|c| c.type_ == "Progressing") {
                    c.last_update_time = Some(now());
                }
                requeue = Some(Duration::from_secs(deadline + 1));
            }
            Some(c) if c.reason.as_deref() != Some("ProgressDeadlineExceeded") => {
                let since = c.last_update_time.as_ref().map_or(Timestamp::now(), |t| t.0);
                let elapsed = Duration::try_from(Timestamp::now() - since).unwrap_or_default();
                if elapsed >= Duration::from_secs(deadline) {
                    let message = format!("ReplicaSet \"{new_name}\" has timed out progressing.");
                    set(&mut conditions, "Progressing", "False", "ProgressDeadlineExceeded", message);
                } else {
                    requeue = Some(Duration::from_secs(deadline) - elapsed + Duration::from_secs(1));
                }
            }
            Some(_) => {}
        }
    }
    // A ReplicaSet's failure to create pods is the deployment's too.
    let failure = all.iter().find_map(|rs| {
        rs.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
            .cloned()
    });
    match failure {
        Some(f) => set(
            &mut conditions,
            "ReplicaFailure",
            "True",
            f.reason.as_deref().unwrap_or("FailedCreate"),
            f.message.unwrap_or_default(),
        ),
        None => conditions.retain(|c| c.type_ != "ReplicaFailure"),
    }
    status.conditions = Some(conditions);
    if d.status.as_ref() != Some(&status) {
        // The whole status, as upstream's UpdateStatus: counts that fell to zero are removed.
        let current = serde_json::to_value(d.status.clone().unwrap_or_default()).unwrap_or_default();
        let desired = serde_json::to_value(&status).unwrap_or_default();
        let patch = crate::framework::replace_patch(&current, &desired);
        let api: Api<Deployment> = Api::namespaced(sync.state.ctx.client.clone(), &d.namespace().unwrap_or_default());
        api.patch_status(&d.name_any(), &PatchParams::default(), &Patch::Merge(json!({ "status": patch }))).await?;
    }
    // Pods become available minReadySeconds after being ready, with no event to say so.
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    if min_ready > 0 && status.available_replicas < status.ready_replicas {
        requeue = Some(
            requeue.map_or(Duration::from_secs(min_ready as u64), |r| r.min(Duration::from_secs(min_ready as u64))),
        );
    }
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}
