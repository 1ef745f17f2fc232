//! The strategy of custom resources: one per served version of a definition, built from that
//! version's schema, subresources, printer columns and selectable fields.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::printer::Column;
use super::schema;
use crate::apply::{Compiled, CompiledNode};
use crate::patch::strategic::SchemaNode;
use crate::registry::Strategy;
use crate::status::Cause;

/// A custom resource's schema is self-contained: no `$ref`s to resolve.
static NO_DEFS: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

pub struct CustomResources {
    /// The version's `openAPIV3Schema` (`None`: anything goes, as upstream's v1beta1 allowed).
    schema: Option<Value>,
    /// The same schema compiled once for server-side apply and managedFields.
    compiled: Option<Compiled>,
    status: bool,
    columns: Vec<Column>,
}

impl CustomResources {
    pub fn new(schema: Option<Value>, status: bool, columns: Vec<Column>) -> Self {
        let compiled = schema.as_ref().map(|s| Compiled::new(&SchemaNode::new(s, &NO_DEFS)));
        Self { schema, compiled, status, columns }
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
        self.with_defaults(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        self.with_defaults(new);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        let Some(s) = &self.schema else { return Vec::new() };
        schema::validate(obj, s)
            .into_iter()
            .map(|e| Cause { reason: e.reason, field: e.field, message: e.message })
            .collect()
    }

    fn prune(&self, obj: &mut Value) -> Option<Vec<String>> {
        Some(self.schema.as_ref().map(|s| schema::prune(obj, s)).unwrap_or_default())
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
