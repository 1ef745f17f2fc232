//! flowcontrol.apiserver.k8s.io/v1: upstream's
//! `pkg/apis/flowcontrol/v1/defaults.go` and its generated walks.

use serde_json::json;

use crate::defaults::util::{Obj, child, child_or_create, set_default, set_default_zero};

/// Applies flowcontrol.apiserver.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "FlowSchema" => {
            if let Some(spec) = child_or_create(obj, "spec") {
                set_defaults_flow_schema_spec(spec);
            }
        }
        "PriorityLevelConfiguration" => set_object_defaults_priority_level_configuration(obj),
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_FlowSchemaSpec`: precedence 1000 (0 counts as unset,
/// the field is not a pointer).
pub fn set_defaults_flow_schema_spec(spec: &mut Obj) {
    set_default_zero(spec, "matchingPrecedence", json!(1000));
}

/// Mirrors `SetDefaults_ExemptPriorityLevelConfiguration`: both default to 0.
pub fn set_defaults_exempt_priority_level_configuration(exempt: &mut Obj) {
    set_default(exempt, "nominalConcurrencyShares", json!(0));
    set_default(exempt, "lendablePercent", json!(0));
}

/// Mirrors `SetDefaults_LimitedPriorityLevelConfiguration`. In v1 the shares
/// are a pointer: only a missing or null value becomes 30, an explicit 0 (a
/// level that may only borrow) is kept. Nothing lends by default.
pub fn set_defaults_limited_priority_level_configuration(limited: &mut Obj) {
    set_default(limited, "nominalConcurrencyShares", json!(30));
    set_default(limited, "lendablePercent", json!(0));
}

/// Mirrors `SetDefaults_QueuingConfiguration` (value fields: 0 counts as unset).
pub fn set_defaults_queuing_configuration(queuing: &mut Obj) {
    set_default_zero(queuing, "handSize", json!(8));
    set_default_zero(queuing, "queues", json!(64));
    set_default_zero(queuing, "queueLengthLimit", json!(50));
}

/// Mirrors `SetObjectDefaults_PriorityLevelConfiguration`.
pub fn set_object_defaults_priority_level_configuration(obj: &mut Obj) {
    let Some(spec) = child(obj, "spec") else { return };
    if let Some(limited) = child(spec, "limited") {
        set_defaults_limited_priority_level_configuration(limited);
        if let Some(queuing) = child(limited, "limitResponse").and_then(|r| child(r, "queuing")) {
            set_defaults_queuing_configuration(queuing);
        }
    }
    if let Some(exempt) = child(spec, "exempt") {
        set_defaults_exempt_priority_level_configuration(exempt);
    }
}
