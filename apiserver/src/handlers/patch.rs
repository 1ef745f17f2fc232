//! PATCH: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, chosen
//! by Content-Type and applied to the current object by the registry (which retries on a
//! concurrent write).

use serde_json::Value;

use super::Call;
use crate::patch::strategic;
use crate::registry::Resource;
use crate::registry::ops::{self, Part};
use crate::schema;
use crate::status::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Merge,
    Strategic,
    /// Server-side apply.
    Apply,
}

/// The result of a PATCH.
pub struct Patched {
    pub object: Value,
    pub warnings: Vec<String>,
    /// A server-side apply created the object (answered 201).
    pub created: bool,
}

fn kind_of(content_type: &str) -> Result<Kind, ApiError> {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/json-patch+json" => Ok(Kind::Json),
        "application/merge-patch+json" => Ok(Kind::Merge),
        "application/strategic-merge-patch+json" => Ok(Kind::Strategic),
        "application/apply-patch+yaml" => Ok(Kind::Apply),
        other => Err(ApiError::new(
            415,
            crate::status::Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"
            ),
        )),
    }
}

/// Applies RFC 6902 operations one by one. A `test` that the value is `null` passes when the
/// path is absent, as upstream's implementation does (kube-rs' finalizer helper relies on it).
pub fn json_patch(doc: &Value, ops: &Value) -> Result<Value, ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(ops.clone())
        .map_err(|e| ApiError::bad_request(format!("the JSON patch is not valid: {e}")))?;
    let mut doc = doc.clone();
    for op in ops.0 {
        if let json_patch::PatchOperation::Test(test) = &op
            && test.value.is_null()
            && doc.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut doc, std::slice::from_ref(&op)).map_err(|e| match e.kind {
            json_patch::PatchErrorKind::TestFailed => ApiError::new(
                422,
                crate::status::Reason::Invalid,
                format!("the server rejected our request due to an error in our request: test operation failed: {e}"),
            ),
            _ => ApiError::new(
                422,
                crate::status::Reason::Invalid,
                format!("the server rejected our request due to an error in our request: {e}"),
            ),
        })?;
    }
    Ok(doc)
}

pub async fn patch(
    call: &Call<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    part: Part,
) -> Result<Patched, ApiError> {
    let kind = kind_of(call.content_type())?;
    if kind != Kind::Apply && call.query.force()? {
        return Err(ApiError::bad_request("force: Forbidden: may not be specified for non-apply patch"));
    }
    if kind == Kind::Apply {
        return server_side_apply(call, res, ns, name, part).await;
    }
    // Custom resources have no patch strategies: upstream refuses strategic merge for them.
    if kind == Kind::Strategic && res.strategy.custom() {
        return Err(ApiError::unsupported_patch());
    }
    if call.body.len() > ops::MAX_BODY_BYTES {
        return Err(ApiError::too_large("Request entity too large: limit is 3145728"));
    }
    let body: Value =
        serde_json::from_slice(&call.body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let (group, version, kind_name) = (res.info.group, res.info.version, res.info.kind);
    let warnings = std::sync::Mutex::new(Vec::new());
    let apply = |current: &Value| -> Result<Value, ApiError> {
        let mut patched = apply_patch(kind, current, &body, group, version, kind_name)?;
        let found = super::check_fields(call, res, &mut patched, Vec::new())?;
        *warnings.lock().unwrap_or_else(|e| e.into_inner()) = found;
        Ok(patched)
    };
    let ctx = call.ctx()?;
    let patched = ops::patch(&ctx, res, ns, name, part, &apply).await?;
    let warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Patched { object: patched, warnings, created: false })
}

/// `application/apply-patch+yaml`: the body is the manager's whole intent for the object.
async fn server_side_apply(
    call: &Call<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    part: Part,
) -> Result<Patched, ApiError> {
    if call.query.field_manager.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("PATCH operations of type apply require a fieldManager"));
    }
    let mut applied: Value =
        serde_saphyr::from_slice(&call.body).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !applied.is_object() {
        return Err(ApiError::bad_request("the apply configuration must be an object"));
    }
    for field in ["apiVersion", "kind"] {
        if applied.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(format!("{field} must be set in an apply configuration")));
        }
    }
    if crate::object::metadata(&applied).is_some_and(|m| m.contains_key("managedFields")) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    // Unknown fields in an apply configuration are errors unless the client asks otherwise.
    let warnings = match call.query.field_validation.as_deref() {
        None | Some("") => {
            super::check_fields_with(res, &mut applied, Vec::new(), crate::request::FieldValidation::Strict)?
        }
        Some(_) => super::check_fields(call, res, &mut applied, Vec::new())?,
    };
    let force = call.query.force()?;
    let (object, created) = ops::apply(&call.ctx()?, res, ns, name, applied, force, part).await?;
    Ok(Patched { object, warnings, created })
}

fn apply_patch(
    kind: Kind,
    current: &Value,
    body: &Value,
    group: &str,
    version: &str,
    kind_name: &str,
) -> Result<Value, ApiError> {
    {
        match kind {
            // Handled before: apply is its own operation.
            Kind::Apply => Err(ApiError::unsupported_patch()),
            Kind::Json => json_patch(current, body),
            Kind::Merge => {
                if !body.is_object() {
                    return Err(ApiError::bad_request("the merge patch must be a JSON object"));
                }
                let mut doc = current.clone();
                json_patch::merge(&mut doc, body);
                Ok(doc)
            }
            Kind::Strategic => {
                let meta = schema::schemas().patch_meta(group, version, kind_name);
                strategic::apply(current, body, meta.as_ref()).map_err(|e| match e.status_code() {
                    400 => ApiError::bad_request(e.message()),
                    422 => ApiError::new(422, crate::status::Reason::Invalid, e.message()),
                    _ => ApiError::new(500, crate::status::Reason::Unknown, e.message()),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_test_of_null_passes_for_absent_paths() {
        let doc = json!({"metadata": {"name": "x"}});
        let ops = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["a"]}
        ]);
        assert_eq!(json_patch(&doc, &ops).unwrap()["metadata"]["finalizers"], json!(["a"]));
        let failing = json!([{"op": "test", "path": "/metadata/name", "value": "y"}]);
        assert_eq!(json_patch(&doc, &failing).unwrap_err().code, 422);
        assert_eq!(json_patch(&doc, &json!({"op": "add"})).unwrap_err().code, 400);
    }

    #[test]
    fn content_types_pick_the_patch_kind() {
        assert_eq!(kind_of("application/merge-patch+json; charset=utf-8").unwrap(), Kind::Merge);
        assert_eq!(kind_of("application/json").unwrap_err().code, 415);
    }
}
