//! Strategic merge patch (`application/strategic-merge-patch+json`), applied the way kube-apiserver
//! applies it, as pure functions over `serde_json` values.
//!
//! A strategic merge patch is a JSON merge patch whose lists can merge element-wise: a list field
//! whose schema says `x-kubernetes-patch-strategy: merge` merges by its
//! `x-kubernetes-patch-merge-key` (lists of primitives become set unions), every other list is
//! replaced. Patches steer the merge with directives: `$patch` (`replace`, `delete`),
//! `$retainKeys`, `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`.
//!
//! Where the schema does not describe a subtree (no [`PatchMeta`], or no node for a field) the
//! subtree merges like JSON merge patch: objects merge, lists are replaced.
//!
//! Upstream quirks kept on purpose, because clients depend on the exact results:
//! - items a patch adds to a merging list come before the live items it does not mention, unless
//!   `$setElementOrder` says otherwise;
//! - `$retainKeys` is honoured wherever it appears, whatever the field's strategy;
//! - a field the original lacks takes the patch value with its nulls dropped, and an object in it
//!   that carries `$patch` is dropped entirely (so `{"$patch": "replace", ...}` sent for a field
//!   the object does not have yet adds nothing);
//! - `$patch: merge` is rejected, both in lists and in objects.
//!
//! Values taken from the patch wholesale (replaced lists, `$patch: replace` objects, items added
//! to a merging list) lose their directive keys and null members here; upstream keeps them and
//! its typed decoding then ignores them, so the decoded object is the same.

mod error;
mod lists;
mod maps;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use error::{PatchError, PatchErrorKind};
pub use schema::SchemaNode;

/// What strategic merge needs to know about one node of a type's schema.
pub trait PatchMeta: Sized {
    /// Schema of property `name` of an object node.
    fn field(&self, name: &str) -> Option<Self>;
    /// Schema of the elements of an array node.
    fn items(&self) -> Option<Self>;
    /// Schema of the values of a map node (additionalProperties).
    fn values(&self) -> Option<Self>;
    /// x-kubernetes-patch-strategy of this node: "merge", "replace", "retainKeys", "merge,retainKeys".
    fn patch_strategy(&self) -> Option<&str>;
    /// x-kubernetes-patch-merge-key of this node.
    fn patch_merge_key(&self) -> Option<&str>;
}

/// A schema that knows nothing, for patching without one: `apply(o, p, None::<&NoSchema>)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoSchema;

impl PatchMeta for NoSchema {
    fn field(&self, _: &str) -> Option<Self> {
        None
    }
    fn items(&self) -> Option<Self> {
        None
    }
    fn values(&self) -> Option<Self> {
        None
    }
    fn patch_strategy(&self) -> Option<&str> {
        None
    }
    fn patch_merge_key(&self) -> Option<&str> {
        None
    }
}

/// Applies strategic merge `patch` to `original`, guided by `meta` (the schema of the object's
/// type) and returns the patched object. Neither input is modified.
///
/// `original` must be an object (or null, read as `{}`); `patch` must be an object, or null
/// which changes nothing.
pub fn apply<M: PatchMeta>(original: &Value, patch: &Value, meta: Option<&M>) -> Result<Value, PatchError> {
    let original = match original {
        Value::Object(map) => map.clone(),
        Value::Null => serde_json::Map::new(),
        _ => return Err(PatchError::bad_json_doc()),
    };
    let patch = match patch {
        Value::Object(map) => map.clone(),
        // Upstream decodes a `null` patch into an empty map.
        Value::Null => return Ok(Value::Object(original)),
        other => return Err(PatchError::patch_not_object(other)),
    };
    maps::merge_map(original, patch, meta).map(Value::Object)
}
