//! The structured walks over an object and its schema: the field set a value declares, the
//! comparison of two versions of an object, the apply merge, and removing a set of fields.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, Path, PathElement, path_string, values_equal};
use super::schema::{ApplySchema, Kind, ListKind, child_for, item_element, kind_of, list_items, map_child, zero_value};

static NULL: Value = Value::Null;

/// How a node is walked, given its schema and the values at hand.
enum Shape {
    /// Compared and replaced as a whole: scalars, atomic maps and lists, and values that do not
    /// match their schema.
    Leaf,
    /// Merged key by key.
    Map,
    /// Merged item by item (a set or a list-map).
    List(ListKind),
}

fn shape<S: ApplySchema>(schema: Option<&S>, values: &[Option<&Value>]) -> Shape {
    let present: Vec<&Value> = values.iter().flatten().copied().filter(|v| !v.is_null()).collect();
    let all = |pred: fn(&Value) -> bool| present.iter().all(|v| pred(v));
    match kind_of(schema) {
        Kind::Scalar | Kind::Map { atomic: true } | Kind::List(ListKind::Atomic) => Shape::Leaf,
        Kind::Map { atomic: false } if all(Value::is_object) => Shape::Map,
        Kind::List(kind) if all(Value::is_array) => Shape::List(kind),
        // Untyped: objects merge by key, everything else (lists included) is a leaf.
        Kind::Untyped if !present.is_empty() && all(Value::is_object) => Shape::Map,
        _ => Shape::Leaf,
    }
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn item_error(path: &[PathElement], index: usize, message: &str) -> String {
    format!("{}: element {index}: {message}", path_string(path))
}

/// A list's items with the path element naming each.
fn elements<'v, S: ApplySchema>(
    kind: &ListKind,
    items: Option<&S>,
    list: &'v [Value],
    path: &[PathElement],
) -> Result<Vec<(PathElement, &'v Value)>, String> {
    list.iter()
        .enumerate()
        .map(|(i, item)| item_element(kind, items, item).map(|pe| (pe, item)).map_err(|e| item_error(path, i, &e)))
        .collect()
}

/// The fields `value` sets: leaves, list items, map keys, and empty or null fields.
pub(super) fn field_set<S: ApplySchema>(value: &Value, schema: Option<&S>) -> Result<FieldSet, String> {
    let mut set = FieldSet::default();
    set_of(value, schema, &mut Vec::new(), &mut set)?;
    Ok(set)
}

