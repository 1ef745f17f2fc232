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
}

fn kind_of(content_type: &str) -> Result<Kind, ApiError> {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/json-patch+json" => Ok(Kind::Json),
        "application/merge-patch+json" => Ok(Kind::Merge),
        "application/strategic-merge-patch+json" => Ok(Kind::Strategic),
        other => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
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
                "Invalid",
                format!("the server rejected our request due to an error in our request: test operation failed: {e}"),
            ),
            _ => ApiError::new(
                422,
                "Invalid",
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
) -> Result<(Value, Vec<String>), ApiError> {
    let kind = kind_of(call.content_type())?;
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
    Ok((patched, warnings))
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
                    422 => ApiError::new(422, "Invalid", e.message()),
                    _ => ApiError::new(500, "", e.message()),
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
