//! `x-kubernetes-validations`: CEL rules on a custom resource's schema, compiled once per
//! definition version and evaluated on create and update (with `oldSelf` for transition rules),
//! through kube-cel's validator and the Kubernetes CEL libraries it registers.
//!
//! Errors take upstream's shape: the rule's node path (or its `fieldPath`), the node's schema
//! type as the value (`Invalid value: "object": <message>`), and the rule's `reason` picking
//! Forbidden/Required/Duplicate instead of Invalid. A root path prints as `<nil>`, as
//! upstream's nil `field.Path` does.

use kube_cel::{CompiledSchema, ErrorKind, ValidationError};
use serde_json::{Value, json};

use super::{FieldError, child, index, items, key, property};

/// The compiled rules of one schema (`None` when the schema has none: nothing to evaluate).
pub struct Rules {
    compiled: CompiledSchema,
    schema: Value,
}

impl Rules {
    pub fn new(schema: &Value) -> Option<Self> {
        has_rules(schema).then(|| Self { compiled: kube_cel::compile_schema(schema), schema: schema.clone() })
    }

    /// The rules' failures for `obj` (and `old` on update, which enables transition rules).
    pub fn check(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        match kube_cel::validate_compiled(&self.compiled, obj, old) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.iter().map(|e| self.field_error(e)).collect(),
        }
    }

    fn field_error(&self, e: &ValidationError) -> FieldError {
        let (field, ty) = upstream_path(&self.schema, &e.field_path);
        let shown = if field.is_empty() { "<nil>".to_string() } else { field };
        let ty = json!(ty);
        let cause = match (e.kind.clone(), e.reason.as_deref()) {
            (ErrorKind::ValidationFailure, Some("FieldValueForbidden")) => {
                crate::status::Cause::forbidden(shown, &e.message)
            }
            (ErrorKind::ValidationFailure, Some("FieldValueRequired")) => crate::status::Cause {
                reason: "FieldValueRequired",
                field: shown,
                message: format!("Required value: {}", e.message),
            },
            (ErrorKind::ValidationFailure, Some("FieldValueDuplicate")) => crate::status::Cause::duplicate(shown, &ty),
            _ => crate::status::Cause::invalid(shown, &ty, &e.message),
        };
        FieldError { reason: cause.reason, field: cause.field, message: cause.message }
    }
}

fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => {
            m.get("x-kubernetes-validations").and_then(Value::as_array).is_some_and(|a| !a.is_empty())
                || m.iter().any(|(k, v)| k != "default" && k != "example" && k != "enum" && has_rules(v))
        }
        Value::Array(a) => a.iter().any(has_rules),
        _ => false,
    }
}

/// kube-cel's dotted path (`spec.labels.app`, `spec.items[0]`) rendered as upstream's field.Path
/// (`spec.labels[app]`), with the schema type of the node it ends at.
fn upstream_path(schema: &Value, dotted: &str) -> (String, String) {
    let mut node = Some(schema);
    let mut path = String::new();
    for segment in split_segments(dotted) {
        let current = node.unwrap_or(&Value::Null);
        match segment {
            Segment::Index(i) => {
                path = index(&path, i);
                node = items(current);
            }
            Segment::Name(name) => {
                if let Some(p) = property(current, name) {
                    path = child(&path, name);
                    node = Some(p);
                } else if let Some(additional) = current.get("additionalProperties").filter(|v| v.is_object()) {
                    path = key(&path, name);
                    node = Some(additional);
                } else {
                    path = child(&path, name);
                    node = None;
                }
            }
        }
    }
    let ty = node.and_then(|n| n.get("type")).and_then(Value::as_str).unwrap_or("object").to_string();
    (path, ty)
}

enum Segment<'a> {
    Name(&'a str),
    Index(usize),
}

