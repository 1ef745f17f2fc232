//! rbac.authorization.k8s.io/v1: upstream's `pkg/apis/rbac/v1/defaults.go`.
//! Role and ClusterRole have no defaulters.

use serde_json::json;

use crate::defaults::util::{Obj, child_or_create, each_obj, is_empty, str_of};

const GROUP: &str = "rbac.authorization.k8s.io";

/// Applies rbac.authorization.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "RoleBinding" => {
            set_defaults_role_binding(obj);
            each_obj(obj, "subjects", set_defaults_subject);
        }
        "ClusterRoleBinding" => {
            set_defaults_cluster_role_binding(obj);
            each_obj(obj, "subjects", set_defaults_subject);
        }
        "Role" | "ClusterRole" => {}
        _ => return false,
    }
    true
}

fn default_role_ref(obj: &mut Obj) {
    if let Some(role_ref) = child_or_create(obj, "roleRef")
        && is_empty(role_ref.get("apiGroup"))
    {
        role_ref.insert("apiGroup".into(), json!(GROUP));
    }
}

/// Mirrors `SetDefaults_ClusterRoleBinding`: roleRef.apiGroup.
pub fn set_defaults_cluster_role_binding(obj: &mut Obj) {
    default_role_ref(obj);
}

/// Mirrors `SetDefaults_RoleBinding`: roleRef.apiGroup.
pub fn set_defaults_role_binding(obj: &mut Obj) {
    default_role_ref(obj);
}

/// Mirrors `SetDefaults_Subject`: users and groups belong to the RBAC
/// group, service accounts to the core group ("" is left as it is).
pub fn set_defaults_subject(subject: &mut Obj) {
    if !is_empty(subject.get("apiGroup")) {
        return;
    }
    if matches!(str_of(subject, "kind"), "User" | "Group") {
        subject.insert("apiGroup".into(), json!(GROUP));
    }
}
