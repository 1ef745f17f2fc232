//! Structural schema checks (apiextensions' NewStructural + ValidateStructural): every node
//! outside value validations has a type, value validations (allOf/anyOf/oneOf/not) only restrict
//! values of fields that are specified structurally, metadata is only restricted in name and
//! generateName, and the x-kubernetes extensions are consistent.

use serde_json::{Map, Value};

use super::gofmt::{body, forbidden, invalid, required};
use super::{
    Additional, FieldError, child, embedded, flag, goregex, int_or_string, items, key, preserves_unknown, properties,
    schema_list, text,
};

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Root,
    Item,
    Field,
}

pub(super) fn problems(schema: &Value, base: &str) -> Vec<FieldError> {
    if let Some(why) = unsupported(schema) {
        return vec![invalid(base.to_string(), &body(&Value::String(String::new())), &why)];
    }
    let mut errs = Vec::new();
    invariants(schema, Level::Root, base, &mut errs);
    value_completeness(schema, Some(schema), base, base, &mut errs);
    // Upstream sorts by the rendered error because it walks maps in random order.
    errs.sort_by_key(FieldError::text);
    errs
}

/// What NewStructural refuses to convert (CRD validation reports these on its own as well).
fn unsupported(s: &Value) -> Option<String> {
    let m = s.as_object()?;
    // additionalItems is a pointer upstream: even `false` is "set".
    let set = |k: &str| m.get(k).is_some_and(|v| if k == "additionalItems" { !v.is_null() } else { !is_zero(k, v) });
    let checks = [
        ("id", "OpenAPIV3Schema 'id' is not supported"),
        ("$schema", "OpenAPIV3Schema 'schema' is not supported"),
        ("$ref", "OpenAPIV3Schema '$ref' is not supported"),
        ("patternProperties", "OpenAPIV3Schema 'patternProperties' is not supported"),
        ("dependencies", "OpenAPIV3Schema 'dependencies' is not supported"),
        ("additionalItems", "OpenAPIV3Schema 'additionalItems' is not supported"),
        ("definitions", "OpenAPIV3Schema 'definitions' is not supported"),
    ];
    for (k, why) in checks {
        if set(k) {
            return Some(why.to_string());
        }
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        return Some("internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined".into());
    }
    if m.get("items").is_some_and(Value::is_array) {
        return Some("OpenAPIV3Schema 'items' must be a schema, but is an array".into());
    }
    let subs = m.get("items").into_iter().chain(m.get("not")).chain(
        ["allOf", "anyOf", "oneOf"].iter().flat_map(|k| m.get(*k).and_then(Value::as_array).into_iter().flatten()),
    );
    let props = properties(s).into_iter().flat_map(Map::values);
    let addl = Additional::of(s).schema();
    subs.chain(props).chain(addl).find_map(unsupported)
}

/// Whether a JSONSchemaProps field holds its Go zero value (so reflect.DeepEqual ignores it):
/// pointers and non-empty-able slices count as set even when empty.
fn is_zero(k: &str, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty() && !matches!(k, "x-kubernetes-list-type" | "x-kubernetes-map-type"),
        Value::Array(a) => a.is_empty() && !matches!(k, "required" | "x-kubernetes-list-map-keys"),
        Value::Object(o) => {
            o.is_empty() && matches!(k, "properties" | "definitions" | "patternProperties" | "dependencies")
        }
        Value::Number(_) => false,
    }
}

/// Keys a structural schema does not keep, so they never make two nodes differ.
fn ignored(k: &str) -> bool {
    matches!(k, "example" | "externalDocs")
}

