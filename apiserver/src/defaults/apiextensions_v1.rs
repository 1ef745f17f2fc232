//! apiextensions.k8s.io/v1: apiextensions-apiserver's
//! `pkg/apis/apiextensions/v1/defaults.go` and its generated walk.

use serde_json::{Value, json};

use crate::defaults::util::{Obj, child, child_or_create, is_empty, is_unset, str_of};

/// Applies apiextensions.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "CustomResourceDefinition" => set_object_defaults_custom_resource_definition(obj),
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_CustomResourceDefinition`: the spec, then
/// `status.storedVersions` from the storage version when empty.
pub fn set_defaults_custom_resource_definition(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_defaults_custom_resource_definition_spec(spec);
    let storage = spec
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|v| v.get("storage") == Some(&Value::Bool(true)))
        .and_then(|v| v.get("name"))
        .cloned();
    let Some(name) = storage else { return };
    if let Some(status) = child_or_create(obj, "status")
        && is_empty(status.get("storedVersions"))
    {
        status.insert("storedVersions".into(), json!([name]));
    }
}

/// Mirrors `SetDefaults_CustomResourceDefinitionSpec`: singular and list
/// kind from the kind, and the `None` conversion strategy.
pub fn set_defaults_custom_resource_definition_spec(spec: &mut Obj) {
    if let Some(names) = child(spec, "names") {
        let kind = str_of(names, "kind").to_string();
        if is_empty(names.get("singular")) && !kind.is_empty() {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if is_empty(names.get("listKind")) && !kind.is_empty() {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    if is_unset(spec.get("conversion")) {
        spec.insert("conversion".into(), json!({"strategy": "None"}));
    }
}

/// Mirrors `SetDefaults_ServiceReference`: port 443.
pub fn set_defaults_service_reference(service: &mut Obj) {
    crate::defaults::util::set_default(service, "port", json!(443));
}

/// Mirrors `SetObjectDefaults_CustomResourceDefinition`.
pub fn set_object_defaults_custom_resource_definition(obj: &mut Obj) {
    set_defaults_custom_resource_definition(obj);
    let service = child(obj, "spec")
        .and_then(|s| child(s, "conversion"))
        .and_then(|c| child(c, "webhook"))
        .and_then(|w| child(w, "clientConfig"))
        .and_then(|c| child(c, "service"));
    if let Some(service) = service {
        set_defaults_service_reference(service);
    }
}
