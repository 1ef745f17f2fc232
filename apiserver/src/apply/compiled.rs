//! A schema compiled for field-ownership walks: every `$ref` and `allOf` wrapper resolved once,
//! every keyword the walks read pulled out of the JSON, properties looked up by binary search.
//! Recording managedFields on each write walks the whole object against its schema, and doing
//! that over the raw OpenAPI JSON (hashing long definition names at every step) cost more than
//! the rest of a create.

use std::collections::HashMap;

use serde_json::Value;

use std::borrow::Cow;

use super::ApplySchema;
use super::schema::Kind;
use crate::patch::strategic::{PatchMeta, SchemaNode};

#[derive(Debug, Default)]
struct Node {
    json_type: Option<String>,
    /// Sorted by name.
    properties: Vec<(String, usize)>,
    items: Option<usize>,
    values: Option<usize>,
    patch_strategy: Option<String>,
    patch_merge_key: Option<String>,
    list_type: Option<String>,
    list_map_keys: Option<Vec<String>>,
    map_type: Option<String>,
    required: Vec<String>,
    default: Option<Value>,
    nullable: bool,
    kind: Option<Kind>,
    implied: Vec<String>,
}

/// A whole schema (one kind), compiled.
#[derive(Debug, Default)]
pub struct Compiled {
    nodes: Vec<Node>,
}

/// One node of a compiled schema.
#[derive(Debug, Clone, Copy)]
pub struct CompiledNode<'a> {
    schema: &'a Compiled,
    id: usize,
}

impl Compiled {
    /// Compiles the schema `root` refers to (every node reachable from it).
    pub fn new(root: &SchemaNode<'_>) -> Self {
        let mut compiled = Self::default();
        let mut seen = HashMap::new();
        compiled.add(root, &mut seen);
        compiled
    }

    pub fn root(&self) -> CompiledNode<'_> {
        CompiledNode { schema: self, id: 0 }
    }

    /// Adds `node` (memoized by the address of the JSON it is written as, which also ends
    /// recursion through self-referencing definitions) and returns its id.
    fn add(&mut self, node: &SchemaNode<'_>, seen: &mut HashMap<*const Value, usize>) -> usize {
        let key = node.schema as *const Value;
        if let Some(&id) = seen.get(&key) {
            return id;
        }
        let id = self.nodes.len();
        seen.insert(key, id);
        self.nodes.push(Node::default());
        let names: Vec<String> = node.property_names().into_iter().map(str::to_string).collect();
        let mut properties = Vec::with_capacity(names.len());
        for name in names {
            if let Some(child) = node.field(&name) {
                let child_id = self.add(&child, seen);
                properties.push((name, child_id));
            }
        }
        properties.sort_by(|a, b| a.0.cmp(&b.0));
        let items = node.items().map(|n| self.add(&n, seen));
        let values = node.values().map(|n| self.add(&n, seen));
        let target = node.target();
        self.nodes[id] = Node {
            json_type: node.json_type().map(str::to_string),
            properties,
            items,
            values,
            patch_strategy: node.patch_strategy().map(str::to_string),
            patch_merge_key: node.patch_merge_key().map(str::to_string),
            list_type: node.list_type().map(str::to_string),
            list_map_keys: node.list_map_keys().map(|k| k.into_iter().map(str::to_string).collect()),
            map_type: node.map_type().map(str::to_string),
            required: target
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            default: node.default_value().cloned(),
            nullable: node.nullable(),
            kind: Some(node.kind()),
            implied: node.implied_fields().into_owned(),
        };
        id
    }
}

impl CompiledNode<'_> {
    fn node(&self) -> &Node {
        &self.schema.nodes[self.id]
    }

    fn at(&self, id: Option<usize>) -> Option<Self> {
        id.map(|id| Self { schema: self.schema, id })
    }
}

impl PatchMeta for CompiledNode<'_> {
    fn field(&self, name: &str) -> Option<Self> {
        let properties = &self.node().properties;
        let found = properties.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok();
        self.at(found.map(|i| properties[i].1))
    }
    fn items(&self) -> Option<Self> {
        self.at(self.node().items)
    }
    fn values(&self) -> Option<Self> {
        self.at(self.node().values)
    }
    fn patch_strategy(&self) -> Option<&str> {
        self.node().patch_strategy.as_deref()
    }
    fn patch_merge_key(&self) -> Option<&str> {
        self.node().patch_merge_key.as_deref()
    }
}

