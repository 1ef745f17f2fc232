//! The built-in admission plugins that only concern pods, run on pod creation:
//!
//! - **DefaultTolerationSeconds**: a pod that does not say how long it tolerates its node being
//!   not-ready or unreachable tolerates each for 300 s (then the taint eviction controller
//!   deletes it);
//! - **Priority**: `spec.priorityClassName` (or the cluster's `globalDefault` class) resolved
//!   into `spec.priority` and `spec.preemptionPolicy`;
//! - **ServiceAccount**, its image part: a pod naming no imagePullSecrets gets its service
//!   account's. (Its token volume needs the TokenRequest API, not served yet; a missing account
//!   is not refused, so pods of a namespace created a moment ago are not turned away.)

use serde_json::{Value, json};

use crate::registry::{Ctx, ops};
use crate::status::ApiError;

const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// DefaultTolerationSeconds.
pub fn default_tolerations(pod: &mut Value) {
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

/// ServiceAccount: the account's imagePullSecrets for a pod that names none.
pub async fn service_account_pull_secrets(ctx: &Ctx<'_>, pod: &mut Value) -> Result<(), ApiError> {
    let named = pod.pointer("/spec/imagePullSecrets").and_then(Value::as_array).is_some_and(|l| !l.is_empty());
    let Some(res) = ctx.registry.get("", "v1", "serviceaccounts") else { return Ok(()) };
    if named {
        return Ok(());
    }
    let namespace = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let account = pod
        .pointer("/spec/serviceAccountName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_string();
    let secrets = match ops::get(ctx, &res, Some(&namespace), &account).await {
        Ok((sa, _)) => sa.get("imagePullSecrets").cloned(),
        Err(e) if e.code == 404 => None,
        Err(e) => return Err(e),
    };
    if let (Some(secrets), Some(spec)) = (
        secrets.filter(|s| s.as_array().is_some_and(|l| !l.is_empty())),
        pod.get_mut("spec").and_then(Value::as_object_mut),
    ) {
        spec.insert("imagePullSecrets".into(), secrets);
    }
    Ok(())
}

/// Priority.
pub async fn priority(ctx: &Ctx<'_>, pod: &mut Value) -> Result<(), ApiError> {
    let Some(res) = ctx.registry.get("scheduling.k8s.io", "v1", "priorityclasses") else { return Ok(()) };
    let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let class_name = pod.pointer("/spec/priorityClassName").and_then(Value::as_str).filter(|n| !n.is_empty());
    let class = match class_name {
        Some(class_name) => match ops::get(ctx, &res, None, class_name).await {
            Ok((class, _)) => Some(class),
            Err(e) if e.code == 404 => {
                let why = format!("no PriorityClass with name {class_name} was found");
                return Err(ApiError::forbidden("", "pods", &name, &why));
            }
            Err(e) => return Err(e),
        },
        None => {
            // The global default, the lowest if several claim to be.
            let cache = ctx.registry.cache(&res).await?;
            let all: crate::watchcache::Filter = std::sync::Arc::new(|_, _| true);
            let (items, _) = cache.list(&all);
            items
                .iter()
                .filter_map(|o| serde_json::from_slice::<Value>(&o.json).ok())
                .filter(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
                .min_by_key(|c| c.get("value").and_then(Value::as_i64).unwrap_or(0))
        }
    };
    let value = class.as_ref().and_then(|c| c.get("value")).and_then(Value::as_i64).unwrap_or(0);
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(()) };
    if let Some(given) = spec.get("priority").and_then(Value::as_i64)
        && given != value
    {
        let why = format!(
            "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
        );
        return Err(ApiError::forbidden("", "pods", &name, &why));
    }
    spec.insert("priority".into(), json!(value));
    if let Some(class) = &class {
        if let Some(n) = class.pointer("/metadata/name") {
            spec.insert("priorityClassName".into(), n.clone());
        }
        let policy =
            class.get("preemptionPolicy").and_then(Value::as_str).unwrap_or("PreemptLowerPriority").to_string();
        if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str)
            && given != policy
        {
            let why = format!(
                "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
            );
            return Err(ApiError::forbidden("", "pods", &name, &why));
        }
        spec.insert("preemptionPolicy".into(), json!(policy));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
