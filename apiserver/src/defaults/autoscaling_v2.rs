//! autoscaling/v2: upstream's `pkg/apis/autoscaling/v2/defaults.go`.

use serde_json::{Value, json};

use crate::defaults::util::{Obj, child, child_or_create, is_empty, is_unset, set_default};

/// `autoscaling.DefaultCPUUtilization`.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// Applies autoscaling/v2 defaulting; false for a kind this group does not serve.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "HorizontalPodAutoscaler" => set_defaults_horizontal_pod_autoscaler(obj),
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_HorizontalPodAutoscaler`: minReplicas, the CPU
/// metric when none is given, then the behavior rules.
pub fn set_defaults_horizontal_pod_autoscaler(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_default(spec, "minReplicas", json!(1));
    if is_empty(spec.get("metrics")) {
        spec.insert(
            "metrics".into(),
            json!([{
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION},
                },
            }]),
        );
    }
    set_defaults_horizontal_pod_autoscaler_behavior(obj);
}

/// Mirrors `SetDefaults_HorizontalPodAutoscalerBehavior`: when a behavior is
/// given, each direction is completed from its default rules.
pub fn set_defaults_horizontal_pod_autoscaler_behavior(obj: &mut Obj) {
    let Some(behavior) = child(obj, "spec").and_then(|s| child(s, "behavior")) else { return };
    let up = generate_hpa_scale_up_rules(behavior.get("scaleUp"));
    behavior.insert("scaleUp".into(), up);
    let down = generate_hpa_scale_down_rules(behavior.get("scaleDown"));
    behavior.insert("scaleDown".into(), down);
}

/// Mirrors `GenerateHPAScaleUpRules`: at most 4 pods or 100% per 15s, no
/// stabilization window, the larger change wins.
pub fn generate_hpa_scale_up_rules(given: Option<&Value>) -> Value {
    let defaults = json!({
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    });
    copy_hpa_scaling_rules(given, defaults)
}

/// Mirrors `GenerateHPAScaleDownRules`: 100% per 15s, the larger change
/// wins; the stabilization window stays unset (the controller's flag decides).
pub fn generate_hpa_scale_down_rules(given: Option<&Value>) -> Value {
    let defaults = json!({
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    });
    copy_hpa_scaling_rules(given, defaults)
}

/// Mirrors `copyHPAScalingRules`: every field the client set wins over the
/// default (tolerance included, an alpha field in 1.33).
fn copy_hpa_scaling_rules(given: Option<&Value>, mut to: Value) -> Value {
    let (Some(from), Some(target)) = (given.and_then(Value::as_object), to.as_object_mut()) else { return to };
    for key in ["selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"] {
        if let Some(v) = from.get(key).filter(|v| !is_unset(Some(v))) {
            target.insert(key.into(), v.clone());
        }
    }
    // Fields this version does not know are dropped by upstream's decoder;
    // they are kept here so nothing a client sent silently disappears.
    for (k, v) in from {
        if !target.contains_key(k) && !v.is_null() {
            target.insert(k.clone(), v.clone());
        }
    }
    to
}
