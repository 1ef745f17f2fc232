//! Reading and writing the common parts of an object (`apiVersion`, `kind`, `metadata`) held as
//! JSON. The apiserver handles every object this way; resource strategies read the rest.

use serde_json::{Map, Value, json};

pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

/// `metadata`, created if absent (or replaced if not an object).
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(map) = obj else { unreachable!("made an object above") };
    let meta = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    match meta {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj)?.get(field)?.as_str()
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> Option<&str> {
    meta_str(obj, "namespace").filter(|s| !s.is_empty())
}

pub fn uid(obj: &Value) -> Option<&str> {
    meta_str(obj, "uid")
}

pub fn resource_version(obj: &Value) -> &str {
    meta_str(obj, "resourceVersion").unwrap_or("")
}

pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    metadata(obj)?.get("labels")?.as_object()
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    metadata(obj).and_then(|m| m.get("deletionTimestamp")).is_some_and(|t| !t.is_null())
}

pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    metadata_mut(obj).insert(field.to_string(), value);
}

pub fn remove_meta(obj: &mut Value, field: &str) {
    metadata_mut(obj).shift_remove(field);
}

/// Puts `kind`, `apiVersion` and `metadata` first, as upstream serializes objects.
pub fn with_type(obj: Value, api_version: &str, kind: &str) -> Value {
    let Value::Object(mut map) = obj else { return obj };
    let mut out = Map::with_capacity(map.len() + 2);
    out.insert("kind".into(), json!(kind));
    out.insert("apiVersion".into(), json!(api_version));
    map.shift_remove("kind");
    map.shift_remove("apiVersion");
    if let Some(meta) = map.shift_remove("metadata") {
        out.insert("metadata".into(), meta);
    }
    out.extend(map);
    Value::Object(out)
}

/// The current time as upstream formats `metav1.Time` (RFC 3339, seconds, UTC).
pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `time` plus `seconds`, in the same format.
pub fn later(seconds: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Random lower-case alphanumerics without vowels and look-alikes, as upstream's generateName
/// suffix (5 characters) uses.
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes.iter().take(len).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_fields_come_first_in_upstream_order() {
        let obj = json!({"spec": {}, "metadata": {"name": "x"}, "apiVersion": "old", "data": 1});
        let out = serde_json::to_string(&with_type(obj, "v1", "ConfigMap")).unwrap();
        assert_eq!(out, r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"},"spec":{},"data":1}"#);
    }

    #[test]
    fn metadata_helpers_tolerate_missing_and_malformed_metadata() {
        let mut obj = json!({"metadata": 5});
        assert_eq!(name(&obj), "");
        set_meta(&mut obj, "name", json!("n"));
        assert_eq!(name(&obj), "n");
        assert!(!is_deleting(&obj));
        assert_eq!(random_suffix(5).len(), 5);
        assert!(now().ends_with('Z'));
    }
}
