//! The strategy of custom resources: one per served version of a definition, built from that
//! version's schema, subresources, printer columns and selectable fields.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::conversion::Webhook;
use super::printer::Column;
use super::schema;
use crate::apply::{Compiled, CompiledNode};
use crate::patch::strategic::SchemaNode;
use crate::registry::Strategy;
use crate::registry::strategy::ScalePaths;
use crate::status::{ApiError, Cause};

/// A custom resource's schema is self-contained: no `$ref`s to resolve.
static NO_DEFS: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

pub struct CustomResources {
    /// The version's `openAPIV3Schema` (`None`: anything goes, as upstream's v1beta1 allowed).
    schema: Option<Value>,
    /// The same schema compiled once for server-side apply and managedFields.
    compiled: Option<Compiled>,
    /// Its `x-kubernetes-validations`, compiled once (`None`: the schema has no rules).
    rules: Option<schema::Rules>,
    status: bool,
    scale: Option<ScalePaths>,
    columns: Vec<Column>,
    selectable: Vec<String>,
    conversion: Option<std::sync::Arc<Webhook>>,
    /// The definition is being deleted: its objects can be read, changed and deleted (so their
    /// finalizers can finish), not created.
    terminating: bool,
}

impl CustomResources {
    /// The strategy of one entry of a definition's `spec.versions` (with the definition's
    /// conversion webhook, if it has one).
    pub fn for_version(version: &Value, conversion: Option<std::sync::Arc<Webhook>>, terminating: bool) -> Self {
        let schema = version.pointer("/schema/openAPIV3Schema").cloned();
        let compiled = schema.as_ref().map(|s| Compiled::new(&SchemaNode::new(s, &NO_DEFS)));
        let rules = schema.as_ref().and_then(schema::Rules::new);
        let columns = version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(Column::from_definition).collect())
            .unwrap_or_default();
        let selectable = version
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|f| {
                f.iter()
                    .filter_map(|f| f.get("jsonPath")?.as_str())
                    .map(|p| p.trim_start_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            schema,
            compiled,
            rules,
            status: version.pointer("/subresources/status").is_some(),
            scale: version.pointer("/subresources/scale").and_then(ScalePaths::from_definition),
            columns,
            selectable,
            conversion,
            terminating,
        }
    }

    /// The schema's validation, then (when that passes, as upstream) its CEL rules. On update,
    /// errors about values the update did not change are dropped (upstream's validation
    /// ratcheting), so tightening a schema does not lock existing objects.
    fn check(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let Some(s) = &self.schema else { return Vec::new() };
        let ratchet = |errors: Vec<schema::FieldError>| -> Vec<schema::FieldError> {
            match old {
                Some(old) => errors.into_iter().filter(|e| !unchanged(obj, old, e)).collect(),
                None => errors,
            }
        };
        let mut errors = ratchet(schema::validate(obj, s));
        if errors.is_empty()
            && let Some(rules) = &self.rules
        {
            errors = ratchet(rules.check(obj, old));
        }
        errors.into_iter().map(|e| Cause { reason: e.reason, field: e.field, message: e.message }).collect()
    }

    fn with_defaults(&self, obj: &mut Value) {
        if let Some(s) = &self.schema {
            schema::apply_defaults(obj, s);
        }
    }
}

/// Whether the value an error is about is the same in the old object (a missing required field:
/// its parent object). The root (`<nil>`) never ratchets.
fn unchanged(new: &Value, old: &Value, e: &schema::FieldError) -> bool {
    if e.field == "<nil>" || e.field.is_empty() {
        return false;
    }
    let mut segments = path_segments(&e.field);
    if e.reason == "FieldValueRequired" {
        segments.pop();
    }
    let at = |root: &Value| -> Option<Value> {
        let mut node = root;
        for s in &segments {
            node = match node {
                Value::Array(items) => items.get(s.parse::<usize>().ok()?)?,
                Value::Object(map) => map.get(s.as_str())?,
                _ => return None,
            };
        }
        Some(node.clone())
    };
    at(new) == at(old)
}

/// `spec.items[0].name` / `spec.labels[app]` as segments.
fn path_segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(rest[..i].to_string());
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                out.push(rest[1..end].to_string());
                rest = &rest[end + 1..];
                if !rest.starts_with('[') {
                    break;
                }
            }
        } else if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

#[async_trait]
impl Strategy for CustomResources {
    fn custom(&self) -> bool {
        true
    }

    fn status_split(&self) -> bool {
        self.status
    }

    fn bumps_generation(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if self.status
            && let Some(map) = obj.as_object_mut()
        {
            map.shift_remove("status");
        }
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        self.check(obj, None)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        self.check(new, Some(old))
    }

    fn prune(&self, obj: &mut Value) -> Option<Vec<String>> {
        Some(self.schema.as_ref().map(|s| schema::prune(obj, s)).unwrap_or_default())
    }

    fn default_fields(&self, obj: &mut Value) {
        self.with_defaults(obj);
    }

    async fn admit_create(&self, _ctx: &crate::registry::Ctx<'_>, _obj: &mut Value) -> Result<(), ApiError> {
        if self.terminating {
            return Err(ApiError::method_not_allowed(
                "create not allowed while custom resource definition is terminating",
            ));
        }
        Ok(())
    }

    fn conversion(&self) -> Option<&Webhook> {
        self.conversion.as_deref()
    }

    fn scale_paths(&self) -> Option<&ScalePaths> {
        self.scale.as_ref()
    }

    fn selectable_fields(&self) -> &[String] {
        &self.selectable
    }

    fn printer_columns(&self) -> Option<&[Column]> {
        Some(&self.columns)
    }

    fn openapi_schema(&self) -> Option<&Value> {
        self.schema.as_ref()
    }

    fn field_schema(&self) -> Option<CompiledNode<'_>> {
        self.compiled.as_ref().map(Compiled::root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(spec: Value) -> Value {
        json!({"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object",
            "properties": {"spec": spec}}}})
    }

    #[test]
    fn updates_ratchet_errors_on_unchanged_values() {
        let strategy = CustomResources::for_version(
            &version(json!({"type": "object", "properties": {
                "size": {"type": "integer", "maximum": 5},
                "name": {"type": "string", "maxLength": 3},
                "ports": {"type": "array", "items": {"type": "integer", "minimum": 1}}}})),
            None,
            false,
        );
        // Stored before the schema tightened: size 9, name "long".
        let old = json!({"spec": {"size": 9, "name": "long", "ports": [0]}});
        let mut new = old.clone();
        new["spec"]["ports"] = json!([0, 2]);
        assert!(strategy.validate_update(&new, &old).is_empty(), "{:?}", strategy.validate_update(&new, &old));
        new["spec"]["size"] = json!(8);
        let errors = strategy.validate_update(&new, &old);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "spec.size");
        assert_eq!(strategy.validate(&old).len(), 3, "creates do not ratchet");
        assert_eq!(path_segments("spec.items[0].labels[app]"), ["spec", "items", "0", "labels", "app"]);
    }
}
