//! Kubernetes 1.33 built-in API defaulting (upstream's `pkg/apis/<group>/<version>/defaults.go`), as pure functions over
//! `serde_json::Value`.
//!
//! [`default_object`] applies to a request body what upstream's scheme
//! defaulting applies when it decodes that body: the hand-written
//! `SetDefaults_*` functions, the declarative `+default` tags, and the
//! generated `SetObjectDefaults_*` walks that reach nested types (a pod spec
//! inside a CronJob's job template, every container list, volumes, probes...).
//! Feature-gated defaults follow the gates' 1.33 default values.
//!
//! One module per upstream group/version; each function is named after the
//! upstream defaulter it mirrors. Strategy-time work (PrepareForCreate,
//! allocations, admission plugins) is not defaulting and is not done here;
//! NOTES.md lists what upstream does there.

pub mod admissionregistration_v1;
pub mod apiextensions_v1;
pub mod apiregistration_v1;
pub mod apps_v1;
pub mod authentication_v1;
pub mod autoscaling_v1;
pub mod autoscaling_v2;
pub mod batch_v1;
pub mod core_v1;
pub mod discovery_v1;
pub mod flowcontrol_v1;
pub mod image;
pub mod networking_v1;
pub mod quantity;
pub mod rbac_v1;
pub mod scheduling_v1;
pub mod storage_v1;
mod util;

use serde_json::Value;

use util::Obj;

/// Group/versions served by default in 1.33 whose kinds upstream registers
/// no defaulter for at all (listed so callers can tell "known, nothing to
/// do" from "unknown").
const WITHOUT_DEFAULTERS: [(&str, &str, &[&str]); 6] = [
    ("policy", "v1", &["PodDisruptionBudget", "Eviction"]),
    ("events.k8s.io", "v1", &["Event"]),
    ("coordination.k8s.io", "v1", &["Lease"]),
    ("certificates.k8s.io", "v1", &["CertificateSigningRequest"]),
    ("node.k8s.io", "v1", &["RuntimeClass"]),
    (
        "authorization.k8s.io",
        "v1",
        &["SubjectAccessReview", "SelfSubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectRulesReview"],
    ),
];

/// Applies upstream's defaulting for `group`/`version`/`kind` to `obj` in
/// place. `group` is `""` (or `"core"`) for the legacy group. Unknown
/// group/version/kinds, versions not served by default in 1.33, and
/// non-object values are left untouched. A `<Kind>List` with `items` has each
/// item defaulted as `<Kind>`.
pub fn default_object(group: &str, version: &str, kind: &str, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else { return };
    if dispatch(group, version, kind, map) {
        return;
    }
    if let Some(item_kind) = kind.strip_suffix("List")
        && known_kind(group, version, item_kind)
        && let Some(items) = map.get_mut("items").and_then(Value::as_array_mut)
    {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            dispatch(group, version, item_kind, item);
        }
    }
}

/// Whether `kind` is a built-in kind of a group/version served by default in
/// 1.33 (whether or not upstream has anything to default on it).
pub fn known_kind(group: &str, version: &str, kind: &str) -> bool {
    let mut probe = Obj::new();
    dispatch(group, version, kind, &mut probe)
        || WITHOUT_DEFAULTERS.iter().any(|(g, v, kinds)| *g == group && *v == version && kinds.contains(&kind))
}

fn dispatch(group: &str, version: &str, kind: &str, obj: &mut Obj) -> bool {
    match (group, version) {
        ("" | "core", "v1") => core_v1::default_kind(kind, obj),
        ("apps", "v1") => apps_v1::default_kind(kind, obj),
        ("batch", "v1") => batch_v1::default_kind(kind, obj),
        ("autoscaling", "v1") => autoscaling_v1::default_kind(kind, obj),
        ("autoscaling", "v2") => autoscaling_v2::default_kind(kind, obj),
        ("networking.k8s.io", "v1") => networking_v1::default_kind(kind, obj),
        ("rbac.authorization.k8s.io", "v1") => rbac_v1::default_kind(kind, obj),
        ("storage.k8s.io", "v1") => storage_v1::default_kind(kind, obj),
        ("scheduling.k8s.io", "v1") => scheduling_v1::default_kind(kind, obj),
        ("admissionregistration.k8s.io", "v1") => admissionregistration_v1::default_kind(kind, obj),
        ("discovery.k8s.io", "v1") => discovery_v1::default_kind(kind, obj),
        ("flowcontrol.apiserver.k8s.io", "v1") => flowcontrol_v1::default_kind(kind, obj),
        ("authentication.k8s.io", "v1") => authentication_v1::default_kind(kind, obj),
        ("apiextensions.k8s.io", "v1") => apiextensions_v1::default_kind(kind, obj),
        ("apiregistration.k8s.io", "v1") => apiregistration_v1::default_kind(kind, obj),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
