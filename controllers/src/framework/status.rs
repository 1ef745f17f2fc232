//! Writing a whole status the way upstream's controllers do (`UpdateStatus` replaces it), as a
//! JSON merge patch: a merge patch alone only adds and changes fields, so counts that dropped to
//! zero (and are left out, as Go's `omitempty` does) would keep their old values.

use serde_json::{Map, Value};

/// The JSON merge patch (RFC 7386) that turns `current` into `desired`: changed and new fields
/// as they are in `desired`, removed ones as `null`, objects compared field by field. `{}` when
/// nothing differs.
///
/// ```
/// use serde_json::json;
/// let current = json!({"replicas": 2, "readyReplicas": 2, "conditions": [{"type": "Available"}]});
/// let desired = json!({"replicas": 1, "conditions": [{"type": "Available"}]});
/// let patch = controllers::framework::replace_patch(&current, &desired);
/// assert_eq!(patch, json!({"replicas": 1, "readyReplicas": null}));
/// ```
pub fn replace_patch(current: &Value, desired: &Value) -> Value {
    match (current, desired) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for (key, value) in new {
                match old.get(key) {
                    Some(was) if was == value => {}
                    Some(was @ Value::Object(_)) if value.is_object() => {
                        patch.insert(key.clone(), replace_patch(was, value));
                    }
                    _ => {
                        patch.insert(key.clone(), value.clone());
                    }
                }
            }
            for key in old.keys().filter(|k| !new.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => desired.clone(),
    }
}

/// Whether a patch from [`replace_patch`] changes nothing.
pub fn is_empty(patch: &Value) -> bool {
    patch.as_object().is_some_and(Map::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applying_the_patch_gives_the_desired_status() {
        let cases = [
            (json!({"a": 1, "b": {"c": 1, "d": 2}, "e": [1]}), json!({"b": {"c": 1}, "e": [2], "f": 0})),
            (json!({}), json!({"replicas": 3})),
            (json!({"replicas": 3, "unavailableReplicas": 1}), json!({"replicas": 3})),
            (json!({"x": {"y": 1}}), json!({"x": 5})),
        ];
        for (current, desired) in cases {
            let patch = replace_patch(&current, &desired);
            let mut applied = current.clone();
            json_patch::merge(&mut applied, &patch);
            assert_eq!(applied, desired, "{current} + {patch}");
        }
        assert!(is_empty(&replace_patch(&json!({"a": {"b": 1}}), &json!({"a": {"b": 1}}))));
    }
}
