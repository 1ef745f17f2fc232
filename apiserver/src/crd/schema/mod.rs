//! Custom resources against a CRD version's `openAPIV3Schema` (apiextensions.k8s.io/v1
//! JSONSchemaProps as JSON): structural checks of the schema, pruning, defaulting and validation,
//! with kube-apiserver 1.33's semantics and error wording.
//!
//! Upstream order, which callers should follow on create/update and on every read from storage:
//! `prune` (unknown fields, metadata normalisation, non-nullable nulls) -> `apply_defaults` ->
//! `validate` (create/update only). The root `metadata` is validated by the generic ObjectMeta
//! rules elsewhere; embedded resources' metadata is reachable through `embedded_resources`.
//!
//! Everything here is pure: JSON in, JSON/errors out. Schema paths and error texts mirror
//! k8s.io/apiextensions-apiserver (structural schemas, pruning, defaulting, list types, embedded
//! ObjectMeta) and k8s.io/kube-openapi's validator as converted by the CR validation, including
//! its quirks (the `<nil>` field of oneOf/anyOf/allOf/not failures, "bytes" in maxLength errors).

use serde_json::{Map, Value};

mod cel;
mod defaults;
mod formats;
mod gofmt;
mod goregex;
mod objects;
mod prune;
mod structural;
mod validate;

pub use cel::{Rules, compile_problems as rule_problems};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_more;

/// One field error, as a 422 `Invalid` status cause: `field: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// "FieldValueRequired", "FieldValueInvalid", "FieldValueTypeInvalid", "FieldValueNotSupported",
    /// "FieldValueTooLong", "FieldValueTooMany", "FieldValueDuplicate", "FieldValueForbidden".
    pub reason: &'static str,
    /// Path relative to the object (or schema) root, e.g. `spec.replicas`; `<nil>` where upstream
    /// reports an error without a path.
    pub field: String,
    /// The detail after the field path, e.g. `Invalid value: "string": spec.replicas in body must
    /// be of type integer: "string"`.
    pub message: String,
}

impl FieldError {
    /// `field: message`, as upstream joins them in the status message.
    pub fn text(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// The problems that make `schema` non-structural, with paths relative to the schema root. CRD
/// validation wants `structural_problems_at` with its own prefix.
pub fn structural_problems(schema: &Value) -> Vec<FieldError> {
    structural::problems(schema, "")
}

/// `structural_problems` under `base`, e.g. `spec.versions[0].schema.openAPIV3Schema`.
pub fn structural_problems_at(schema: &Value, base: &str) -> Vec<FieldError> {
    structural::problems(schema, base)
}

/// Drops what the schema does not declare, as the decoder does for custom resources: unknown
/// fields (unless `x-kubernetes-preserve-unknown-fields`), unknown ObjectMeta fields in the root and
/// embedded `metadata` (plus empty ones, as a round trip through ObjectMeta would), and `null`s of
/// non-nullable fields without a default. `apiVersion`, `kind` and `metadata` at the root and in
/// embedded resources are kept. Returns the dropped unknown fields' paths (for fieldValidation
/// Strict/Warn: `unknown field "<path>"`), in upstream's order.
pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    prune::prune_resource(obj, schema)
}

/// Fills in `default`s: missing properties (and non-nullable `null`s) of objects that exist,
/// `null` array items and map values, recursively, with defaults pruned to their schema.
pub fn apply_defaults(obj: &mut Value, schema: &Value) {
    defaults::apply(obj, schema);
}

/// Everything kube-apiserver checks against the schema on create/update: the OpenAPI validation,
/// embedded resources' apiVersion/kind/metadata shape and list-type uniqueness. Paths are
/// relative to the object root.
pub fn validate(obj: &Value, schema: &Value) -> Vec<FieldError> {
    let mut errs = validate::validate(obj, schema, "");
    errs.extend(objects::validate_embedded(obj, schema));
    errs.extend(objects::validate_list_types(obj, schema));
    errs
}

/// Only the OpenAPI part of `validate`, for `value` under `prefix` (e.g. the status subresource
/// validates `status` against the `status` property schema with prefix `status`).
pub fn validate_values(value: &Value, schema: &Value, prefix: &str) -> Vec<FieldError> {
    validate::validate(value, schema, prefix)
}

/// The embedded resources (`x-kubernetes-embedded-resource`) present in `obj`, by path. Their
/// `metadata` must also pass the generic ObjectMeta validation (names as path segments, namespaced
/// when a namespace is set, an empty name allowed), which lives outside this module.
pub fn embedded_resources<'a>(obj: &'a Value, schema: &Value) -> Vec<(String, &'a Value)> {
    objects::embedded_resources(obj, schema)
}

// ---- schema accessors shared by the submodules ----

/// `additionalProperties`: absent, a boolean, or a schema.
#[derive(Clone, Copy)]
pub(crate) enum Additional<'a> {
    Absent,
    Bool(bool),
    Schema(&'a Value),
}

impl<'a> Additional<'a> {
    fn of(s: &'a Value) -> Self {
        match s.get("additionalProperties") {
            Some(Value::Bool(b)) => Additional::Bool(*b),
            Some(v @ Value::Object(_)) => Additional::Schema(v),
            _ => Additional::Absent,
        }
    }

    fn is_set(self) -> bool {
        !matches!(self, Additional::Absent)
    }

    /// The structural sub-schema: only the schema form has one (`true`/`false` mean "no schema").
    fn schema(self) -> Option<&'a Value> {
        match self {
            Additional::Schema(s) => Some(s),
            _ => None,
        }
    }
}

fn flag(s: &Value, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn text<'a>(s: &'a Value, key: &str) -> &'a str {
    s.get(key).and_then(Value::as_str).unwrap_or("")
}

fn properties(s: &Value) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

fn property<'a>(s: &'a Value, name: &str) -> Option<&'a Value> {
    properties(s).and_then(|p| p.get(name))
}

fn items(s: &Value) -> Option<&Value> {
    s.get("items").filter(|v| v.is_object())
}

fn schema_list<'a>(s: &'a Value, key: &str) -> &'a [Value] {
    s.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `default`, unless absent or null (upstream cannot tell those apart).
fn default_of(s: &Value) -> Option<&Value> {
    s.get("default").filter(|v| !v.is_null())
}

fn nullable(s: &Value) -> bool {
    flag(s, "nullable")
}

fn preserves_unknown(s: &Value) -> bool {
    flag(s, "x-kubernetes-preserve-unknown-fields")
}

fn embedded(s: &Value) -> bool {
    flag(s, "x-kubernetes-embedded-resource")
}

fn int_or_string(s: &Value) -> bool {
    flag(s, "x-kubernetes-int-or-string")
}

// ---- field paths (upstream field.Path rendering) ----

fn child(base: &str, name: &str) -> String {
    if base.is_empty() { name.to_string() } else { format!("{base}.{name}") }
}

fn key(base: &str, k: &str) -> String {
    format!("{base}[{k}]")
}

fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}