impl ApplySchema for CompiledNode<'_> {
    fn json_type(&self) -> Option<&str> {
        self.node().json_type.as_deref()
    }
    fn list_type(&self) -> Option<&str> {
        self.node().list_type.as_deref()
    }
    fn list_map_keys(&self) -> Option<Vec<&str>> {
        self.node().list_map_keys.as_ref().map(|k| k.iter().map(String::as_str).collect())
    }
    fn map_type(&self) -> Option<&str> {
        self.node().map_type.as_deref()
    }
    fn declares(&self, name: &str) -> bool {
        self.node().properties.binary_search_by(|(n, _)| n.as_str().cmp(name)).is_ok()
    }
    fn property_names(&self) -> Vec<&str> {
        self.node().properties.iter().map(|(n, _)| n.as_str()).collect()
    }
    fn requires(&self, name: &str) -> bool {
        self.node().required.iter().any(|r| r == name)
    }
    fn required_fields(&self) -> Vec<&str> {
        self.node().required.iter().map(String::as_str).collect()
    }
    fn default_value(&self) -> Option<&Value> {
        self.node().default.as_ref()
    }
    fn nullable(&self) -> bool {
        self.node().nullable
    }
    fn child(&self, key: &str) -> Option<Self> {
        let properties = &self.node().properties;
        match properties.binary_search_by(|(n, _)| n.as_str().cmp(key)) {
            Ok(i) => self.at(Some(properties[i].1)),
            Err(_) => self.values(),
        }
    }
    fn kind(&self) -> Kind {
        self.node().kind.clone().unwrap_or(Kind::Untyped)
    }
    fn implied_fields(&self) -> Cow<'_, [String]> {
        Cow::Borrowed(&self.node().implied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_nodes_answer_like_the_json_schema() {
        let s = crate::schema::schemas();
        let raw = s.patch_meta("apps", "v1", "Deployment").unwrap();
        let compiled = Compiled::new(&raw);
        let (a, b) = (raw, compiled.root());
        let ra = a
            .field("spec")
            .and_then(|n| n.field("template"))
            .and_then(|n| n.field("spec"))
            .and_then(|n| n.field("containers"))
            .unwrap();
        let rb = b
            .field("spec")
            .and_then(|n| n.field("template"))
            .and_then(|n| n.field("spec"))
            .and_then(|n| n.field("containers"))
            .unwrap();
        assert_eq!((ra.patch_merge_key(), ra.list_type()), (rb.patch_merge_key(), rb.list_type()));
        assert_eq!(ra.list_map_keys(), rb.list_map_keys());
        let (pa, pb) = (ra.items().unwrap(), rb.items().unwrap());
        let mut names_a = pa.property_names();
        names_a.sort();
        assert_eq!(names_a, pb.property_names());
        assert_eq!(pa.requires("name"), pb.requires("name"));
        assert!(b.field("nope").is_none());
    }

    /// The compiled schema records the same managedFields as the JSON one it came from.
    #[test]
    fn compiled_schema_records_the_same_fields() {
        let s = crate::schema::schemas();
        let objects = [
            (
                "apps",
                "v1",
                "Deployment",
                serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "b"}},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "X", "value": "1"}]}], "tolerations": [{"key": "k"}]}}}}),
            ),
            (
                "",
                "v1",
                "Service",
                serde_json::json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}], "selector": {"a": "b"}}}),
            ),
        ];
        for (group, version, kind, object) in objects {
            let raw = s.patch_meta(group, version, kind).unwrap();
            let compiled = s.compiled(group, version, kind).unwrap();
            let (mut a, mut b) = (object.clone(), object);
            super::super::record_update(None, &mut a, "m", None, Some(&raw), "2024-01-01T00:00:00Z");
            super::super::record_update(None, &mut b, "m", None, Some(&compiled.root()), "2024-01-01T00:00:00Z");
            assert_eq!(a, b, "{kind}");
            assert!(a.pointer("/metadata/managedFields/0/fieldsV1/f:spec").is_some(), "{kind}: {a}");
        }
    }
}
