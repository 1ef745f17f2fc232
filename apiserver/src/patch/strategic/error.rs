//! Why a strategic merge patch could not be applied, and the HTTP status upstream answers with.

use std::fmt;

use serde_json::{Map, Value};

/// How kube-apiserver answers a failed strategic merge. Its patch handler turns a handful of
/// known errors into 400 or 422 and passes every other one through unclassified, which the
/// response writer turns into a 500 Status with an empty reason and the error text as message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchErrorKind {
    /// 400 BadRequest: the patch document or a directive's syntax is malformed.
    BadRequest,
    /// 422 Unprocessable Entity (reason empty): lists of lists.
    Unprocessable,
    /// 500 with an empty reason: everything upstream does not classify (missing merge key,
    /// unknown `$patch` value, mixed list element types, `$setElementOrder` mismatch, ...).
    Unclassified,
}

/// A strategic merge patch that cannot be applied; the message follows upstream's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    kind: PatchErrorKind,
    message: String,
}

impl PatchError {
    pub fn kind(&self) -> PatchErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status kube-apiserver answers this error with.
    pub fn status_code(&self) -> u16 {
        match self.kind {
            PatchErrorKind::BadRequest => 400,
            PatchErrorKind::Unprocessable => 422,
            PatchErrorKind::Unclassified => 500,
        }
    }

    fn new(kind: PatchErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    pub(super) fn unclassified(message: impl Into<String>) -> Self {
        Self::new(PatchErrorKind::Unclassified, message)
    }

    pub(super) fn bad_json_doc() -> Self {
        Self::new(PatchErrorKind::BadRequest, "invalid JSON document")
    }

    /// Upstream decodes the patch body into a map, so any other JSON fails in the decoder.
    pub(super) fn patch_not_object(patch: &Value) -> Self {
        let found = match patch {
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Bool(_) => "bool",
            _ => "number",
        };
        Self::new(
            PatchErrorKind::BadRequest,
            format!("json: cannot unmarshal {found} into Go value of type map[string]interface {{}}"),
        )
    }

    pub(super) fn bad_primitive_list() -> Self {
        Self::new(PatchErrorKind::BadRequest, "invalid patch format of primitive list")
    }

    pub(super) fn bad_retain_keys() -> Self {
        Self::new(PatchErrorKind::BadRequest, "invalid patch format of retainKeys")
    }

    pub(super) fn bad_set_element_order() -> Self {
        Self::new(PatchErrorKind::BadRequest, "invalid patch format of setElementOrder list")
    }

    pub(super) fn list_of_lists() -> Self {
        Self::new(PatchErrorKind::Unprocessable, "lists of lists are not supported")
    }

    pub(super) fn no_merge_key(map: &Map<String, Value>, key: &str) -> Self {
        Self::unclassified(format!("map: {} does not contain declared merge key: {key}", go_map(map)))
    }

    /// `expected` is the Go type upstream wanted: a map or a list.
    pub(super) fn wrong_type(expected: Expected, actual: &Value) -> Self {
        let expected = match expected {
            Expected::Map => "map[string]interface {}",
            Expected::List => "[]interface {}",
        };
        Self::unclassified(format!("expected a {expected}, but received a {}", go_type(actual)))
    }

    pub(super) fn unknown_directive(directive: &Value, map: &Map<String, Value>) -> Self {
        Self::unclassified(format!("unknown patch type: {} in map: {}", go_value(directive), go_map(map)))
    }
}

/// The Go type a value had where upstream checked it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expected {
    Map,
    List,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PatchError {}

/// Upstream messages print values with Go's `%v`; mimic it so messages read the same.
pub(super) fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => go_list(items),
        Value::Object(map) => go_map(map),
    }
}

pub(super) fn go_list(items: &[Value]) -> String {
    let parts: Vec<String> = items.iter().map(go_value).collect();
    format!("[{}]", parts.join(" "))
}

fn go_map(map: &Map<String, Value>) -> String {
    // Go prints map entries sorted by key.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{}", go_value(v))).collect();
    format!("map[{}]", parts.join(" "))
}

fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}
