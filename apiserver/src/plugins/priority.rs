//! Priority: `spec.priorityClassName` (or the cluster's `globalDefault` class) resolved into
//! `spec.priority` and `spec.preemptionPolicy` of a new pod.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::is_pod_create;
use crate::admission::{Attributes, Plugin};
use crate::registry::{Ctx, ops};
use crate::status::ApiError;

pub(crate) struct Priority;

#[async_trait]
impl Plugin for Priority {
    fn name(&self) -> &'static str {
        "Priority"
    }

    async fn admit(&self, ctx: &Ctx<'_>, a: &Attributes<'_>, obj: Option<&mut Value>) -> Result<bool, ApiError> {
        match obj {
            Some(pod) if is_pod_create(a) => {
                let before = pod.clone();
                priority(ctx, pod).await?;
                Ok(*pod != before)
            }
            _ => Ok(false),
        }
    }
}

async fn priority(ctx: &Ctx<'_>, pod: &mut Value) -> Result<(), ApiError> {
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
                .filter_map(|o| serde_json::from_slice::<Value>(o.json()).ok())
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
