//! Shaping responses as the client asked (`Accept`): objects and lists as stored, `Table`s for
//! `kubectl get`, or metadata only.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::cached::CachedObject;
use crate::object;
use crate::registry::Resource;
use crate::request::Representation;
use crate::status::ApiError;
use crate::table;

/// The object as served by `res` (converted from the stored version; apiVersion and kind
/// first).
pub fn object(res: &Resource, obj: Value) -> Value {
    object::with_type(res.from_storage(obj), &res.api_version(), res.info.kind)
}

fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn column_definitions(res: &Resource) -> Value {
    if let Some(columns) = res.strategy.printer_columns() {
        return crate::crd::printer::definitions(columns);
    }
    Value::Array(
        table::columns(res.info.group, res.info.kind)
            .iter()
            .map(|c| {
                json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
            })
            .collect(),
    )
}

fn row(res: &Resource, obj: &Value, include_object: &str, now: SystemTime) -> Value {
    let embedded = match include_object {
        "None" => Value::Null,
        "Object" => object(res, obj.clone()),
        _ => partial(obj),
    };
    let served = res.from_storage(obj.clone());
    let cells = match res.strategy.printer_columns() {
        Some(columns) => crate::crd::printer::cells(columns, &served, now),
        None => table::cells(res.info.group, res.info.kind, &served, now),
    };
    json!({"cells": cells, "object": embedded})
}

/// A single object in the requested representation.
pub fn single(res: &Resource, obj: Value, repr: Representation, include_object: &str) -> Value {
    match repr {
        Representation::Object => object(res, obj),
        Representation::Metadata => partial(&obj),
        Representation::Table => table_of(res, &[obj], None, include_object, true),
    }
}

/// A `meta.k8s.io/v1` Table holding `items`.
pub fn table_of(
    res: &Resource,
    items: &[Value],
    list_meta: Option<Map<String, Value>>,
    include_object: &str,
    with_columns: bool,
) -> Value {
    let now = SystemTime::now();
    let mut out = Map::new();
    out.insert("kind".into(), json!("Table"));
    out.insert("apiVersion".into(), json!("meta.k8s.io/v1"));
    out.insert("metadata".into(), Value::Object(list_meta.unwrap_or_default()));
    out.insert("columnDefinitions".into(), if with_columns { column_definitions(res) } else { Value::Null });
    out.insert("rows".into(), Value::Array(items.iter().map(|o| row(res, o, include_object, now)).collect()));
    Value::Object(out)
}

/// A list in the requested representation.
pub fn list(
    res: &Resource,
    items: Vec<Value>,
    meta: Map<String, Value>,
    repr: Representation,
    include_object: &str,
) -> Value {
    match repr {
        Representation::Table => table_of(res, &items, Some(meta), include_object, true),
        Representation::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": items.iter().map(partial).collect::<Vec<_>>(),
        }),
        Representation::Object => json!({
            "kind": format!("{}List", res.info.kind),
            "apiVersion": res.api_version(),
            "metadata": meta,
            "items": items.into_iter().map(|o| object(res, o)).collect::<Vec<_>>(),
        }),
    }
}

/// What a watch event carries as its object, in the requested representation (a Table
/// event holds one row; column definitions only in the first).
pub fn watch_object(res: &Resource, obj: &Value, repr: Representation, first: bool) -> Value {
    match repr {
        Representation::Object => object(res, obj.clone()),
        Representation::Metadata => partial(obj),
        Representation::Table => table_of(res, std::slice::from_ref(obj), None, "PartialObjectMetadata", first),
    }
}

/// A list of cached objects in the requested representation, as response bytes. Objects
/// served in their stored version are copied as they are, not decoded.
pub fn list_bytes(
    res: &Resource,
    items: &[Arc<CachedObject>],
    meta: Map<String, Value>,
    repr: Representation,
    include_object: &str,
) -> Result<Vec<u8>, ApiError> {
    if repr == Representation::Object && res.stored_as_served() {
        let mut out = Vec::with_capacity(items.iter().map(|i| i.json().len() + 1).sum::<usize>() + 256);
        let head = json!({"kind": format!("{}List", res.info.kind), "apiVersion": res.api_version(), "metadata": meta});
        serde_json::to_writer(&mut out, &head).map_err(ApiError::internal)?;
        // Reopen the head object to append the items.
        out.pop();
        out.extend_from_slice(b",\"items\":[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item.json());
        }
        out.extend_from_slice(b"]}\n");
        return Ok(out);
    }
    let values = items.iter().map(|i| i.decode()).collect::<Result<Vec<_>, _>>()?;
    json_line(&list(res, values, meta, repr, include_object))
}

/// `value` as a response body: its JSON and a newline, as upstream's encoder writes it.
pub fn json_line(value: &Value) -> Result<Vec<u8>, ApiError> {
    let mut out = serde_json::to_vec(value).map_err(ApiError::internal)?;
    out.push(b'\n');
    Ok(out)
}

/// One watch event line: `{"type":...,"object":...}` and a newline.
pub fn watch_line(
    res: &Resource,
    event_type: &str,
    obj: &CachedObject,
    repr: Representation,
    first: bool,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(obj.json().len() + 32);
    if repr == Representation::Object && res.stored_as_served() {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(event_type.as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        out.extend_from_slice(obj.json());
        out.extend_from_slice(b"}\n");
        return Ok(out);
    }
    let object = watch_object(res, &obj.decode()?, repr, first);
    serde_json::to_writer(&mut out, &json!({"type": event_type, "object": object})).map_err(ApiError::internal)?;
    out.push(b'\n');
    Ok(out)
}
