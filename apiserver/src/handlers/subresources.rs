//! Subresources: `status` (the status half of the spec/status split), `scale` (an
//! autoscaling/v1 Scale view of a workload's replicas), `binding` (the scheduler assigning a
//! pod to a node) and `finalize` (a namespace's spec.finalizers).

use axum::response::Response;
use http::Method;
use serde_json::{Value, json};

use super::{Call, json_response, patch, respond};
use crate::admission::{Attributes, Operation};
use crate::object;
use crate::registry::ops::{self, Part};
use crate::registry::{Ctx, Resource};
use crate::selectors::labels;
use crate::status::{self, ApiError, Cause};

pub async fn serve(
    call: &Call<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    sub: &str,
    method: &Method,
) -> Result<Response, ApiError> {
    if !res.has_subresource(sub) {
        return Err(ApiError::not_found(res.group(), &format!("{}/{sub}", res.info.plural), name)
            .with_message("the server could not find the requested resource"));
    }
    let ctx = call.ctx()?;
    match (sub, method) {
        ("status", &Method::GET) => {
            let (obj, _) = ops::get(&ctx, res, ns, name).await?;
            respond(call, res, obj, 200).await
        }
        ("status", &Method::PUT) => {
            let body = call.body_json()?;
            let updated = ops::update(&ctx, res, ns, name, body, Part::Status).await?;
            respond(call, res, updated, 200).await
        }
        ("status", &Method::PATCH) => {
            let patched = patch::patch(call, res, ns, name, Part::Status).await?;
            respond(call, res, patched.object, 200).await.map(|r| super::with_warnings(r, &patched.warnings))
        }
        ("scale", &Method::GET) => {
            let (obj, _) = ops::get(&ctx, res, ns, name).await?;
            Ok(json_response(200, &scale_of(res, &obj)?))
        }
        ("scale", &Method::PUT) => {
            let body = call.body_json()?;
            let replicas = replicas_in(&body)?;
            let rv = object::resource_version(&body).to_string();
            set_replicas(&ctx, res, ns, name, replicas, (!rv.is_empty()).then_some(rv)).await
        }
        ("scale", &Method::PATCH) => {
            // Patch the Scale view, then carry its replicas over to the object.
            let (obj, _) = ops::get(&ctx, res, ns, name).await?;
            let scale = scale_of(res, &obj)?;
            let body: Value = serde_json::from_slice(&call.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let patched = match call.content_type().split(';').next().unwrap_or("").trim() {
                "application/json-patch+json" => patch::json_patch(&scale, &body)?,
                _ => {
                    let mut doc = scale.clone();
                    json_patch::merge(&mut doc, &body);
                    doc
                }
            };
            let replicas = replicas_in(&patched)?;
            let rv = object::resource_version(&patched).to_string();
            let expected = (rv != object::resource_version(&scale)).then_some(rv);
            set_replicas(&ctx, res, ns, name, replicas, expected).await
        }
        ("binding", &Method::POST) => binding(call, ns, Some(name)).await,
        ("finalize", &Method::PUT) => {
            let body = call.body_json()?;
            let finalizers = body.pointer("/spec/finalizers").cloned().unwrap_or_else(|| json!([]));
            let apply = move |current: &Value| -> Result<Value, ApiError> {
                let mut next = current.clone();
                if let Some(spec) = next.as_object_mut().map(|m| m.entry("spec").or_insert_with(|| json!({}))) {
                    spec["finalizers"] = finalizers.clone();
                }
                Ok(next)
            };
            let updated = finalize(&ctx, res, name, &apply).await?;
            respond(call, res, updated, 200).await
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {}/{sub})",
            res.info.plural
        ))),
    }
}

/// The autoscaling/v1 Scale of a workload or of a custom resource with a scale subresource
/// (whose missing replicas read as 0 and whose selector is already serialized, as upstream).
fn scale_of(res: &Resource, obj: &Value) -> Result<Value, ApiError> {
    let meta = object::metadata(obj).cloned().unwrap_or_default();
    let pick = |k: &str| meta.get(k).cloned().unwrap_or(Value::Null);
    let (spec, status, selector) = match res.strategy.scale_paths() {
        Some(paths) => (
            obj.pointer(&paths.spec_replicas).cloned().unwrap_or(json!(0)),
            obj.pointer(&paths.status_replicas).cloned().unwrap_or(json!(0)),
            paths.label_selector.as_deref().and_then(|p| obj.pointer(p)).and_then(Value::as_str).unwrap_or("").into(),
        ),
        None => (
            obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1)),
            obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            workload_selector(obj),
        ),
    };
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": pick("name"),
            "namespace": pick("namespace"),
            "uid": pick("uid"),
            "resourceVersion": pick("resourceVersion"),
            "creationTimestamp": pick("creationTimestamp"),
        },
        "spec": {"replicas": spec},
        "status": {"replicas": status, "selector": selector},
    }))
}

fn workload_selector(obj: &Value) -> String {
    match obj.pointer("/spec/selector") {
        // ReplicationControllers have a plain map; the others a LabelSelector.
        Some(Value::Object(m)) if !m.contains_key("matchLabels") && !m.contains_key("matchExpressions") => {
            labels::from_label_selector(&json!({"matchLabels": m})).map(|s| s.to_string()).unwrap_or_default()
        }
        Some(sel) => labels::from_label_selector(sel).map(|s| s.to_string()).unwrap_or_default(),
        None => String::new(),
    }
}

fn replicas_in(scale: &Value) -> Result<i64, ApiError> {
    let replicas = scale.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            object::name(scale),
            vec![Cause::invalid("spec.replicas", &json!(replicas), "must be greater than or equal to 0")],
        ));
    }
    Ok(replicas)
}

