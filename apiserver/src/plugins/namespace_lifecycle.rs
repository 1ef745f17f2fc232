//! NamespaceLifecycle: nothing new is created in a namespace that does not exist or is being
//! terminated.

use async_trait::async_trait;
use serde_json::Value;

use crate::admission::{Attributes, Operation, Plugin};
use crate::object;
use crate::registry::Ctx;
use crate::status::ApiError;
use crate::storage::{self, store_error};

pub(crate) struct NamespaceLifecycle;

#[async_trait]
impl Plugin for NamespaceLifecycle {
    fn name(&self) -> &'static str {
        "NamespaceLifecycle"
    }

    async fn admit(&self, ctx: &Ctx<'_>, a: &Attributes<'_>, _obj: Option<&mut Value>) -> Result<bool, ApiError> {
        if a.operation != Operation::Create || !a.res.info.namespaced {
            return Ok(false);
        }
        let Some(ns) = a.namespace else { return Ok(false) };
        let Some(namespaces) = ctx.registry.get("", "v1", "namespaces") else { return Ok(false) };
        let key = namespaces.keys.key(None, ns);
        // The cache answers almost always; a namespace created a moment ago may not be in it
        // yet, so a miss is checked against the store (as upstream's plugin does with a live
        // read).
        let cached = ctx.registry.cache(&namespaces).await?.get(&key);
        let deleting = match cached {
            Some(namespace) => namespace.deleting,
            None => {
                let (kv, _) =
                    ctx.registry.store.get(&key, 0).await.map_err(|e| store_error(e, "", "namespaces", ns))?;
                let Some(kv) = kv else { return Err(ApiError::not_found("", "namespaces", ns)) };
                object::is_deleting(&storage::decode(&kv)?)
            }
        };
        // Status and other subresources of existing objects may still be written.
        if deleting && a.subresource.is_empty() {
            return Err(ApiError::forbidden(
                a.res.group(),
                a.res.info.plural,
                a.name,
                &format!("unable to create new content in namespace {ns} because it is being terminated"),
            ));
        }
        Ok(false)
    }
}
