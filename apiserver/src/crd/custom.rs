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

    /// The schema's validation, then (when that passes, as upstream) its CEL rules.
    fn check(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let Some(s) = &self.schema else { return Vec::new() };
        let mut errors = schema::validate(obj, s);
        if errors.is_empty()
            && let Some(rules) = &self.rules
        {
            errors = rules.check(obj, old);
        }
        errors.into_iter().map(|e| Cause { reason: e.reason, field: e.field, message: e.message }).collect()
    }

    fn with_defaults(&self, obj: &mut Value) {
        if let Some(s) = &self.schema {
            schema::apply_defaults(obj, s);
        }
    }
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
