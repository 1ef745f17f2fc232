//! Unknown and duplicate fields (`fieldValidation=Strict|Warn|Ignore`): found by walking a
//! body against the kind's schema. Built-in kinds never store unknown fields: they are
//! reported (Strict refuses, Warn answers with `Warning` headers) and then dropped, as upstream's
//! typed decoding drops them.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::apply::ApplySchema;
use crate::patch::strategic::PatchMeta;
use crate::patch::strategic::SchemaNode;

/// Whether a schema node accepts keys it does not list (maps, free-form objects).
fn open(node: &SchemaNode<'_>) -> bool {
    let t = node.target();
    t.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || t.get("additionalProperties").is_some()
        || t.get("properties").is_none()
}

/// Removes fields the schema does not know and returns their paths (`spec.foo`,
/// `spec.containers[0].bar`), in document order.
pub fn prune_unknown(obj: &mut Value, node: &SchemaNode<'_>) -> Vec<String> {
    let mut found = Vec::new();
    walk(obj, node, "", &mut found);
    found
}

fn walk(v: &mut Value, node: &SchemaNode<'_>, path: &str, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            let values = node.values();
            let closed = !open(node);
            let mut unknown = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match node.field(key).or(values) {
                    Some(child_node) => walk(child, &child_node, &child_path, found),
                    None if closed && !matches!(key.as_str(), "apiVersion" | "kind") => {
                        found.push(child_path);
                        unknown.push(key.clone());
                    }
                    None => {}
                }
            }
            for key in unknown {
                map.shift_remove(&key);
            }
        }
        Value::Array(items) => {
            if let Some(item_node) = node.items() {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, &item_node, &format!("{path}[{i}]"), found);
                }
            }
        }
        _ => {}
    }
}

/// Paths of fields the schema requires that `obj` lacks (`roleRef`, `spec.containers[0].name`),
/// looked for wherever the object has the enclosing value.
pub fn missing_required<S: ApplySchema>(obj: &Value, node: &S) -> Vec<String> {
    let mut found = Vec::new();
    required_walk(obj, node, &mut String::new(), &mut found);
    found
}

/// `path` is the walk's position, grown and cut back in place (it runs on every write).
fn required_walk<S: ApplySchema>(v: &Value, node: &S, path: &mut String, found: &mut Vec<String>) {
    let len = path.len();
    match v {
        Value::Object(map) => {
            for name in node.required_fields() {
                // The server fills these in itself before validating.
                if path.is_empty() && matches!(name, "metadata" | "apiVersion" | "kind") {
                    continue;
                }
                if map.get(name).is_none_or(Value::is_null) {
                    found.push(if path.is_empty() { name.to_string() } else { format!("{path}.{name}") });
                }
            }
            for (key, child) in map {
                if !matches!(child, Value::Object(_) | Value::Array(_)) {
                    continue;
                }
                if let Some(child_node) = node.child(key) {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    required_walk(child, &child_node, path, found);
                    path.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_node) = node.items() {
                for (i, item) in items.iter().enumerate() {
                    if matches!(item, Value::Object(_) | Value::Array(_)) {
                        use std::fmt::Write;
                        let _ = write!(path, "[{i}]");
                        required_walk(item, &item_node, path, found);
                        path.truncate(len);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Paths of keys that appear twice in one JSON object of `body` (`metadata.name`), which a
/// JSON decoder would otherwise silently resolve to the last one.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = Seed { path: String::new(), found: &mut found }.deserialize(&mut de);
    found
}

struct Seed<'a> {
    path: String,
    found: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq.next_element_seed(Seed { path: format!("{}[{i}]", self.path), found: self.found })?.is_some() {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if !seen.insert(key) {
                self.found.push(path.clone());
            }
            map.next_value_seed(Seed { path, found: self.found })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_and_dropped_but_maps_are_free() {
        let s = schema::schemas();
        let node = s.patch_meta("", "v1", "Pod").unwrap();
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"any": "key"}, "bogus": 1},
            "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolcy": "x"}], "nodeSelector": {"k": "v"}},
            "extra": true,
        });
        let found = prune_unknown(&mut pod, &node);
        assert_eq!(found, ["metadata.bogus", "spec.containers[0].imagePullPolcy", "extra"]);
        assert!(pod["metadata"].get("bogus").is_none() && pod.get("extra").is_none());
        assert_eq!(pod["spec"]["nodeSelector"]["k"], "v");
    }

    #[test]
    fn required_fields_are_reported_where_their_parent_exists() {
        let s = schema::schemas();
        let binding = s.patch_meta("rbac.authorization.k8s.io", "v1", "RoleBinding").unwrap();
        let rb = json!({"metadata": {"name": "b"}, "subjects": [{"kind": "User"}]});
        assert_eq!(missing_required(&rb, &binding), ["roleRef", "subjects[0].name"]);
        let pod = s.patch_meta("", "v1", "Pod").unwrap();
        assert!(missing_required(&json!({"metadata": {}, "spec": {"containers": [{"name": "c"}]}}), &pod).is_empty());
    }

    #[test]
    fn duplicate_keys_are_reported_with_their_paths() {
        let body = br#"{"metadata": {"name": "a", "name": "b"}, "spec": {"containers": [{"name": "x", "image": "i", "image": "j"}]}}"#;
        assert_eq!(duplicate_fields(body), ["metadata.name", "spec.containers[0].image"]);
        assert!(duplicate_fields(br#"{"a": {"b": 1}, "b": 2}"#).is_empty());
    }
}
