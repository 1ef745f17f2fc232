//! admissionregistration.k8s.io/v1: upstream's
//! `pkg/apis/admissionregistration/v1/defaults.go` and its generated walks.
//! `sideEffects` and `admissionReviewVersions` are required in v1 and have
//! no default (v1beta1 defaulted them).

use serde_json::json;

use crate::defaults::util::{Obj, child, child_or_create, each_obj, set_default};

/// Applies admissionregistration.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "ValidatingWebhookConfiguration" => each_obj(obj, "webhooks", |w| walk_webhook(w, false)),
        "MutatingWebhookConfiguration" => each_obj(obj, "webhooks", |w| walk_webhook(w, true)),
        "ValidatingAdmissionPolicy" => set_object_defaults_validating_admission_policy(obj),
        "ValidatingAdmissionPolicyBinding" => set_object_defaults_validating_admission_policy_binding(obj),
        _ => return false,
    }
    true
}

/// The fields both webhook kinds default the same way.
fn default_webhook_common(hook: &mut Obj) {
    set_default(hook, "failurePolicy", json!("Fail"));
    set_default(hook, "matchPolicy", json!("Equivalent"));
    set_default(hook, "namespaceSelector", json!({}));
    set_default(hook, "objectSelector", json!({}));
    set_default(hook, "timeoutSeconds", json!(10));
}

/// Mirrors `SetDefaults_ValidatingWebhook`.
pub fn set_defaults_validating_webhook(hook: &mut Obj) {
    default_webhook_common(hook);
}

/// Mirrors `SetDefaults_MutatingWebhook`.
pub fn set_defaults_mutating_webhook(hook: &mut Obj) {
    default_webhook_common(hook);
    set_default(hook, "reinvocationPolicy", json!("Never"));
}

/// Mirrors `SetDefaults_Rule`: rules match both scopes unless told.
pub fn set_defaults_rule(rule: &mut Obj) {
    set_default(rule, "scope", json!("*"));
}

/// Mirrors `SetDefaults_ServiceReference`: port 443.
pub fn set_defaults_service_reference(service: &mut Obj) {
    set_default(service, "port", json!(443));
}

/// Mirrors `SetDefaults_ValidatingAdmissionPolicySpec`.
pub fn set_defaults_validating_admission_policy_spec(spec: &mut Obj) {
    set_default(spec, "failurePolicy", json!("Fail"));
}

/// Mirrors `SetDefaults_MatchResources`.
pub fn set_defaults_match_resources(m: &mut Obj) {
    set_default(m, "matchPolicy", json!("Equivalent"));
    set_default(m, "namespaceSelector", json!({}));
    set_default(m, "objectSelector", json!({}));
}

/// One webhook of either configuration kind, as the generated walk does it.
fn walk_webhook(hook: &mut Obj, mutating: bool) {
    if mutating {
        set_defaults_mutating_webhook(hook);
    } else {
        set_defaults_validating_webhook(hook);
    }
    if let Some(service) = child(hook, "clientConfig").and_then(|c| child(c, "service")) {
        set_defaults_service_reference(service);
    }
    each_obj(hook, "rules", set_defaults_rule);
}

/// Match resources and the rules inside them.
fn walk_match_resources(m: &mut Obj) {
    set_defaults_match_resources(m);
    for list in ["resourceRules", "excludeResourceRules"] {
        each_obj(m, list, set_defaults_rule);
    }
}

/// Mirrors `SetObjectDefaults_ValidatingAdmissionPolicy`.
pub fn set_object_defaults_validating_admission_policy(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_defaults_validating_admission_policy_spec(spec);
    if let Some(m) = child(spec, "matchConstraints") {
        walk_match_resources(m);
    }
}

/// Mirrors `SetObjectDefaults_ValidatingAdmissionPolicyBinding`
/// (`paramRef.parameterNotFoundAction` is required, not defaulted).
pub fn set_object_defaults_validating_admission_policy_binding(obj: &mut Obj) {
    if let Some(m) = child(obj, "spec").and_then(|s| child(s, "matchResources")) {
        walk_match_resources(m);
    }
}
