//! `kubectl get` columns of custom resources: a definition's `additionalPrinterColumns`, whose
//! cells are JSONPath expressions over the object (the subset CRDs use: fields, indexes, `[*]`
//! and `[?(@.field=="value")]` filters), or upstream's default Name and Age.

use std::time::SystemTime;

use serde_json::{Value, json};

/// One column as the definition declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    /// integer, number, string, boolean, date
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

impl Column {
    pub fn from_definition(c: &Value) -> Option<Self> {
        let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(Self {
            name: c.get("name")?.as_str()?.to_string(),
            type_: text("type"),
            format: text("format"),
            description: text("description"),
            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            json_path: c.get("jsonPath")?.as_str()?.to_string(),
        })
    }
}

/// Column definitions for a Table: Name first, then the declared ones (or Age by default).
pub fn definitions(columns: &[Column]) -> Value {
    let mut out = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    if columns.is_empty() {
        out.push(json!({"name": "Age", "type": "date", "format": "", "description": "Time since the object was created.", "priority": 0}));
    }
    for c in columns {
        out.push(json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}));
    }
    Value::Array(out)
}

/// The cells of one object's row.
pub fn cells(columns: &[Column], obj: &Value, now: SystemTime) -> Vec<Value> {
    let name = obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
    let mut out = vec![name];
    if columns.is_empty() {
        out.push(age(obj.pointer("/metadata/creationTimestamp"), now));
    }
    for c in columns {
        let found = eval(&c.json_path, obj);
        out.push(match (c.type_.as_str(), found.as_slice()) {
            (_, []) => Value::Null,
            ("date", [one]) => age(Some(one), now),
            (_, [one]) => (*one).clone(),
            // Several matches print as upstream's JSONPath printer joins them.
            (_, many) => json!(many.iter().map(|v| plain(v)).collect::<Vec<_>>().join(" ")),
        });
    }
    out
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn age(t: Option<&Value>, now: SystemTime) -> Value {
    let Some(text) = t.and_then(Value::as_str) else { return Value::Null };
    let Ok(stamp) = text.parse::<jiff::Timestamp>() else { return json!(text) };
    let now = jiff::Timestamp::try_from(now).unwrap_or(stamp);
    let secs = (now.as_second() - stamp.as_second()).max(0) as u64;
    json!(crate::table::human_duration(std::time::Duration::from_secs(secs)))
}

/// One step of a JSONPath.
#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter { field: String, value: String },
}

/// Parses `.a.b[0].c[*].d[?(@.type=="Ready")].status` (a leading `$` or braces are allowed).
fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}').trim_start_matches('$');
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            steps.push(if inner == "*" {
                Step::All
            } else if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, value) = filter.split_once("==")?;
                Step::Filter {
                    field: field.trim().to_string(),
                    value: value.trim().trim_matches(['"', '\'']).to_string(),
                }
            } else if let Ok(i) = inner.parse() {
                Step::Index(i)
            } else {
                Step::Field(inner.trim_matches(['"', '\'']).to_string())
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// Every value `path` selects in `obj`.
pub fn eval<'a>(path: &str, obj: &'a Value) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else { return Vec::new() };
    let mut current = vec![obj];
    for step in &steps {
        current = current
            .into_iter()
            .flat_map(|v| -> Vec<&'a Value> {
                match step {
                    Step::Field(f) => v.get(f).into_iter().collect(),
                    Step::Index(i) => v.get(*i).into_iter().collect(),
                    Step::All => match v {
                        Value::Array(items) => items.iter().collect(),
                        Value::Object(map) => map.values().collect(),
                        _ => Vec::new(),
                    },
                    Step::Filter { field, value } => v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|item| item.get(field).map(plain).as_deref() == Some(value.as_str()))
                        .collect(),
                }
            })
            .collect();
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_subset_finds_fields_items_and_filtered_conditions() {
        let obj = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3, "hosts": ["a", "b"]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]}});
        assert_eq!(eval(".spec.replicas", &obj), [&json!(3)]);
        assert_eq!(eval(".spec.hosts[1]", &obj), [&json!("b")]);
        assert_eq!(eval(".spec.hosts[*]", &obj), [&json!("a"), &json!("b")]);
        assert_eq!(eval(r#".status.conditions[?(@.type=="Ready")].status"#, &obj), [&json!("True")]);
        assert!(eval(".spec.missing", &obj).is_empty());
        assert!(eval("not a path", &obj).is_empty());
    }

    #[test]
    fn rows_follow_the_declared_columns() {
        let columns = vec![
            Column::from_definition(&json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}))
                .unwrap(),
            Column::from_definition(&json!({"name": "Hosts", "type": "string", "jsonPath": ".spec.hosts[*]"})).unwrap(),
        ];
        let obj = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3, "hosts": ["a", "b"]}});
        assert_eq!(cells(&columns, &obj, SystemTime::now()), [json!("x"), json!(3), json!("a b")]);
        assert_eq!(definitions(&[]).as_array().unwrap().len(), 2, "Name and Age by default");
    }
}
