//! One webhook call: the AdmissionReview (admission.k8s.io/v1) sent, the answer checked and
//! applied — a denial as upstream's `admission webhook "<name>" denied the request: ...`, a
//! mutation as a base64 JSONPatch, warnings passed on to the client — and failures handled by
//! the webhook's failurePolicy.

use base64::Engine;
use serde_json::{Value, json};

use super::client;
use super::webhooks::{FailurePolicy, Webhook};
use super::{Attributes, Operation};
use crate::object;
use crate::registry::Ctx;
use crate::status::{ApiError, Reason};

/// Calls a mutating webhook and applies its patch to `obj`; returns whether `obj` changed.
pub async fn call(
    ctx: &Ctx<'_>,
    hook: &Webhook,
    a: &Attributes<'_>,
    obj: Option<&mut Value>,
) -> Result<bool, ApiError> {
    let current = obj.as_ref().map(|o| (**o).clone());
    let answer = match exchange(ctx, hook, a, current.as_ref()).await? {
        Some(answer) => answer,
        None => return Ok(false),
    };
    let Some(patch) = answer.get("patch").and_then(Value::as_str).filter(|p| !p.is_empty()) else {
        return Ok(false);
    };
    let Some(obj) = obj else {
        return Err(ApiError::internal(format!(
            "admission webhook \"{}\" attempted to modify the object, which is not supported for this operation",
            hook.name
        )));
    };
    if answer.get("patchType").and_then(Value::as_str) != Some("JSONPatch") {
        return fail(hook, "received invalid webhook response: the only supported patchType is JSONPatch".into())
            .map(|()| false);
    }
    // A patch that cannot be applied is an error whatever the failure policy, as upstream.
    apply_patch(a, obj, patch).map_err(ApiError::internal)
}

/// Calls a validating webhook (a patch in its answer is an error, as upstream).
pub async fn call_validating(ctx: &Ctx<'_>, hook: &Webhook, a: &Attributes<'_>) -> Result<(), ApiError> {
    let Some(answer) = exchange(ctx, hook, a, a.object).await? else { return Ok(()) };
    if answer.get("patch").and_then(Value::as_str).is_some_and(|p| !p.is_empty()) || answer.get("patchType").is_some() {
        return fail(hook, "received invalid webhook response: validating webhook may not return a patch".into());
    }
    Ok(())
}

/// Sends the review and checks the answer: `Ok(None)` when the call failed and the failure
/// policy ignores it, an error for a denial or an unignored failure.
async fn exchange(
    ctx: &Ctx<'_>,
    hook: &Webhook,
    a: &Attributes<'_>,
    obj: Option<&Value>,
) -> Result<Option<Value>, ApiError> {
    if ctx.dry_run && !hook.dry_run_safe {
        return Err(ApiError::bad_request(format!("admission webhook \"{}\" does not support dry run", hook.name)));
    }
    let Some(target) = &hook.target else {
        return fail(hook, "failed to call webhook: no clientConfig".into()).map(|()| None);
    };
    let uid = object::new_uid();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": request(ctx, a, obj, &uid),
    });
    let started = std::time::Instant::now();
    let answer = client::post(ctx.registry, target, &hook.ca_bundle, &review, hook.timeout).await;
    tracing::debug!(webhook = %hook.name, elapsed_ms = started.elapsed().as_millis() as u64, ok = answer.is_ok(), "webhook called");
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return fail(hook, e).map(|()| None),
    };
    if answer.get("apiVersion").and_then(Value::as_str) != Some("admission.k8s.io/v1")
        || answer.get("kind").and_then(Value::as_str) != Some("AdmissionReview")
    {
        let got = format!(
            "{}, Kind={}",
            answer.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
            answer.get("kind").and_then(Value::as_str).unwrap_or("")
        );
        let detail =
            format!("received invalid webhook response: expected admission.k8s.io/v1, Kind=AdmissionReview, got {got}");
        return fail(hook, detail).map(|()| None);
    }
    let Some(response) = answer.get("response").filter(|r| r.is_object()) else {
        return fail(hook, "received invalid webhook response: webhook response was absent".into()).map(|()| None);
    };
    let got = response.get("uid").and_then(Value::as_str).unwrap_or("");
    if got != uid {
        let detail = format!("received invalid webhook response: expected response.uid=\"{uid}\", got \"{got}\"");
        return fail(hook, detail).map(|()| None);
    }
    let warnings = response.get("warnings").and_then(Value::as_array).into_iter().flatten();
    super::warn(ctx, warnings.filter_map(|w| w.as_str().map(str::to_string)));
    if response.get("allowed").and_then(Value::as_bool) != Some(true) {
        return Err(denied(&hook.name, response.get("status")));
    }
    Ok(Some(response.clone()))
}

/// A call failure: ignored (with a log line) or an internal error, as the policy says.
fn fail(hook: &Webhook, detail: String) -> Result<(), ApiError> {
    match hook.failure_policy {
        FailurePolicy::Ignore => {
            tracing::warn!(webhook = %hook.name, error = %detail, "webhook failed; ignored by failurePolicy");
            Ok(())
        }
        FailurePolicy::Fail => Err(ApiError::internal(format!("failed calling webhook \"{}\": {detail}", hook.name))),
    }
}

