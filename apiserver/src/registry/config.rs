//! ConfigMaps and Secrets: key rules, size limits, `immutable`, and for Secrets the default type,
//! `stringData` folded into `data`, and the keys each built-in type requires.

use async_trait::async_trait;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::Strategy;
use crate::status::Cause;

/// Upstream's limit on a ConfigMap's or Secret's data.
const MAX_DATA_BYTES: usize = 1024 * 1024;

pub struct ConfigMaps;
pub struct Secrets;

/// A data key: letters, digits, `-`, `_`, `.`; not `.` or `..`.
fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() || key.len() > 253 {
        return Some("must be no more than 253 characters");
    }
    if key == "." || key == ".." {
        return Some("must not be '.' or '..'");
    }
    let ok = key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!ok).then_some("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
}

fn check_keys(map: Option<&Map<String, Value>>, field: &str, causes: &mut Vec<Cause>) -> usize {
    let mut size = 0;
    for (k, v) in map.into_iter().flatten() {
        if let Some(problem) = key_problem(k) {
            causes.push(Cause::invalid(format!("{field}[{k}]"), &json!(k), problem));
        }
        size += v.as_str().map_or(0, str::len);
    }
    size
}

/// What `immutable: true` forbids in an update.
fn check_immutable(new: &Value, old: &Value, fields: &[&str], causes: &mut Vec<Cause>) {
    if old.get("immutable") != Some(&json!(true)) {
        return;
    }
    if new.get("immutable") != Some(&json!(true)) {
        causes.push(Cause::forbidden("immutable", "field is immutable when `immutable` is set"));
    }
    for field in fields {
        if new.get(*field) != old.get(*field) {
            causes.push(Cause::forbidden(*field, "field is immutable when `immutable` is set"));
        }
    }
}

#[async_trait]
impl Strategy for ConfigMaps {
    fn validate(&self, obj: &Value) -> Vec<Cause> {
        let mut causes = Vec::new();
        let data = obj.get("data").and_then(Value::as_object);
        let binary = obj.get("binaryData").and_then(Value::as_object);
        let size = check_keys(data, "data", &mut causes) + check_keys(binary, "binaryData", &mut causes);
        for k in data.into_iter().flat_map(|d| d.keys()) {
            if binary.is_some_and(|b| b.contains_key(k)) {
                causes.push(Cause::invalid(format!("data[{k}]"), &json!(k), "duplicate of key present in binaryData"));
            }
        }
        if size > MAX_DATA_BYTES {
            causes.push(Cause {
                reason: "FieldValueTooLong",
                field: String::new(),
                message: format!("Too long: must have at most {MAX_DATA_BYTES} bytes"),
            });
        }
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        check_immutable(new, old, &["data", "binaryData"], &mut causes);
        causes
    }
}

/// Keys the built-in Secret types require.
fn required_keys(secret_type: &str) -> &'static [&'static str] {
    match secret_type {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        _ => &[],
    }
}

/// Folds write-only `stringData` into `data` (base64), as upstream does on every write.
fn fold_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else { return };
    let Some(Value::Object(strings)) = map.shift_remove("stringData") else { return };
    let data = map.entry("data").or_insert_with(|| json!({}));
    if let Some(data) = data.as_object_mut() {
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            data.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(text)));
        }
    }
}

#[async_trait]
impl Strategy for Secrets {
    fn prepare_for_create(&self, obj: &mut Value) {
        fold_string_data(obj);
        if let Some(map) = obj.as_object_mut()
            && map.get("type").is_none_or(|t| t.as_str().is_none_or(str::is_empty))
        {
            map.insert("type".into(), json!("Opaque"));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        fold_string_data(new);
        if let (Some(map), Some(t)) = (new.as_object_mut(), old.get("type"))
            && map.get("type").is_none()
        {
            map.insert("type".into(), t.clone());
        }
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        let mut causes = Vec::new();
        let data = obj.get("data").and_then(Value::as_object);
        let mut size = 0;
        for (k, v) in data.into_iter().flatten() {
            if let Some(problem) = key_problem(k) {
                causes.push(Cause::invalid(format!("data[{k}]"), &json!(k), problem));
            }
            match v.as_str().map(|s| base64::engine::general_purpose::STANDARD.decode(s)) {
                Some(Ok(bytes)) => size += bytes.len(),
                _ => causes.push(Cause::invalid(
                    format!("data[{k}]"),
                    &json!("<secret contents redacted>"),
                    "must be base64-encoded",
                )),
            }
        }
        if size > MAX_DATA_BYTES {
            causes.push(Cause {
                reason: "FieldValueTooLong",
                field: "data".into(),
                message: format!("Too long: must have at most {MAX_DATA_BYTES} bytes"),
            });
        }
        let secret_type = obj.get("type").and_then(Value::as_str).unwrap_or("Opaque");
        for key in required_keys(secret_type) {
            if data.is_none_or(|d| !d.contains_key(*key)) {
                causes.push(Cause::required(format!("data[{key}]")));
            }
        }
        if secret_type == "kubernetes.io/service-account-token"
            && obj.pointer("/metadata/annotations/kubernetes.io~1service-account.name").is_none()
        {
            causes.push(Cause::required("metadata.annotations[kubernetes.io/service-account.name]"));
        }
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        if new.get("type") != old.get("type") {
            causes.push(Cause::invalid("type", new.get("type").unwrap_or(&Value::Null), "field is immutable"));
        }
        check_immutable(new, old, &["data"], &mut causes);
        causes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_keys_and_immutability() {
        let bad = json!({"data": {"ok.key": "1", "bad/key": "2"}, "binaryData": {"ok.key": "AA=="}});
        let fields: Vec<String> = ConfigMaps.validate(&bad).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["data[bad/key]", "data[ok.key]"]);
        let old = json!({"data": {"a": "1"}, "immutable": true});
        let changed = json!({"data": {"a": "2"}, "immutable": true});
        assert_eq!(ConfigMaps.validate_update(&changed, &old)[0].field, "data");
        assert!(ConfigMaps.validate_update(&old.clone(), &old).is_empty());
    }

    #[test]
    fn secrets_default_fold_string_data_and_check_types() {
        let mut s = json!({"stringData": {"user": "admin"}, "data": {"pw": "c2VjcmV0"}});
        Secrets.prepare_for_create(&mut s);
        assert_eq!(s["type"], "Opaque");
        assert_eq!(s["data"], json!({"pw": "c2VjcmV0", "user": "YWRtaW4="}));
        assert!(s.get("stringData").is_none());
        assert!(Secrets.validate(&s).is_empty());
        let tls = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "AA=="}});
        assert_eq!(Secrets.validate(&tls)[0].field, "data[tls.key]");
        let garbage = json!({"data": {"k": "not base64!"}});
        assert_eq!(
            Secrets.validate(&garbage)[0].message,
            "Invalid value: \"<secret contents redacted>\": must be base64-encoded"
        );
        let retyped = json!({"type": "x", "data": {}});
        assert!(Secrets.validate_update(&retyped, &json!({"type": "Opaque"})).iter().any(|c| c.field == "type"));
    }
}
