//! Namespaces: phase Active/Terminating, the `kubernetes` finalizer in `spec.finalizers` that
//! the namespace controller removes once the namespace is empty, and the namespaces that may
//! never be deleted.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Strategy;
use crate::object;
use crate::status::ApiError;
use crate::validation::NameRule;

pub struct Namespaces;

/// Upstream refuses to delete these.
const PROTECTED: &[&str] = &["default", "kube-system", "kube-public"];

#[async_trait]
impl Strategy for Namespaces {
    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }

    fn status_split(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Active"}));
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if let Some(spec) = spec.as_object_mut() {
                let finalizers = spec.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(list) = finalizers.as_array_mut()
                    && !list.iter().any(|f| f == "kubernetes")
                {
                    list.push(json!("kubernetes"));
                }
            }
        }
        // kubernetes.io/metadata.name is always the namespace's name (upstream sets it).
        let name = object::name(obj).to_string();
        let labels = object::metadata_mut(obj).entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // spec.finalizers change only through the finalize subresource.
        if let (Some(map), Some(spec)) = (new.as_object_mut(), old.get("spec")) {
            map.insert("spec".into(), spec.clone());
        }
        let name = object::name(old).to_string();
        let labels = object::metadata_mut(new).entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }

    fn check_delete(&self, obj: &Value) -> Result<(), ApiError> {
        let name = object::name(obj);
        if PROTECTED.contains(&name) {
            return Err(ApiError::forbidden("", "namespaces", name, "this namespace may not be deleted"));
        }
        Ok(())
    }

    fn finalized(&self, obj: &Value) -> bool {
        crate::object::finalizers(obj).is_empty()
            && obj.pointer("/spec/finalizers").and_then(Value::as_array).is_none_or(|f| f.is_empty())
    }

    fn begin_deletion(&self, obj: &mut Value) -> bool {
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Terminating"}));
        }
        obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
    }

    fn return_deleted_object(&self) -> bool {
        true
    }
}
