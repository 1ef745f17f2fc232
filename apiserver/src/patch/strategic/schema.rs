//! [`PatchMeta`] over an OpenAPI v3 document's schemas.

use serde_json::{Map, Value};

use super::PatchMeta;

const PATCH_STRATEGY: &str = "x-kubernetes-patch-strategy";
const PATCH_MERGE_KEY: &str = "x-kubernetes-patch-merge-key";
/// Bounds `$ref` chains so a cyclic document cannot hang a lookup.
const MAX_HOPS: usize = 32;

/// One node of an OpenAPI v3 schema: a definition, a property or an `items` schema.
///
/// The patch extensions are read from the node itself, not from what it refers to, because
/// upstream documents put them on the property (`{"allOf": [{"$ref": ...}],
/// "x-kubernetes-patch-strategy": "retainKeys"}`, or an array property next to its `items`).
#[derive(Debug, Clone, Copy)]
pub struct SchemaNode<'a> {
    /// The node as written, possibly a `$ref` or `allOf` wrapper.
    pub schema: &'a Value,
    /// `components.schemas` of the document, to resolve `$ref`s against.
    pub defs: &'a Map<String, Value>,
}

impl<'a> SchemaNode<'a> {
    pub fn new(schema: &'a Value, defs: &'a Map<String, Value>) -> Self {
        Self { schema, defs }
    }

    /// The node of definition `name` (e.g. "io.k8s.api.core.v1.Pod").
    pub fn definition(name: &str, defs: &'a Map<String, Value>) -> Option<Self> {
        defs.get(name).map(|schema| Self::new(schema, defs))
    }

    /// The schema this node stands for, through single-element `allOf` wrappers and `$ref`s.
    pub fn target(&self) -> &'a Value {
        let mut node = self.schema;
        for _ in 0..MAX_HOPS {
            if let Some([only]) = node.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
                node = only;
                continue;
            }
            let next = node
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/").or_else(|| r.strip_prefix("#/definitions/")))
                .and_then(|name| self.defs.get(name));
            match next {
                Some(next) => node = next,
                None => break,
            }
        }
        node
    }

    fn child(&self, schema: Option<&'a Value>) -> Option<Self> {
        // `additionalProperties: true` and friends describe nothing to merge by.
        schema.filter(|s| s.is_object()).map(|schema| Self::new(schema, self.defs))
    }
}

impl PatchMeta for SchemaNode<'_> {
    fn field(&self, name: &str) -> Option<Self> {
        self.child(self.target().get("properties").and_then(|p| p.get(name)))
    }

    fn items(&self) -> Option<Self> {
        self.child(self.target().get("items"))
    }

    fn values(&self) -> Option<Self> {
        self.child(self.target().get("additionalProperties"))
    }

    fn patch_strategy(&self) -> Option<&str> {
        self.schema.get(PATCH_STRATEGY).and_then(Value::as_str)
    }

    fn patch_merge_key(&self) -> Option<&str> {
        self.schema.get(PATCH_MERGE_KEY).and_then(Value::as_str)
    }
}
