//! apps/v1: upstream's `pkg/apis/apps/v1/defaults.go` and its generated walks.
//! ControllerRevision has no defaulter.

use serde_json::json;

use crate::defaults::core_v1::{set_object_defaults_persistent_volume_claim, walk_pod_template_spec};
use crate::defaults::util::{Obj, child, child_or_create, each_obj, set_default, set_default_zero, str_of};

/// Applies apps/v1 defaulting; false for a kind this group does not serve.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "Deployment" => set_object_defaults_deployment(obj),
        "ReplicaSet" => set_object_defaults_replica_set(obj),
        "StatefulSet" => set_object_defaults_stateful_set(obj),
        "DaemonSet" => set_object_defaults_daemon_set(obj),
        "ControllerRevision" | "Scale" => {}
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_Deployment`.
pub fn set_defaults_deployment(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = child_or_create(spec, "strategy") {
        set_default_zero(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = child_or_create(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!("25%"));
            set_default(rolling, "maxSurge", json!("25%"));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
}

/// Mirrors `SetDefaults_DaemonSet`.
pub fn set_defaults_daemon_set(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    if let Some(strategy) = child_or_create(spec, "updateStrategy") {
        set_default_zero(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = child_or_create(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!(1));
            set_default(rolling, "maxSurge", json!(0));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
}

/// Mirrors `SetDefaults_StatefulSet`. A rollingUpdate block is only created
/// when the strategy type itself was defaulted; an explicit `RollingUpdate`
/// without one stays without (and so without a partition). The
/// maxUnavailable default is behind MaxUnavailableStatefulSet, off in 1.33.
pub fn set_defaults_stateful_set(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_default_zero(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(strategy) = child_or_create(spec, "updateStrategy") {
        if str_of(strategy, "type").is_empty() {
            strategy.insert("type".into(), json!("RollingUpdate"));
            set_default(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            set_default(rolling, "partition", json!(0));
        }
    }
    // StatefulSetAutoDeletePVC is GA (on) in 1.33.
    if let Some(policy) = child_or_create(spec, "persistentVolumeClaimRetentionPolicy") {
        set_default_zero(policy, "whenDeleted", json!("Retain"));
        set_default_zero(policy, "whenScaled", json!("Retain"));
    }
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
}

/// Mirrors `SetDefaults_ReplicaSet`.
pub fn set_defaults_replica_set(obj: &mut Obj) {
    if let Some(spec) = child_or_create(obj, "spec") {
        set_default(spec, "replicas", json!(1));
    }
}

/// The pod template of a workload spec, embedded by value.
fn walk_template(obj: &mut Obj) {
    if let Some(template) = child_or_create(obj, "spec").and_then(|s| child_or_create(s, "template")) {
        walk_pod_template_spec(template);
    }
}

/// Mirrors `SetObjectDefaults_Deployment`.
pub fn set_object_defaults_deployment(obj: &mut Obj) {
    set_defaults_deployment(obj);
    walk_template(obj);
}

/// Mirrors `SetObjectDefaults_ReplicaSet`.
pub fn set_object_defaults_replica_set(obj: &mut Obj) {
    set_defaults_replica_set(obj);
    walk_template(obj);
}

/// Mirrors `SetObjectDefaults_DaemonSet`.
pub fn set_object_defaults_daemon_set(obj: &mut Obj) {
    set_defaults_daemon_set(obj);
    walk_template(obj);
}

/// Mirrors `SetObjectDefaults_StatefulSet`: the template, then every
/// volumeClaimTemplate as a full claim (status phase included).
pub fn set_object_defaults_stateful_set(obj: &mut Obj) {
    set_defaults_stateful_set(obj);
    walk_template(obj);
    if let Some(spec) = child(obj, "spec") {
        each_obj(spec, "volumeClaimTemplates", set_object_defaults_persistent_volume_claim);
    }
}
