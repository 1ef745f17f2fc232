//! Merging objects: the `$patch`, `$retainKeys`, `$setElementOrder` and
//! `$deleteFromPrimitiveList` directives, and the per-field dispatch to list merging.

use serde_json::{Map, Value};

use super::PatchMeta;
use super::error::{Expected, PatchError, go_list};
use super::lists::{self, Kind};

pub(super) const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

type Object = Map<String, Value>;

/// Merges `patch` into `original` (both objects described by `meta`).
pub(super) fn merge_map<M: PatchMeta>(
    mut original: Object,
    mut patch: Object,
    meta: Option<&M>,
) -> Result<Object, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(literal_map(patch))
            }
            Some("delete") => Ok(Map::new()),
            // `merge` included: upstream accepts no other directive on an object.
            _ => Err(PatchError::unknown_directive(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_element_orders(&mut original, &mut patch, meta)?;
    for (key, value) in patch {
        merge_field(&mut original, key, value, meta)?;
    }
    Ok(original)
}

/// Merges the patch's value for one key into `original`.
fn merge_field<M: PatchMeta>(
    original: &mut Object,
    key: String,
    value: Value,
    meta: Option<&M>,
) -> Result<(), PatchError> {
    let (key, deletion_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
        Some(rest) => match rest.strip_prefix('/') {
            Some(field) => (field.to_string(), true),
            None => return Err(PatchError::bad_primitive_list()),
        },
        None => (key, false),
    };
    if value.is_null() {
        // Upstream also lets a null deletion list delete its field; keep that.
        original.shift_remove(&key);
        return Ok(());
    }
    let Some(current) = original.get_mut(&key) else {
        // A deletion list for a field the object lacks deletes nothing and adds nothing.
        if deletion_list {
            return Ok(());
        }
        if let Some(value) = fresh(value) {
            original.insert(key, value);
        }
        return Ok(());
    };
    if Kind::of(current) != Kind::of(&value) {
        if !deletion_list {
            match fresh(value) {
                Some(value) => *current = value,
                None => {
                    original.shift_remove(&key);
                }
            }
        }
        return Ok(());
    }
    match (current, value) {
        (Value::Object(current), Value::Object(value)) => {
            let node = field_node(meta, &key);
            let (strategy, _) = patch_meta(node.as_ref())?;
            let merged = if strategy == "replace" {
                literal_map(value)
            } else {
                merge_map(std::mem::take(current), value, node.as_ref())?
            };
            *current = merged;
        }
        (Value::Array(current), Value::Array(value)) => {
            let node = field_node(meta, &key);
            let (strategy, merge_key) = patch_meta(node.as_ref())?;
            let items = node.as_ref().and_then(PatchMeta::items);
            let merged = lists::merge_field_list(
                std::mem::take(current),
                value,
                items.as_ref(),
                &strategy,
                &merge_key,
                deletion_list,
            )?;
            *current = merged;
        }
        // Scalars of the same type (and, as upstream, a deletion list sent for a scalar field).
        (current, value) => *current = value,
    }
    Ok(())
}

/// The schema of field `name`: a declared property or, for maps, the values' schema.
pub(super) fn field_node<M: PatchMeta>(meta: Option<&M>, name: &str) -> Option<M> {
    meta.and_then(|m| m.field(name).or_else(|| m.values()))
}

/// The field's merge strategy (with `retainKeys` split off: it only matters to patch
/// generation) and its merge key, empty when absent.
pub(super) fn patch_meta<M: PatchMeta>(node: Option<&M>) -> Result<(String, String), PatchError> {
    let merge_key = node.and_then(PatchMeta::patch_merge_key).unwrap_or_default().to_string();
    let Some(strategy) = node.and_then(PatchMeta::patch_strategy) else {
        return Ok((String::new(), merge_key));
    };
    let parts: Vec<&str> = strategy.split(',').collect();
    let strategy = match parts.as_slice() {
        ["retainKeys"] => "",
        [one] => one,
        ["retainKeys", other] | [other, "retainKeys"] => other,
        _ => return Err(PatchError::unclassified(format!("unexpected patch strategy: [{}]", parts.join(" ")))),
    };
    Ok((strategy.to_string(), merge_key))
}

/// `$retainKeys`: every key the patch sets must be listed, and the original keeps only listed keys.
fn apply_retain_keys(original: &mut Object, patch: &mut Object) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(PatchError::bad_retain_keys());
    };
    let listed = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    let unlisted = patch.iter().any(|(key, value)| {
        !value.is_null()
            && !key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !key.starts_with(SET_ELEMENT_ORDER)
            && !listed(key)
    });
    if unlisted {
        return Err(PatchError::bad_retain_keys());
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// `$setElementOrder/<field>`: merges `<field>` right away (taking it out of the patch) and
/// orders the result as the directive says, live-only items staying near their neighbours.
fn apply_element_orders<M: PatchMeta>(
    original: &mut Object,
    patch: &mut Object,
    meta: Option<&M>,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER)).cloned().collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else { continue };
        let Value::Array(order) = order else {
            return Err(PatchError::wrong_type(Expected::List, &order));
        };
        let field = match key.strip_prefix(SET_ELEMENT_ORDER).and_then(|rest| rest.strip_prefix('/')) {
            Some(field) => field.to_string(),
            None => return Err(PatchError::bad_set_element_order()),
        };
        let current = match original.get(&field) {
            None => None,
            Some(Value::Array(list)) => Some(list.clone()),
            Some(other) => return Err(PatchError::wrong_type(Expected::List, other)),
        };
        let patch_list = match patch.shift_remove(&field) {
            None => None,
            Some(Value::Array(list)) => Some(list),
            Some(other) => return Err(PatchError::wrong_type(Expected::List, &other)),
        };
        let node = field_node(meta, &field);
        let (strategy, merge_key) = patch_meta(node.as_ref())?;
        let items = node.as_ref().and_then(PatchMeta::items);
        let ordered = lists::merge_with_order(current, patch_list, &order, items.as_ref(), &strategy, &merge_key)?;
        if let Some(ordered) = ordered {
            original.insert(field, Value::Array(ordered));
        }
    }
    Ok(())
}