async fn set_replicas(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    replicas: i64,
    expected_rv: Option<String>,
) -> Result<Response, ApiError> {
    // Admission reviews the Scale (`<resource>/scale`, autoscaling/v1), as upstream; the write
    // underneath is not reviewed again.
    let (old, _) = ops::get(ctx, res, ns, name).await?;
    let old_scale = scale_of(res, &old)?;
    let mut new_scale = old_scale.clone();
    new_scale["spec"]["replicas"] = json!(replicas);
    let attrs = Attributes {
        old_object: Some(&old_scale),
        kind: Some(("autoscaling", "v1", "Scale")),
        ..Attributes::new(Operation::Update, res, "scale", name, ns)
    };
    ctx.registry.chain.admit(ctx, &attrs, Some(&mut new_scale)).await?;
    ctx.registry.chain.validate(ctx, &Attributes { object: Some(&new_scale), ..attrs }).await?;
    let replicas = replicas_in(&new_scale)?;
    let ctx = &Ctx { user: None, ..ctx.clone() };
    let paths = res.strategy.scale_paths().cloned();
    let apply = move |current: &Value| -> Result<Value, ApiError> {
        let mut next = current.clone();
        if let Some(rv) = &expected_rv {
            object::set_meta(&mut next, "resourceVersion", json!(rv));
        }
        let pointer = paths.as_ref().map_or("/spec/replicas", |p| p.spec_replicas.as_str());
        set_at(&mut next, pointer, json!(replicas));
        Ok(next)
    };
    let updated = ops::patch(ctx, res, ns, name, Part::Main, &apply).await?;
    Ok(json_response(200, &scale_of(res, &updated)?))
}

/// Sets the value at a JSON pointer, creating the objects on the way.
fn set_at(doc: &mut Value, pointer: &str, value: Value) {
    let mut node = doc;
    let mut parts = pointer.split('/').skip(1).peekable();
    while let Some(part) = parts.next() {
        let Some(map) = node.as_object_mut() else { return };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map.entry(part).or_insert_with(|| json!({}));
    }
}

/// Updates a namespace's spec (finalizers), bypassing the usual rule that keeps it; a
/// terminating namespace whose finalizers are all gone is deleted.
async fn finalize(
    ctx: &Ctx<'_>,
    res: &Resource,
    name: &str,
    apply: &(dyn Fn(&Value) -> Result<Value, ApiError> + Send + Sync),
) -> Result<Value, ApiError> {
    let (current, revision) = ops::get(ctx, res, None, name).await?;
    let mut next = apply(&current)?;
    let done = object::is_deleting(&next)
        && object::finalizers(&next).is_empty()
        && next.pointer("/spec/finalizers").and_then(Value::as_array).is_none_or(Vec::is_empty);
    if ctx.dry_run {
        return Ok(next);
    }
    if done {
        ops::store_delete(ctx, res, &next, revision).await?;
    } else {
        ops::store_update(ctx, res, &mut next, revision).await?;
    }
    Ok(next)
}

/// `pods/<name>/binding` or the `bindings` resource: assigns a pod to a node, once.
pub async fn binding(call: &Call<'_>, ns: Option<&str>, name: Option<&str>) -> Result<Response, ApiError> {
    let body = call.body_json()?;
    let pod_name = name.unwrap_or_else(|| object::name(&body)).to_string();
    let node = body.pointer("/target/name").and_then(Value::as_str).unwrap_or("").to_string();
    if node.is_empty() {
        return Err(ApiError::invalid("", "Binding", &pod_name, vec![Cause::required("target.name")]));
    }
    let pods = call.registry.get("", "v1", "pods").ok_or_else(|| ApiError::internal("pods are not served"))?;
    let ctx = call.ctx()?;
    let target = node.clone();
    let pod = pod_name.clone();
    let apply = move |current: &Value| -> Result<Value, ApiError> {
        if object::is_deleting(current) {
            return Err(ApiError::conflict("", "pods", &pod, "pod is being deleted, cannot be assigned to a host"));
        }
        match current.pointer("/spec/nodeName").and_then(Value::as_str) {
            Some(existing) if !existing.is_empty() => Err(ApiError::conflict(
                "",
                "pods",
                &pod,
                &format!("pod {pod} is already assigned to node \"{existing}\""),
            )),
            _ => {
                let mut next = current.clone();
                if let Some(spec) = next.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("nodeName".into(), json!(target));
                }
                let conditions = next
                    .pointer_mut("/status")
                    .and_then(Value::as_object_mut)
                    .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
                if let Some(Value::Array(conditions)) = conditions {
                    conditions.retain(|c| c.get("type") != Some(&json!("PodScheduled")));
                    conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": object::now()}));
                }
                Ok(next)
            }
        }
    };
    // nodeName may only be set here, so go around the pod update rules by writing the whole
    // object with the pod's own strategy skipped: a binding is its own operation upstream.
    // Another writer (the kubelet, a status patch) may get in between the read and the write:
    // read again and retry, as upstream's GuaranteedUpdate does; the binding's own conflicts
    // (already assigned, deleting) come from `apply` and are final.
    const ATTEMPTS: usize = 16;
    for attempt in 1..=ATTEMPTS {
        let (current, revision) = ops::get(&ctx, &pods, ns, &pod_name).await?;
        let mut next = apply(&current)?;
        if ctx.dry_run {
            break;
        }
        match ops::store_update(&ctx, &pods, &mut next, revision).await {
            Err(e) if e.is_conflict() && attempt < ATTEMPTS => continue,
            result => {
                result?;
                break;
            }
        }
    }
    let mut done = status::success("", "pods", &pod_name, None);
    if let Some(map) = done.as_object_mut() {
        map.insert("code".into(), json!(201));
    }
    Ok(json_response(201, &done))
}
