//! `SetDefaults_ResourceList`: every quantity of a resource list rounded up to whole
//! thousandths (`RoundUp(-3)`: `"0.0001"` becomes `"1m"`); values already in whole
//! thousandths stay as written (printing them canonically is the encoder's job).

use apimachinery::quantity::Quantity;
use serde_json::Value;

use crate::defaults::util::Obj;

/// Mirrors `SetDefaults_ResourceList`: rounds every quantity of the map.
pub fn set_defaults_resource_list(list: &mut Obj) {
    for value in list.values_mut() {
        if let Some(rounded) = Quantity::from_json(value).and_then(|q| q.round_up_milli()) {
            *value = Value::String(rounded.canonical());
        }
    }
}

/// Rounds the resource list at `key` when present.
pub(crate) fn round_list_at(m: &mut Obj, key: &str) {
    if let Some(list) = m.get_mut(key).and_then(Value::as_object_mut) {
        set_defaults_resource_list(list);
    }
}

/// Rounds `limits` and `requests` of a `ResourceRequirements` at `key`.
pub(crate) fn round_requirements_at(m: &mut Obj, key: &str) {
    if let Some(req) = m.get_mut(key).and_then(Value::as_object_mut) {
        round_list_at(req, "limits");
        round_list_at(req, "requests");
    }
}
