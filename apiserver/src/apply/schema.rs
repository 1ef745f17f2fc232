//! What server-side apply needs to know about a type's schema, and how upstream's structured
//! merge reads it: which nodes are leaves, which maps and lists merge item by item, and what
//! identifies a list item.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::fieldset::PathElement;
use crate::patch::strategic::{NoSchema, PatchMeta, SchemaNode};

/// One node of a type's schema, as server-side apply reads it. Navigation (`field`, `items`,
/// `values`) and the patch extensions come from [`PatchMeta`].
pub trait ApplySchema: PatchMeta {
    /// The JSON type the node declares ("object", "array", "string", ...); `None` when it leaves
    /// the type open (no schema, int-or-string, preserve-unknown-fields without a type).
    fn json_type(&self) -> Option<&str>;
    /// `x-kubernetes-list-type`: "atomic", "set" or "map".
    fn list_type(&self) -> Option<&str>;
    /// `x-kubernetes-list-map-keys`.
    fn list_map_keys(&self) -> Option<Vec<&str>>;
    /// `x-kubernetes-map-type`: "atomic" or "granular".
    fn map_type(&self) -> Option<&str>;
    /// Whether this struct node declares property `name` (a map's keys are not declared).
    fn declares(&self, name: &str) -> bool;
    /// The properties this struct node declares.
    fn property_names(&self) -> Vec<&str>;
    /// Whether this struct node lists `name` as required.
    fn requires(&self, name: &str) -> bool;
    /// The fields this struct node lists as required.
    fn required_fields(&self) -> Vec<&str>;
    /// The node's `default`.
    fn default_value(&self) -> Option<&Value>;
    /// `nullable: true`.
    fn nullable(&self) -> bool;

    /// The schema of the value under `key`: the declared property, else the map's values.
    fn child(&self, key: &str) -> Option<Self> {
        if self.declares(key) { self.field(key) } else { self.values() }
    }

    /// What the node is, for merging.
    fn kind(&self) -> Kind {
        match self.json_type() {
            None => Kind::Untyped,
            Some("object") => Kind::Map { atomic: self.map_type() == Some("atomic") },
            Some("array") => Kind::List(list_kind(self)),
            Some(_) => Kind::Scalar,
        }
    }

    /// The properties a typed object carries even where its JSON leaves them out (those
    /// `zero_value` gives a value).
    fn implied_fields(&self) -> Cow<'_, [String]> {
        let names = self.property_names();
        let implied =
            names.into_iter().filter(|name| zero_value(Some(self), name, self.child(name).as_ref()).is_some());
        Cow::Owned(implied.map(str::to_owned).collect())
    }
}

const LIST_TYPE: &str = "x-kubernetes-list-type";
const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
const MAP_TYPE: &str = "x-kubernetes-map-type";

impl SchemaNode<'_> {
    /// An extension or keyword, from the node as written first (properties carry most of them),
    /// then from the definition it refers to.
    fn keyword(&self, name: &str) -> Option<&Value> {
        self.schema.get(name).or_else(|| self.target().get(name))
    }
}

impl ApplySchema for SchemaNode<'_> {
    fn json_type(&self) -> Option<&str> {
        let target = self.target();
        if let Some(t) = target.get("type").and_then(Value::as_str) {
            return Some(t);
        }
        if target.get("properties").is_some() || target.get("additionalProperties").is_some_and(Value::is_object) {
            Some("object")
        } else if target.get("items").is_some() {
            Some("array")
        } else {
            None
        }
    }

    fn list_type(&self) -> Option<&str> {
        self.keyword(LIST_TYPE).and_then(Value::as_str)
    }

    fn list_map_keys(&self) -> Option<Vec<&str>> {
        self.keyword(LIST_MAP_KEYS)
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
    }

    fn map_type(&self) -> Option<&str> {
        self.keyword(MAP_TYPE).and_then(Value::as_str)
    }

    fn declares(&self, name: &str) -> bool {
        self.target().get("properties").and_then(Value::as_object).is_some_and(|p| p.contains_key(name))
    }

    fn property_names(&self) -> Vec<&str> {
        let properties = self.target().get("properties").and_then(Value::as_object);
        properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    fn requires(&self, name: &str) -> bool {
        let required = self.target().get("required").and_then(Value::as_array);
        required.is_some_and(|r| r.iter().any(|n| n.as_str() == Some(name)))
    }

    fn required_fields(&self) -> Vec<&str> {
        let required = self.target().get("required").and_then(Value::as_array);
        required.into_iter().flatten().filter_map(Value::as_str).collect()
    }

    fn default_value(&self) -> Option<&Value> {
        self.keyword("default")
    }

    fn nullable(&self) -> bool {
        self.keyword("nullable").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// No schema: every object merges key by key and every list is atomic.
impl ApplySchema for NoSchema {
    fn json_type(&self) -> Option<&str> {
        None
    }
    fn list_type(&self) -> Option<&str> {
        None
    }
    fn list_map_keys(&self) -> Option<Vec<&str>> {
        None
    }
    fn map_type(&self) -> Option<&str> {
        None
    }
    fn declares(&self, _: &str) -> bool {
        false
    }
    fn property_names(&self) -> Vec<&str> {
        Vec::new()
    }
    fn requires(&self, _: &str) -> bool {
        false
    }
    fn required_fields(&self) -> Vec<&str> {
        Vec::new()
    }
    fn default_value(&self) -> Option<&Value> {
        None
    }
    fn nullable(&self) -> bool {
        false
    }
}

/// How a list's items relate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// Items are scalars, identified by value.
    Set,
    /// Items are objects, identified by these key fields.
    Map(Vec<String>),
}

/// What a schema node is, for merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    /// A struct or a map; an atomic one is a leaf.
    Map {
        atomic: bool,
    },
    List(ListKind),
    /// Nothing known: deduced from the value (objects merge by key, lists are atomic).
    Untyped,
}