fn set_of<S: ApplySchema>(
    value: &Value,
    schema: Option<&S>,
    path: &mut Path,
    set: &mut FieldSet,
) -> Result<(), String> {
    match shape(schema, &[Some(value)]) {
        Shape::Leaf => set.insert(path),
        Shape::Map => {
            for (key, child) in value.as_object().into_iter().flatten() {
                let child_schema = map_child(schema, key);
                path.push(PathElement::Field(key.clone()));
                set_of(child, child_schema.as_ref(), path, set)?;
                // A declared field that holds something is owned through its contents; a map
                // key, or a field set to null or {}, is owned itself.
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty || !schema.is_some_and(|s| s.declares(key)) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Shape::List(kind) => {
            let items = list_items(schema);
            let list = value.as_array().map(Vec::as_slice).unwrap_or_default();
            let elements = elements(&kind, items.as_ref(), list, path)?;
            // An item whose key repeats is owned as a whole, without its contents.
            let mut seen = BTreeSet::new();
            let mut repeated = BTreeSet::new();
            for (pe, _) in &elements {
                if !seen.insert(pe) {
                    repeated.insert(pe);
                }
            }
            for pe in &repeated {
                path.push((*pe).clone());
                set.insert(path);
                path.pop();
            }
            for (pe, item) in &elements {
                if repeated.contains(pe) {
                    continue;
                }
                path.push(pe.clone());
                set_of(item, items.as_ref(), path, set)?;
                set.insert(path);
                path.pop();
            }
        }
    }
    Ok(())
}

/// What changed between two versions of an object.
#[derive(Debug, Default)]
pub(super) struct Comparison {
    pub(super) added: FieldSet,
    pub(super) modified: FieldSet,
    pub(super) removed: FieldSet,
}

impl Comparison {
    /// Forgets changes under `ignored` (fields the endpoint resets).
    pub(super) fn exclude(&mut self, ignored: &FieldSet) {
        self.added.remove(ignored, true);
        self.modified.remove(ignored, true);
        self.removed.remove(ignored, true);
    }
}

/// Compares `old` with `new`: leaves added, removed or changed, and maps, lists and items that
/// appeared or went away.
pub(super) fn compare<S: ApplySchema>(old: &Value, new: &Value, schema: Option<&S>) -> Result<Comparison, String> {
    let mut out = Comparison::default();
    compare_node(Some(old), Some(new), schema, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn compare_leaf(old: Option<&Value>, new: Option<&Value>, path: &[PathElement], out: &mut Comparison) {
    match (old, new) {
        // Typed objects never differ by absent-versus-null alone (the Go type decides which
        // one a field gets), so neither is a change.
        (None, None) | (None, Some(Value::Null)) | (Some(Value::Null), None) => {}
        (None, Some(_)) => out.added.insert(path),
        (Some(_), None) => out.removed.insert(path),
        (Some(a), Some(b)) => {
            if !values_equal(a, b) {
                out.modified.insert(path);
            }
        }
    }
}

fn compare_node<S: ApplySchema>(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: Option<&S>,
    path: &mut Path,
    out: &mut Comparison,
) -> Result<(), String> {
    let granular = match shape(schema, &[old, new]) {
        Shape::Leaf => false,
        _ if is_empty_container(old) && is_empty_container(new) => false,
        Shape::Map => {
            compare_maps(old.and_then(Value::as_object), new.and_then(Value::as_object), schema, path, out)?;
            true
        }
        Shape::List(kind) => {
            compare_lists(old.and_then(Value::as_array), new.and_then(Value::as_array), &kind, schema, path, out)?;
            true
        }
    };
    if !granular {
        compare_leaf(old, new, path, out);
    } else if old.is_none() {
        out.added.insert(path);
    } else if new.is_none() {
        out.removed.insert(path);
    }
    Ok(())
}

fn compare_maps<S: ApplySchema>(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    schema: Option<&S>,
    path: &mut Path,
    out: &mut Comparison,
) -> Result<(), String> {
    let mut keys: Vec<&str> = old.into_iter().flat_map(Map::keys).map(String::as_str).collect();
    keys.extend(
        new.into_iter().flat_map(Map::keys).map(String::as_str).filter(|k| !old.is_some_and(|o| o.contains_key(*k))),
    );
    // A struct's fields a typed object always carries count even where the JSON leaves them
    // out: a container added without `resources` still adds `resources: {}`.
    let implied = schema.map(ApplySchema::implied_fields).unwrap_or_default();
    for name in implied.iter() {
        if !old.is_some_and(|m| m.contains_key(name)) && !new.is_some_and(|m| m.contains_key(name)) {
            keys.push(name);
        }
    }
    for key in keys {
        let child_schema = map_child(schema, key);
        let zero = || zero_value(schema, key, child_schema.as_ref());
        let (old_zero, new_zero);
        let old_child = match old {
            Some(map) => match map.get(key) {
                Some(v) => Some(v),
                None => {
                    old_zero = zero();
                    old_zero.as_ref()
                }
            },
            None => None,
        };
        let new_child = match new {
            Some(map) => match map.get(key) {
                Some(v) => Some(v),
                None => {
                    new_zero = zero();
                    new_zero.as_ref()
                }
            },
            None => None,
        };
        path.push(PathElement::Field(key.into()));
        compare_node(old_child, new_child, child_schema.as_ref(), path, out)?;
        path.pop();
    }
    Ok(())
}

/// Items grouped by path element, in first-seen order; repeated keys gather their items.
fn group(elements: Vec<(PathElement, &Value)>) -> (Vec<PathElement>, BTreeMap<PathElement, Vec<&Value>>) {
    let mut order = Vec::new();
    let mut groups: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    for (pe, item) in elements {
        let entry = groups.entry(pe.clone()).or_default();
        if entry.is_empty() {
            order.push(pe);
        }
        entry.push(item);
    }
    (order, groups)
}

fn compare_lists<S: ApplySchema>(
    old: Option<&Vec<Value>>,
    new: Option<&Vec<Value>>,
    kind: &ListKind,
    schema: Option<&S>,
    path: &mut Path,
    out: &mut Comparison,
) -> Result<(), String> {
    let items = list_items(schema);
    let (old_order, old_groups) =
        group(elements(kind, items.as_ref(), old.map(Vec::as_slice).unwrap_or_default(), path)?);
    let (new_order, new_groups) =
        group(elements(kind, items.as_ref(), new.map(Vec::as_slice).unwrap_or_default(), path)?);
    let mut order = old_order;
    order.extend(new_order.into_iter().filter(|pe| !old_groups.contains_key(pe)));
    let none = Vec::new();
    for pe in order {
        let olds = old_groups.get(&pe).unwrap_or(&none);
        let news = new_groups.get(&pe).unwrap_or(&none);
        path.push(pe);
        match (olds.len(), news.len()) {
            (0..=1, 0..=1) => compare_node(olds.first().copied(), news.first().copied(), items.as_ref(), path, out)?,
            // Repeated keys on both sides: the group is compared as a whole.
            (_, 2..) if olds.len() >= 2 => {
                let same = olds.len() == news.len() && olds.iter().zip(news).all(|(a, b)| values_equal(a, b));
                if !same {
                    out.modified.insert(path);
                }
            }
            (2.., _) => {
                if let Some(new_item) = news.first() {
                    compare_node(None, Some(new_item), items.as_ref(), path, out)?;
                }
                out.removed.insert(path);
            }
            _ => {
                if let Some(old_item) = olds.first() {
                    compare_node(Some(old_item), None, items.as_ref(), path, out)?;
                }
                out.added.insert(path);
            }
        }
        path.pop();
    }
    Ok(())
}

/// Merges an applied configuration into the live object: the configuration's leaves win,
/// granular maps merge by key, sets and list-maps by item; the live object's other parts stay.
pub(super) fn merge<S: ApplySchema>(live: &Value, config: &Value, schema: Option<&S>) -> Result<Value, String> {
    Ok(merge_node(Some(live), Some(config), schema, &mut Vec::new())?.unwrap_or(Value::Object(Map::new())))
}

fn merge_node<S: ApplySchema>(
    live: Option<&Value>,
    config: Option<&Value>,
    schema: Option<&S>,
    path: &mut Path,
) -> Result<Option<Value>, String> {
    let leaf = || config.or(live).cloned();
    match shape(schema, &[live, config]) {
        Shape::Leaf => Ok(leaf()),
        _ if is_empty_container(live) && is_empty_container(config) => Ok(leaf()),
        Shape::Map => {
            merge_maps(live.and_then(Value::as_object), config.and_then(Value::as_object), schema, path).map(Some)
        }
        Shape::List(kind) => {
            merge_lists(live.and_then(Value::as_array), config.and_then(Value::as_array), &kind, schema, path).map(Some)
        }
    }
}

fn merge_maps<S: ApplySchema>(
    live: Option<&Map<String, Value>>,
    config: Option<&Map<String, Value>>,
    schema: Option<&S>,
    path: &mut Path,
) -> Result<Value, String> {
    let empty = Map::new();
    let (live, config) = (live.unwrap_or(&empty), config.unwrap_or(&empty));
    let mut out = Map::new();
    let keys = live.keys().chain(config.keys().filter(|k| !live.contains_key(*k)));
    for key in keys {
        let child_schema = map_child(schema, key);
        let from_config = config.get(key);
        path.push(PathElement::Field(key.clone()));
        let merged = merge_node(live.get(key), from_config, child_schema.as_ref(), path)?;
        path.pop();
        if let Some(merged) = merged {
            out.insert(key.clone(), merged);
        }
    }
    Ok(Value::Object(out))
}

/// Takes out of `merged` the nulls the configuration put there (where the schema does not
/// allow null): the typed object the result decodes into has no value for them, and custom
/// resources drop them. Until then they count, as upstream's do: nulling a field someone else
/// owns is a conflict.
pub(super) fn drop_applied_nulls<S: ApplySchema>(merged: &mut Value, config: &Value, schema: Option<&S>) {
    match shape(schema, &[Some(&*merged), Some(config)]) {
        Shape::Leaf => {}
        Shape::Map => {
            let (Some(out), Some(config)) = (merged.as_object_mut(), config.as_object()) else { return };
            for (key, value) in config {
                let child_schema = map_child(schema, key);
                let Some(target) = out.get_mut(key) else { continue };
                if !value.is_null() {
                    drop_applied_nulls(target, value, child_schema.as_ref());
                } else if target.is_null() && !child_schema.as_ref().is_some_and(ApplySchema::nullable) {
                    out.shift_remove(key);
                }
            }
        }
        Shape::List(kind) => {
            let items = list_items(schema);
            let (Some(out), Some(config)) = (merged.as_array_mut(), config.as_array()) else { return };
            for item in config {
                let Ok(pe) = item_element(&kind, items.as_ref(), item) else { continue };
                let same = |other: &&mut Value| item_element(&kind, items.as_ref(), other).is_ok_and(|o| o == pe);
                if let Some(target) = out.iter_mut().find(same) {
                    drop_applied_nulls(target, item, items.as_ref());
                }
            }
        }
    }
}

/// Merges two associative lists. The result keeps the configuration's order for the items it
/// names and slots the live-only items in where they were, as upstream does: live items the
/// configuration does not name stay in place until the walk reaches an item both share.
fn merge_lists<S: ApplySchema>(
    live: Option<&Vec<Value>>,
    config: Option<&Vec<Value>>,
    kind: &ListKind,
    schema: Option<&S>,
    path: &mut Path,
) -> Result<Value, String> {
    let items = list_items(schema);
    let config_elements = elements(kind, items.as_ref(), config.map(Vec::as_slice).unwrap_or_default(), path)?;
    let live_elements = elements(kind, items.as_ref(), live.map(Vec::as_slice).unwrap_or_default(), path)?;

    let mut in_config: BTreeMap<&PathElement, &Value> = BTreeMap::new();
    for (pe, item) in &config_elements {
        if in_config.insert(pe, item).is_some() {
            return Err(format!("{}: duplicate entries for key {pe}", path_string(path)));
        }
    }
    // A key repeated in the live list has no single item to merge with.
    let mut in_live: BTreeMap<&PathElement, Option<&Value>> = BTreeMap::new();
    for (pe, item) in &live_elements {
        in_live.entry(pe).and_modify(|slot| *slot = None).or_insert(Some(item));
    }
    // The live item merged with a configuration item; a repeated live key merges as null.
    let counterpart = |pe: &PathElement| match in_live.get(pe) {
        Some(Some(item)) => Some(*item),
        Some(None) => Some(&NULL),
        None => None,
    };
    let mut shared = config_elements.iter().map(|(pe, _)| pe).filter(|pe| in_live.contains_key(pe));
    let mut next_shared = shared.next();

    let mut out = Vec::with_capacity(live_elements.len().max(config_elements.len()));
    let mut emitted: BTreeSet<&PathElement> = BTreeSet::new();
    let mut merge_item = |pe: &PathElement, live: Option<&Value>, config: Option<&Value>, out: &mut Vec<Value>| {
        path.push(pe.clone());
        let merged = merge_node(live, config, items.as_ref(), path);
        path.pop();
        merged.map(|m| out.extend(m))
    };
    let (mut l, mut c) = (0, 0);
    while l < live_elements.len() || c < config_elements.len() {
        if let (Some((live_pe, _)), Some((config_pe, config_item))) = (live_elements.get(l), config_elements.get(c)) {
            if live_pe == config_pe {
                emitted.insert(config_pe);
                merge_item(config_pe, counterpart(config_pe), Some(config_item), &mut out)?;
                l += 1;
                c += 1;
                next_shared = shared.next();
                continue;
            }
            // A shared item the walk has not reached yet: the configuration's order places it.
            if in_config.contains_key(live_pe) && next_shared.is_some_and(|next| next != live_pe) {
                l += 1;
                continue;
            }
        }
        if let Some((live_pe, live_item)) = live_elements.get(l) {
            if !in_config.contains_key(live_pe) {
                merge_item(live_pe, Some(live_item), None, &mut out)?;
                l += 1;
                continue;
            }
            if emitted.contains(live_pe) {
                l += 1;
            }
        }
        if let Some((config_pe, config_item)) = config_elements.get(c) {
            emitted.insert(config_pe);
            merge_item(config_pe, counterpart(config_pe), Some(config_item), &mut out)?;
            c += 1;
            if next_shared == Some(config_pe) {
                next_shared = shared.next();
            }
        }
    }
    Ok(Value::Array(out))
}

/// What removal leaves where a map or list lost its last field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Emptied {
    /// A null, as upstream's removal does; the field set of the result still names the field.
    Null,
    /// Nothing: the field goes, as it does once upstream decodes the result into its type.
    Drop,
}

/// `value` without the fields in `set`; a member removes its whole subtree.
pub(super) fn remove<S: ApplySchema>(value: &Value, set: &FieldSet, schema: Option<&S>, emptied: Emptied) -> Value {
    remove_node(value, set, schema, emptied).unwrap_or_else(|| Value::Object(Map::new()))
}

/// `None` when nothing is left of a map or list.
fn remove_node<S: ApplySchema>(value: &Value, set: &FieldSet, schema: Option<&S>, emptied: Emptied) -> Option<Value> {
    let below = |child: &Value, subset: &FieldSet, child_schema: Option<&S>| match remove_node(
        child,
        subset,
        child_schema,
        emptied,
    ) {
        Some(kept) => Some(kept),
        None if emptied == Emptied::Null => Some(Value::Null),
        None => None,
    };
    match shape(schema, &[Some(value)]) {
        Shape::Leaf => Some(value.clone()),
        Shape::Map => {
            let map = value.as_object()?;
            let mut out = Map::new();
            for (key, child) in map {
                let pe = PathElement::Field(key.clone());
                if set.is_member(&pe) {
                    continue;
                }
                let kept = match set.child(&pe) {
                    Some(subset) => below(child, subset, map_child(schema, key).as_ref()),
                    None => Some(child.clone()),
                };
                out.extend(kept.map(|k| (key.clone(), k)));
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Shape::List(kind) => {
            let list = value.as_array()?;
            let items = list_items(schema);
            let mut out = Vec::with_capacity(list.len());
            for item in list {
                // An item without a usable key cannot be named by the set: it stays.
                let Ok(pe) = item_element(&kind, items.as_ref(), item) else {
                    out.push(item.clone());
                    continue;
                };
                if set.is_member(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(subset) => out.extend(below(item, subset, items.as_ref())),
                    None => out.push(item.clone()),
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
    }
}

/// `set` plus, as members, the struct fields it only holds things under: owning
/// `.spec.replicas` then also counts as owning `.spec` (but not a map key such as a label).
pub(super) fn with_named_fields<S: ApplySchema>(set: &FieldSet, schema: Option<&S>) -> FieldSet {
    let mut out = FieldSet::default();
    for pe in set.members() {
        out.add_member(pe.clone());
    }
    for (pe, below) in set.children() {
        let declared = matches!(pe, PathElement::Field(name) if schema.is_some_and(|s| s.declares(name)));
        if declared && matches!(kind_of(schema), Kind::Map { .. }) {
            out.add_member(pe.clone());
        }
        let child_schema = child_for(schema, pe);
        out.set_child(pe.clone(), with_named_fields(below, child_schema.as_ref()));
    }
    out
}
