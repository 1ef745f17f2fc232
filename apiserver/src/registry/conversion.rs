//! Conversion between the versions that serve the same stored objects: events.k8s.io/v1 Events
//! are stored as core/v1 Events, and autoscaling/v1 HorizontalPodAutoscalers as autoscaling/v2,
//! as upstream stores them. Objects are converted on the way in (to the stored version) and on
//! the way out (to the version the client asked for).

use serde_json::{Map, Value, json};

/// events.k8s.io/v1 name <-> core/v1 name, for fields that only moved.
const EVENT_RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("deprecatedSource", "source"),
    ("reportingController", "reportingComponent"),
];

fn rename(obj: Value, forward: bool) -> Value {
    let Value::Object(map) = obj else { return obj };
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        let renamed = EVENT_RENAMES.iter().find_map(|(new, old)| {
            if forward && k == *new {
                Some(*old)
            } else if !forward && k == *old {
                Some(*new)
            } else {
                None
            }
        });
        out.insert(renamed.map(str::to_string).unwrap_or(k), v);
    }
    Value::Object(out)
}

fn event_to_core(obj: Value) -> Value {
    let mut obj = rename(obj, true);
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!("v1"));
        // Core clients read the reporting instance from `source.host` too.
        if let Some(instance) = map.get("reportingInstance").cloned() {
            let source = map.entry("source").or_insert_with(|| json!({}));
            if let Some(s) = source.as_object_mut() {
                s.entry("host").or_insert(instance);
            }
        }
        if let Some(controller) = map.get("reportingComponent").cloned() {
            let source = map.entry("source").or_insert_with(|| json!({}));
            if let Some(s) = source.as_object_mut() {
                s.entry("component").or_insert(controller);
            }
        }
    }
    obj
}

fn event_from_core(obj: Value) -> Value {
    let mut obj = rename(obj, false);
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!("events.k8s.io/v1"));
        // An event recorded through core/v1 may carry its reporter only in `source`.
        if map.get("reportingController").is_none_or(|v| v.as_str().is_none_or(str::is_empty))
            && let Some(component) = map.get("deprecatedSource").and_then(|s| s.get("component")).cloned()
        {
            map.insert("reportingController".into(), component);
        }
    }
    obj
}

fn hpa_v1_to_v2(obj: Value) -> Value {
    let Value::Object(mut map) = obj else { return obj };
    map.insert("apiVersion".into(), json!("autoscaling/v2"));
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(target) = spec.shift_remove("targetCPUUtilizationPercentage")
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]),
        );
    }
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut)
        && let Some(current) = status.shift_remove("currentCPUUtilizationPercentage")
    {
        status.insert(
            "currentMetrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}]),
        );
    }
    Value::Object(map)
}

fn cpu_utilization(metrics: Option<&Value>, field: &str) -> Option<Value> {
    metrics?.as_array()?.iter().find_map(|m| {
        let r = m.get("resource")?;
        (m.get("type")? == "Resource" && r.get("name")? == "cpu")
            .then(|| r.get(field)?.get("averageUtilization").cloned())?
    })
}

fn hpa_v2_to_v1(obj: Value) -> Value {
    let Value::Object(mut map) = obj else { return obj };
    map.insert("apiVersion".into(), json!("autoscaling/v1"));
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
        if let Some(target) = cpu_utilization(spec.get("metrics"), "target") {
            spec.insert("targetCPUUtilizationPercentage".into(), target);
        }
        spec.shift_remove("metrics");
        spec.shift_remove("behavior");
    }
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(current) = cpu_utilization(status.get("currentMetrics"), "current") {
            status.insert("currentCPUUtilizationPercentage".into(), current);
        }
        status.shift_remove("currentMetrics");
        status.shift_remove("conditions");
    }
    Value::Object(map)
}

/// From the served version `(group, version)` of `plural` to the stored one.
pub fn to_storage(group: &str, version: &str, plural: &str, storage: Option<(&str, &str)>, obj: Value) -> Value {
    match (group, version, plural) {
        ("events.k8s.io", "v1", "events") => event_to_core(obj),
        ("autoscaling", "v1", "horizontalpodautoscalers") => hpa_v1_to_v2(obj),
        // Custom resources with conversion `None`: the same fields, under the stored version.
        _ => match (storage, obj) {
            (Some((g, v)), Value::Object(mut map)) => {
                let api_version = if g.is_empty() { v.to_string() } else { format!("{g}/{v}") };
                map.insert("apiVersion".into(), json!(api_version));
                Value::Object(map)
            }
            (_, obj) => obj,
        },
    }
}

/// From the stored version to the served version `(group, version)` of `plural`.
pub fn from_storage(group: &str, version: &str, plural: &str, obj: Value) -> Value {
    match (group, version, plural) {
        ("events.k8s.io", "v1", "events") => event_from_core(obj),
        ("autoscaling", "v1", "horizontalpodautoscalers") => hpa_v2_to_v1(obj),
        _ => obj,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_between_the_two_apis() {
        let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hello", "reason": "Started",
            "reportingController": "kubelet", "reportingInstance": "node-1", "series": {"count": 2}});
        let core = to_storage("events.k8s.io", "v1", "events", Some(("", "v1")), new.clone());
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "hello");
        assert_eq!(core["source"], json!({"host": "node-1", "component": "kubelet"}));
        assert_eq!(core["apiVersion"], "v1");
        let back = from_storage("events.k8s.io", "v1", "events", core);
        assert_eq!(back["regarding"], new["regarding"]);
        assert_eq!((back["note"].clone(), back["reportingController"].clone()), (json!("hello"), json!("kubelet")));
        assert_eq!(back["series"], json!({"count": 2}));
    }

    #[test]
    fn hpa_cpu_target_maps_between_v1_and_v2() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "spec": {"minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70}});
        let v2 = to_storage("autoscaling", "v1", "horizontalpodautoscalers", Some(("autoscaling", "v2")), v1);
        assert_eq!(v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
        let back = from_storage("autoscaling", "v1", "horizontalpodautoscalers", v2);
        assert_eq!(back["spec"]["targetCPUUtilizationPercentage"], 70);
        assert!(back["spec"].get("metrics").is_none());
    }
}