pub(super) fn kind_of<S: ApplySchema>(schema: Option<&S>) -> Kind {
    schema.map_or(Kind::Untyped, ApplySchema::kind)
}

/// The list type, derived from the patch strategy when the list does not declare one (as
/// upstream's OpenAPI-to-schema conversion does for built-in types).
fn list_kind<S: ApplySchema>(schema: &S) -> ListKind {
    match schema.list_type() {
        Some("set") => ListKind::Set,
        Some("map") => match schema.list_map_keys() {
            Some(keys) if !keys.is_empty() => ListKind::Map(keys.into_iter().map(str::to_owned).collect()),
            // A map without keys cannot identify items; upstream rejects the schema.
            _ => ListKind::Atomic,
        },
        Some(_) => ListKind::Atomic,
        None => {
            let merges = schema.patch_strategy().is_some_and(|s| s.split(',').any(|part| part == "merge"));
            match (merges, schema.patch_merge_key()) {
                (true, Some(key)) => ListKind::Map(vec![key.to_owned()]),
                (true, None) => ListKind::Set,
                (false, _) => ListKind::Atomic,
            }
        }
    }
}

/// Schema of the value under `key` of a map node: the declared property, else the map's values.
pub(super) fn map_child<S: ApplySchema>(schema: Option<&S>, key: &str) -> Option<S> {
    schema?.child(key)
}

/// Schema of the items of a list node.
pub(super) fn list_items<S: ApplySchema>(schema: Option<&S>) -> Option<S> {
    schema?.items()
}

/// Schema of the child reached through `pe` from a node with schema `schema`.
pub(super) fn child_for<S: ApplySchema>(schema: Option<&S>, pe: &PathElement) -> Option<S> {
    match pe {
        PathElement::Field(name) => map_child(schema, name),
        _ => list_items(schema),
    }
}

/// The path element naming a list item, or upstream's reason it has none.
pub(super) fn item_element<S: ApplySchema>(
    kind: &ListKind,
    items: Option<&S>,
    item: &Value,
) -> Result<PathElement, String> {
    match kind {
        ListKind::Map(keys) => {
            let fields = match item {
                Value::Null => return Err("associative list with keys may not have a null element".into()),
                Value::Object(fields) => fields,
                _ => return Err("associative list with keys may not have non-map elements".into()),
            };
            key_element(keys, items, fields)
        }
        ListKind::Set | ListKind::Atomic => match item {
            Value::Object(_) => Err("associative list without keys has an element that's a map type".into()),
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => Err("associative list without keys has an element that's an explicit null".into()),
            scalar => Ok(PathElement::Value(scalar.clone())),
        },
    }
}

/// A list-map item's key: its key fields, or their schema defaults (Service ports omit
/// `protocol` and still mean TCP).
fn key_element<S: ApplySchema>(
    keys: &[String],
    items: Option<&S>,
    fields: &Map<String, Value>,
) -> Result<PathElement, String> {
    let mut key = Vec::with_capacity(keys.len());
    for name in keys {
        let value = match fields.get(name) {
            Some(value) => value.clone(),
            None => items
                .and_then(|items| items.field(name))
                .and_then(|field| field.default_value().cloned())
                .ok_or_else(|| {
                    format!("associative list with keys has an element that omits key field {name:?} (and doesn't have default value)")
                })?,
        };
        key.push((name.clone(), value));
    }
    Ok(PathElement::key(key))
}

/// The value a typed (Go) object would carry for a field the JSON leaves out: a non-pointer
/// struct is always there (`{}`; the OpenAPI marks those with `default: {}`), and a required
/// field is serialised even when empty (its zero default, or null). Comparing with these in
/// place keeps ownership the same whether or not a stored object spells its empty parts out.
pub(super) fn zero_value<S: ApplySchema>(parent: Option<&S>, name: &str, field: Option<&S>) -> Option<Value> {
    let (parent, field) = (parent?, field?);
    if !parent.declares(name) {
        return None;
    }
    let default = field.default_value();
    if matches!(default, Some(Value::Object(m)) if m.is_empty()) && matches!(kind_of(Some(field)), Kind::Map { .. }) {
        return Some(Value::Object(Map::new()));
    }
    parent.requires(name).then(|| default.cloned().unwrap_or(Value::Null))
}