fn invariants(s: &Value, lvl: Level, p: &str, errs: &mut Vec<FieldError>) {
    let ty = text(s, "type");
    if ty == "array" && items(s).is_none() {
        errs.push(required(child(p, "items"), "must be specified"));
    }
    if let Some(it) = items(s) {
        invariants(it, Level::Item, &child(p, "items"), errs);
    }
    for (k, v) in properties(s).into_iter().flatten() {
        invariants(v, Level::Field, &key(&child(p, "properties"), k), errs);
    }
    let addl = Additional::of(s);
    if addl.is_set() {
        if lvl == Level::Root {
            errs.push(forbidden(child(p, "additionalProperties"), "must not be used at the root"));
        }
        if let Some(a) = addl.schema() {
            invariants(a, Level::Field, &child(p, "additionalProperties"), errs);
        }
    }

    let (ios, preserve, emb) = (int_or_string(s), preserves_unknown(s), embedded(s));
    if ios && preserve {
        errs.push(invalid(
            child(p, "x-kubernetes-preserve-unknown-fields"),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if ios && emb {
        errs.push(invalid(
            child(p, "x-kubernetes-embedded-resource"),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }

    value_validation(s, int_or_string_any_of(s), int_or_string_all_of(s), lvl, p, errs);

    let check_metadata = lvl == Level::Root || emb;
    if emb && ty != "object" {
        if ty.is_empty() {
            errs.push(required(child(p, "type"), "must be object if x-kubernetes-embedded-resource is true"));
        } else {
            errs.push(invalid(
                child(p, "type"),
                &body(&Value::from(ty)),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
    } else if ty.is_empty() && !ios && !preserve {
        let why = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(required(child(p, "type"), why));
    }
    if emb && addl.is_set() {
        errs.push(forbidden(
            child(p, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(invalid(child(p, "type"), &body(&Value::from(ty)), "must be object at the root"));
    }
    let props = properties(s);
    for name in ["kind", "apiVersion"] {
        if let Some(f) = props.and_then(|m| m.get(name)).filter(|_| check_metadata) {
            let ft = text(f, "type");
            if ft != "string" {
                errs.push(invalid(
                    child(&key(&child(p, "properties"), name), "type"),
                    &body(&Value::from(ft)),
                    "must be string",
                ));
            }
        }
    }
    if let Some(meta) = props.and_then(|m| m.get("metadata")) {
        metadata_invariants(meta, check_metadata, lvl, &key(&child(p, "properties"), "metadata"), errs);
    }
    if emb && !preserve && props.is_none_or(Map::is_empty) {
        errs.push(required(
            child(p, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn metadata_invariants(s: &Value, check_metadata: bool, lvl: Level, p: &str, errs: &mut Vec<FieldError>) {
    let ty = text(s, "type");
    if check_metadata && ty != "object" {
        errs.push(invalid(child(p, "type"), &body(&Value::from(ty)), "must be object"));
    }
    if lvl != Level::Root {
        return;
    }
    // Only name and generateName may be restricted; anything else the schema says about metadata
    // (beyond type and default) is refused.
    let Some(m) = s.as_object() else { return };
    let props_ok = properties(s).is_none_or(|props| props.keys().all(|k| k == "name" || k == "generateName"));
    let other = m.iter().any(|(k, v)| match k.as_str() {
        "type" | "default" => false,
        "properties" => !props_ok && !is_zero(k, v),
        k if ignored(k) => false,
        k => !is_zero(k, v),
    });
    if other {
        errs.push(forbidden(
            p.to_string(),
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}

/// Whether `s` is exactly `{type: <ty>}` as a nested value validation.
fn only_type(s: &Value, ty: &str) -> bool {
    text(s, "type") == ty
        && s.as_object().is_some_and(|m| m.iter().all(|(k, v)| k == "type" || ignored(k) || is_zero(k, v)))
}

fn is_int_or_string_pair(list: &[Value]) -> bool {
    list.len() == 2 && only_type(&list[0], "integer") && only_type(&list[1], "string")
}

fn int_or_string_any_of(s: &Value) -> bool {
    is_int_or_string_pair(schema_list(s, "anyOf"))
}

fn int_or_string_all_of(s: &Value) -> bool {
    schema_list(s, "allOf").first().is_some_and(|first| is_int_or_string_pair(schema_list(first, "anyOf")))
}

fn value_validation(
    s: &Value,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    p: &str,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, v) in schema_list(s, "anyOf").iter().enumerate() {
            nested(v, false, lvl, &super::index(&child(p, "anyOf"), i), errs);
        }
    }
    for (i, v) in schema_list(s, "allOf").iter().enumerate() {
        nested(v, skip_first_all_of_any_of && i == 0, lvl, &super::index(&child(p, "allOf"), i), errs);
    }
    for (i, v) in schema_list(s, "oneOf").iter().enumerate() {
        nested(v, false, lvl, &super::index(&child(p, "oneOf"), i), errs);
    }
    if let Some(not) = s.get("not").filter(|v| v.is_object()) {
        nested(not, false, lvl, &child(p, "not"), errs);
    }
    let pattern = text(s, "pattern");
    if !pattern.is_empty()
        && let Err(e) = goregex::compile(pattern)
    {
        errs.push(invalid(
            child(p, "pattern"),
            &body(&Value::from(pattern)),
            &format!("must be a valid regular expression, but isn't: {e}"),
        ));
    }
}

/// A schema under allOf/anyOf/oneOf/not: value validations only.
fn nested(v: &Value, skip_any_of: bool, lvl: Level, p: &str, errs: &mut Vec<FieldError>) {
    value_validation(v, skip_any_of, false, lvl, p, errs);
    if let Some(it) = items(v) {
        nested(it, false, lvl, &child(p, "items"), errs);
    }
    for (k, f) in properties(v).into_iter().flatten() {
        nested(f, false, Level::Field, &key(&child(p, "properties"), k), errs);
    }
    if !text(v, "type").is_empty() {
        errs.push(forbidden(child(p, "type"), "must be empty to be structural"));
    }
    // `additionalProperties: false` converts to nothing here, so only a schema or `true` counts.
    if matches!(Additional::of(v), Additional::Schema(_) | Additional::Bool(true)) {
        errs.push(forbidden(child(p, "additionalProperties"), "must be undefined to be structural"));
    }
    if super::default_of(v).is_some() {
        errs.push(forbidden(child(p, "default"), "must be undefined to be structural"));
    }
    for (k, why) in [("title", "must be empty to be structural"), ("description", "must be empty to be structural")] {
        if !text(v, k).is_empty() {
            errs.push(forbidden(child(p, k), why));
        }
    }
    let bools = [
        "nullable",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ];
    for k in bools {
        if flag(v, k) {
            errs.push(forbidden(child(p, k), "must be false to be structural"));
        }
    }
    if !schema_list(v, "x-kubernetes-list-map-keys").is_empty() {
        errs.push(forbidden(child(p, "x-kubernetes-list-map-keys"), "must be empty to be structural"));
    }
    for k in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if v.get(k).is_some_and(|x| !x.is_null()) {
            errs.push(forbidden(child(p, k), "must be undefined to be structural"));
        }
    }
    if !schema_list(v, "x-kubernetes-validations").is_empty() {
        errs.push(forbidden(child(p, "x-kubernetes-validations"), "must be empty to be structural"));
    }
    if properties(v).is_some_and(|m| m.contains_key("metadata")) {
        errs.push(forbidden(key(&child(p, "properties"), "metadata"), "must not be specified in a nested context"));
    }
}

/// Upstream checks completeness for the root's junctors only (and what they nest), not for
/// junctors deeper in the structural tree.
fn value_completeness(v: &Value, s: Option<&Value>, s_path: &str, v_path: &str, errs: &mut Vec<FieldError>) {
    let Some(s) = s else {
        errs.push(required(s_path.to_string(), &format!("because it is defined in {}", shown(v_path))));
        return;
    };
    if let Some(not) = v.get("not").filter(|x| x.is_object()) {
        nested_completeness(not, Some(s), s_path, &child(v_path, "not"), errs);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, x) in schema_list(v, junctor).iter().enumerate() {
            nested_completeness(x, Some(s), s_path, &super::index(&child(v_path, junctor), i), errs);
        }
    }
}

fn nested_completeness(v: &Value, s: Option<&Value>, s_path: &str, v_path: &str, errs: &mut Vec<FieldError>) {
    let Some(s) = s else {
        errs.push(required(s_path.to_string(), &format!("because it is defined in {}", shown(v_path))));
        return;
    };
    value_completeness(v, Some(s), s_path, v_path, errs);
    if let Some(vi) = items(v) {
        nested_completeness(vi, items(s), &child(s_path, "items"), &child(v_path, "items"), errs);
    }
    for (k, vf) in properties(v).into_iter().flatten() {
        let sp = key(&child(s_path, "properties"), k);
        let vp = key(&child(v_path, "properties"), k);
        match properties(s).and_then(|m| m.get(k)) {
            Some(sf) => nested_completeness(vf, Some(sf), &sp, &vp, errs),
            None => errs.push(required(sp, &format!("because it is defined in {}", shown(&vp)))),
        }
    }
}

/// field.Path.String() of a possibly empty (nil) path.
fn shown(p: &str) -> &str {
    if p.is_empty() { "<nil>" } else { p }
}
