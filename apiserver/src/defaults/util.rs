//! Small helpers shared by every group: how "unset" is judged and how nested
//! objects are reached.
//!
//! Upstream's Go types come in two flavours and the defaulters treat them
//! differently, so there are two setters here:
//!
//! * pointer fields (`*int32`, `*string`, `*Struct`): unset means the JSON key
//!   is missing or `null`; an explicit zero (`0`, `""`, `false`) is kept.
//! * value fields (`int32`, `string`, a struct embedded by value): Go cannot
//!   tell "missing" from "zero", so the defaulter also replaces `0` and `""`.

use serde_json::{Map, Value};

pub(crate) type Obj = Map<String, Value>;

/// Missing or `null`: what a nil pointer, slice or map looks like in JSON.
pub(crate) fn is_unset(v: Option<&Value>) -> bool {
    v.is_none_or(Value::is_null)
}

/// Unset, or the Go zero value of a scalar (`""`, `0`).
pub(crate) fn is_zero(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(_) => false,
    }
}

/// `len(x) == 0` in Go for a slice, map or string.
pub(crate) fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

/// Pointer-field default: set only when the key is missing or `null`.
pub(crate) fn set_default(m: &mut Obj, key: &str, value: Value) {
    if is_unset(m.get(key)) {
        m.insert(key.to_string(), value);
    }
}

/// Value-field default: also replaces the Go zero value.
pub(crate) fn set_default_zero(m: &mut Obj, key: &str, value: Value) {
    if is_zero(m.get(key)) {
        m.insert(key.to_string(), value);
    }
}

/// A string field's value, "" when missing or not a string.
pub(crate) fn str_of<'a>(m: &'a Obj, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A pointer-to-struct field that is present: `Some` only when it is an object.
pub(crate) fn child<'a>(m: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

/// A struct embedded by value: Go always has it, so it is created (as `{}`)
/// when missing or `null`. `None` only when the key holds a non-object.
pub(crate) fn child_or_create<'a>(m: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    if is_unset(m.get(key)) {
        m.insert(key.to_string(), Value::Object(Obj::new()));
    }
    m.get_mut(key).and_then(Value::as_object_mut)
}

/// Runs `f` on every object element of the array at `key` (other elements are
/// left alone, as Go would have refused to decode them).
pub(crate) fn each_obj(m: &mut Obj, key: &str, mut f: impl FnMut(&mut Obj)) {
    if let Some(items) = m.get_mut(key).and_then(Value::as_array_mut) {
        items.iter_mut().filter_map(Value::as_object_mut).for_each(&mut f);
    }
}

/// Copies `labels` into `metadata.labels` when the object has none
/// (the rule ReplicationController and Job share).
pub(crate) fn copy_labels_if_empty(obj: &mut Obj, labels: &Obj) {
    let meta_labels = obj.get("metadata").and_then(|m| m.get("labels"));
    if is_empty(meta_labels)
        && !labels.is_empty()
        && let Some(meta) = child_or_create(obj, "metadata")
    {
        meta.insert("labels".into(), Value::Object(labels.clone()));
    }
}
