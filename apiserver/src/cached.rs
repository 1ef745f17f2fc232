//! An object as lists and watches handle it: its JSON, serialized once (stored version,
//! `resourceVersion` set), and the attributes selectors read (labels and the kind's
//! field-selector values), extracted once — upstream's "GetAttrs". Serving a list or a watch
//! event of such objects copies bytes; nothing is decoded per watcher.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::selectors::field_sets;
use crate::status::ApiError;

#[derive(Debug)]
pub struct CachedObject {
    /// The object's JSON, `kind`, `apiVersion` and `metadata` first, and a newline: a GET
    /// answers it as is (upstream's JSON encoder ends each document with one).
    line: Bytes,
    pub labels: Option<Map<String, Value>>,
    /// `(field, value)` for every field selector the resource supports.
    fields: Vec<(&'static str, Option<String>)>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl CachedObject {
    /// Builds the cached form of `obj` (which carries its resourceVersion) for the stored
    /// resource `group`/`resource`.
    pub fn new(obj: &Value, group: &str, resource: &str) -> Result<Self, ApiError> {
        let mut json = serde_json::to_vec(obj).map_err(ApiError::internal)?;
        json.push(b'\n');
        let meta = crate::object::metadata(obj);
        let fields = field_sets::supported_fields(group, resource)
            .into_iter()
            .map(|f| (f, field_sets::field_value(group, resource, obj, f).ok().flatten()))
            .collect();
        Ok(Self {
            line: Bytes::from(json),
            labels: meta.and_then(|m| m.get("labels")).and_then(Value::as_object).cloned(),
            fields,
            deleting: crate::object::is_deleting(obj),
        })
    }

    /// The object's JSON without the newline (for lists and watch events).
    pub fn json(&self) -> &[u8] {
        &self.line[..self.line.len() - 1]
    }

    /// The object's JSON and a newline, as a response body (shares the cached bytes).
    pub fn response_body(&self) -> Bytes {
        self.line.clone()
    }

    /// The object itself (parsed again: for conversions, tables and other reshaping).
    pub fn decode(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.line).map_err(ApiError::internal)
    }

    /// The value of a field selector's field, if this resource supports it (`Some(None)`: the
    /// field is supported and empty).
    pub fn field(&self, name: &str) -> Option<Option<&str>> {
        self.fields.iter().find(|(f, _)| *f == name).map(|(_, v)| v.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_are_extracted_once() {
        let pod = json!({"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web"}, "resourceVersion": "7"},
            "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let cached = CachedObject::new(&pod, "", "pods").unwrap();
        assert_eq!(cached.field("spec.nodeName"), Some(Some("n1")));
        assert_eq!(cached.field("status.phase"), Some(Some("Running")));
        assert_eq!(cached.field("metadata.name"), Some(Some("p")));
        assert_eq!(cached.field("spec.unknown"), None);
        assert_eq!(cached.labels.as_ref().unwrap()["app"], "web");
        assert_eq!(cached.decode().unwrap(), pod);
        assert!(!cached.deleting);
    }
}