/// `$setElementOrder` must list the patch's items in the patch's order (deletions and other
/// directive items aside).
pub(super) fn check_order(patch: &[Value], order: &[Value], merge_key: &str) -> Result<(), PatchError> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch.len());
    for item in patch {
        if !merge_key.is_empty() {
            let Some(map) = item.as_object() else {
                return Err(PatchError::wrong_type(Expected::Map, item));
            };
            if map.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        items.push(item);
    }
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if items[p].as_object().is_some_and(|m| m.contains_key(DIRECTIVE)) {
            p += 1;
            continue;
        }
        if same_item(items[p], &order[o], merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() {
        return Err(PatchError::unclassified(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_list(patch),
            go_list(order)
        )));
    }
    Ok(())
}

fn same_item(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    Ok(lists::merge_key_of(left, merge_key)? == lists::merge_key_of(right, merge_key)?)
}

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// A patch value for a field the original lacks: nulls inside objects mean "absent", and
/// (as upstream) an object carrying `$patch` is dropped altogether. `None` drops the value.
pub(super) fn fresh(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.get(DIRECTIVE).is_some_and(|d| !d.is_null()) {
                return None;
            }
            let map = map
                .into_iter()
                .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
                .filter_map(|(k, v)| fresh(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(map))
        }
        // Null list elements are data, not deletions.
        Value::Array(items) => Some(Value::Array(items.into_iter().filter_map(fresh).collect())),
        other => Some(other),
    }
}

/// A patch value taken verbatim (replaced list, `$patch: replace`, a new merging-list item):
/// directive keys and null members go, everything else stays.
pub(super) fn literal(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(literal_map(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(literal).collect()),
        other => other,
    }
}

fn literal_map(map: Object) -> Object {
    map.into_iter().filter(|(k, v)| !v.is_null() && !is_directive_key(k)).map(|(k, v)| (k, literal(v))).collect()
}
