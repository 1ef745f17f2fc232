//! Merging lists: merge by key, set union of primitives, deletion lists, and upstream's rules for
//! the order of a merged list.

use serde_json::Value;

use super::PatchMeta;
use super::error::{Expected, PatchError, go_list};
use super::maps::{self, DIRECTIVE};

/// The type of a JSON value as upstream tells them apart (Go types: integers and floats differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    List,
    Object,
}

impl Kind {
    pub(super) fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(n) if n.is_f64() => Self::Float,
            Value::Number(_) => Self::Int,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::List,
            Value::Object(_) => Self::Object,
        }
    }
}

/// The merge key value of a merging-list item, which must be an object that has one.
pub(super) fn merge_key_of<'v>(item: &'v Value, merge_key: &str) -> Result<&'v Value, PatchError> {
    let map = item.as_object().ok_or_else(|| PatchError::wrong_type(Expected::Map, item))?;
    map.get(merge_key).ok_or_else(|| PatchError::no_merge_key(map, merge_key))
}

/// Merges the patch's list for a field into the object's list for it.
pub(super) fn merge_field_list<M: PatchMeta>(
    current: Vec<Value>,
    patch: Vec<Value>,
    items: Option<&M>,
    strategy: &str,
    merge_key: &str,
    deletion_list: bool,
) -> Result<Vec<Value>, PatchError> {
    // Deletion lists delete whatever the field's strategy is.
    if strategy == "merge" || deletion_list {
        merge_list(current, patch, items, merge_key, deletion_list)
    } else {
        Ok(patch.into_iter().map(maps::literal).collect())
    }
}

fn merge_list<M: PatchMeta>(
    current: Vec<Value>,
    patch: Vec<Value>,
    items: Option<&M>,
    merge_key: &str,
    deletion_list: bool,
) -> Result<Vec<Value>, PatchError> {
    let Some(kind) = element_kind(&current, &patch)? else {
        return Ok(current);
    };
    let (current, patch, merged) = if kind != Kind::Object {
        if deletion_list {
            // Removes every copy, and keeps the order: no reordering for deletions.
            return Ok(current.into_iter().filter(|item| !patch.contains(item)).collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(current.len() + patch.len());
        for item in current.iter().chain(&patch) {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        (current, patch, merged)
    } else {
        if merge_key.is_empty() {
            return Err(PatchError::unclassified("cannot merge lists without merge key"));
        }
        let (current, patch) = apply_item_directives(current, patch, merge_key)?;
        let merged = merge_by_key(current.clone(), &patch, merge_key, items)?;
        (current, patch, merged)
    };
    let (from_patch, live_only) = partition(merged, &patch, merge_key)?;
    order_items(from_patch, live_only, &patch, &current, merge_key, kind)
}

/// Handles the items that carry `$patch`: `delete` removes every live item with that key,
/// `replace` makes the patch's other items the whole list. Returns the live list and the patch
/// items left to merge.
fn apply_item_directives(
    mut current: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut rest = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE).cloned() else {
            rest.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let key = merge_key_of(&item, merge_key)?;
                current.retain(|live| live.get(merge_key) != Some(key));
            }
            // Keep scanning: later items may still be malformed.
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(PatchError::unclassified("merging lists cannot yet be specified in the patch"));
            }
            _ => {
                let map = item.as_object().cloned().unwrap_or_default();
                return Err(PatchError::unknown_directive(&directive, &map));
            }
        }
    }
    if replace {
        return Ok((rest.into_iter().map(maps::literal).collect(), Vec::new()));
    }
    Ok((current, rest))
}

/// Merges each patch item into the first live item with the same key, or appends it.
fn merge_by_key<M: PatchMeta>(
    mut current: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    items: Option<&M>,
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let key = merge_key_of(item, merge_key)?;
        let found = current.iter().position(|live| live.get(merge_key) == Some(key));
        match (found.map(|i| &mut current[i]), item) {
            (Some(Value::Object(live)), Value::Object(update)) => {
                let merged = maps::merge_map(std::mem::take(live), update.clone(), items)?;
                *live = merged;
            }
            _ => current.push(maps::literal(item.clone())),
        }
    }
    Ok(current)
}

