//! Validation shared by every resource: object names and `metadata` (labels, annotations,
//! finalizers, owner references), with upstream's rules and messages.

use serde_json::Value;

use crate::object;
use crate::selectors::labels;
use crate::status::Cause;

const DNS1123_LABEL_MAX: usize = 63;
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// Which names a resource accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most resources).
    Subdomain,
    /// RFC 1123 label (namespaces).
    Label,
    /// RFC 1035 label: starts with a letter (services).
    Label1035,
    /// Anything that is a valid path segment (RBAC objects).
    PathSegment,
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn dns1123_label(s: &str) -> Option<String> {
    if s.len() > DNS1123_LABEL_MAX {
        return Some(format!("must be no more than {DNS1123_LABEL_MAX} characters"));
    }
    let ok =
        !s.is_empty() && s.chars().all(|c| is_alnum(c) || c == '-') && s.starts_with(is_alnum) && s.ends_with(is_alnum);
    (!ok).then(|| {
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string()
    })
}

fn dns1035_label(s: &str) -> Option<String> {
    if s.len() > DNS1123_LABEL_MAX {
        return Some(format!("must be no more than {DNS1123_LABEL_MAX} characters"));
    }
    let ok = !s.is_empty()
        && s.chars().all(|c| is_alnum(c) || c == '-')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.ends_with(is_alnum);
    (!ok).then(|| {
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string()
    })
}

/// Why `name` is not a valid name under `rule`, if it is not.
pub fn name_problem(rule: NameRule, name: &str) -> Option<String> {
    match rule {
        NameRule::Subdomain => labels::dns1123_subdomain_errors(name).into_iter().next(),
        NameRule::Label => dns1123_label(name),
        NameRule::Label1035 => dns1035_label(name),
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                Some(format!("may not be '{name}'"))
            } else if name.contains('/') || name.contains('%') {
                Some("may not contain '/' or '%'".to_string())
            } else {
                None
            }
        }
    }
}

/// The `metadata` rules every object follows (upstream ValidateObjectMeta).
pub fn object_meta(obj: &Value, rule: NameRule, namespaced: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = object::name(obj);
    if name.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired",
            field: "metadata.name".into(),
            message: "Required value: name or generateName is required".into(),
        });
    } else if let Some(problem) = name_problem(rule, name) {
        causes.push(Cause::invalid("metadata.name", &Value::String(name.into()), &problem));
    }
    if namespaced && object::namespace(obj).is_none() {
        causes.push(Cause::required("metadata.namespace"));
    }
    if !namespaced && object::namespace(obj).is_some() {
        causes.push(Cause::forbidden("metadata.namespace", "not allowed on this type"));
    }
    let Some(meta) = object::metadata(obj) else { return causes };
    if let Some(labels) = meta.get("labels") {
        match labels.as_object() {
            Some(labels) => {
                for (k, v) in labels {
                    for problem in labels::qualified_name_errors(k) {
                        causes.push(Cause::invalid("metadata.labels", &Value::String(k.clone()), &problem));
                    }
                    match v.as_str() {
                        Some(s) => {
                            for problem in labels::label_value_errors(s) {
                                causes.push(Cause::invalid("metadata.labels", v, &problem));
                            }
                        }
                        None => causes.push(Cause::invalid("metadata.labels", v, "must be a string")),
                    }
                }
            }
            None if labels.is_null() => {}
            None => causes.push(Cause::invalid("metadata.labels", labels, "must be a map of strings")),
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let mut size = 0;
        for (k, v) in annotations {
            size += k.len() + v.as_str().map_or(0, str::len);
            for problem in labels::qualified_name_errors(&k.to_lowercase()) {
                causes.push(Cause::invalid("metadata.annotations", &Value::String(k.clone()), &problem));
            }
        }
        if size > ANNOTATIONS_MAX_BYTES {
            causes.push(Cause {
                reason: "FieldValueTooLong",
                field: "metadata.annotations".into(),
                message: format!("Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes"),
            });
        }
    }
    for (i, f) in object::finalizers(obj).iter().enumerate() {
        for problem in labels::qualified_name_errors(f) {
            causes.push(Cause::invalid(format!("metadata.finalizers[{i}]"), &Value::String(f.clone()), &problem));
        }
    }
    if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
        for (i, owner) in owners.iter().enumerate() {
            for field in ["apiVersion", "kind", "name", "uid"] {
                if owner.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                    causes.push(Cause::required(format!("metadata.ownerReferences[{i}].{field}")));
                }
            }
        }
        let controllers = owners.iter().filter(|o| o.get("controller") == Some(&Value::Bool(true))).count();
        if controllers > 1 {
            causes.push(Cause::invalid(
                "metadata.ownerReferences",
                &Value::Array(owners.clone()),
                "Only one reference can have Controller set to true",
            ));
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_their_rule() {
        let cases = [
            (NameRule::Subdomain, "web-1.example", true),
            (NameRule::Subdomain, "Web", false),
            (NameRule::Subdomain, "-web", false),
            (NameRule::Subdomain, "", false),
            (NameRule::Label, "kube-system", true),
            (NameRule::Label, "a.b", false),
            (NameRule::Label1035, "1web", false),
            (NameRule::Label1035, "web1", true),
            (NameRule::PathSegment, "system:node", true),
            (NameRule::PathSegment, "a/b", false),
            (NameRule::PathSegment, "..", false),
        ];
        for (rule, name, ok) in cases {
            assert_eq!(name_problem(rule, name).is_none(), ok, "{rule:?} {name:?}");
        }
        assert!(name_problem(NameRule::Label, &"a".repeat(64)).unwrap().contains("63"));
    }

    #[test]
    fn metadata_rules_report_each_bad_field() {
        let obj = json!({"metadata": {
            "name": "ok",
            "namespace": "default",
            "labels": {"app": "web", "bad key": "x", "tier": "-no-"},
            "finalizers": ["example.com/ok", "bad//one"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "n"}],
        }});
        let fields: Vec<String> = object_meta(&obj, NameRule::Subdomain, true).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            ["metadata.labels", "metadata.labels", "metadata.finalizers[1]", "metadata.ownerReferences[0].uid"]
        );
        let cluster = json!({"metadata": {"name": "n", "namespace": "x"}});
        assert_eq!(object_meta(&cluster, NameRule::Subdomain, false)[0].field, "metadata.namespace");
        assert_eq!(object_meta(&json!({}), NameRule::Subdomain, false)[0].reason, "FieldValueRequired");
    }
}
