//! The strategy of CustomResourceDefinitions themselves: upstream's defaults (singular and list
//! kind, conversion), validation of names, scope, versions and schemas, what may not change,
//! and the cleanup finalizer that makes deleting a definition delete its objects first.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::schema;
use crate::object;
use crate::registry::Strategy;
use crate::status::Cause;
use crate::validation::{self, NameRule};

pub struct Definitions;

/// Deleting a definition waits on this until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
        map.insert(key.to_string(), value);
    }
}

fn apply_defaults(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        set_default(names, "singular", json!(kind.to_lowercase()));
        set_default(names, "listKind", json!(format!("{kind}List")));
    }
    set_default(spec, "conversion", json!({"strategy": "None"}));
}

fn storage_version(obj: &Value) -> Option<&str> {
    obj.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage") == Some(&Value::Bool(true)))?
        .get("name")?
        .as_str()
}

#[async_trait]
impl Strategy for Definitions {
    fn status_split(&self) -> bool {
        true
    }

    fn bumps_generation(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        apply_defaults(obj);
        let stored = storage_version(obj).map(|v| vec![json!(v)]).unwrap_or_default();
        if let Some(map) = obj.as_object_mut() {
            map.insert(
                "status".into(),
                json!({"conditions": [], "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored}),
            );
        }
        let mut finalizers = object::finalizers(obj);
        if !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
            finalizers.push(CLEANUP_FINALIZER.into());
            object::set_meta(obj, "finalizers", json!(finalizers));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        apply_defaults(new);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        let mut causes = Vec::new();
        let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        let (group, plural, kind) = (text("/spec/group"), text("/spec/names/plural"), text("/spec/names/kind"));
        if group.is_empty() {
            causes.push(Cause::required("spec.group"));
        } else if !group.contains('.') {
            causes.push(Cause::invalid("spec.group", &json!(group), "should be a domain with at least one dot"));
        } else if let Some(problem) = validation::name_problem(NameRule::Subdomain, group) {
            causes.push(Cause::invalid("spec.group", &json!(group), &problem));
        }
        if plural.is_empty() {
            causes.push(Cause::required("spec.names.plural"));
        } else if let Some(problem) = validation::name_problem(NameRule::Label, plural) {
            causes.push(Cause::invalid("spec.names.plural", &json!(plural), &problem));
        }
        if kind.is_empty() {
            causes.push(Cause::required("spec.names.kind"));
        }
        let name = object::name(obj);
        if !name.is_empty() && name != format!("{plural}.{group}") {
            causes.push(Cause::invalid("metadata.name", &json!(name), "must be spec.names.plural+\".\"+spec.group"));
        }
        let scope = obj.pointer("/spec/scope").cloned().unwrap_or(Value::Null);
        if !matches!(scope.as_str(), Some("Namespaced" | "Cluster")) {
            causes.push(Cause::not_supported("spec.scope", &scope, &["Cluster", "Namespaced"]));
        }
        let versions = obj.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
        if versions.is_empty() {
            causes.push(Cause::required("spec.versions"));
        }
        let storage = versions.iter().filter(|v| v.get("storage") == Some(&Value::Bool(true))).count();
        if !versions.is_empty() && storage != 1 {
            causes.push(Cause::invalid(
                "spec.versions",
                &Value::Array(versions.clone()),
                "must have exactly one version marked as storage version",
            ));
        }
        if !versions.is_empty() && !versions.iter().any(|v| v.get("served") == Some(&Value::Bool(true))) {
            causes.push(Cause::invalid(
                "spec.versions",
                &Value::Array(versions.clone()),
                "must have at least one version that is served",
            ));
        }
        for (i, v) in versions.iter().enumerate() {
            if v.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                causes.push(Cause::required(format!("spec.versions[{i}].name")));
            }
            match v.pointer("/schema/openAPIV3Schema") {
                None => causes.push(Cause::required(format!("spec.versions[{i}].schema.openAPIV3Schema"))),
                Some(s) => {
                    let base = format!("spec.versions[{i}].schema.openAPIV3Schema");
                    let mut problems = schema::structural_problems_at(s, &base);
                    problems.extend(schema::rule_problems(s, &base));
                    causes.extend(problems.into_iter().map(|e| Cause {
                        reason: e.reason,
                        field: e.field,
                        message: e.message,
                    }));
                }
            }
        }
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        for (pointer, field) in [("/spec/group", "spec.group"), ("/spec/names/plural", "spec.names.plural")] {
            if new.pointer(pointer) != old.pointer(pointer) {
                causes.push(Cause::invalid(field, new.pointer(pointer).unwrap_or(&Value::Null), "field is immutable"));
            }
        }
        causes
    }

    fn return_deleted_object(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, group: &str, versions: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"}, "versions": versions}})
    }

    fn version(name: &str, storage: bool) -> Value {
        json!({"name": name, "served": true, "storage": storage, "schema": {"openAPIV3Schema": {"type": "object"}}})
    }

    #[test]
    fn defaults_status_and_finalizer_on_create() {
        let mut obj = crd("widgets.example.com", "example.com", json!([version("v1", true)]));
        Definitions.prepare_for_create(&mut obj);
        assert_eq!(obj["spec"]["names"]["singular"], "widget");
        assert_eq!(obj["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(obj["status"]["storedVersions"], json!(["v1"]));
        assert_eq!(object::finalizers(&obj), [CLEANUP_FINALIZER]);
        assert!(Definitions.validate(&obj).is_empty(), "{:?}", Definitions.validate(&obj));
    }

    #[test]
    fn names_versions_and_scope_are_checked() {
        let wrong_name = crd("gadgets.example.com", "example.com", json!([version("v1", true)]));
        assert_eq!(Definitions.validate(&wrong_name)[0].field, "metadata.name");
        let two_storage = crd("widgets.example.com", "example.com", json!([version("v1", true), version("v2", true)]));
        assert!(Definitions.validate(&two_storage)[0].message.contains("exactly one version"));
        let no_dot = crd("widgets.example", "example", json!([version("v1", true)]));
        assert_eq!(Definitions.validate(&no_dot)[0].field, "spec.group");
        let old = crd("widgets.example.com", "example.com", json!([version("v1", true)]));
        let mut regrouped = old.clone();
        regrouped["spec"]["group"] = json!("other.com");
        assert!(Definitions.validate_update(&regrouped, &old).iter().any(|c| c.message.contains("immutable")));
    }
}
