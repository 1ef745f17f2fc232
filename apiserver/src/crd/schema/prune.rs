//! Pruning as the custom resource decoder does it: ObjectMeta round trip of the root metadata,
//! structural pruning (the root counts as an embedded resource, so apiVersion/kind/metadata
//! stay), removal of non-nullable nulls without a default, then the ObjectMeta round trip of
//! embedded resources' metadata.

use serde_json::{Map, Value};

use super::{Additional, child, default_of, embedded, index, items, key, nullable, preserves_unknown, property};

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

pub(super) fn prune_resource(obj: &mut Value, schema: &Value) -> Vec<String> {
    // Root metadata first: its unknown fields come first, in document order (not sorted).
    let mut paths = Vec::new();
    if let Some(meta) = obj.get_mut("metadata") {
        normalize_object_meta(meta, "metadata", &mut paths);
    }
    let mut pruned = Vec::new();
    prune_node(obj, Some(schema), true, &mut String::new(), &mut Some(&mut pruned));
    pruned.sort();
    paths.extend(pruned);
    prune_nulls(obj, Some(schema));
    let mut coerced = Vec::new();
    coerce(obj, Some(schema), "", &mut coerced);
    coerced.sort();
    paths.extend(coerced);
    paths
}

/// Prunes a value (a default) against its schema, without tracking paths.
pub(super) fn prune_value(v: &mut Value, schema: &Value) {
    prune_node(v, Some(schema), false, &mut String::new(), &mut None);
    coerce(v, Some(schema), "", &mut Vec::new());
}

type Track<'a> = Option<&'a mut Vec<String>>;

fn record(track: &mut Track<'_>, parent: &str, k: &str) {
    if let Some(out) = track {
        out.push(child(parent, k));
    }
}

/// pruning.prune: `root` marks the resource root, treated as an embedded resource.
fn prune_node(x: &mut Value, s: Option<&Value>, root: bool, path: &mut String, track: &mut Track<'_>) {
    if let Some(s) = s.filter(|s| preserves_unknown(s)) {
        skip_prune(x, s, root, path, track);
        return;
    }
    let len = path.len();
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                for k in m.keys() {
                    record(track, path, k);
                }
                m.clear();
                return;
            };
            let keep_meta = root || embedded(s);
            let addl = Additional::of(s);
            m.retain(|k, _| {
                let known =
                    (keep_meta && META_FIELDS.contains(&k.as_str())) || property(s, k).is_some() || addl.is_set();
                if !known {
                    record(track, path, k);
                }
                known
            });
            for (k, v) in m.iter_mut() {
                if keep_meta && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                push_key(path, k);
                match property(s, k) {
                    Some(p) => prune_node(v, Some(p), false, path, track),
                    None => prune_node(v, addl.schema(), false, path, track),
                }
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            let item = s.and_then(items);
            for (i, v) in a.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                prune_node(v, item, false, path, track);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Under x-kubernetes-preserve-unknown-fields: unknown fields stay, declared ones are pruned.
fn skip_prune(x: &mut Value, s: &Value, root: bool, path: &mut String, track: &mut Track<'_>) {
    let len = path.len();
    match x {
        Value::Object(m) => {
            let keep_meta = root || embedded(s);
            let addl = Additional::of(s);
            for (k, v) in m.iter_mut() {
                if keep_meta && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let sub = match property(s, k) {
                    Some(p) => Some(p),
                    None if addl.is_set() => addl.schema(),
                    None => continue,
                };
                push_key(path, k);
                prune_node(v, sub, false, path, track);
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            // Upstream keeps skipping (not pruning) inside arrays of a preserving node.
            let Some(item) = items(s) else { return };
            for (i, v) in a.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                skip_prune(v, item, false, path, track);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn push_key(path: &mut String, k: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(k);
}

/// defaulting.PruneNonNullableNullsWithoutDefaults: a `null` the schema neither allows nor
/// defaults is dropped (the field then counts as absent).
fn prune_nulls(x: &mut Value, s: Option<&Value>) {
    match x {
        Value::Object(m) => {
            let field_schema = |k: &str| -> Option<&Value> {
                let s = s?;
                property(s, k).or_else(|| Additional::of(s).schema())
            };
            m.retain(|k, v| {
                !(v.is_null() && field_schema(k).is_some_and(|fs| !nullable(fs) && default_of(fs).is_none()))
            });
            for (k, v) in m.iter_mut() {
                prune_nulls(v, field_schema(k));
            }
        }
        Value::Array(a) => {
            let item = s.and_then(items);
            for v in a {
                prune_nulls(v, item);
            }
        }
        _ => {}
    }
}

/// objectmeta.Coerce: the ObjectMeta round trip of embedded resources' metadata. Paths use
/// field.Path rendering (`a.b[key].c[0]`).
fn coerce(x: &mut Value, s: Option<&Value>, p: &str, out: &mut Vec<String>) {
    let Some(s) = s else { return };
    match x {
        Value::Object(m) => {
            if embedded(s)
                && let Some(meta) = m.get_mut("metadata")
            {
                normalize_object_meta(meta, &child(p, "metadata"), out);
            }
            let addl = Additional::of(s);
            for (k, v) in m.iter_mut() {
                match property(s, k) {
                    Some(sub) => coerce(v, Some(sub), &child(p, k), out),
                    None if addl.is_set() => coerce(v, addl.schema(), &key(p, k), out),
                    None => {}
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter_mut().enumerate() {
                coerce(v, items(s), &index(p, i), out);
            }
        }
        _ => {}
    }
}

const OBJECT_META: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];
const OWNER_REFERENCE: [&str; 6] = ["apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"];
const MANAGED_FIELDS_ENTRY: [&str; 7] =
    ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"];

/// What decoding into ObjectMeta and encoding back does to well-typed metadata: unknown fields
/// (also in owner references and managed fields entries) go, recorded as `<prefix>.<path>`, and
/// empty optional fields go. Wrongly typed fields are left for validation to report.
fn normalize_object_meta(meta: &mut Value, prefix: &str, out: &mut Vec<String>) {
    let Value::Object(m) = meta else { return };
    strip_unknown(m, &OBJECT_META, prefix, out);
    for (list, known) in [("ownerReferences", &OWNER_REFERENCE[..]), ("managedFields", &MANAGED_FIELDS_ENTRY[..])] {
        if let Some(Value::Array(entries)) = m.get_mut(list) {
            for (i, e) in entries.iter_mut().enumerate() {
                if let Value::Object(em) = e {
                    strip_unknown(em, known, &format!("{prefix}.{list}[{i}]"), out);
                    // Nil pointers and (for managed fields) empty strings are omitted.
                    em.retain(|_, v| !(v.is_null() || (list == "managedFields" && v.as_str() == Some(""))));
                }
            }
        }
    }
    m.retain(|k, v| !(v.is_null() || empty(v) || (k == "generation" && v.as_i64() == Some(0))));
}

fn strip_unknown(m: &mut Map<String, Value>, known: &[&str], prefix: &str, out: &mut Vec<String>) {
    m.retain(|k, _| {
        let ok = known.contains(&k.as_str());
        if !ok {
            out.push(format!("{prefix}.{k}"));
        }
        ok
    });
}

/// Empty strings, maps and lists: omitted by `omitempty`.
fn empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}
