//! Checks that walk the object along the structural schema, after the OpenAPI validation:
//! embedded resources' TypeMeta and metadata shape (apiextensions' objectmeta.Validate) and the
//! uniqueness invariants of `x-kubernetes-list-type: set|map` (listtype.ValidateListSetsAndMaps).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::gofmt::{body, duplicate, invalid, required};
use super::{Additional, FieldError, child, embedded, index, items, key, property, schema_list, text};

/// Visits the objects of `x` whose schema is an embedded resource, with their paths.
fn walk<'a>(x: &'a Value, s: Option<&Value>, path: &str, f: &mut dyn FnMut(&str, &'a Value)) {
    let Some(s) = s else { return };
    match x {
        Value::Object(m) => {
            if embedded(s) {
                f(path, x);
            }
            for (k, v) in m {
                if let Some(p) = property(s, k) {
                    walk(v, Some(p), &child(path, k), f);
                } else {
                    let addl = Additional::of(s);
                    if addl.is_set() {
                        walk(v, addl.schema(), &key(path, k), f);
                    }
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                walk(v, items(s), &index(path, i), f);
            }
        }
        _ => {}
    }
}

pub(super) fn embedded_resources<'a>(obj: &'a Value, schema: &Value) -> Vec<(String, &'a Value)> {
    let mut found = Vec::new();
    walk(obj, Some(schema), "", &mut |p, v| found.push((p.to_string(), v)));
    found
}

pub(super) fn validate_embedded(obj: &Value, schema: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk(obj, Some(schema), "", &mut |p, v| {
        if let Some(m) = v.as_object() {
            errs.extend(embedded_resource(p, m));
        }
    });
    errs
}

fn embedded_resource(p: &str, m: &Map<String, Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for name in ["apiVersion", "kind"] {
        if !m.contains_key(name) {
            errs.push(required(child(p, name), "must not be empty"));
        }
    }
    for (k, v) in m {
        let path = child(p, k);
        match (k.as_str(), v) {
            ("apiVersion" | "kind", Value::String(s)) if s.is_empty() => {
                errs.push(invalid(path, &body(v), "must not be empty"))
            }
            // ParseGroupVersion: "/" is the empty version, more than one '/' is an error.
            ("apiVersion", Value::String(s)) if s != "/" && s.matches('/').count() > 1 => {
                errs.push(invalid(path, &body(v), &format!("unexpected GroupVersion string: {s}")));
            }
            ("apiVersion", Value::String(_)) => {}
            ("kind", Value::String(s)) => {
                let problems = dns1035_label(&s.to_lowercase());
                if !problems.is_empty() {
                    let why = format!("may have mixed case, but should otherwise match: {}", problems.join(","));
                    errs.push(invalid(path, &body(v), &why));
                }
            }
            ("apiVersion" | "kind", _) => errs.push(invalid(path, &body(v), "must be a string")),
            ("metadata", _) => {
                if let Some(why) = object_meta_decode_error(v) {
                    errs.push(invalid(path, &body(v), &why));
                }
            }
            _ => {}
        }
    }
    errs
}

fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-';
    if !ok {
        errs.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                .to_string(),
        );
    }
    errs
}

/// The JSON kind names encoding/json uses in type errors.
fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// The error decoding `metadata` into ObjectMeta would give (the first type mismatch), if any.
fn object_meta_decode_error(v: &Value) -> Option<String> {
    let m = match v {
        Value::Null => return None,
        Value::Object(m) => m,
        other => {
            return Some(format!("json: cannot unmarshal {} into Go value of type v1.ObjectMeta", json_kind(other)));
        }
    };
    let field_err = |f: &str, v: &Value, ty: &str| {
        Some(format!("json: cannot unmarshal {} into Go struct field ObjectMeta.{f} of type {ty}", json_kind(v)))
    };
    for (f, x) in m {
        if x.is_null() {
            continue;
        }
        let bad = match f.as_str() {
            "name" | "generateName" | "namespace" | "selfLink" | "uid" | "resourceVersion" => {
                (!x.is_string()).then(|| field_err(f, x, "string")).flatten()
            }
            "generation" | "deletionGracePeriodSeconds" => (!x.is_i64())
                .then(|| {
                    if x.is_number() {
                        Some(format!(
                            "json: cannot unmarshal number {x} into Go struct field ObjectMeta.{f} of type int64"
                        ))
                    } else {
                        field_err(f, x, "int64")
                    }
                })
                .flatten(),
            "creationTimestamp" | "deletionTimestamp" => (!x.is_string())
                .then(|| format!("json: cannot unmarshal {} into Go value of type string", json_kind(x))),
            "labels" | "annotations" => match x.as_object() {
                None => field_err(f, x, "map[string]string"),
                Some(entries) => {
                    entries.values().find(|e| !e.is_string() && !e.is_null()).and_then(|e| field_err(f, e, "string"))
                }
            },
            "finalizers" => match x.as_array() {
                None => field_err(f, x, "[]string"),
                Some(list) => {
                    list.iter().find(|e| !e.is_string() && !e.is_null()).and_then(|e| field_err(f, e, "string"))
                }
            },
            "ownerReferences" => (!x.is_array()).then(|| field_err(f, x, "[]v1.OwnerReference")).flatten(),
            "managedFields" => (!x.is_array()).then(|| field_err(f, x, "[]v1.ManagedFieldsEntry")).flatten(),
            _ => None,
        };
        if bad.is_some() {
            return bad;
        }
    }
    None
}