/// Merges the field's list under `$setElementOrder` and orders the result by it; `None` when
/// neither the object nor the patch has the field.
pub(super) fn merge_with_order<M: PatchMeta>(
    current: Option<Vec<Value>>,
    patch: Option<Vec<Value>>,
    order: &[Value],
    items: Option<&M>,
    strategy: &str,
    merge_key: &str,
) -> Result<Option<Vec<Value>>, PatchError> {
    maps::check_order(patch.as_deref().unwrap_or_default(), order, merge_key)?;
    let live = current.clone().unwrap_or_default();
    // Upstream looks at the element type only after partitioning; keep its error precedence.
    let kind = element_kind(&live, patch.as_deref().unwrap_or_default());
    let merged = match (current, patch) {
        (Some(current), None) => current,
        (None, Some(patch)) => patch.into_iter().filter_map(maps::fresh).collect(),
        (Some(current), Some(patch)) => merge_field_list(current, patch, items, strategy, merge_key, false)?,
        (None, None) => return Ok(None),
    };
    let (from_patch, live_only) = partition(merged, order, merge_key)?;
    let kind = kind?.ok_or_else(|| PatchError::unclassified("no elements in any of the given slices"))?;
    order_items(from_patch, live_only, order, &live, merge_key, kind).map(Some)
}

/// The one type all elements share; lists of lists and mixed lists cannot merge.
fn element_kind(current: &[Value], patch: &[Value]) -> Result<Option<Kind>, PatchError> {
    let mut first = None;
    for item in current.iter().chain(patch) {
        let kind = Kind::of(item);
        match first {
            None if kind == Kind::List => return Err(PatchError::list_of_lists()),
            None if kind == Kind::Null => return Err(PatchError::unclassified("list elements must not be null")),
            None => first = Some(kind),
            Some(seen) if seen != kind => {
                return Err(PatchError::unclassified(format!(
                    "list element types are not identical: [{} {}]",
                    go_list(current),
                    go_list(patch)
                )));
            }
            Some(_) => {}
        }
    }
    Ok(first)
}

/// Splits `merged` into the items `by` mentions and the rest (live-only items).
fn partition(merged: Vec<Value>, by: &[Value], merge_key: &str) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut mentioned = Vec::new();
    let mut rest = Vec::new();
    for item in merged {
        let found = if merge_key.is_empty() {
            by.contains(&item)
        } else {
            contains_key(by, merge_key, merge_key_of(&item, merge_key)?)?
        };
        if found { mentioned.push(item) } else { rest.push(item) }
    }
    Ok((mentioned, rest))
}

fn contains_key(list: &[Value], merge_key: &str, key: &Value) -> Result<bool, PatchError> {
    for (i, item) in list.iter().enumerate() {
        let Some(map) = item.as_object() else {
            return Err(PatchError::unclassified(format!("value for key {i} is not a map")));
        };
        if map.get(merge_key) == Some(key) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Upstream's order for a merged list: the patch's items in the patch's (or `$setElementOrder`'s)
/// order, the live-only items in their live order, interleaved so that a live-only item comes
/// before a patch item when it came before it in the live list.
fn order_items(
    from_patch: Vec<Value>,
    live_only: Vec<Value>,
    patch_order: &[Value],
    live_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let from_patch = sort_by(from_patch, patch_order, merge_key, kind)?;
    let live_only = sort_by(live_only, live_order, merge_key, kind)?;
    let mut out = Vec::with_capacity(from_patch.len() + live_only.len());
    let mut left = live_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            // Patch items the live list lacks (new ones) win ties, so they come first.
            (Some(l), Some(r)) => matches!(
                (position(live_order, l, merge_key, kind), position(live_order, r, merge_key, kind)),
                (Some(a), Some(b)) if a < b
            ),
        };
        out.extend(if take_left { left.next() } else { right.next() });
    }
    Ok(out)
}

/// Stable sort of `items` by where their identity first appears in `order`. Items `order` lacks
/// go last (upstream's comparator is inconsistent there; they only arise from odd patches).
fn sort_by(items: Vec<Value>, order: &[Value], merge_key: &str, kind: Kind) -> Result<Vec<Value>, PatchError> {
    let mut deletions = Vec::new();
    let mut keep = items;
    if kind == Kind::Object {
        for item in keep.iter().chain(order) {
            merge_key_of(item, merge_key)?;
        }
        // Items still marked for deletion go last, as upstream.
        let (rest, marked): (Vec<Value>, Vec<Value>) =
            keep.into_iter().partition(|item| item.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"));
        keep = rest;
        deletions = marked;
    }
    let mut ranked: Vec<(usize, Value)> =
        keep.into_iter().map(|item| (position(order, &item, merge_key, kind).unwrap_or(usize::MAX), item)).collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    Ok(ranked.into_iter().map(|(_, item)| item).chain(deletions).collect())
}

/// Index of the first element of `list` with the same identity as `item`.
fn position(list: &[Value], item: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
    let wanted = identity(item, merge_key, kind);
    list.iter().position(|v| identity(v, merge_key, kind) == wanted)
}

/// What identifies a list item: its merge key value for objects, the value itself otherwise.
fn identity<'v>(item: &'v Value, merge_key: &str, kind: Kind) -> Option<&'v Value> {
    if kind == Kind::Object { item.get(merge_key) } else { Some(item) }
}