fn split_segments(dotted: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in dotted.split('.').filter(|p| !p.is_empty()) {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Name(name));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

/// Rules that cannot compile (or whose messageExpression cannot), reported against the
/// definition at `base` (e.g. `spec.versions[0].schema.openAPIV3Schema`) as upstream does when
/// a CRD is created or updated.
pub fn compile_problems(schema: &Value, base: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    if has_rules(schema) {
        walk(schema, base, &mut out);
    }
    out
}

fn walk(s: &Value, p: &str, out: &mut Vec<FieldError>) {
    for (i, rule) in s.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = child(&index(&child(p, "x-kubernetes-validations"), i), "rule");
        let text = rule.get("rule").and_then(Value::as_str).unwrap_or("");
        if text.trim().is_empty() {
            out.push(FieldError { reason: "FieldValueRequired", field: at, message: "Required value".into() });
            continue;
        }
        let compiled = kube_cel::compile_schema(&json!({"x-kubernetes-validations": [rule]}));
        if let Some(problem) = compiled.compilation_errors().first() {
            let cause = crate::status::Cause::invalid(at, rule, &format!("compilation failed: {problem}"));
            out.push(FieldError { reason: cause.reason, field: cause.field, message: cause.message });
        }
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            walk(sub, &key(&child(p, "properties"), name), out);
        }
    }
    if let Some(it) = items(s) {
        walk(it, &child(p, "items"), out);
    }
    if let Some(additional) = s.get("additionalProperties").filter(|v| v.is_object()) {
        walk(additional, &child(p, "additionalProperties"), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget_schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.minReplicas <= self.maxReplicas", "message": "minReplicas must not exceed maxReplicas"},
            {"rule": "self.mode == oldSelf.mode", "message": "mode is immutable"},
        ],
        "properties": {
            "minReplicas": {"type": "integer"}, "maxReplicas": {"type": "integer"},
            "mode": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string",
                "x-kubernetes-validations": [{"rule": "self.size() < 5", "reason": "FieldValueForbidden", "message": "too long"}]}},
            "ports": {"type": "array", "items": {"type": "integer",
                "x-kubernetes-validations": [{"rule": "self > 0"}]}},
        }}}})
    }

    #[test]
    fn rules_fail_with_upstream_paths_and_types() {
        let rules = Rules::new(&widget_schema()).unwrap();
        let ok = json!({"spec": {"minReplicas": 1, "maxReplicas": 3, "mode": "a"}});
        assert!(rules.check(&ok, None).is_empty());
        let bad = json!({"spec": {"minReplicas": 5, "maxReplicas": 3, "mode": "a",
            "labels": {"app": "toolong"}, "ports": [1, 0]}});
        let errs: Vec<String> = rules.check(&bad, None).iter().map(FieldError::text).collect();
        assert!(
            errs.contains(&"spec: Invalid value: \"object\": minReplicas must not exceed maxReplicas".into()),
            "{errs:?}"
        );
        assert!(errs.contains(&"spec.labels[app]: Forbidden: too long".into()), "{errs:?}");
        assert!(errs.contains(&"spec.ports[1]: Invalid value: \"integer\": failed rule: self > 0".into()), "{errs:?}");
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[test]
    fn transition_rules_need_the_old_object() {
        let rules = Rules::new(&widget_schema()).unwrap();
        let old = json!({"spec": {"minReplicas": 1, "maxReplicas": 3, "mode": "a"}});
        let new = json!({"spec": {"minReplicas": 1, "maxReplicas": 3, "mode": "b"}});
        assert!(rules.check(&new, None).is_empty());
        let errs = rules.check(&new, Some(&old));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].text(), "spec: Invalid value: \"object\": mode is immutable");
    }

    #[test]
    fn schemas_without_rules_compile_to_nothing_and_bad_rules_are_refused() {
        assert!(Rules::new(&json!({"type": "object", "properties": {"a": {"type": "string"}}})).is_none());
        let bad = json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.a >"}, {"rule": ""}]});
        let problems = compile_problems(&bad, "spec.versions[0].schema.openAPIV3Schema");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].field, "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule");
        assert!(problems[0].message.contains("compilation failed"), "{}", problems[0].message);
        assert_eq!(problems[1].reason, "FieldValueRequired");
    }
}
