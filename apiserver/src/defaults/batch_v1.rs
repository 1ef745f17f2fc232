//! batch/v1: upstream's `pkg/apis/batch/v1/defaults.go` and its generated
//! walks.

use serde_json::{Value, json};

use crate::defaults::core_v1::walk_pod_template_spec;
use crate::defaults::util::{
    Obj, child, child_or_create, copy_labels_if_empty, each_obj, is_unset, set_default, set_default_zero,
};

/// Applies batch/v1 defaulting; false for a kind this group does not serve.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "Job" => set_object_defaults_job(obj),
        "CronJob" => set_object_defaults_cron_job(obj),
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_Job` with the 1.33 gates (JobPodReplacementPolicy on).
pub fn set_defaults_job(obj: &mut Obj) {
    let template_labels = obj
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .cloned();
    let Some(spec) = child_or_create(obj, "spec") else { return };
    // A non-parallel job may leave both unset: both become 1.
    if is_unset(spec.get("completions")) && is_unset(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    if is_unset(spec.get("backoffLimit")) {
        // With a per-index limit the global one is effectively unlimited.
        let limit = if is_unset(spec.get("backoffLimitPerIndex")) { 6 } else { i64::from(i32::MAX) };
        spec.insert("backoffLimit".into(), json!(limit));
    }
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let has_failure_policy = !is_unset(spec.get("podFailurePolicy"));
    if let Some(policy) = child(spec, "podFailurePolicy") {
        each_obj(policy, "rules", |rule| {
            each_obj(rule, "onPodConditions", |pattern| set_default_zero(pattern, "status", json!("True")));
        });
    }
    let replacement = if has_failure_policy { "Failed" } else { "TerminatingOrFailed" };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    set_default(spec, "manualSelector", json!(false));
    if let Some(labels) = template_labels {
        copy_labels_if_empty(obj, &labels);
    }
}

/// Mirrors `SetDefaults_CronJob`.
pub fn set_defaults_cron_job(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_default_zero(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
}

/// Mirrors `SetObjectDefaults_Job`.
pub fn set_object_defaults_job(obj: &mut Obj) {
    set_defaults_job(obj);
    if let Some(template) = child_or_create(obj, "spec").and_then(|s| child_or_create(s, "template")) {
        walk_pod_template_spec(template);
    }
}

/// Mirrors `SetObjectDefaults_CronJob`: the job template's pod template is
/// walked, but `SetDefaults_Job` is not applied to the job template.
pub fn set_object_defaults_cron_job(obj: &mut Obj) {
    set_defaults_cron_job(obj);
    let template = child_or_create(obj, "spec")
        .and_then(|s| child_or_create(s, "jobTemplate"))
        .and_then(|j| child_or_create(j, "spec"))
        .and_then(|j| child_or_create(j, "template"));
    if let Some(template) = template {
        walk_pod_template_spec(template);
    }
}
