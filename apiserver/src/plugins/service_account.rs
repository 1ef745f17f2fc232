//! ServiceAccount: a new pod runs as the `default` account unless it names one, and a pod naming
//! no imagePullSecrets gets its account's. (Its token volume needs the TokenRequest API, not
//! served yet; a missing account is not refused, so pods of a namespace created a moment ago
//! are not turned away.)

use async_trait::async_trait;
use serde_json::{Value, json};

use super::is_pod_create;
use crate::admission::{Attributes, Plugin};
use crate::registry::{Ctx, ops};
use crate::status::ApiError;

pub(crate) struct ServiceAccount;

#[async_trait]
impl Plugin for ServiceAccount {
    fn name(&self) -> &'static str {
        "ServiceAccount"
    }

    async fn admit(&self, ctx: &Ctx<'_>, a: &Attributes<'_>, obj: Option<&mut Value>) -> Result<bool, ApiError> {
        let Some(pod) = obj.filter(|_| is_pod_create(a)) else { return Ok(false) };
        let before = pod.clone();
        if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut)
            && spec.get("serviceAccountName").and_then(Value::as_str).is_none_or(str::is_empty)
        {
            spec.insert("serviceAccountName".into(), json!("default"));
        }
        service_account_pull_secrets(ctx, pod).await?;
        Ok(*pod != before)
    }
}

/// ServiceAccount: the account's imagePullSecrets for a pod that names none.
async fn service_account_pull_secrets(ctx: &Ctx<'_>, pod: &mut Value) -> Result<(), ApiError> {
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