/// Upstream's ToStatusErr: the webhook's status, with a code of at least 400 and the message
/// prefixed by who denied it.
fn denied(name: &str, status: Option<&Value>) -> ApiError {
    let text = |k: &str| status.and_then(|s| s.get(k)).and_then(Value::as_str).unwrap_or("").to_string();
    let code = status.and_then(|s| s.get("code")).and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok());
    let code = code.filter(|c| *c >= 400).unwrap_or(400);
    let (message, reason) = (text("message"), text("reason"));
    let by = format!("admission webhook \"{name}\" denied the request");
    let message = match (message.is_empty(), reason.is_empty()) {
        (false, _) => format!("{by}: {message}"),
        (true, false) => format!("{by}: {reason}"),
        (true, true) => format!("{by} without explanation"),
    };
    let mut err = ApiError::new(code, intern_reason(&reason), message);
    err.details = status.and_then(|s| s.get("details")).filter(|d| d.is_object()).cloned();
    err
}

/// A webhook's own reason is passed on as given (kept for the server's life: configured webhooks
/// use a handful; past a bound, new ones read as none).
fn intern_reason(reason: &str) -> Reason {
    static SEEN: std::sync::Mutex<Vec<&'static String>> = std::sync::Mutex::new(Vec::new());
    if let Some(known) = Reason::parse(reason) {
        return known;
    }
    let Ok(mut seen) = SEEN.lock() else { return Reason::Unknown };
    if let Some(r) = seen.iter().find(|r| r.as_str() == reason) {
        return Reason::Other(r);
    }
    if seen.len() >= 256 || reason.len() > 128 {
        return Reason::Unknown;
    }
    let leaked: &'static String = Box::leak(Box::new(reason.to_string()));
    seen.push(leaked);
    Reason::Other(leaked)
}

/// Applies a webhook's base64 JSONPatch (to the served form of the object, which is what the
/// webhook saw); returns whether it changed anything.
fn apply_patch(a: &Attributes<'_>, obj: &mut Value, patch: &str) -> Result<bool, String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(patch).map_err(|e| e.to_string())?;
    let ops: json_patch::Patch = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let mut served = a.served(obj);
    let before = served.clone();
    json_patch::patch(&mut served, &ops).map_err(|e| e.to_string())?;
    if served == before {
        return Ok(false);
    }
    *obj = if a.kind.is_some() { served } else { a.res.to_storage(served) };
    Ok(true)
}

/// The AdmissionRequest of the review.
fn request(ctx: &Ctx<'_>, a: &Attributes<'_>, obj: Option<&Value>, uid: &str) -> Value {
    let info = a.res.info;
    let (group, version, kind) = a.kind();
    let kind = json!({"group": group, "version": version, "kind": kind});
    let resource = json!({"group": info.group, "version": info.version, "resource": info.plural});
    // Under matchPolicy Equivalent the client asked for another group-version.
    let (request_kind, request_resource) = match a.requested {
        Some(r) => (
            json!({"group": r.info.group, "version": r.info.version, "kind": r.info.kind}),
            json!({"group": r.info.group, "version": r.info.version, "resource": r.info.plural}),
        ),
        None => (kind.clone(), resource.clone()),
    };
    let options_kind = match a.operation {
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
        Operation::Delete => "DeleteOptions",
        Operation::Connect => "",
    };
    let mut req = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": request_kind,
        "requestResource": request_resource,
        "name": a.name,
        "operation": a.operation.as_str(),
        "userInfo": super::user_info(ctx),
        "object": obj.map(|o| a.served(o)),
        "oldObject": a.old_object.map(|o| a.served(o)),
        "dryRun": ctx.dry_run,
        "options": if options_kind.is_empty() { Value::Null } else {
            json!({"kind": options_kind, "apiVersion": "meta.k8s.io/v1"})
        },
    });
    // A Namespace's request namespace is its own name, as upstream's request info has it.
    let namespace = if info.group.is_empty() && info.plural == "namespaces" { Some(a.name) } else { a.namespace };
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        req["namespace"] = json!(ns);
    }
    if a.name.is_empty()
        && let Some(map) = req.as_object_mut()
    {
        map.shift_remove("name");
    }
    if !a.subresource.is_empty() {
        req["subResource"] = json!(a.subresource);
        req["requestSubResource"] = json!(a.subresource);
    }
    req
}

/// The `request` variable of admission CEL expressions.
pub fn cel_request(ctx: &Ctx<'_>, a: &Attributes<'_>) -> Value {
    let info = a.res.info;
    let (group, version, kind) = a.kind();
    json!({
        "operation": a.operation.as_str(),
        "name": a.name,
        "namespace": a.namespace.unwrap_or(""),
        "dryRun": ctx.dry_run,
        "subResource": a.subresource,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": info.group, "version": info.version, "resource": info.plural},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": info.group, "version": info.version, "resource": info.plural},
        "userInfo": super::user_info(ctx),
    })
}
