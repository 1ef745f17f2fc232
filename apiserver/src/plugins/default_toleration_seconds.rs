//! DefaultTolerationSeconds: a pod that does not say how long it tolerates its node being
//! not-ready or unreachable tolerates each for 300 s (then the taint eviction controller deletes
//! it).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::is_pod_create;
use crate::admission::{Attributes, Plugin};
use crate::registry::Ctx;
use crate::status::ApiError;

pub(crate) struct DefaultTolerationSeconds;

#[async_trait]
impl Plugin for DefaultTolerationSeconds {
    fn name(&self) -> &'static str {
        "DefaultTolerationSeconds"
    }

    async fn admit(&self, _ctx: &Ctx<'_>, a: &Attributes<'_>, obj: Option<&mut Value>) -> Result<bool, ApiError> {
        match obj {
            Some(pod) if is_pod_create(a) => {
                let before = pod.clone();
                default_tolerations(pod);
                Ok(*pod != before)
            }
            _ => Ok(false),
        }
    }
}

const DEFAULT_TOLERATION_SECONDS: i64 = 300;

fn default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    let Some(list) = tolerations.as_array_mut() else { return };
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        // Any toleration of the key with a NoExecute (or any) effect is the pod's own choice.
        let covered = list.iter().any(|t| {
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            let k = t.get("key").and_then(Value::as_str).unwrap_or("");
            let exists_all = k.is_empty() && t.get("operator").and_then(Value::as_str) == Some("Exists");
            (k == key || exists_all) && (effect.is_empty() || effect == "NoExecute")
        });
        if !covered {
            list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerations_for_node_trouble_are_added_unless_the_pod_has_its_own() {
        let mut pod = json!({"spec": {"containers": []}});
        default_tolerations(&mut pod);
        let tolerations = pod["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(tolerations.len(), 2);
        assert!(tolerations.iter().all(|t| t["tolerationSeconds"] == 300 && t["effect"] == "NoExecute"));
        let mut own = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]}});
        default_tolerations(&mut own);
        let keys: Vec<&str> =
            own["spec"]["tolerations"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"]);
        let mut everything = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        default_tolerations(&mut everything);
        assert_eq!(everything["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }
}