// ---- x-kubernetes-list-type ----

pub(super) fn validate_list_types(obj: &Value, schema: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Value::Object(m) = obj {
        object_lists("", schema, m, &mut errs);
    }
    errs
}

fn object_lists(p: &str, s: &Value, m: &Map<String, Value>, errs: &mut Vec<FieldError>) {
    if let Some(a) = Additional::of(s).schema() {
        for (k, v) in m {
            value_lists(&key(p, k), a, v, errs);
        }
    }
    for (k, v) in m {
        if let Some(sub) = property(s, k) {
            value_lists(&child(p, k), sub, v, errs);
        }
    }
}

fn value_lists(p: &str, s: &Value, v: &Value, errs: &mut Vec<FieldError>) {
    match v {
        Value::Array(a) => array_lists(p, s, a, errs),
        Value::Object(m) => object_lists(p, s, m, errs),
        _ => {}
    }
}

fn array_lists(p: &str, s: &Value, a: &[Value], errs: &mut Vec<FieldError>) {
    match text(s, "x-kubernetes-list-type") {
        "set" => {
            for i in non_unique(a.iter().map(Key::of)) {
                errs.push(duplicate(index(p, i), &a[i]));
            }
        }
        "map" => errs.extend(list_map(p, s, a)),
        _ => {}
    }
    if let Some(it) = items(s) {
        for (i, v) in a.iter().enumerate() {
            value_lists(&index(p, i), it, v, errs);
        }
    }
}

/// A Go map key for a decoded value: scalars compare by type and value, compound values by
/// their JSON, and a missing list-map key is its own value.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Unspecified,
    Scalar(String),
    Compound(String),
}

impl Key {
    fn of(v: &Value) -> Key {
        match v {
            Value::Array(_) | Value::Object(_) => Key::Compound(super::gofmt::json(v, false)),
            Value::Number(_) => match super::gofmt::Num::of(v) {
                Some(super::gofmt::Num::Int(i)) => Key::Scalar(format!("i{i}")),
                Some(super::gofmt::Num::Float(f)) => {
                    Key::Scalar(format!("f{}", if f == 0.0 { 0 } else { f.to_bits() }))
                }
                None => Key::Scalar("n".into()),
            },
            Value::String(s) => Key::Scalar(format!("s{s}")),
            Value::Bool(b) => Key::Scalar(format!("b{b}")),
            Value::Null => Key::Scalar("null".into()),
        }
    }
}

/// The indices where a value is seen for the second time (upstream reports each repeat once).
fn non_unique(keys: impl Iterator<Item = Key>) -> Vec<usize> {
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.enumerate() {
        let times = seen.entry(k).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn list_map(p: &str, s: &Value, a: &[Value]) -> Vec<FieldError> {
    if let Some((i, x)) = a.iter().enumerate().find(|(_, x)| !x.is_null() && !x.is_object()) {
        return vec![invalid(index(p, i), &body(x), "must be an object for an array of list-type map")];
    }
    if a.len() <= 1 {
        return Vec::new();
    }
    let key_fields: Vec<&str> = schema_list(s, "x-kubernetes-list-map-keys").iter().filter_map(Value::as_str).collect();
    if let [field] = key_fields.as_slice() {
        let keys: Vec<Option<&Value>> = a.iter().map(|x| x.get(field)).collect();
        let ids = keys.iter().map(|k| k.map_or(Key::Unspecified, Key::of));
        return non_unique(ids)
            .into_iter()
            .map(|i| {
                let mut shown = Map::new();
                if let Some(k) = keys[i] {
                    shown.insert(field.to_string(), k.clone());
                }
                duplicate(index(p, i), &Value::Object(shown))
            })
            .collect();
    }
    let keys: Vec<Value> = a
        .iter()
        .map(|x| {
            let mut k = Map::new();
            for f in &key_fields {
                if let Some(v) = x.get(*f) {
                    k.insert(f.to_string(), v.clone());
                }
            }
            Value::Object(k)
        })
        .collect();
    non_unique(keys.iter().map(Key::of)).into_iter().map(|i| duplicate(index(p, i), &keys[i])).collect()
}
