//! Built-in objects take the shape upstream's Go round trip gives them: upstream decodes every
//! body into its Go struct (absent non-`omitempty` fields become zero values, `omitempty` zero
//! values vanish, non-pointer structs such as `status` always exist) and stores it through
//! protobuf (empty lists and maps read back as absent). Defaulting happens on decode too.
//! Custom resources keep their JSON.

use apimachinery::encoding::{self, Options};
use serde_json::Value;

use super::Resource;

/// As upstream's decoder leaves a request body, defaulted (`SetDefaults_*`): run before the
/// strategy and validation, so that they see what upstream's see (a PriorityClass without
/// `value` has value 0).
pub(crate) fn decoded(res: &Resource, obj: &mut Value) {
    if res.strategy.custom() {
        return;
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    crate::defaults::default_object(group, version, &kind, obj);
    shape(res, obj, false);
}

/// As upstream reads an object back from storage: run last before the object is stored.
pub(crate) fn stored(res: &Resource, obj: &mut Value) {
    shape(res, obj, true);
}

fn shape(res: &Resource, obj: &mut Value, storage_round_trip: bool) {
    if res.strategy.custom() {
        return;
    }
    let opts = Options { storage_round_trip, ..Options::default() };
    // Values upstream's decoder would refuse are left as they are; validation reports them.
    let _ = encoding::normalize_object(obj, &opts);
}

#[cfg(test)]
mod tests {
    use apimachinery::encoding::{Options, normalize_object};
    use serde_json::json;

    #[test]
    fn built_in_objects_take_upstreams_shape() {
        let opts = Options { storage_round_trip: true, ..Options::default() };
        let mut pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "x"}});
        normalize_object(&mut pc, &opts).expect("a built-in kind");
        assert_eq!(pc["value"], 0, "{pc}");
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "ownerReferences": []}, "spec": {"template": {}}});
        normalize_object(&mut d, &opts).expect("a built-in kind");
        assert_eq!(d["status"], json!({}), "{d}");
        assert!(d["metadata"].get("ownerReferences").is_none(), "{d}");
        let keys: Vec<&str> = d.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"]);
    }
}
